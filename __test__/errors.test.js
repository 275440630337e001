'use strict'
// Every error code, each produced by a real emulator response, a fault, or the client's own
// checks. searchServices never rejects: errors resolve as { error, message }.
const { PipedreamClient } = require('..')
const { startEmulator, closedPortUrl, CLIENT_SECRET } = require('./helpers/emulator')

let emu
beforeAll(async () => {
  emu = await startEmulator()
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    cache: { ttlMs: 0 },
    // One attempt: these tests are about how each failure is reported (retry.test.js covers
    // retries).
    retry: { maxRetries: 0 },
    ...extra,
  })
const appRequests = () => emu.requests('^/v1/connect/apps$')
const search = (c, query = 'gmail') => c.searchServices({ query })

function circular() {
  const args = { query: 'x', nested: {} }
  args.nested.back = args
  return args
}

function expectFailure(res, code, pattern) {
  expect(res.error).toBe(code)
  expect(res.services).toEqual([])
  expect(res.total_found).toBe(0)
  expect(res.message).toMatch(/^Failed to search Pipedream services: /)
  if (pattern) expect(res.message).toMatch(pattern)
  expect(res.message).not.toContain(CLIENT_SECRET)
}

test('PIPEDREAM_DISABLED from the option, before any request', async () => {
  expectFailure(await search(client({ enabled: false })), 'PIPEDREAM_DISABLED', /PIPEDREAM_ENABLED=true/)
  expect(await emu.requests()).toHaveLength(0)
})

test('PIPEDREAM_INVALID_ARGS for bad arguments, before any request', async () => {
  const c = client()
  const cases = [
    [undefined, /got null/],
    ['gmail', /got a string/],
    [{}, /`query` must be a non-empty string/],
    [{ query: '   ' }, /`query` must be a non-empty string/],
    [{ query: 42 }, /`query` must be a string, got a number/],
    [{ query: 'x', limit: 0 }, /`limit` must be a whole number from 1 to 100/],
    [{ query: 'x', limit: 'ten' }, /`limit` must be a number/],
    [{ query: () => 'x' }, /args\.query is a function/],
    [{ query: 'x', limit: 10n }, /args\.limit is a BigInt/],
    [{ query: Symbol('gmail') }, /args\.query is a symbol/],
    [{ query: 'x', limit: NaN }, /args\.limit is NaN/],
    [circular(), /nested deeper than 64 levels \(or refers back to itself\)/],
    [new Map([['query', 'gmail']]), /args is a Map, which JSON would send as \{\}; pass a plain object/],
    [{ query: 'x', limit: new Set([10]) }, /args\.limit is a Set/],
  ]
  for (const [args, pattern] of cases) {
    expectFailure(await c.searchServices(args), 'PIPEDREAM_INVALID_ARGS', pattern)
  }
  expect(await emu.requests()).toHaveLength(0)
})

test('a node whose params cannot be read is still named by its component_id', async () => {
  const e = await client()
    .executePipedreamConnect({ component_id: 'slack-send-message', params: { text: 1n } })
    .catch((e) => e)
  expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
  expect(e.message).toBe("Pipedream component 'slack-send-message' failed: args.params.text is a BigInt; send it as a number or a string")
  expect(await emu.requests()).toHaveLength(0)
})

test('a built-in JSON would send as {} (Map, Set, URLSearchParams, an iterator) is refused, not read as {}', async () => {
  const c = client()
  const refused = async (call, pattern) => {
    const e = await call().then(() => null, (e) => e)
    expect(e?.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(e.message).toMatch(pattern)
  }
  // Each would have listed every user's accounts: the filter was dropped.
  await refused(() => c.listAccounts(new Map([['external_user_id', 'bob']])), /args is a Map/)
  await refused(() => c.listAccounts(new URLSearchParams('external_user_id=bob')), /args is a URLSearchParams/)
  await refused(() => c.listAccounts(new Map([['external_user_id', 'bob']]).entries()), /args is a Map Iterator/)
  // An empty plain object and an empty class instance are still {}.
  class Filters {}
  expect(Array.isArray(await c.listAccounts(new Filters()))).toBe(true)
  expect(Array.isArray(await c.listAccounts({}))).toBe(true)
  await emu.reset()
  await refused(
    () => c.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text: new WeakMap() } }),
    /args\.params\.text is a WeakMap/,
  )
  const items = [{ config: { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi', extra: new Set([1]) } } }]
  const [outcome] = await c.executeBatch(items)
  expect(outcome.status).toBe('rejected')
  expect(outcome.reason.code).toBe('PIPEDREAM_INVALID_ARGS')
  expect(outcome.reason.message).toMatch(/items\[0\]\.config\.params\.extra is a Set/)
  expect(await emu.requests()).toHaveLength(0)
})

test('PIPEDREAM_INVALID_ARGS for a 400 from the API, quoting it', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', status: 400, body: { error: 'limit is invalid' } })
  expectFailure(await search(client()), 'PIPEDREAM_INVALID_ARGS', /Pipedream API error 400: limit is invalid/)
})

test('PIPEDREAM_AUTH_MISSING without credentials, with the three options', async () => {
  const c = new PipedreamClient({ baseUrl: emu.url })
  const res = await search(c)
  expectFailure(res, 'PIPEDREAM_AUTH_MISSING', /PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET/)
  expect(res.message).toMatch(/PIPEDREAM_API_TOKEN/)
  expect(await emu.requests()).toHaveLength(0)
})

test('PIPEDREAM_UNAUTHORIZED for a token the API rejects', async () => {
  const res = await search(new PipedreamClient({ baseUrl: emu.url, token: 'not-a-real-token-77', retry: { maxRetries: 0 } }))
  expectFailure(res, 'PIPEDREAM_UNAUTHORIZED', /Pipedream API error 401.*Authentication failed/s)
  expect(res.message).not.toContain('not-a-real-token-77')
  expect((await appRequests()).map((r) => r.status)).toEqual([401])
})

test.each([
  [403, 'PIPEDREAM_FORBIDDEN', /Permission denied/],
  [404, 'PIPEDREAM_NOT_FOUND', /Not found/],
  [500, 'PIPEDREAM_SERVER_ERROR', /server-side problem/],
  [502, 'PIPEDREAM_SERVER_ERROR', /Pipedream API error 502/],
])('status %i is %s', async (status, code, pattern) => {
  await emu.fault({ path: '^/v1/connect/apps$', status })
  expectFailure(await search(client()), code, pattern)
})

test('PIPEDREAM_RATE_LIMITED for a 429, with the wait from Retry-After', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 7 })
  const res = await search(client())
  expectFailure(res, 'PIPEDREAM_RATE_LIMITED', /Throttled.*Wait 7000 ms before retrying/s)
  expect(res.retry_after_ms).toBe(7000)
})

test('every discovery tool gives retry_after_ms on a 429, as searchServices does', async () => {
  await emu.fault({ path: '^/v1/connect/[^/]+/(actions|components)', status: 429, retry_after: 3 })
  const c = client()
  const list = await c.getComponents({ app_slug: 'gmail' })
  expect(list.error).toBe('PIPEDREAM_RATE_LIMITED')
  expect(list.retry_after_ms).toBe(3000)
  const one = await c.getComponent({ component_id: 'gmail-search-emails' })
  expect(one.error).toBe('PIPEDREAM_RATE_LIMITED')
  expect(one.retry_after_ms).toBe(3000)
})

test('PIPEDREAM_RATE_LIMITED from the client limiter, without sending', async () => {
  const c = client({ rateLimit: { maxWaitMs: 0, read: { requests: 2, perMs: 60000 } }, baseUrl: emu.url })
  expect((await search(c, 'a')).error).toBeUndefined()
  expect((await search(c, 'b')).error).toBeUndefined()
  const limited = await search(c, 'c')
  expectFailure(limited, 'PIPEDREAM_RATE_LIMITED', /Rate limit reached for Pipedream read requests/)
  expect(limited.retry_after_ms).toBeGreaterThan(0)
  expect(limited.retry_after_ms).toBeLessThanOrEqual(60000)
  expect(await appRequests()).toHaveLength(2)
})

test('the client limiter waits for capacity within maxWaitMs', async () => {
  const c = client({ rateLimit: { maxWaitMs: 2000, read: { requests: 1, perMs: 300 } } })
  const started = Date.now()
  const results = await Promise.all(['a', 'b', 'c'].map((q) => search(c, q)))
  for (const r of results) expect(r.error).toBeUndefined()
  const times = (await appRequests()).map((r) => r.ts_ms).sort((a, b) => a - b)
  expect(times).toHaveLength(3)
  // One request per 300 ms: the third cannot leave before ~600 ms after the first.
  expect(times[2] - times[0]).toBeGreaterThanOrEqual(500)
  expect(Date.now() - started).toBeGreaterThanOrEqual(500)
})

test('PIPEDREAM_NETWORK when the connection is reset', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', reset: true })
  // Connected and sent: the API was reached, the connection broke.
  expectFailure(await search(client()), 'PIPEDREAM_NETWORK', /The connection to the Pipedream API broke/)
})

test('PIPEDREAM_NETWORK when nothing listens, naming the host', async () => {
  const url = await closedPortUrl()
  const res = await search(new PipedreamClient({ baseUrl: url, token: 't0k3n-xyz', retry: { maxRetries: 0 } }))
  expectFailure(res, 'PIPEDREAM_NETWORK', /could not connect to 127\.0\.0\.1:\d+/)
  expect(res.message).not.toContain('t0k3n-xyz')
})

test('PIPEDREAM_TIMEOUT when the API is slower than timeoutMs', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 3000 })
  const started = Date.now()
  expectFailure(await search(client({ timeoutMs: 300 })), 'PIPEDREAM_TIMEOUT', /within 300 ms/)
  expect(Date.now() - started).toBeLessThan(2500)
})

test('PIPEDREAM_BAD_RESPONSE for a malformed body, with a short excerpt', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', malformed: true })
  const res = await search(client())
  expectFailure(res, 'PIPEDREAM_BAD_RESPONSE', /cannot read/)
  expect(res.message.length).toBeLessThan(600)
})

test('PIPEDREAM_BAD_RESPONSE for JSON of the wrong shape', async () => {
  await emu.fault({ path: '^/v1/connect/apps$', status: 200, body: { data: [{ name: 'no slug' }] } })
  expectFailure(await search(client()), 'PIPEDREAM_BAD_RESPONSE', /name_slug/)
})

test('PIPEDREAM_SERVER_ERROR bodies that echo a credential are redacted', async () => {
  const token = 'echoed-token-4a4a4a'
  const c = new PipedreamClient({ baseUrl: emu.url, token, retry: { maxRetries: 0 } })
  await emu.fault({ path: '^/v1/connect/apps$', status: 500, body: { error: `boom for token ${token}` } })
  const res = await search(c)
  expect(res.error).toBe('PIPEDREAM_SERVER_ERROR')
  expect(res.message).toContain('boom for token [redacted]')
  expect(res.message).not.toContain(token)
})
