'use strict'
// Retries, maybe-executed runs, server-requested pauses, idempotent replay and response
// limits, each checked in the emulator's request log and run journal.
const { PipedreamClient } = require('..')
const { startEmulator, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')

const USER = 'reliability-user'
let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:slack`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    cache: { ttlMs: 0 },
    retry: { minDelayMs: 50, maxDelayMs: 2000 },
    ...extra,
  })
const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hello' } }
const runRequests = () => emu.requests('/actions/run$')
async function rejection(p) {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('retries', () => {
  test('a read is retried on 5xx and succeeds', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 503, count: 2 })
    const res = await client().searchServices({ query: 'slack' })
    expect(res.error).toBeUndefined()
    expect((await emu.requests('^/v1/connect/apps$')).map((r) => r.status)).toEqual([503, 503, 200])
  })

  test("a read waits the server's Retry-After before trying again", async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 1, count: 1 })
    const res = await client().searchServices({ query: 'slack' })
    expect(res.error).toBeUndefined()
    const [first, second] = await emu.requests('^/v1/connect/apps$')
    expect(first.status).toBe(429)
    expect(second.ts_ms - first.ts_ms).toBeGreaterThanOrEqual(900)
  })

  test('the OAuth token request is retried too', async () => {
    await emu.fault({ path: '^/v1/oauth/token$', status: 503, count: 1 })
    const res = await client().searchServices({ query: 'slack' })
    expect(res.error).toBeUndefined()
    expect((await emu.requests('^/v1/oauth/token$')).map((r) => r.status)).toEqual([503, 200])
  })

  test('a failing token request is retried once over, not once per outer retry', async () => {
    await emu.fault({ path: '^/v1/oauth/token$', status: 503 })
    const res = await client({ retry: { maxRetries: 2, minDelayMs: 10 } }).searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_SERVER_ERROR')
    expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(3)
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(0)
  })

  test('retries stop after retry.maxRetries', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 502 })
    const res = await client({ retry: { maxRetries: 2, minDelayMs: 10 } }).searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_SERVER_ERROR')
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(3)
  })

  // The class pause a 429 starts is shared per project: these use project ids of their own
  // (the apps endpoint needs none), as the pause tests below do.
  test('a Retry-After longer than retry.maxDelayMs fails at once, with the wait, and no retry', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 120, count: 1 })
    const res = await client({ projectId: 'proj_longWait' }).searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_RATE_LIMITED')
    expect(res.retry_after_ms).toBeGreaterThan(119000)
    expect(res.retry_after_ms).toBeLessThanOrEqual(120000)
    expect(res.query).toBe('slack')
    // A retry after the 2 s maxDelayMs would have been a second request.
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(1)
  })

  test('a wait that would end past deadlineMs is not taken: the 429 is the answer, not a timeout', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 3, count: 1 })
    const c = client({ projectId: 'proj_deadlineWait', deadlineMs: 1000, retry: { minDelayMs: 50, maxDelayMs: 10000 } })
    const res = await c.searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_RATE_LIMITED')
    expect(res.retry_after_ms).toBeGreaterThan(2000)
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(1)
  })

  test('a 404 is not retried', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 404 })
    await client().searchServices({ query: 'slack' })
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(1)
  })
})

describe('action runs are never sent twice by accident', () => {
  test('a 500 after the action ran fails with maybe_executed and no retry', async () => {
    await emu.fault({ path: '/actions/run$', status: 500, when: 'after', count: 1 })
    const err = await rejection(client().executePipedreamConnect(SEND))
    expect(err.code).toBe('PIPEDREAM_SERVER_ERROR')
    expect(err.maybe_executed).toBe(true)
    expect(err.message).toMatch(/may have run; it was not retried/)
    expect(await runRequests()).toHaveLength(1)
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a timeout once the run was sent fails with maybe_executed and no retry', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 1500, count: 1 })
    const err = await rejection(client({ timeoutMs: 300 }).executePipedreamConnect(SEND))
    expect(err.code).toBe('PIPEDREAM_TIMEOUT')
    expect(err.maybe_executed).toBe(true)
    expect(await runRequests()).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 1400))
  })

  test('a 429 on the run is retried (the action did not run)', async () => {
    await emu.fault({ path: '/actions/run$', status: 429, retry_after: 1, count: 1 })
    const res = await client().executePipedreamConnect(SEND)
    expect(res.meta.attempts).toBe(2)
    expect(res.meta.rate_limit_wait_ms).toBeGreaterThanOrEqual(0)
    expect((await runRequests()).map((r) => r.status)).toEqual([429, 200])
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a run the API started without waiting (202) is no result: maybe_executed, not sent again', async () => {
    await emu.fault({ path: '/actions/run$', status: 202, body: { id: 'run_1', status: 'started' }, when: 'after', count: 1 })
    const err = await rejection(client().executePipedreamConnect(SEND))
    expect(err.code).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(err.maybe_executed).toBe(true)
    expect(err.message).toMatch(/answered 202: it started the action without waiting/)
    expect((await runRequests()).map((r) => r.status)).toEqual([202])
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a 429 on the run whose wait would end past deadlineMs: rate limited, not run, not a timeout', async () => {
    await emu.fault({ path: '/actions/run$', status: 429, retry_after: 2, count: 1 })
    const c = client({ deadlineMs: 1000, retry: { minDelayMs: 50, maxDelayMs: 10000 } })
    const err = await rejection(c.executePipedreamConnect(SEND))
    expect(err.code).toBe('PIPEDREAM_RATE_LIMITED')
    expect(err.maybe_executed).toBeUndefined()
    expect(err.retry_after_ms).toBeGreaterThan(1000)
    expect((await runRequests()).map((r) => r.status)).toEqual([429])
    expect(await emu.runs()).toHaveLength(0)
    // The 429 paused this project's executions for every client: let it pass.
    await new Promise((r) => setTimeout(r, 2100))
  })

  test('validation and account failures are not maybe_executed', async () => {
    const err = await rejection(client().executePipedreamConnect({ component_id: 'slack-send-message', params: {} }))
    expect(err.code).toBe('PIPEDREAM_INVALID_PARAMS')
    expect(err.maybe_executed).toBeUndefined()
  })
})

// Pauses are shared process-wide per (base URL, project, class), so these tests use project
// ids of their own (the apps endpoint needs none) to leave the other tests unpaused.
describe('server-requested pauses', () => {
  test('a 429 pauses the endpoint class for every client of the project', async () => {
    const a = client({ retry: { maxRetries: 0 }, projectId: 'proj_pauseA' })
    const b = client({ projectId: 'proj_pauseA' })
    await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 1, count: 1 })
    expect((await a.searchServices({ query: 'gmail' })).error).toBe('PIPEDREAM_RATE_LIMITED')
    const res = await b.searchServices({ query: 'slack' })
    expect(res.error).toBeUndefined()
    const [throttled, next] = await emu.requests('^/v1/connect/apps$')
    expect(next.ts_ms - throttled.ts_ms).toBeGreaterThanOrEqual(800)
  })

  test('a pause longer than rateLimit.maxWaitMs fails without sending', async () => {
    const a = client({ retry: { maxRetries: 0 }, projectId: 'proj_pauseB' })
    const impatient = client({ rateLimit: { maxWaitMs: 100 }, projectId: 'proj_pauseB' })
    await emu.fault({ path: '^/v1/connect/apps$', status: 429, retry_after: 5, count: 1 })
    await a.searchServices({ query: 'gmail' })
    const res = await impatient.searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_RATE_LIMITED')
    expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(1)
  })
})

describe('idempotent replay', () => {
  test('50 concurrent calls with one key share one run', async () => {
    const c = client()
    const ctx = { idempotencyKey: 'wf1:send:0001' }
    const results = await Promise.all(Array.from({ length: 50 }, () => c.executePipedreamConnect(SEND, ctx)))
    expect(await emu.runs()).toHaveLength(1)
    for (const r of results) expect(r.result).toEqual(results[0].result)
    expect(results.filter((r) => r.meta.replayed === false)).toHaveLength(1)
    expect(results.filter((r) => r.meta.replayed === true)).toHaveLength(49)

    const later = await c.executePipedreamConnect(SEND, ctx)
    expect(later.meta.replayed).toBe(true)
    expect(await emu.runs()).toHaveLength(1)

    const other = await c.executePipedreamConnect(SEND, { idempotencyKey: 'wf1:send:0002' })
    expect(other.meta.replayed).toBe(false)
    expect(await emu.runs()).toHaveLength(2)
  })

  test('a failure is not kept: the same key runs again', async () => {
    const c = client()
    const failing = { component_id: 'slack-send-message', params: { conversation: 'C1', text: '__emulator_fail__' } }
    const ctx = { idempotencyKey: 'k-fail' }
    expect((await rejection(c.executePipedreamConnect(failing, ctx))).code).toBe('PIPEDREAM_ACTION_FAILED')
    expect((await rejection(c.executePipedreamConnect(failing, ctx))).code).toBe('PIPEDREAM_ACTION_FAILED')
    expect(await emu.runs()).toHaveLength(2)
  })

  test('a maybe-executed failure is kept until the key is forgotten', async () => {
    const c = client()
    const ctx = { idempotencyKey: 'k-maybe' }
    await emu.fault({ path: '/actions/run$', status: 502, when: 'after', count: 1 })
    const first = await rejection(c.executePipedreamConnect(SEND, ctx))
    expect(first.maybe_executed).toBe(true)
    const again = await rejection(c.executePipedreamConnect(SEND, ctx))
    expect(again.maybe_executed).toBe(true)
    expect(again.message).toBe(first.message)
    expect(await emu.runs()).toHaveLength(1)

    c.forget('k-maybe')
    const ran = await c.executePipedreamConnect(SEND, ctx)
    expect(ran.meta.replayed).toBe(false)
    expect(await emu.runs()).toHaveLength(2)
  })

  test('replays expire after idempotency.ttlMs', async () => {
    const c = client({ idempotency: { ttlMs: 200 } })
    const ctx = { idempotencyKey: 'k-ttl' }
    await c.executePipedreamConnect(SEND, ctx)
    await new Promise((r) => setTimeout(r, 350))
    expect((await c.executePipedreamConnect(SEND, ctx)).meta.replayed).toBe(false)
    expect(await emu.runs()).toHaveLength(2)
  })
})

describe('hostile responses and settings', () => {
  test('a body over maxResponseBytes is refused', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', status: 200, body: { data: [], padding: 'x'.repeat(5000) } })
    const res = await client({ maxResponseBytes: 2048, retry: { maxRetries: 0 } }).searchServices({ query: 'slack' })
    expect(res.error).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(res.message).toMatch(/larger than maxResponseBytes \(2048 bytes\)/)
  })

  test('maxConnections caps the connections open at once; the rest wait and all run once', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 300 })
    const c = client({ maxConnections: 3 })
    // The token and the account first, so only the runs compete for connections.
    await c.listAccounts({ external_user_id: USER })
    const { open } = await emu.control('DELETE', 'connections')
    const account = (await c.listAccounts({ external_user_id: USER }))[0].id
    const config = { ...SEND, auth_config: { account_id: account } }
    const results = await Promise.all(Array.from({ length: 12 }, () => c.executePipedreamConnect(config)))
    expect(results.every((r) => r.result)).toBe(true)
    const { peak } = await emu.control('GET', 'connections')
    expect(peak - open).toBeLessThanOrEqual(3)
    // Twelve held 300 ms each, three at a time: four waves, the last about 900 ms after the first.
    const runs = await emu.runs()
    expect(runs).toHaveLength(12)
    expect(runs[11].ts_ms - runs[0].ts_ms).toBeGreaterThanOrEqual(800)
    expect(() => client({ maxConnections: 0 })).toThrow(/maxConnections/)
  })

  test('maxConnections caps sockets, not only requests: a burst of quick calls opens no more', async () => {
    // hyper's pool takes a connection back a step after its response ends; a request let in
    // at that moment found none idle and opened another (7 of 20 such bursts went over 16).
    for (let round = 0; round < 10; round++) {
      const c = client({ maxConnections: 16, rateLimit: { enabled: false } })
      const before = await emu.control('DELETE', 'connections')
      const answers = await Promise.all(Array.from({ length: 400 }, () => c.listAccounts({ external_user_id: USER })))
      expect(answers.every((a) => a.length === 1)).toBe(true)
      const after = await emu.control('GET', 'connections')
      expect(after.accepted - before.accepted).toBeLessThanOrEqual(16)
      expect(after.peak - before.open).toBeLessThanOrEqual(16)
    }
  })

  test('a connection given up on (no answer, or a stalled body) frees its place under the cap', async () => {
    for (const fault of [{ delay_ms: 5000 }, { stall_body_ms: 5000 }]) {
      const c = client({ maxConnections: 1, timeoutMs: 400, retry: { maxRetries: 0 }, rateLimit: { enabled: false } })
      await c.listAccounts({ external_user_id: USER })
      await emu.fault({ path: '/accounts$', count: 1, ...fault })
      expect((await rejection(c.listAccounts({ external_user_id: USER }))).code).toBe('PIPEDREAM_TIMEOUT')
      // The next call needs a new connection while the server still holds the old one open.
      expect(await c.listAccounts({ external_user_id: USER })).toHaveLength(1)
      await emu.clearFaults()
    }
  })

  test('more runs than are admitted at once (4 per connection) all run, each once', async () => {
    const c = client({ maxConnections: 1, cache: { ttlMs: 60000 } })
    const account = (await c.listAccounts({ external_user_id: USER }))[0].id
    const configs = Array.from({ length: 10 }, (_, i) => ({ ...SEND, params: { ...SEND.params, text: `run ${i}` }, auth_config: { account_id: account } }))
    const results = await Promise.all(configs.map((config) => c.executePipedreamConnect(config)))
    expect(results.every((r) => r.result)).toBe(true)
    const texts = (await emu.runs()).map((r) => r.configured_props.text).sort()
    expect(texts).toEqual(configs.map((cfg) => cfg.params.text).sort())
  })

  test('a run aborted while it waits for a connection was never sent: not maybe_executed', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 600, count: 1 })
    // The component cached, so the queued call's first request is the run itself.
    const c = client({ maxConnections: 1, cache: { ttlMs: 60000 } })
    const account = (await c.listAccounts({ external_user_id: USER }))[0].id
    await c.getComponent({ component_id: SEND.component_id })
    const config = { ...SEND, auth_config: { account_id: account } }
    const holding = c.executePipedreamConnect(config)
    // Let the first run take the one connection, then queue a second one behind it and abort it.
    await new Promise((resolve) => setTimeout(resolve, 150))
    const controller = new AbortController()
    const queued = c.executePipedreamConnect(config, { signal: controller.signal })
    setTimeout(() => controller.abort(), 100)
    const e = await rejection(queued)
    expect(e.code).toBe('ABORT_ERR')
    expect(e.maybe_executed).toBeFalsy()
    expect((await holding).result).toBeDefined()
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a plain-http base URL off this machine needs allowInsecureHttp', () => {
    expect(() => new PipedreamClient({ baseUrl: 'http://api.example.com', token: 't' })).toThrow(
      /Invalid option `baseUrl`: must use https/,
    )
    expect(() => new PipedreamClient({ baseUrl: 'http://api.example.com', token: 't', allowInsecureHttp: true })).not.toThrow()
    expect(() => new PipedreamClient({ baseUrl: 'http://localhost:9', token: 't' })).not.toThrow()
    expect(() => new PipedreamClient({ baseUrl: 'http://[::1]:9', token: 't' })).not.toThrow()
  })
})

describe('cancellation, redirects and proactive limits', () => {
  test('an aborted discovery call rejects at once with AbortError', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 1500, count: 1 })
    const ac = new AbortController()
    const started = Date.now()
    const pending = client().searchServices({ query: 'slack' }, { signal: ac.signal })
    setTimeout(() => ac.abort(), 100)
    const err = await rejection(pending)
    expect(err.name).toBe('AbortError')
    expect(err.code).toBe('ABORT_ERR')
    expect(Date.now() - started).toBeLessThan(1000)
    // The in-flight request was dropped: the emulator never finished answering it.
    await new Promise((r) => setTimeout(r, 1600))
    expect((await emu.requests('^/v1/connect/apps$')).map((r) => r.status)).toEqual([0])
    const done = new AbortController()
    done.abort()
    expect((await rejection(client().getComponents({ app_slug: 'slack' }, { signal: done.signal }))).name).toBe('AbortError')
  })

  test('a redirect to another host is not followed: nothing reaches it, and the call fails with a code', async () => {
    const token = 'redirect-test-key-91'
    const other = await startEmulator(['--api-key', token])
    try {
      const c = new PipedreamClient({ baseUrl: emu.url, token, retry: { maxRetries: 0 } })
      await emu.fault({ path: '^/v1/connect/apps$', status: 302, headers: { location: `${other.url}/v1/connect/apps?q=slack` }, body: {} })
      const res = await c.searchServices({ query: 'slack' })
      expect(await other.requests()).toEqual([])
      expect(res.error).toBe('PIPEDREAM_UNEXPECTED_REDIRECT')
      expect(res.message).toContain(new URL(other.url).host)
    } finally {
      await other.stop()
    }
  })

  test('1,000 calls are held to the configured rate, measured at the server', async () => {
    const c = client({ projectId: 'proj_ratetest', rateLimit: { maxWaitMs: 10000, read: { requests: 100, perMs: 250 } } })
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.searchServices({ query: `rate${i}` })))
    const took = Date.now() - started
    for (const r of results) expect(r.error).toBeUndefined()
    // 100 at once, then 400 per second: the other 900 need about 2.25 s.
    expect(took).toBeGreaterThanOrEqual(2000)
    const times = (await emu.requests('^/v1/connect/apps$')).map((r) => r.ts_ms).sort((a, b) => a - b)
    expect(times).toHaveLength(1000)
    // The busiest one-second window at the server. A one-second window, not the limiter's own 250 ms,
    // so that a few requests the loaded machine delivers late and then all at once cannot fail it:
    // the bound is a full bucket plus the refill over the window and 100 ms of scheduling slack
    // (100 + 400 * 1.1 = 540). Without the limiter all 1,000 arrive within one window.
    let worst = 0
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 1000) j++
      worst = Math.max(worst, i - j + 1)
    }
    expect(worst).toBeLessThanOrEqual(540)
  })
})

describe('getStats and metrics', () => {
  test('count requests, cache use, retries, replays and errors, without secrets', async () => {
    const events = []
    const c = client({ cache: { ttlMs: 60000 }, logger: (e) => events.push(e) })
    await emu.fault({ path: '^/v1/connect/apps$', status: 503, count: 1 })
    await c.searchServices({ query: 'slack' })
    await c.searchServices({ query: 'slack' })
    await c.executePipedreamConnect(SEND, { idempotencyKey: 'stats-1' })
    await c.executePipedreamConnect(SEND, { idempotencyKey: 'stats-1' })
    await rejection(c.executePipedreamConnect({ component_id: 'slack-send-message', params: { text: 'no channel' } }))

    const stats = c.getStats()
    expect(stats.requests.read['503']).toBe(1)
    expect(stats.requests.read['200']).toBeGreaterThanOrEqual(2)
    expect(stats.requests.execute['200']).toBe(1)
    expect(stats.retries).toBe(1)
    expect(stats.cache.hits).toBeGreaterThanOrEqual(1)
    expect(stats.cache.misses).toBeGreaterThanOrEqual(1)
    expect(stats.cache.entries).toBeGreaterThanOrEqual(1)
    expect(stats.replays).toBe(1)
    expect(stats.errors.PIPEDREAM_INVALID_PARAMS).toBe(1)
    expect(stats.latency_ms.samples).toBeGreaterThanOrEqual(4)
    expect(stats.latency_ms.p99).toBeGreaterThanOrEqual(stats.latency_ms.p50)

    const text = c.metrics()
    expect(text).toMatch(/^# HELP pipedream_requests /m)
    expect(text).toMatch(/^pipedream_requests_total\{class="read",status="503"\} 1$/m)
    expect(text).toMatch(/^pipedream_replays_total 1$/m)
    expect(text).toMatch(/^pipedream_request_duration_seconds_bucket\{le="\+Inf"\} [0-9]+$/m)

    await new Promise((r) => setTimeout(r, 50))
    expect(events.some((e) => e.type === 'retry')).toBe(true)
    const everything = JSON.stringify(stats) + text + JSON.stringify(events)
    expect(everything).not.toContain(CLIENT_SECRET)
    expect(everything).not.toContain('hello')
  })
})

describe('deadlines', () => {
  test('a call past deadlineMs fails as a timeout; an execution says whether the run was sent', async () => {
    await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 1500, count: 1 })
    const slowSearch = await client({ deadlineMs: 300 }).searchServices({ query: 'slack' })
    expect(slowSearch.error).toBe('PIPEDREAM_TIMEOUT')
    expect(slowSearch.message).toMatch(/deadlineMs \(300 ms\)/)
    expect(slowSearch.query).toBe('slack')

    // Failing reads whose next wait would end past the deadline: the last failure is the answer.
    await emu.clearFaults()
    await emu.fault({ path: '^/v1/connect/apps$', status: 503 })
    const failing = await client({ deadlineMs: 300, retry: { minDelayMs: 400, maxDelayMs: 400 } }).searchServices({ query: 'slack' })
    expect(failing.error).toBe('PIPEDREAM_SERVER_ERROR')
    expect((await emu.requests('^/v1/connect/apps$')).filter((r) => r.status === 503)).toHaveLength(1)

    await emu.clearFaults()
    await emu.fault({ path: '/actions/run$', delay_ms: 1500, count: 1 })
    const err = await rejection(client({ deadlineMs: 400 }).executePipedreamConnect(SEND))
    expect(err.code).toBe('PIPEDREAM_TIMEOUT')
    expect(err.maybe_executed).toBe(true)

    await emu.fault({ path: '/components/slack-send-message$', delay_ms: 1500, count: 1 })
    const early = await rejection(client({ deadlineMs: 300 }).executePipedreamConnect(SEND))
    expect(early.code).toBe('PIPEDREAM_TIMEOUT')
    expect(early.maybe_executed).toBeUndefined()
    await new Promise((r) => setTimeout(r, 1500))
  })

  test('aborting after the run request was sent says the action may have run', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 1000, count: 1 })
    const ac = new AbortController()
    const pending = client().executePipedreamConnect(SEND, { signal: ac.signal })
    for (let i = 0; i < 100 && (await runRequests()).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    ac.abort()
    const err = await rejection(pending)
    expect(err.name).toBe('AbortError')
    expect(err.maybe_executed).toBe(true)
    await new Promise((r) => setTimeout(r, 1100))
  })
})

describe('token expiry mid-batch', () => {
  test('a batch survives its OAuth token being revoked: one refresh, no failures', async () => {
    const c = client()
    await emu.fault({ path: '/actions/run$', delay_ms: 30 })
    const items = Array.from({ length: 40 }, (_, i) => ({ config: { ...SEND, params: { conversation: 'C1', text: `t${i}` } } }))
    const pending = c.executeBatch(items, { concurrency: 4 })
    for (let i = 0; i < 100 && (await emu.runs()).length < 10; i++) await new Promise((r) => setTimeout(r, 10))
    await emu.expireTokens()
    const outcomes = await pending
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(40)
    expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(2)
    expect(await emu.runs()).toHaveLength(40)
  })
})

test('a run refused 401 for a revoked token is sent again with a new one, and meta.attempts counts both', async () => {
  // Cached: the component and the account are not asked for again, so the run meets the 401.
  const c = client({ cache: { ttlMs: 60000 } })
  await c.executePipedreamConnect(SEND)
  await emu.reset()
  await emu.expireTokens()
  const res = await c.executePipedreamConnect(SEND)
  expect(res.meta.attempts).toBe(2)
  expect((await emu.requests('/actions/run$')).map((r) => r.status)).toEqual([401, 200])
  expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(1)
})

test('Connect tokens are limited per external user', async () => {
  const c = client({ projectId: PROJECT_ID, rateLimit: { tokens: { requests: 2, perMs: 60000 } } })
  const gmail = { component_id: 'gmail-search-emails', params: { query: 'x' } }
  const messages = []
  for (let i = 0; i < 3; i++) messages.push((await rejection(c.executePipedreamConnect(gmail))).message)
  expect(messages.filter((m) => m.includes('connect.html?token=ctok_'))).toHaveLength(2)
  expect(messages[2]).toMatch(/PIPEDREAM_|connect one through Pipedream Connect/)
  // Another user has a budget of their own.
  const other = await rejection(c.executePipedreamConnect(gmail, { externalUserId: 'someone-else' }))
  expect(other.message).toMatch(/connect\.html\?token=ctok_/)
  expect(await emu.requests(`/v1/connect/${PROJECT_ID}/tokens$`)).toHaveLength(3)
})

test('a long-lived signal shared by many calls does not collect abort listeners', async () => {
  const { getEventListeners } = require('node:events')
  const c = client()
  const ac = new AbortController()
  for (let i = 0; i < 10; i++) {
    await c.executePipedreamConnect(SEND, { signal: ac.signal })
    await c.searchServices({ query: `listeners${i}` }, { signal: ac.signal })
  }
  await c.executeBatch([{ config: SEND }, { config: SEND }], { signal: ac.signal })
  await rejection(c.executePipedreamConnect({ component_id: 'slack-send-message', params: {} }, { signal: ac.signal }))
  expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
  expect(await emu.runs()).toHaveLength(12)
})

test('calls in flight on one signal share one abort listener, and its abort stops every one', async () => {
  const { getEventListeners } = require('node:events')
  const c = client()
  await emu.fault({ path: '/actions/run$', delay_ms: 3000 })
  await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 3000 })
  const ac = new AbortController()
  const { signal } = ac
  const runs = Array.from({ length: 12 }, (_, i) =>
    rejection(c.executePipedreamConnect({ ...SEND, params: { conversation: 'C1', text: `shared ${i}` } }, { signal })),
  )
  const searches = Array.from({ length: 12 }, (_, i) => rejection(c.searchServices({ query: `shared${i}` }, { signal })))
  const batch = c.executeBatch([{ config: SEND }, { config: SEND }], { signal })
  for (let i = 0; i < 300 && (await runRequests()).length < 14; i++) await new Promise((r) => setTimeout(r, 10))
  expect(await runRequests()).toHaveLength(14)
  expect(getEventListeners(signal, 'abort')).toHaveLength(1)

  ac.abort()
  for (const err of await Promise.all(runs)) {
    expect(err.name).toBe('AbortError')
    expect(err.maybe_executed).toBe(true)
  }
  for (const err of await Promise.all(searches)) expect(err.name).toBe('AbortError')
  const outcomes = await batch
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
  expect(outcomes.map((o) => o.reason.name)).toEqual(['AbortError', 'AbortError'])
  expect(getEventListeners(signal, 'abort')).toHaveLength(0)
  await new Promise((r) => setTimeout(r, 3100))
})

test('twelve calls on one signal make Node print no MaxListenersExceededWarning (child process)', () => {
  // Jest's sandbox does not see the process's warnings, so a plain node process is asked.
  const { execFileSync } = require('node:child_process')
  const options = { ...emu.clientOptions, externalUserId: USER, cache: { ttlMs: 0 } }
  const script = `
    const { PipedreamClient } = require(${JSON.stringify(require('node:path').join(__dirname, '..'))})
    const warned = []
    process.on('warning', (w) => warned.push(w.name))
    const c = new PipedreamClient(${JSON.stringify(options)})
    const { signal } = new AbortController()
    const calls = [
      ...Array.from({ length: 6 }, () => c.executePipedreamConnect(${JSON.stringify(SEND)}, { signal })),
      ...Array.from({ length: 6 }, (_, i) => c.searchServices({ query: 'child' + i }, { signal })),
    ]
    Promise.all(calls).then((answers) => setTimeout(() => console.log(JSON.stringify({ answers: answers.length, warned })), 20))
  `
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
  expect(out).toEqual({ answers: 12, warned: [] })
})
