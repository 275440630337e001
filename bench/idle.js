'use strict'
// RSS per idle client: one side alone in a fresh process makes one client (ours also starts
// its runtime then), then `count` more that it keeps and never calls, and reports RSS growth
// per client. What a process that makes a client per tenant or per worker holds for each.
// Input on stdin: `{ base, side, count }`.
const { lazyClients } = require('./clients')
const { readInput } = require('./measure')

async function main() {
  if (!global.gc) throw new Error('run with node --expose-gc')
  const { base, side, count } = await readInput()
  const clients = lazyClients(base)
  const kept = [clients.fresh(side)]
  global.gc()
  const before = process.memoryUsage().rss
  for (let i = 0; i < count; i++) kept.push(clients.fresh(side))
  global.gc()
  const rss = process.memoryUsage().rss - before
  process.stdout.write(`${JSON.stringify({ side, count, kept: kept.length, rssBytes: rss, perClientBytes: rss / count })}\n`)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
