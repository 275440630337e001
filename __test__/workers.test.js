'use strict'
// The addon's threads and the event loop: 8 workers load it and call it concurrently, and are
// terminated mid-call; a pending call holds the loop open and an idle client lets it go; many
// calls settled in one wake-up each get their own answer. Scripts run in a child process, so a
// crash or a hang shows as an exit code instead of taking Jest down.
const { spawn } = require('node:child_process')
const path = require('node:path')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')

let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', 'w:slack'])
})
afterAll(() => emu.stop())
afterEach(() => emu.clearFaults())

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
    // With a logger: its events are in flight too when the worker goes.
    let logged = 0
    const c = new pd.PipedreamClient({ ...workerData.options, logger: () => logged++ })
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
    let stopping = false
    // Terminated once the workers have made 8 rounds between them, with more calls in flight:
    // a fixed delay raced 8 loads of the addon on a busy machine (no round at 1.5 s in one CI
    // run). The 8 s guard ends a run that never gets there, and the test then fails on progress.
    const stop = async () => {
      if (stopping) return
      stopping = true
      await Promise.all(workers.map((w) => w.terminate()))
      // The addon still works on the main thread after its workers are gone.
      const pd = require(${JSON.stringify(ROOT)})
      const c = new pd.PipedreamClient(options)
      const res = await c.searchServices({ query: 'gmail' })
      console.log(JSON.stringify({ progress, mainOk: !res.error }))
    }
    for (const w of workers) w.on('message', () => ++progress === 8 && setTimeout(stop, 200))
    setTimeout(stop, 8000).unref()
  `
  const res = await runScript(main, {})
  expect(res.signal).toBeNull()
  expect(res.code).toBe(0)
  const summary = JSON.parse(res.out.trim().split('\n').pop())
  expect(summary.mainOk).toBe(true)
  expect(summary.progress).toBeGreaterThanOrEqual(8)
  // Nothing kept the process alive after the last call settled.
  expect(res.ms).toBeLessThan(10000)
  // Calls were in flight when the workers went away.
  const runs = await emu.requests('/actions/run$')
  expect(runs.length).toBeGreaterThan(8)
})

test('a pending call holds the process open, and an idle client lets it exit', async () => {
  await emu.fault({ path: '/actions/run$', delay_ms: 700 })
  // Nothing but the call is scheduled: if the pending promise did not hold the loop, the process
  // would exit before printing; if the idle client held it, the process would not exit at all.
  const main = `
    const pd = require(${JSON.stringify(ROOT)})
    const c = new pd.PipedreamClient(${JSON.stringify({ ...emu.clientOptions, externalUserId: 'w' })})
    const started = Date.now()
    c.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text: 'held' } })
      .then((r) => console.log(JSON.stringify({ text: r.result.message.text, ms: Date.now() - started })))
  `
  const res = await runScript(main, {})
  expect(res.signal).toBeNull()
  expect(res.code).toBe(0)
  const printed = JSON.parse(res.out.trim().split('\n').pop())
  expect(printed.text).toBe('held')
  expect(printed.ms).toBeGreaterThanOrEqual(650)
  // It exited on its own, soon after (runScript kills it at 20 s).
  expect(res.ms).toBeLessThan(printed.ms + 5000)
  expect((await emu.requests('/actions/run$')).length).toBeGreaterThan(0)
})

test('calls settling together each get their own answer, in the same process', async () => {
  const pd = require(ROOT)
  const c = new pd.PipedreamClient({ ...emu.clientOptions, externalUserId: 'w', cache: { ttlMs: 0 } })
  const queries = Array.from({ length: 300 }, (_, i) => `q${i} ${['slack', 'gmail', 'github'][i % 3]}`)
  const answers = await Promise.all(queries.map((query) => c.searchServices({ query })))
  expect(answers.map((a) => a.query)).toEqual(queries)
  expect(answers.filter((a) => a.error)).toEqual([])
  const runs = await Promise.all(
    queries.slice(0, 100).map((text) =>
      c.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text } }),
    ),
  )
  // Each promise settled with its own run's answer: the text it sent comes back in its result.
  expect(runs.map((r) => r.result.message.text)).toEqual(queries.slice(0, 100))
  const sent = (await emu.runs()).slice(-100).map((r) => r.configured_props.text)
  expect(new Set(sent)).toEqual(new Set(queries.slice(0, 100)))
})

// The runtime leaves a core to the JS thread: one worker per core but one (at least one), or
// what TOKIO_WORKER_THREADS says when it is a positive integer. Counted from /proc after the
// module is loaded and a call has run on the runtime.
const describeLinux = process.platform === 'linux' ? describe : describe.skip
describeLinux('the runtime', () => {
  const countWorkers = `
    const fs = require('node:fs')
    const { PipedreamClient } = require(${JSON.stringify(ROOT)})
    ;(async () => {
      const c = new PipedreamClient({ baseUrl: process.env.EMU, projectId: '${PROJECT_ID}', clientId: '${CLIENT_ID}', clientSecret: '${CLIENT_SECRET}' })
      const res = await c.searchServices({ query: 'slack' })
      const names = fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim())
      process.stdout.write(JSON.stringify({ found: res.services.length, workers: names.filter((n) => n === 'tokio-rt-worker').length }))
    })()
  `
  const run = async (env) => {
    const r = await runScript(countWorkers, { EMU: emu.url, TOKIO_WORKER_THREADS: '', ...env })
    expect(r.code).toBe(0)
    const out = JSON.parse(r.out)
    expect(out.found).toBeGreaterThan(0)
    return out.workers
  }

  // Node counts the cores this process may run on; Rust also applies a cgroup CPU quota, so
  // the exact count is checked only where there is none.
  const cores = require('node:os').availableParallelism()
  const quota = (() => {
    try {
      const [q, period] = require('node:fs').readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(' ')
      return q === 'max' ? Infinity : Number(q) / Number(period)
    } catch {
      return Infinity
    }
  })()

  test('has one worker per core but one, at least one; TOKIO_WORKER_THREADS sets it when it is a positive integer', async () => {
    const byDefault = await run({})
    if (quota >= cores) expect(byDefault).toBe(Math.max(1, cores - 1))
    else expect(byDefault).toBeLessThan(Math.max(2, cores))
    expect(await run({ TOKIO_WORKER_THREADS: '3' })).toBe(3)
    // Tokio's own default panics on such a value; here it is ignored.
    expect(await run({ TOKIO_WORKER_THREADS: 'lots' })).toBe(byDefault)
  })
})
