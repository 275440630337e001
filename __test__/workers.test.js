'use strict'
// The addon under worker_threads: 8 workers load it and call it concurrently, and are
// terminated mid-call. Run in a child process, so a crash shows as an exit code instead of
// taking Jest down.
const { spawn } = require('node:child_process')
const path = require('node:path')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')

let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', 'w:slack'])
})
afterAll(() => emu.stop())

const ROOT = path.resolve(__dirname, '..')

function runScript(code, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const started = Date.now()
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err, ms: Date.now() - started })
    })
  })
}

test('8 workers call concurrently, are terminated mid-call, and the process exits cleanly', async () => {
  // Slow runs keep calls in flight when the workers are terminated.
  await emu.fault({ path: '/actions/run$', delay_ms: 400 })
  const worker = `
    const { parentPort, workerData } = require('node:worker_threads')
    const pd = require(${JSON.stringify(ROOT)})
    const c = new pd.PipedreamClient(workerData.options)
    let done = 0
    const loop = async () => {
      for (;;) {
        await c.searchServices({ query: 'slack' + (done % 5) })
        await c.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text: 'w' } }).catch(() => {})
        done++
        parentPort.postMessage(done)
      }
    }
    for (let i = 0; i < 4; i++) loop()
  `
  const main = `
    const { Worker } = require('node:worker_threads')
    const options = ${JSON.stringify({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, projectId: PROJECT_ID, externalUserId: 'w', cache: { ttlMs: 0 } })}
    const workers = Array.from({ length: 8 }, () => new Worker(${JSON.stringify(worker)}, { eval: true, workerData: { options } }))
    let progress = 0
    for (const w of workers) w.on('message', () => progress++)
    setTimeout(async () => {
      await Promise.all(workers.map((w) => w.terminate()))
      // The addon still works on the main thread after its workers are gone.
      const pd = require(${JSON.stringify(ROOT)})
      const c = new pd.PipedreamClient(options)
      const res = await c.searchServices({ query: 'gmail' })
      console.log(JSON.stringify({ progress, mainOk: !res.error }))
    }, 1500)
  `
  const res = await runScript(main, {})
  expect(res.signal).toBeNull()
  expect(res.code).toBe(0)
  const summary = JSON.parse(res.out.trim().split('\n').pop())
  expect(summary.mainOk).toBe(true)
  expect(summary.progress).toBeGreaterThan(0)
  // Nothing kept the process alive after the last call settled.
  expect(res.ms).toBeLessThan(10000)
  // Calls were in flight when the workers went away.
  const runs = await emu.requests('/actions/run$')
  expect(runs.length).toBeGreaterThan(8)
})
