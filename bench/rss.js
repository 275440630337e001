'use strict'
// RSS growth of one client holding `count` cached searchServices answers, in a process of its own
// so the other scenarios' heap and allocator state do not blur the delta. run.js starts it with
// `node --expose-gc bench/rss.js` and writes `{ options, keys: [[query, limit], …], count,
// concurrency }` as JSON to its stdin (too big for argv); it prints one JSON line.
const path = require('node:path')
const { pool, readInput, settle } = require('./measure')

const MB = 1024 * 1024

async function main() {
  if (!global.gc) throw new Error('run with node --expose-gc')
  const { options, keys, count, concurrency } = await readInput()
  const pd = require(path.resolve(__dirname, '..'))
  const client = new pd.PipedreamClient({ ...options, cache: { maxEntries: count * 2 } })
  // A query outside `keys`, so the connection pool, token and runtime exist before the baseline.
  await client.searchServices({ query: 'zzz-warm-up' })
  await settle(150)
  const before = process.memoryUsage()
  const entries0 = client.getStats().cache.entries
  let jsonBytes = 0
  await pool(count, concurrency, async (i) => {
    const [query, limit] = keys[i]
    const res = await client.searchServices({ query, limit })
    if (res.error) throw new Error(`searchServices(${query}): ${res.error} ${res.message}`)
    jsonBytes += Buffer.byteLength(JSON.stringify(res))
  })
  await settle(150)
  const after = process.memoryUsage()
  const stats = client.getStats()
  const entries = stats.cache.entries - entries0
  if (entries < count) throw new Error(`only ${entries} of ${count} answers are cached (evicted?)`)
  const out = {
    entries,
    jsonBytes,
    rssBytes: after.rss - before.rss,
    heapUsedBytes: after.heapUsed - before.heapUsed,
    heapTotalBytes: after.heapTotal - before.heapTotal,
    externalBytes: after.external - before.external,
    ratio: (after.rss - before.rss) / jsonBytes,
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`
  process.stderr.write(`${entries} entries, RSS +${mb(out.rssBytes)}, JSON ${mb(jsonBytes)}, JS heap committed +${mb(out.heapTotalBytes)}\n`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
