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
    .map((l) => l.match(/^\s{2}(\w+)(\??): (.*)$/))
    .filter(Boolean)
  return {
    all: fields.map((f) => f[1]),
    required: fields.filter((f) => !f[2]).map((f) => f[1]),
    types: Object.fromEntries(fields.map((f) => [f[1], f[3].trim()])),
  }
}

/** Splits a type on its top-level `|`. */
function alternatives(type) {
  const out = []
  let depth = 0
  let start = 0
  for (let i = 0; i < type.length; i++) {
    const ch = type[i]
    if ('<({['.includes(ch)) depth++
    else if ('>)}]'.includes(ch)) depth--
    else if (ch === '|' && depth === 0) {
      out.push(type.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(type.slice(start).trim())
  return out.filter(Boolean)
}

/** Whether a runtime value fits one declared TypeScript type (the forms index.d.ts uses). */
function fits(value, type) {
  return alternatives(type).some((t) => {
    if (t === 'unknown' || t === 'any') return true
    if (t === 'string') return typeof value === 'string'
    if (t === 'number') return typeof value === 'number'
    if (t === 'boolean') return typeof value === 'boolean'
    if (t === 'null') return value === null
    if (t === 'undefined') return value === undefined
    if (t === 'true' || t === 'false') return value === (t === 'true')
    if (/^-?\d+$/.test(t)) return value === Number(t)
    if (t === '[]') return Array.isArray(value) && value.length === 0
    if (/^'.*'$/.test(t)) return value === t.slice(1, -1)
    if (t === 'PipedreamErrorCode') return typeof value === 'string' && /^PIPEDREAM_[A-Z_]+$/.test(value)
    if (/^Array<.*>$/.test(t) || /\[\]$/.test(t)) return Array.isArray(value)
    if (/^Record<.*>$/.test(t)) return value !== null && typeof value === 'object' && !Array.isArray(value)
    if (/^[A-Z]\w*$/.test(t)) return value !== null && typeof value === 'object'
    throw new Error(`types.test.js cannot check the declared type ${t}`)
  })
}

/** Every key declared, every required key present, and every value of its declared type. */
function expectShape(value, name) {
  const { all, required, types } = declared(name)
  for (const key of Object.keys(value)) expect({ [name]: key }).toEqual({ [name]: all.find((k) => k === key) })
  for (const key of required) expect(value).toHaveProperty(key)
  for (const [key, type] of Object.entries(types)) {
    if (!(key in value)) continue
    expect({ [`${name}.${key}`]: fits(value[key], type) }).toEqual({ [`${name}.${key}`]: true })
  }
}

/** An answer of a union on `error`: the failed branch when it has one, else the other. */
function expectAnswer(value, ok, failed, wantFailed) {
  expect({ failed: value.error !== undefined }).toEqual({ failed: wantFailed })
  expectShape(value, wantFailed ? failed : ok)
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
  expectAnswer(ok, 'SearchServicesFound', 'SearchServicesFailed', false)
  expectShape(ok.services[0], 'Service')
  expectAnswer(await c.searchServices({ query: '' }), 'SearchServicesFound', 'SearchServicesFailed', true)
})

test('getComponents results match GetComponentsResult, ComponentSummary and Parameter', async () => {
  const ok = await c.getComponents({ app_slug: 'stripe' })
  expectAnswer(ok, 'GetComponentsFound', 'GetComponentsFailed', false)
  for (const comp of ok.components) {
    expectShape(comp, 'ComponentSummary')
    for (const p of comp.parameters) {
      expectShape(p, 'Parameter')
      for (const o of p.options ?? []) expectShape(o, 'OptionItem')
    }
  }
  expectAnswer(await c.getComponents({ app_slug: 'nope_nope' }), 'GetComponentsFound', 'GetComponentsFailed', true)
})

test('getComponent, configureProp, reloadProps and unknown tools match their interfaces', async () => {
  expectAnswer(await c.getComponent({ component_id: 'slack-send-message' }), 'ComponentDefinition', 'GetComponentFailed', false)
  expectAnswer(await c.getComponent({ component_id: 'slack-nope' }), 'ComponentDefinition', 'GetComponentFailed', true)
  const opts = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'conversation' })
  expectAnswer(opts, 'ConfigurePropFound', 'ConfigurePropFailed', false)
  expectAnswer(await c.configureProp({ component_id: 'slack-send-message', prop_name: 'text' }), 'ConfigurePropFound', 'ConfigurePropFailed', true)
  const reload = await c.reloadProps({ component_id: 'google_sheets-add-single-row', params: { sheetId: 's' } })
  expectAnswer(reload, 'ReloadPropsDone', 'ReloadPropsFailed', false)
  expectAnswer(await c.reloadProps({ component_id: 'x-y' }), 'ReloadPropsDone', 'ReloadPropsFailed', true)
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

test('account, user and Connect token answers match their interfaces; so does a retry event', async () => {
  const events = []
  const logged = new PipedreamClient({
    baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, projectId: PROJECT_ID,
    retry: { minDelayMs: 5, maxDelayMs: 20 }, logger: (e) => events.push(e),
  })
  await emu.fault({ path: '^/v1/oauth/token$', status: 503, count: 1 })
  const accounts = await logged.listAccounts({ external_user_id: 'u1' })
  expect(accounts).toHaveLength(2)
  for (const a of accounts) expectShape(a, 'ConnectedAccount')
  // The emulator's accounts have no name, which the API sends as null.
  expect(accounts.map((a) => a.name)).toEqual([null, null])
  expectShape(await logged.getAccount(accounts[0].id), 'ConnectedAccount')
  for (const u of await logged.listUsers()) expectShape(u, 'ExternalUser')
  expectShape(await logged.createConnectToken({ external_user_id: 'u1' }), 'ConnectToken')
  const retry = events.find((e) => e.type === 'retry')
  expect(retry).toEqual(expect.objectContaining({ class: 'oauth', attempt: 1 }))
  expectShape(retry, 'LogEvent')
})

test('toolDefinitions match ToolDefinition', () => {
  const { toolDefinitions } = require('..')
  for (const t of toolDefinitions()) {
    expectShape(t, 'ToolDefinition')
    expectShape(t.function, 'ToolFunction')
  }
})

test('no secret-looking example ships in index.d.ts', () => {
  expect(dts).not.toMatch(/clientSecret:\s*['"]/)
  expect(dts).not.toMatch(/token:\s*['"]/)
})
