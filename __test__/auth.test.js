'use strict'
// OAuth client credentials and static tokens, checked in the emulator's request log.
const { PipedreamClient } = require('..')
const { startEmulator } = require('./helpers/emulator')

const API_KEY = 'static-test-token-8d1e'
let emu
beforeAll(async () => {
  // Two-second tokens: the client refreshes at half-life, one second in.
  emu = await startEmulator(['--token-ttl', '2', '--api-key', API_KEY])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const oauthClient = (extra = {}) =>
  new PipedreamClient({ ...emu.clientOptions, ...extra })
const tokenRequests = () => emu.requests('^/v1/oauth/token$')
const appRequests = () => emu.requests('^/v1/connect/apps$')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('fetches one OAuth token for many calls, concurrent ones included', async () => {
  const c = oauthClient({ cache: { ttlMs: 0 } })
  await Promise.all(['gmail', 'slack', 'github', 'notion', 'stripe'].map((query) => c.searchServices({ query })))
  await c.searchServices({ query: 'openai' })
  expect(await tokenRequests()).toHaveLength(1)
  const apps = await appRequests()
  expect(apps).toHaveLength(6)
  const seqs = new Set(apps.map((r) => r.token_seq))
  expect(seqs.size).toBe(1)
  expect([...seqs][0]).not.toBeNull()
})

test('refreshes the token before it expires', async () => {
  const c = oauthClient({ cache: { ttlMs: 0 } })
  await c.searchServices({ query: 'gmail' })
  await sleep(1200)
  const res = await c.searchServices({ query: 'gmail' })
  expect(res.error).toBeUndefined()
  expect(await tokenRequests()).toHaveLength(2)
  const apps = await appRequests()
  expect(apps.map((r) => r.status)).toEqual([200, 200])
  expect(apps[0].token_seq).not.toBe(apps[1].token_seq)
})

test('a token revoked early gets one retry with a fresh token', async () => {
  const c = oauthClient({ cache: { ttlMs: 0 } })
  await c.searchServices({ query: 'gmail' })
  await emu.expireTokens()
  const res = await c.searchServices({ query: 'gmail' })
  expect(res.error).toBeUndefined()
  expect(await tokenRequests()).toHaveLength(2)
  expect((await appRequests()).map((r) => r.status)).toEqual([200, 401, 200])
})

test('rejected client credentials are PIPEDREAM_UNAUTHORIZED and never echo the secret', async () => {
  const secret = 'wrong-secret-3c1a77'
  const res = await oauthClient({ clientSecret: secret }).searchServices({ query: 'gmail' })
  expect(res.error).toBe('PIPEDREAM_UNAUTHORIZED')
  expect(res.message).toMatch(/client credentials were rejected/)
  expect(res.message).toMatch(/PIPEDREAM_CLIENT_SECRET/)
  expect(res.message).not.toContain(secret)
  expect(await appRequests()).toHaveLength(0)
})

test('a 400 invalid_client keeps its status and is PIPEDREAM_UNAUTHORIZED', async () => {
  await emu.fault({ path: '^/v1/oauth/token$', status: 400, body: { error: 'invalid_client' }, count: 1 })
  const c = oauthClient()
  const e = await c.listAccounts({ external_user_id: 'u' }).catch((e) => e)
  expect(e).toEqual(expect.objectContaining({ code: 'PIPEDREAM_UNAUTHORIZED', status: 400 }))
  expect(e.message).toMatch(/Pipedream API error 400: the OAuth client credentials were rejected \(invalid_client\)/)
})

test('token requests and their retries are counted, measured and logged as the API calls are', async () => {
  await emu.fault({ path: '^/v1/oauth/token$', status: 503, count: 2 })
  const events = []
  const c = oauthClient({ cache: { ttlMs: 0 }, retry: { minDelayMs: 5, maxDelayMs: 20 }, logger: (e) => events.push(e) })
  const res = await c.searchServices({ query: 'gmail' })
  expect(res.error).toBeUndefined()
  expect(await tokenRequests()).toHaveLength(3)
  const stats = c.getStats()
  expect(stats.requests.oauth).toEqual({ 503: 2, 200: 1 })
  expect(stats.retries).toBe(2)
  const text = c.metrics()
  expect(text).toMatch(/^pipedream_requests_total\{class="oauth",status="503"\} 2$/m)
  expect(text).toMatch(/^pipedream_retries_total 2$/m)
  const retries = events.filter((e) => e.type === 'retry')
  expect(retries.map((e) => [e.class, e.attempt, e.outcome])).toEqual([
    ['oauth', 1, 'PIPEDREAM_SERVER_ERROR'],
    ['oauth', 2, 'PIPEDREAM_SERVER_ERROR'],
  ])
})

test('a static token is sent as is, with no token request', async () => {
  const c = new PipedreamClient({ baseUrl: emu.url, token: API_KEY })
  const res = await c.searchServices({ query: 'slack' })
  expect(res.error).toBeUndefined()
  expect(await tokenRequests()).toHaveLength(0)
  const [req] = await appRequests()
  expect(req.status).toBe(200)
  expect(req.token_seq).toBeNull()
})

test('a token wins over client credentials, as in the plan', async () => {
  const c = oauthClient({ token: API_KEY })
  await c.searchServices({ query: 'slack' })
  expect(await tokenRequests()).toHaveLength(0)
})

test('the environment option is sent as x-pd-environment', async () => {
  await oauthClient({ environment: 'development' }).searchServices({ query: 'slack' })
  const [req] = await appRequests()
  expect(req.environment).toBe('development')
})
