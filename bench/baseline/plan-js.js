'use strict'
// The integration plan's code path written as plain JS, for comparison only: global fetch, Maps
// with a TTL as the caches (the plan's `PipedreamCache`), the plan's sliding-window `RateLimiter`
// set so it never throttles, the plan's batch loop, and an OAuth token fetched once. It talks to
// the real endpoints (the plan's URLs do not exist), so every side does the same HTTP work.
// Nothing is logged: the plan's console.log calls would measure the terminal, not the code.

const FIVE_MINUTES = 5 * 60 * 1000

/**
 * The plan's limiter with the same window semantics. The plan drops expired timestamps with
 * `requests.filter(...)` on every call, which is O(requests in the last minute); at its 60/min
 * that is nothing, but with the limit lifted and thousands of calls a second it would dominate
 * and flatter us, so expired timestamps are dropped from the front instead (amortized O(1)).
 */
class RateLimiter {
  constructor(requestsPerMinute = Number.MAX_SAFE_INTEGER) {
    this.requests = []
    this.head = 0
    this.limit = requestsPerMinute
  }

  async waitIfNeeded() {
    const now = Date.now()
    while (this.head < this.requests.length && now - this.requests[this.head] >= 60000) this.head++
    if (this.head > 4096 && this.head * 2 > this.requests.length) {
      this.requests = this.requests.slice(this.head)
      this.head = 0
    }
    if (this.requests.length - this.head >= this.limit) {
      const waitTime = 60000 - (now - this.requests[this.head])
      await new Promise((resolve) => setTimeout(resolve, waitTime))
    }
    this.requests.push(now)
  }
}

class PlanJsClient {
  /** `cacheTtlMs: 0` makes every discovery call a miss (the plan's cache has no other switch). */
  constructor({ baseUrl, clientId, clientSecret, projectId, externalUserId, cacheTtlMs = FIVE_MINUTES }) {
    Object.assign(this, { baseUrl, clientId, clientSecret, projectId, externalUserId })
    this.servicesCache = new Map()
    this.componentsCache = new Map()
    this.cacheExpiry = cacheTtlMs
    this.limiter = new RateLimiter()
    this.token = null
  }

  async bearer() {
    if (!this.token) {
      const body = JSON.stringify({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret })
      const res = await this.send('POST', '/v1/oauth/token', { 'content-type': 'application/json' }, body)
      if (!res.ok) throw new Error(`token request failed: ${res.status} ${await res.text()}`)
      this.token = (await res.json()).access_token
    }
    return this.token
  }

  /** The plan's HTTP: global `fetch`. `bench/baseline/undici.js` replaces only this. */
  async send(method, pathAndQuery, headers, body) {
    return fetch(`${this.baseUrl}${pathAndQuery}`, { method, headers, body })
  }

  async get(pathAndQuery) {
    await this.limiter.waitIfNeeded()
    const headers = { authorization: `Bearer ${await this.bearer()}`, 'x-pd-environment': 'production' }
    const res = await this.send('GET', pathAndQuery, headers)
    if (!res.ok) throw new Error(`Pipedream API error: ${res.status}`)
    return res.json()
  }

  cached(cache, key) {
    const hit = cache.get(key)
    if (hit && Date.now() - hit.timestamp < this.cacheExpiry) return hit.data
    return null
  }

  async searchServices({ query, limit = 20 }) {
    const key = `${query}:${limit}`
    const hit = this.cached(this.servicesCache, key)
    if (hit) return hit
    const data = await this.get(`/v1/connect/apps?q=${encodeURIComponent(query)}&limit=${limit}`)
    const out = servicesAnswer(query, data)
    this.servicesCache.set(key, { data: out, timestamp: Date.now() })
    return out
  }

  /** All pages of the app's actions, following `page_info.end_cursor` as the API documents. */
  async getComponents({ app_slug }) {
    const hit = this.cached(this.componentsCache, app_slug)
    if (hit) return hit
    const all = []
    let after = null
    do {
      const cursor = after ? `&after=${encodeURIComponent(after)}` : ''
      const app = encodeURIComponent(app_slug)
      const page = await this.get(`/v1/connect/${this.projectId}/actions?app=${app}&limit=100${cursor}`)
      all.push(...(page.data || []))
      after = page.page_info?.end_cursor
    } while (after)
    const out = componentsAnswer(app_slug, all)
    this.componentsCache.set(app_slug, { data: out, timestamp: Date.now() })
    return out
  }

  /** The plan's `executeAPIComponent`, with the connected account given as the plan's node does. */
  async execute({ component_id, params, app, account_id }) {
    await this.limiter.waitIfNeeded()
    const headers = {
      authorization: `Bearer ${await this.bearer()}`,
      'x-pd-environment': 'production',
      'content-type': 'application/json',
    }
    const body = JSON.stringify({
      id: component_id,
      external_user_id: this.externalUserId,
      configured_props: { ...params, [app]: { authProvisionId: account_id } },
    })
    const res = await this.send('POST', `/v1/connect/${this.projectId}/actions/run`, headers, body)
    if (!res.ok) throw new Error(`Pipedream API error ${res.status}: ${await res.text()}`)
    return res.json()
  }

  /**
   * The plan's `executeBatchAPIOperations`: slices of `batchSize` run with `Promise.allSettled`,
   * the next slice after the whole previous one has settled. The plan's 1 s pause between
   * slices is its rate limiting, lifted here like the limiter's.
   */
  async executeBatch(operations, { concurrency = 5 } = {}) {
    const results = []
    for (let i = 0; i < operations.length; i += concurrency) {
      const batch = operations.slice(i, i + concurrency)
      results.push(...(await Promise.allSettled(batch.map((op) => this.execute(op)))))
    }
    return results
  }
}

/** The plan's `handlePipedreamSearchServices` answer. */
function servicesAnswer(query, data) {
  const services = (data.data || []).map((app) => ({
    app_slug: app.name_slug,
    name: app.name,
    description: app.description,
    logo_url: app.img_src,
    categories: app.categories || [],
  }))
  return {
    query,
    services,
    total_found: services.length,
    message:
      services.length > 0
        ? `Found ${services.length} services matching "${query}". Use pipedream_get_components to see available actions.`
        : `No services found matching "${query}". Try a different search term.`,
  }
}

/**
 * The plan's `handlePipedreamGetComponents` answer, its invented fields (`props`, `auth.required`)
 * read from where the real API has them.
 */
function componentsAnswer(app_slug, list) {
  const components = list.map((component) => ({
    component_id: component.key,
    name: component.name,
    description: component.description || `${component.name} action`,
    version: component.version,
    parameters: component.configurable_props || [],
    auth_required: (component.configurable_props || []).some((p) => p.type === 'app'),
  }))
  return {
    app_slug,
    service_name: app_slug,
    components,
    total_found: components.length,
    message:
      components.length > 0
        ? `Found ${components.length} actions for ${app_slug}. Use these component_ids in pipedream_connect nodes.`
        : `No actions found for ${app_slug}. This service may not have pre-built components.`,
  }
}

module.exports = { PlanJsClient, RateLimiter, servicesAnswer, componentsAnswer }
