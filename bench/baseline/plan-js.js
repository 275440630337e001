'use strict'
// The integration plan's code path written as plain JS, for comparison only: global fetch, a
// Map with a TTL as the cache, the plan's sliding-window limiter (set so it never throttles),
// and an OAuth token fetched once. It talks to the real endpoints (the plan's URLs do not
// exist), so both sides do the same HTTP work.
class PlanJsClient {
  constructor({ baseUrl, clientId, clientSecret, projectId, externalUserId }) {
    Object.assign(this, { baseUrl, clientId, clientSecret, projectId, externalUserId })
    this.cache = new Map()
    this.cacheExpiry = 5 * 60 * 1000
    this.requests = []
    this.limit = Number.MAX_SAFE_INTEGER
    this.token = null
  }

  async waitIfNeeded() {
    const now = Date.now()
    this.requests = this.requests.filter((t) => now - t < 60000)
    this.requests.push(now)
  }

  async bearer() {
    if (!this.token) {
      const res = await fetch(`${this.baseUrl}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.clientSecret }),
      })
      this.token = (await res.json()).access_token
    }
    return this.token
  }

  async searchServices({ query, limit = 20 }) {
    const key = `${query}:${limit}`
    const hit = this.cache.get(key)
    if (hit && Date.now() - hit.timestamp < this.cacheExpiry) return hit.data
    await this.waitIfNeeded()
    const res = await fetch(`${this.baseUrl}/v1/connect/apps?q=${encodeURIComponent(query)}&limit=${limit}`, {
      headers: { authorization: `Bearer ${await this.bearer()}`, 'x-pd-environment': 'production' },
    })
    const data = await res.json()
    const services = (data.data || []).map((app) => ({
      app_slug: app.name_slug, name: app.name, description: app.description, logo_url: app.img_src, categories: app.categories || [],
    }))
    const out = { query, services, total_found: data.page_info?.total_count ?? services.length, message: `Found ${services.length} services` }
    this.cache.set(key, { data: out, timestamp: Date.now() })
    return out
  }

  async execute({ component_id, params, account_id }) {
    await this.waitIfNeeded()
    const res = await fetch(`${this.baseUrl}/v1/connect/${this.projectId}/actions/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.bearer()}`, 'x-pd-environment': 'production', 'content-type': 'application/json' },
      body: JSON.stringify({ id: component_id, external_user_id: this.externalUserId, configured_props: { ...params, slack: { authProvisionId: account_id } } }),
    })
    if (!res.ok) throw new Error(`API error ${res.status}: ${await res.text()}`)
    return res.json()
  }
}

module.exports = { PlanJsClient }
