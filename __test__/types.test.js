'use strict'
// index.d.ts is generated from the Rust binding; the results are built by the core as JSON.
// This keeps the two in step: every key a result carries is declared, and every declared
// non-optional key is there.
const fs = require('node:fs')
const path = require('node:path')
const { PipedreamClient } = require('..')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')

const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
function declared(name) {
  const m = dts.match(new RegExp(`export interface ${name}(?: extends [^{]+)? \\{([\\s\\S]*?)\\n\\}`))
  if (!m) throw new Error(`index.d.ts has no interface ${name}`)
  const fields = m[1]
    .split('\n')
    .map((l) => l.match(/^\s{2}(\w+)(\??):/))
    .filter(Boolean)
  return { all: fields.map((f) => f[1]), required: fields.filter((f) => !f[2]).map((f) => f[1]) }
}
function expectShape(value, name) {
  const { all, required } = declared(name)
  for (const key of Object.keys(value)) expect({ [name]: key }).toEqual({ [name]: all.find((k) => k === key) })
  for (const key of required) expect(value).toHaveProperty(key)
}

let emu
let c
beforeAll(async () => {
  emu = await startEmulator(['--account', 'u1:slack', '--account', 'u1:google_sheets'])
  c = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, projectId: PROJECT_ID, externalUserId: 'u1' })
})
afterAll(() => emu.stop())

test('searchServices results match SearchServicesResult and Service', async () => {
  const ok = await c.searchServices({ query: 'slack' })
  expectShape(ok, 'SearchServicesResult')
  expectShape(ok.services[0], 'Service')
  expectShape(await c.searchServices({ query: '' }), 'SearchServicesResult')
})

test('getComponents results match GetComponentsResult, ComponentSummary and Parameter', async () => {
  const ok = await c.getComponents({ app_slug: 'stripe' })
  expectShape(ok, 'GetComponentsResult')
  for (const comp of ok.components) {
    expectShape(comp, 'ComponentSummary')
    for (const p of comp.parameters) {
      expectShape(p, 'Parameter')
      for (const o of p.options ?? []) expectShape(o, 'OptionItem')
    }
  }
  expectShape(await c.getComponents({ app_slug: 'nope_nope' }), 'GetComponentsResult')
})

test('getComponent, configureProp, reloadProps and unknown tools match their interfaces', async () => {
  expectShape(await c.getComponent({ component_id: 'slack-send-message' }), 'GetComponentResult')
  expectShape(await c.getComponent({ component_id: 'slack-nope' }), 'GetComponentResult')
  const opts = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'conversation' })
  expectShape(opts, 'ConfigurePropResult')
  expectShape(await c.configureProp({ component_id: 'slack-send-message', prop_name: 'text' }), 'ConfigurePropResult')
  const reload = await c.reloadProps({ component_id: 'google_sheets-add-single-row', params: { sheetId: 's' } })
  expectShape(reload, 'ReloadPropsResult')
  expectShape(await c.reloadProps({ component_id: 'x-y' }), 'ReloadPropsResult')
  expectShape(await c.handleToolCall('nope', {}), 'UnknownToolResult')
})

test('executePipedreamConnect, executeBatch and logger events match their interfaces', async () => {
  const events = []
  const logged = new PipedreamClient({
    baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, projectId: PROJECT_ID, externalUserId: 'u1',
    logger: (e) => events.push(e),
  })
  const res = await logged.executePipedreamConnect(
    { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi' }, store: { nope: 'x' }, create_records: 'msg', store_to_record: true },
    { alias: 'post', currentRecord: { id: 'lead_001' } },
  )
  expectShape(res, 'ExecuteResult')
  expectShape(res.meta, 'ExecuteMeta')
  expectShape(res.record_update, 'RecordUpdate')
  const batch = await logged.executeBatch([{ config: { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'a' } } }, { config: { component_id: 'slack-send-message' } }])
  // BatchOutcome is a union on `status`: a fulfilled outcome carries `value` (an
  // ExecuteResult), a rejected one `reason` (a PipedreamError), and nothing else.
  expect(batch.map((o) => o.status)).toEqual(['fulfilled', 'rejected'])
  expect(Object.keys(batch[0]).sort()).toEqual(['status', 'value'])
  expectShape(batch[0].value, 'ExecuteResult')
  expect(Object.keys(batch[1]).sort()).toEqual(['reason', 'status'])
  const reason = batch[1].reason
  expect(reason.name).toBe('PipedreamError')
  const { all } = declared('PipedreamError')
  for (const key of Object.keys(reason)) expect({ PipedreamError: key }).toEqual({ PipedreamError: all.find((k) => k === key) })
  expect(typeof reason.code).toBe('string')
  await logged.getComponents({ app_slug: 'slack' })
  await new Promise((r) => setTimeout(r, 50))
  expect(new Set(events.map((e) => e.type))).toEqual(new Set(['auth', 'discovery', 'execution']))
  for (const e of events) expectShape(e, 'LogEvent')
})

test('toolDefinitions match ToolDefinition', () => {
  const { toolDefinitions } = require('..')
  for (const t of toolDefinitions) {
    expectShape(t, 'ToolDefinition')
    expectShape(t.function, 'ToolFunction')
  }
})

test('no secret-looking example ships in index.d.ts', () => {
  expect(dts).not.toMatch(/clientSecret:\s*['"]/)
  expect(dts).not.toMatch(/token:\s*['"]/)
})
