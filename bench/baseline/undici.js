'use strict'
// The plan's handlers as a strong Node engineer would write them on undici instead of fetch: one
// keep-alive `Pool` per client with enough connections for the concurrency, `request()` rather
// than the fetch layer, and batches that keep `concurrency` runs in flight. Everything else
// (the Map caches, the answers) is plan-js's, so the two JS sides differ only in their HTTP.
const { Pool } = require('undici')
const { PlanJsClient } = require('./plan-js')
const { keepInFlight } = require('./sdk')

class UndiciClient extends PlanJsClient {
  /** `connections`: the pool's size, the highest concurrency the bench runs (64) by default. */
  constructor({ connections = 64, ...options }) {
    super(options)
    this.pool = new Pool(this.baseUrl, { connections, pipelining: 1 })
    // The plan's sliding window is plan-js's choice; a tuned client would not pay for it.
    this.limiter = { waitIfNeeded() {} }
  }

  async send(method, path, headers, body) {
    const res = await this.pool.request({ method, path, headers, body })
    return {
      ok: res.statusCode >= 200 && res.statusCode < 300,
      status: res.statusCode,
      json: () => res.body.json(),
      text: () => res.body.text(),
    }
  }

  executeBatch(operations, { concurrency = 5 } = {}) {
    return keepInFlight(operations, concurrency, (op) => this.execute(op))
  }

  close() {
    return this.pool.close()
  }
}

module.exports = { UndiciClient }
