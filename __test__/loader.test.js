'use strict'
// The package entry (`index.js` around napi's generated `binding.js`): what a user sees when no
// binary loads, and that ESM named imports still work through it. Each case runs in its own
// Node process, from a copy of the two loader files with no binary beside them.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
let dir

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-loader-'))
  for (const f of ['index.js', 'binding.js']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Requires the copied entry in a fresh process, after `setup` (JS source) runs. */
function load(setup = '') {
  const code = `${setup}
    try { require('./index.js'); console.log(JSON.stringify({ loaded: true })) }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  const res = spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '' } })
  expect(res.status).toBe(0)
  return JSON.parse(res.stdout)
}

const here = () => {
  const musl = !process.report.getReport().header.glibcVersionRuntime
  return process.platform === 'linux' ? `linux-${process.arch}-${musl ? 'musl' : 'gnu'}` : `${process.platform}-${process.arch}`
}

test('no binary: the error names the platform, the package and the fixes', () => {
  const err = load()
  expect(err.code).toBe('PIPEDREAM_BINDING_NOT_FOUND')
  expect(err.message).toContain(`native binary for ${here()}`)
  expect(err.message).toContain(`@director/pipedream-connect-${here()}`)
  expect(err.message).toContain('--omit=optional')
  expect(err.message).toContain('https://github.com/npm/cli/issues/4828')
  // What the generated loader tried is kept, one line each.
  expect(err.message).toMatch(/What was tried:\n {2}- .*Cannot find module/)
})

test('a binary that does not load: the dlopen error is shown', () => {
  fs.writeFileSync(path.join(dir, `pipedream-connect.${here()}.node`), 'not an ELF file')
  const err = load()
  expect(err.code).toBe('PIPEDREAM_BINDING_NOT_FOUND')
  expect(err.message).toMatch(/invalid ELF header|not a valid|file too short/i)
})

test('an unsupported platform is told so, with the list of prebuilt ones', () => {
  const err = load("Object.defineProperty(process, 'arch', { value: 'ppc64' })")
  expect(err.code).toBe('PIPEDREAM_BINDING_NOT_FOUND')
  expect(err.message).toContain('There is no prebuilt binary for')
  expect(err.message).toContain('ppc64')
  expect(err.message).toContain('linux-arm64-musl')
  expect(err.message).toContain('npm run build')
})

test('the real entry loads, and ESM named imports see every export', () => {
  const names = Object.keys(require(ROOT)).filter((n) => !n.startsWith('__')).sort()
  expect(names).toEqual(expect.arrayContaining(['PipedreamClient', 'searchServices', 'executePipedreamConnect']))
  const code = `import * as pd from ${JSON.stringify(path.join(ROOT, 'index.js'))}
    import { searchServices } from ${JSON.stringify(path.join(ROOT, 'index.js'))}
    if (typeof searchServices !== 'function') throw new Error('named import missing')
    console.log(JSON.stringify(Object.keys(pd).filter((n) => n !== 'default' && !n.startsWith('__')).sort()))`
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })
  expect(res.stderr).toBe('')
  expect(JSON.parse(res.stdout)).toEqual(names)
})
