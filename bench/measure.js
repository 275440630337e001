'use strict'
const fs = require('node:fs')
const { performance } = require('node:perf_hooks')
const { seededRandom } = require('../scripts/random')

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`

/** A thread's CPU time in ns: the first field of its Linux schedstat file. Throws without one. */
function schedstatNs(file) {
  return Number(fs.readFileSync(file, 'utf8').split(' ')[0])
}

/**
 * CPU time of the main thread alone, in ns, from Linux's schedstat; null elsewhere. Event-loop
 * active time is wall time: on a busy machine it also counts the time the main thread waited
 * for a CPU, and it swung 0.8–2.9 ms per call for the same work here.
 */
function mainThreadCpuNs() {
  try {
    return schedstatNs(SCHEDSTAT)
  } catch {
    return null
  }
}

/**
 * CPU time of every thread of process `pid` (the emulator), in ns, from each thread's schedstat;
 * null when there is no such process or no schedstat. The emulator shares the machine's cores
 * with the side measured, so at high concurrency its CPU per call bounds the calls/s any client
 * can reach: the table shows it beside each side's own.
 */
function processCpuNs(pid) {
  if (!pid) return null
  try {
    let ns = 0
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += schedstatNs(`/proc/${pid}/task/${task}/schedstat`)
      } catch {
        // A thread that ended between the listing and the read: its time is lost, a few µs.
      }
    }
    return ns
  } catch {
    return null
  }
}

/** The server whose CPU `timed` reports (`serverCpuUs`): the emulator's pid, set once per process. */
let serverPid = null
function watchServer(pid) {
  serverPid = pid
}

/**
 * Runs `fn(i)` for i in [0, n) with at most `concurrency` calls in flight; answers each call's
 * latency in µs (a typed array: recording costs every side the same ~0.1 µs).
 */
async function pool(n, concurrency, fn) {
  const latencies = new Float64Array(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      const t0 = performance.now()
      await fn(i)
      latencies[i] = (performance.now() - t0) * 1000
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
  return latencies
}

/** The `q` quantile (0–1) of `xs`, nearest rank. */
function quantile(xs, q) {
  const s = Float64Array.from(xs).sort()
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null
}

/**
 * Times `work`, which makes `calls` calls. Per call: main-thread CPU (schedstat; JS, promise
 * callbacks and whatever native code runs on the main thread), event-loop active time
 * (`performance.eventLoopUtilization()`), and process CPU (`process.cpuUsage()`: every thread of
 * this process, our Rust runtime, V8's GC helpers and libuv's pool included). The emulator and
 * wrk are other processes. With the per-call latencies `work` may answer (see `pool`), p50 and
 * p99. A GC first, so one side's garbage is not collected on the next's time. With a server
 * watched (`watchServer`), its CPU per call too.
 */
async function timed(calls, work) {
  return timedAs(() => calls, work)
}

/**
 * A sample of `run(n)` (`n` calls, answering their latencies or nothing), repeated until the
 * sample has lasted `minMs`: on a fast machine a few hundred calls took 0.1 s, and such short
 * samples put one round's ratio anywhere from half to one and a half times the next's.
 */
async function timedRuns(n, minMs, run) {
  let calls = 0
  return timedAs(
    () => calls,
    async () => {
      const parts = []
      const t0 = performance.now()
      do {
        parts.push(await run(n))
        calls += n
      } while (performance.now() - t0 < minMs)
      if (!parts.every((p) => p?.length)) return null
      const all = new Float64Array(calls)
      parts.reduce((at, p) => (all.set(p, at), at + p.length), 0)
      return all
    },
  )
}

/** `timed`, with the call count read once the work is done. */
async function timedAs(countCalls, work) {
  if (global.gc) global.gc()
  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const main0 = mainThreadCpuNs()
  const server0 = processCpuNs(serverPid)
  const t0 = process.hrtime.bigint()
  const latencies = await work()
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const main1 = mainThreadCpuNs()
  const server1 = processCpuNs(serverPid)
  const elu = performance.eventLoopUtilization(elu0)
  const cpu = process.cpuUsage(cpu0)
  const calls = countCalls()
  return {
    calls,
    secs,
    rate: calls / secs,
    usPerCall: (secs * 1e6) / calls,
    mainCpuUs: main0 === null || main1 === null ? null : (main1 - main0) / 1e3 / calls,
    eluActiveUs: (elu.active * 1000) / calls,
    procCpuUs: (cpu.user + cpu.system) / calls,
    serverCpuUs: server0 === null || server1 === null ? null : (server1 - server0) / 1e3 / calls,
    p50Us: latencies?.length ? quantile(latencies, 0.5) : null,
    p99Us: latencies?.length ? quantile(latencies, 0.99) : null,
  }
}

function spread(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return null
  const mid = s.length >> 1
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], n: s.length }
}

/** Shuffled in place with a seeded PRNG, so every run uses the same order. */
function shuffle(xs, seed) {
  const rnd = seededRandom(seed)
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const x = xs[i]
    xs[i] = xs[j]
    xs[j] = x
  }
  return xs
}

/** For the processes run.js starts: the JSON it wrote to their stdin. */
async function readInput() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString())
}

/** Three garbage collections `ms / 3` apart, so RSS is read after what can be freed was. */
async function settle(ms) {
  for (let i = 0; i < 3; i++) {
    global.gc()
    await new Promise((resolve) => setTimeout(resolve, ms / 3))
  }
}

module.exports = { pool, timed, timedRuns, watchServer, spread, shuffle, quantile, mainThreadCpuNs, readInput, settle }
