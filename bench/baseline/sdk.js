'use strict'
// The plan's handlers written on the official SDK (`@pipedream/sdk` 3.x) instead of fetch: the
// same answers as plan-js, with the SDK doing the HTTP, the OAuth token and the (de)serialization.
// The SDK has no cache, so there is no cache-hit side for it.
const { PipedreamClient } = require('@pipedream/sdk')
const { servicesAnswer, componentsAnswer } = require('./plan-js')

class SdkClient {
  constructor({ baseUrl, clientId, clientSecret, projectId, externalUserId }) {
    this.sdk = new PipedreamClient({ baseUrl, clientId, clientSecret, projectId, projectEnvironment: 'production' })
    this.externalUserId = externalUserId
  }

  async searchServices({ query, limit = 20 }) {
    const page = await this.sdk.apps.list({ q: query, limit })
    // The SDK hands back camelCase objects; the plan's answer is built from the wire names.
    const data = page.data.map((a) => ({
      name_slug: a.nameSlug,
      name: a.name,
      description: a.description,
      img_src: a.imgSrc,
      categories: a.categories,
    }))
    return servicesAnswer(query, { data })
  }

  /** The SDK's page iterator follows `end_cursor` itself. */
  async getComponents({ app_slug }) {
    const all = []
    for await (const c of await this.sdk.actions.list({ app: app_slug, limit: 100 })) {
      const { key, name, description, version, configurableProps } = c
      all.push({ key, name, description, version, configurable_props: configurableProps })
    }
    return componentsAnswer(app_slug, all)
  }

  async execute({ component_id, params, app, account_id }) {
    return this.sdk.actions.run({
      id: component_id,
      externalUserId: this.externalUserId,
      configuredProps: { ...params, [app]: { authProvisionId: account_id } },
    })
  }

  executeBatch(operations, { concurrency = 5 } = {}) {
    return keepInFlight(operations, concurrency, (op) => this.execute(op))
  }
}

/** Runs `run(op)` over `operations` keeping `concurrency` in flight, settling like `Promise.allSettled`. */
async function keepInFlight(operations, concurrency, run) {
  const results = new Array(operations.length)
  let next = 0
  const worker = async () => {
    while (next < operations.length) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await run(operations[i]) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, operations.length) }, worker))
  return results
}

module.exports = { SdkClient, keepInFlight }
