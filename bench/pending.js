'use strict'
// RSS per pending call: one side alone in a fresh process starts `count` runs that the emulator
// holds (run.js adds a `delay_ms` fault on the run path first), waits until the requests it
// can send are out, and reports RSS growth over the idle, warmed-up client. It exits without
// waiting for the answers. Input on stdin: `{ base, side, send, count, settleMs }`.
const { lazyClients } = require('./clients')
const { readInput, settle } = require('./measure')

async function main() {
  if (!global.gc) throw new Error('run with node --expose-gc')
  const { base, side, send, count, settleMs } = await readInput()
  const clients = lazyClients(base)
  const client = clients[side]
  // Token, pool and runtime exist before the baseline: one discovery call (not delayed).
  const warm = await client.searchServices({ query: 'slack' })
  if (warm.error) throw new Error(`warm-up failed: ${warm.error}`)
  await settle(300)
  const before = process.memoryUsage()
  let failed = 0
  const run = side === 'ours' ? () => client.executePipedreamConnect(send.ours) : () => client.execute(send.js)
  for (let i = 0; i < count; i++) {
    run().catch(() => {
      failed++
    })
  }
  await settle(settleMs)
  const after = process.memoryUsage()
  const rss = after.rss - before.rss
  // Where it went: the JS heap (promises, closures, arguments) and the rest (native state).
  const heapUsed = after.heapUsed - before.heapUsed
  const out = { side, count, rssBytes: rss, perCallBytes: rss / count, heapPerCallBytes: heapUsed / count, failed }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
