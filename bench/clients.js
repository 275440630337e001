'use strict'
// The clients the scenarios call, each made on first use: a process that runs one side alone
// (`run.js --isolated`) constructs that side's client and nothing else, and only the `ours`
// clients load the addon.
const path = require('node:path')
const { PlanJsClient } = require('./baseline/plan-js')
const { SdkClient } = require('./baseline/sdk')
const { UndiciClient } = require('./baseline/undici')

const ROOT = path.resolve(__dirname, '..')
const UNREACHED = {
  read: { requests: 1_000_000, perMs: 1000 },
  execute: { requests: 1_000_000, perMs: 1000 },
  accounts: { requests: 1_000_000, perMs: 1000 },
}

/**
 * `base`: { baseUrl, clientId, clientSecret, projectId, externalUserId }; `redisUrl`: the
 * redis-server of `run.js --redis`, for the shared limiter's row.
 */
function lazyClients(base, { redisUrl } = {}) {
  const made = new Map()
  const ours = (extra) => {
    const pd = require(ROOT)
    return new pd.PipedreamClient({ ...base, rateLimit: { enabled: false }, ...extra })
  }
  const makers = {
    ours: () => ours({ cache: { maxEntries: 1_000_000 } }),
    oursUncached: () => ours({ cache: { ttlMs: 0 } }),
    // The limiter on with budgets it never reaches, so each call asks it and never waits: in
    // this process, or in Redis.
    oursLimited: () => ours({ rateLimit: UNREACHED }),
    oursRedisLimited: () => {
      if (!redisUrl) throw new Error('the Redis limiter row needs run.js --redis')
      return ours({ rateLimit: UNREACHED, store: { redis: { url: redisUrl } } })
    },
    undici: () => new UndiciClient(base),
    undiciUncached: () => new UndiciClient({ ...base, cacheTtlMs: 0 }),
    plan: () => new PlanJsClient(base),
    planUncached: () => new PlanJsClient({ ...base, cacheTtlMs: 0 }),
    sdk: () => new SdkClient(base),
  }
  const clients = {}
  for (const [name, make] of Object.entries(makers)) {
    Object.defineProperty(clients, name, {
      enumerable: true,
      get() {
        if (!made.has(name)) made.set(name, make())
        return made.get(name)
      },
    })
  }
  /** A new client of `name` each time, for the construction row. */
  clients.fresh = (name) => makers[name]()
  /** Closes the undici pools, so a child process can exit on its own. */
  clients.close = async () => {
    for (const client of made.values()) await client.close?.()
  }
  return clients
}

module.exports = { lazyClients }
