'use strict'
// searchServices end to end: the built addon, through require(), against the emulator.
const { PipedreamClient } = require('..')
const { startEmulator } = require('./helpers/emulator')

let emu
beforeAll(async () => {
  // A small page size forces the client to follow cursors.
  emu = await startEmulator(['--max-page-size', '2'])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({ ...emu.clientOptions, ...extra })

const appRequests = () => emu.requests('^/v1/connect/apps$')
// Reads of the whole catalog (each starts with a first page, asked without a cursor).
const catalogReads = async () => (await appRequests()).filter((r) => !/(^|&)after=/.test(r.query || '')).length

test('finds apps by name and returns the shape Director expects', async () => {
  const res = await client().searchServices({ query: 'gmail' })
  expect(res.error).toBeUndefined()
  expect(Object.keys(res).sort()).toEqual(['cached', 'message', 'query', 'services', 'total_found'])
  expect(res.query).toBe('gmail')
  expect(res.cached).toBe(false)
  const gmail = res.services.find((s) => s.app_slug === 'gmail')
  expect(gmail).toBeDefined()
  expect(Object.keys(gmail).sort()).toEqual(['app_slug', 'auth_type', 'categories', 'description', 'logo_url', 'name'])
  expect(gmail.name).toBe('Gmail')
  expect(gmail.auth_type).toBe('oauth')
  expect(gmail.logo_url).toMatch(/^https:\/\//)
  expect(Array.isArray(gmail.categories)).toBe(true)
  expect(res.message).toMatch(/^Found 1 service matching "gmail"\. Use pipedream_get_components/)

  // It read the catalog from the real endpoint, all pages, with the environment header, and
  // without `q` (the API's q matches names and slugs only; ranking is done here).
  const reqs = await appRequests()
  expect(reqs.length).toBe(Math.ceil(require('../emulator/fixtures/apps.json').length / 2))
  for (const req of reqs) {
    expect(req.method).toBe('GET')
    expect(req.query).not.toMatch(/(^|&)q=/)
    expect(req.environment).toBe('production')
  }
})

test('ranks names, descriptions and categories, which the API q cannot, and reads the catalog once', async () => {
  const apps = require('../emulator/fixtures/apps.json')
  const c = client()
  const res = await c.searchServices({ query: 'mail', limit: 5 })
  expect(res.services).toHaveLength(5)
  expect(res.total_found).toBeGreaterThanOrEqual(6)
  // Matched on the full description or categories; the answer carries a shortened one.
  for (const s of res.services) {
    const app = apps.find((a) => a.name_slug === s.app_slug)
    expect(`${app.name_slug} ${app.name} ${app.description} ${(app.categories || []).join(' ')}`.toLowerCase()).toContain('mail')
  }
  expect(new Set(res.services.map((s) => s.app_slug)).size).toBe(5)
  // Every page once, each later page asked with the previous end_cursor.
  const reqs = await appRequests()
  expect(reqs.length).toBe(Math.ceil(apps.length / 2))
  expect(reqs[0].query).not.toMatch(/after=/)
  for (const r of reqs.slice(1)) expect(r.query).toMatch(/after=/)
  // A search by a word only in descriptions or categories, from the cached catalog.
  const crm = apps.filter((a) => /\bcrm\b/i.test(`${a.description} ${(a.categories || []).join(' ')}`) && !/crm/i.test(`${a.name} ${a.name_slug}`))
  const found = await c.searchServices({ query: 'crm', limit: 100 })
  for (const app of crm) expect(found.services.map((s) => s.app_slug)).toContain(app.name_slug)
  // An exact name comes first.
  expect((await c.searchServices({ query: 'Gmail' })).services[0].app_slug).toBe('gmail')
  expect(await appRequests()).toHaveLength(reqs.length)
})

test('returns every match when fewer exist than the limit', async () => {
  const res = await client().searchServices({ query: 'gmail', limit: 50 })
  expect(res.services.length).toBe(res.total_found)
  expect(res.services.length).toBeGreaterThan(0)
})

test('sentences an LLM writes find the app they name; a name written joined is still its name', async () => {
  const c = client()
  // Stop words ("a", "an", "with") count for nothing; a rare word that is an app's whole name
  // lets it in although it is one word of several.
  expect((await c.searchServices({ query: 'create a github issue' })).services[0].app_slug).toBe('github')
  expect((await c.searchServices({ query: 'send an email with gmail' })).services[0].app_slug).toBe('gmail')
  expect((await c.searchServices({ query: 'googlesheets' })).services[0].app_slug).toBe('google_sheets')
  expect((await c.searchServices({ query: 'Google-Sheets' })).services[0].app_slug).toBe('google_sheets')
  // A component key given to the app search names its app.
  expect((await c.searchServices({ query: 'slack-send-message' })).services[0].app_slug).toBe('slack')
  // A name with a slip of the keys is the name meant, and the answer says how it was read;
  // a word a letter from another is a word ("sheep" finds no Google Sheets).
  const slipped = await c.searchServices({ query: 'gmial' })
  expect(slipped.services[0].app_slug).toBe('gmail')
  expect(slipped.message).toMatch(/Read "gmial" as "gmail", since no services have those words\./)
  expect((await c.searchServices({ query: 'send an emial with gmail' })).services[0].app_slug).toBe('gmail')
  expect((await c.searchServices({ query: 'sheep' })).total_found).toBe(0)
  // Stop words alone are still a query, and a word nobody has still finds nothing.
  expect((await c.searchServices({ query: 'a b c d e' })).total_found).toBe(0)
})

test('a list cut to fit says how many matched and how many are shown', async () => {
  const res = await client().searchServices({ query: 'google', limit: 2 })
  expect(res.services).toHaveLength(2)
  expect(res.total_found).toBeGreaterThan(2)
  expect(res.message).toBe(
    `Found ${res.total_found} services matching "google"; these are the best 2 (a longer list is cut to the limit, and to about 4 KB: add words to narrow the search). Use pipedream_get_components with an app_slug to see available actions.`,
  )
  // The budget cuts a long list however high the limit.
  const all = await client().searchServices({ query: 'mail', limit: 100 })
  expect(JSON.stringify(all.services).length).toBeLessThan(3 * 1024 + 1)
  // A query of nothing but words such as "the" asks for nothing in particular.
  expect((await client().searchServices({ query: 'the a to' })).total_found).toBe(0)
})

test('no match is an answer with guidance, not an error', async () => {
  const res = await client().searchServices({ query: 'zzzz-no-such-app' })
  expect(res.services).toEqual([])
  expect(res.total_found).toBe(0)
  expect(res.error).toBeUndefined()
  expect(res.message).toMatch(/No services found for "zzzz-no-such-app"\. Try broader terms/)
})

test('a repeated search is served from the cache without a request', async () => {
  const c = client()
  const first = await c.searchServices({ query: 'slack' })
  const before = (await catalogReads())
  const second = await c.searchServices({ query: 'SLACK' })
  expect((await catalogReads())).toBe(before)
  expect(second.cached).toBe(true)
  expect(second.services).toEqual(first.services)
  expect(second.query).toBe('SLACK')

  // A different limit is a different question, answered from the cached catalog.
  const one = await c.searchServices({ query: 'slack', limit: 1 })
  expect(one.cached).toBe(false)
  expect(one.services).toHaveLength(1)
  expect((await catalogReads())).toBe(before)

  c.clearCache()
  const third = await c.searchServices({ query: 'slack' })
  expect(third.cached).toBe(false)
  expect((await catalogReads())).toBe(before + 1)
})

test('50 concurrent identical searches read the catalog once', async () => {
  const c = client()
  const results = await Promise.all(Array.from({ length: 50 }, () => c.searchServices({ query: 'github' })))
  expect(await catalogReads()).toBe(1)
  for (const r of results) expect(r.services).toEqual(results[0].services)
  expect(results.filter((r) => r.cached === false)).toHaveLength(1)
})

test('cache entries expire after ttlMs, and ttlMs 0 turns caching off', async () => {
  const c = client({ cache: { ttlMs: 150 } })
  await c.searchServices({ query: 'notion' })
  await c.searchServices({ query: 'notion' })
  expect(await catalogReads()).toBe(1)
  await new Promise((r) => setTimeout(r, 300))
  const again = await c.searchServices({ query: 'notion' })
  expect(again.cached).toBe(false)
  expect(await catalogReads()).toBe(2)

  const off = client({ cache: { ttlMs: 0 } })
  await off.searchServices({ query: 'notion' })
  await off.searchServices({ query: 'notion' })
  expect(await catalogReads()).toBe(4)
})

test('each client has its own cache', async () => {
  await client().searchServices({ query: 'stripe' })
  await client().searchServices({ query: 'stripe' })
  expect(await catalogReads()).toBe(2)
})

test('a failed search is not cached', async () => {
  const c = client({ retry: { maxRetries: 0 } })
  await emu.fault({ path: '^/v1/connect/apps$', status: 503, count: 1 })
  const failed = await c.searchServices({ query: 'hubspot' })
  expect(failed.error).toBe('PIPEDREAM_SERVER_ERROR')
  const ok = await c.searchServices({ query: 'hubspot' })
  expect(ok.error).toBeUndefined()
  expect(ok.services.some((s) => s.app_slug === 'hubspot')).toBe(true)
})

test("one app's loosely typed fields leave the rest of the catalog searchable, as the SDK reads it", async () => {
  const app = (slug, extra = {}) => ({
    id: `app_${slug}`,
    name_slug: slug,
    name: `${slug.replace('mail', '')} Mail`,
    auth_type: 'oauth',
    description: `The ${slug} app`,
    img_src: `https://assets.example.com/${slug}.png`,
    categories: ['Communication'],
    featured_weight: 1,
    ...extra,
  })
  const data = [
    app('loosemail', { categories: ['Email', null, 7], featured_weight: '5000', description: 42 }),
    app('nameless', { name_slug: null }),
    app('plainmail'),
    app('mailnoname', { name: null }),
  ]
  await emu.fault({ path: '^/v1/connect/apps$', status: 200, body: { data, page_info: { count: 4, total_count: 4, start_cursor: null, end_cursor: null } } })
  const res = await client().searchServices({ query: 'mail' })
  expect(res.error).toBeUndefined()
  expect(res.services.map((s) => s.app_slug)).toEqual(['loosemail', 'plainmail', 'mailnoname'])
  expect(res.services[0].categories).toEqual(['Email'])
  expect(res.services[2].name).toBe('mailnoname')
})
