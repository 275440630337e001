'use strict'
// One "instance of Director" for __test__/shared-store.test.js: a separate Node process
// (child_process.fork) with its own PipedreamClient, driven over IPC. Each message
// `{ id, cmd, … }` gets one reply `{ id, … }`:
// - `init { options }`: makes the client (its log events are kept);
// - `load { config, concurrency, durationMs, startAt }`: `concurrency` workers run
//   `executePipedreamConnect(config)` from `startAt` until `durationMs` later; answers how many
//   succeeded and the failures by code (a locally refused call, `PIPEDREAM_RATE_LIMITED` with
//   nothing sent, waits its `retry_after_ms`, at most 200 ms, before the next);
// - `execute { config, context?, full? }`: one call, answering `{ ok }` or `{ code }` (with
//   `full`, the answer itself, or the error's `maybe_executed` and message);
// - `call { method, args }`: `client[method](...args)`, answering `{ answer }` (a discovery
//   call answers its result as data, errors included);
// - `clearCache`: `client.clearCache()`;
// - `report`: `getStats()`, `metrics()` and the log events so far;
// - `exit`.
const { PipedreamClient } = require('../..')

let client
const events = []

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function load({ config, concurrency, durationMs, startAt }) {
  await sleep(Math.max(0, startAt - Date.now()))
  const end = Date.now() + durationMs
  const failed = {}
  let ok = 0
  const worker = async () => {
    while (Date.now() < end) {
      try {
        await client.executePipedreamConnect(config)
        ok++
      } catch (e) {
        failed[e.code] = (failed[e.code] || 0) + 1
        if (e.code === 'PIPEDREAM_RATE_LIMITED') await sleep(Math.min(e.retry_after_ms || 50, 200))
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { ok, failed }
}

const handlers = {
  init({ options }) {
    client = new PipedreamClient({ ...options, logger: (event) => events.push(event) })
    return {}
  },
  load,
  async execute({ config, context, full }) {
    try {
      const answer = await client.executePipedreamConnect(config, context)
      return full ? { ok: true, answer } : { ok: true }
    } catch (e) {
      return full
        ? { ok: false, code: e.code, maybe_executed: e.maybe_executed === true, message: e.message }
        : { ok: false, code: e.code, message: e.message }
    }
  },
  async call({ method, args }) {
    return { answer: await client[method](...args) }
  },
  clearCache() {
    client.clearCache()
    return {}
  },
  report() {
    return { stats: client.getStats(), metrics: client.metrics(), events }
  },
  exit() {
    setImmediate(() => process.exit(0))
    return {}
  },
}

process.on('message', async ({ id, cmd, ...args }) => {
  let reply
  try {
    reply = await handlers[cmd](args)
  } catch (e) {
    reply = { error: `${e.code || ''} ${e.message}` }
  }
  process.send({ id, ...reply })
})
