'use strict'
// The floor under any answer handed back to the JS thread from another thread, on this machine:
// the main thread hands a call to a worker_threads worker, which works `busyUs` (a server's
// time, so the main thread really goes to sleep) and posts the answer back, which wakes the
// main thread through libuv (an eventfd, as a native addon's answer does). With `awake` the
// worker spins between calls, so only the main thread is woken (ours' runtime staying awake
// between back-to-back calls); without, the main thread also wakes the sleeping worker. No
// emulator, no HTTP, no addon: both sides of the table pay this once per call at c=1 for the
// socket's answer, and ours pays it again for the hop to its runtime and back.
// Input on stdin: `{ awake, n, warm, busyUs }`; prints per round trip its wall time and the
// main thread's CPU (schedstat).
const { Worker } = require('node:worker_threads')
const { readInput, mainThreadCpuNs } = require('./measure')

const WORKER = `
const { parentPort, workerData: { awake, busyUs, flag } } = require('node:worker_threads')
const busy = () => {
  const t0 = process.hrtime.bigint()
  while (Number(process.hrtime.bigint() - t0) < busyUs * 1000);
}
if (awake) {
  // Spins on the flag the main thread moves; -1 ends it.
  let seen = 0
  for (;;) {
    const next = Atomics.load(flag, 0)
    if (next === -1) break
    if (next === seen) continue
    seen = next
    busy()
    parentPort.postMessage(seen)
  }
  parentPort.close()
} else {
  parentPort.on('message', (i) => {
    busy()
    parentPort.postMessage(i)
  })
}
`

/** `n` round trips; resolves when the last answer is in. */
function roundTrips(worker, awake, flag, n, from) {
  return new Promise((resolve, reject) => {
    let i = 0
    const ask = () => (awake ? Atomics.store(flag, 0, from + i + 1) : worker.postMessage(from + i + 1))
    const onMessage = () => {
      if (++i < n) return ask()
      worker.off('message', onMessage)
      worker.off('error', reject)
      resolve()
    }
    worker.on('message', onMessage)
    worker.once('error', reject)
    ask()
  })
}

async function main() {
  const { awake, n, warm, busyUs } = await readInput()
  if (mainThreadCpuNs() === null) throw new Error('the handoff rows need Linux schedstat')
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(WORKER, { eval: true, workerData: { awake, busyUs, flag } })
  await roundTrips(worker, awake, flag, warm, 0)
  const cpu0 = mainThreadCpuNs()
  const t0 = process.hrtime.bigint()
  await roundTrips(worker, awake, flag, n, warm)
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3 / n
  const mainCpuUs = (mainThreadCpuNs() - cpu0) / 1e3 / n
  Atomics.store(flag, 0, -1)
  await worker.terminate()
  process.stdout.write(`${JSON.stringify({ awake, n, busyUs, wallUs, mainCpuUs })}\n`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
