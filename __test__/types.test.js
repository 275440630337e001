'use strict'
// index.d.ts is generated from the Rust binding; the results are built by the core as JSON.
// This keeps the two in step: every key a result carries is declared, and vice versa.
const fs = require('node:fs')
const path = require('node:path')
const { PipedreamClient } = require('..')
const { startEmulator, CLIENT_ID, CLIENT_SECRET } = require('./helpers/emulator')

const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
function declaredKeys(name) {
  const m = dts.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))
  if (!m) throw new Error(`index.d.ts has no interface ${name}`)
  return m[1]
    .split('\n')
    .map((l) => l.match(/^\s{2}(\w+)\??:/))
    .filter(Boolean)
    .map((x) => x[1])
    .sort()
}

let emu
beforeAll(async () => {
  emu = await startEmulator()
})
afterAll(() => emu.stop())

test('SearchServicesResult and Service in index.d.ts match what searchServices returns', async () => {
  const c = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
  const ok = await c.searchServices({ query: 'slack' })
  const failed = await c.searchServices({ query: '' })
  const resultKeys = new Set([...Object.keys(ok), ...Object.keys(failed)])
  expect([...resultKeys].sort()).toEqual(declaredKeys('SearchServicesResult'))
  expect(Object.keys(ok.services[0]).sort()).toEqual(declaredKeys('Service'))
})

test('no secret-looking example ships in index.d.ts', () => {
  expect(dts).not.toMatch(/clientSecret:\s*['"]/)
  expect(dts).not.toMatch(/token:\s*['"]/)
})
