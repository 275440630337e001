'use strict'
// The fault matrix: every request class we send (the OAuth token, reads, configure, the run)
// under every fault class (refused connection, reset before and after the request reaches the
// server, unreadable 200s, 5xx, 429s with extreme or garbage headers, a redirect to another
// origin, a slow body). Each cell asserts the outcome class: retried or not, `maybe_executed`
// or not, a coded error, what reached the emulator (request log, run journal), and that
// nothing reached the other origin. Secrets in errors, stacks, log events, stats and metrics
// are checked for every test file by helpers/secret-scan.js.
const http = require('node:http')
const net = require('node:net')
const { PipedreamClient } = require('..')
const { startEmulator, rejectionOf, closedPortUrl, CLIENT_SECRET } = require('./helpers/emulator')

const USER = 'fault-user'
const RUN = '/actions/run$'
const TOKEN = '^/v1/oauth/token$'
const APPS = '^/v1/connect/apps$'
const CONFIGURE = '/components/configure$'

let emu
let elsewhere // another origin: nothing may ever reach it
let elsewhereHits = []
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:slack`])
  elsewhere = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      elsewhereHits.push({ method: req.method, url: req.url, body })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ access_token: 'forged-token-from-elsewhere', expires_in: 3600, ret: 'forged', data: [] }))
    })
  })
  await new Promise((r) => elsewhere.listen(0, '127.0.0.1', r))
})
afterAll(async () => {
  await emu.stop()
  await new Promise((r) => elsewhere.close(r))
})
beforeEach(async () => {
  await emu.reset()
  elsewhereHits = []
})

const elsewhereUrl = () => `http://127.0.0.1:${elsewhere.address().port}`
const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    cache: { ttlMs: 0 },
    timeoutMs: 1000,
    retry: { minDelayMs: 20, maxDelayMs: 300, maxRetries: 2 },
    ...extra,
  })
const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hello' } }
const CONFIGURE_ARGS = { component_id: 'slack-send-message', prop_name: 'conversation', external_user_id: USER }

// The four request classes: how to drive one request of the class, and how to read the outcome
// as { ok, code, maybe_executed, message }.
const classes = {
  token: {
    path: TOKEN,
    call: (c) => c.searchServices({ query: 'slack' }),
    outcome: (r) => ({ ok: !r.error, code: r.error, message: r.message }),
  },
  read: {
    path: APPS,
    call: (c) => c.searchServices({ query: 'slack' }),
    outcome: (r) => ({ ok: !r.error, code: r.error, message: r.message }),
  },
  configure: {
    path: CONFIGURE,
    call: (c) => c.configureProp(CONFIGURE_ARGS),
    outcome: (r) => ({ ok: !r.error, code: r.error, message: r.message }),
  },
  run: {
    path: RUN,
    call: (c, context) =>
      c.executePipedreamConnect(SEND, context).then(
        (v) => v,
        (e) => e,
      ),
    outcome: (r) =>
      r instanceof Error || (r && r.name === 'PipedreamError')
        ? { ok: false, code: r.code, maybe_executed: r.maybe_executed === true, message: r.message }
        : { ok: true, maybe_executed: false },
  },
}

async function drive(kind, fault, extra = {}, context) {
  if (fault) await emu.fault({ path: classes[kind].path, ...fault })
  const res = await classes[kind].call(client(extra), context)
  return { ...classes[kind].outcome(res), requests: await emu.requests(classes[kind].path), runs: await emu.runs() }
}

describe('unreadable 200s', () => {
  const kinds = [
    ['truncated', { malformed: 'truncated' }],
    ['html', { malformed: 'html' }],
    ['invalid UTF-8', { malformed: 'invalid_utf8' }],
    ['nested beyond the parser limit', { malformed: 'deep' }],
    ['empty', { malformed: 'empty' }],
    ['not JSON', { malformed: 'not_json' }],
    ['over maxResponseBytes', { oversize_bytes: 2 * 1024 * 1024 }],
    // serde reads a struct from a list, field by field: this was a run that returned `ret`.
    ['JSON list (not the object the API answers)', { status: 200, body: ['sum', [], { fake: 'ret' }] }],
  ]

  test.each(kinds)('a run answered with a %s body is maybe_executed, kept under its key, never run again', async (_, fault) => {
    const c = client({ maxResponseBytes: 1024 * 1024 })
    await emu.fault({ path: RUN, when: 'after', count: 1, ...fault })
    const context = { idempotencyKey: `unreadable-${JSON.stringify(fault)}` }
    const first = await rejectionOf(c.executePipedreamConnect(SEND, context))
    expect(first.code).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(first.maybe_executed).toBe(true)
    // The same key: the kept answer, not a second run.
    const again = await rejectionOf(c.executePipedreamConnect(SEND, context))
    expect(again.maybe_executed).toBe(true)
    expect(await emu.runs()).toHaveLength(1)
    expect(await emu.requests(RUN)).toHaveLength(1)
    // Without a key it is not retried either.
    await emu.fault({ path: RUN, when: 'after', count: 1, ...fault })
    const unkeyed = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(unkeyed.maybe_executed).toBe(true)
    expect(await emu.runs()).toHaveLength(2)
    expect(await emu.requests(RUN)).toHaveLength(2)
  })

  test('a run answer of odd types: an error in a bare observation fails the run; exports that are no object are left out, and said', async () => {
    const c = client()
    await emu.fault({ path: RUN, when: 'after', count: 1, status: 200, body: { ret: 1, exports: {}, os: { k: 'error', err: { name: 'Boom', message: 'the app said no' } } } })
    const failed = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(failed.code).toBe('PIPEDREAM_ACTION_FAILED')
    expect(failed.message).toMatch(/the app said no/)
    await emu.fault({ path: RUN, when: 'after', count: 1, status: 200, body: { ret: 1, exports: 'str' } })
    const odd = await c.executePipedreamConnect(SEND)
    expect(odd.result).toBe(1)
    expect(odd.exports).toEqual({})
    expect(odd.meta.warnings).toEqual(['the run\'s exports were a string, not an object: left out'])
    await emu.fault({ path: RUN, when: 'after', count: 1, status: 200, body: { ret: 1, exports: { $summary: 123 } } })
    expect((await c.executePipedreamConnect(SEND)).summary).toBeNull()
  })

  test('a page far larger than the API serves is refused before it is read whole; users need their ids', async () => {
    const c = client()
    await emu.fault({ path: APPS, method: 'GET', status: 200, count: 1, body: { data: Array.from({ length: 5000 }, () => ({})), page_info: {} } })
    const search = await c.searchServices({ query: 'gmail' })
    expect(search.error).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(search.message).toMatch(/a page of more than 1000 items/)
    for (const data of [[null], ['str'], [{ id: 123, external_id: 'x' }], [{ id: 'u1' }]]) {
      await emu.fault({ path: '/users$', method: 'GET', status: 200, count: 1, body: { data, page_info: {} } })
      expect((await rejectionOf(c.listUsers())).code).toBe('PIPEDREAM_BAD_RESPONSE')
    }
  })

  test.each(['read', 'configure'])('a %s answered with an unreadable body is a coded BAD_RESPONSE, sent once', async (kind) => {
    const r = await drive(kind, { malformed: 'html', count: 1 })
    expect(r.code).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(r.requests).toHaveLength(1)
  })

  test('an unreadable token response never quotes its body (it may hold the token)', async () => {
    await emu.fault({
      path: TOKEN,
      status: 200,
      body: { access_token: 'leaked-access-token-93f1c2', expires_in: 'soon' },
    })
    const r = await client().searchServices({ query: 'slack' })
    expect(r.error).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(r.message).not.toContain('leaked-access-token-93f1c2')
    // Half of a real token response, too.
    await emu.reset()
    await emu.fault({ path: TOKEN, when: 'after', malformed: 'truncated' })
    const half = await client().searchServices({ query: 'slack' })
    expect(half.error).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(half.message).not.toMatch(/access_token/)
  })

  test('a token endpoint error that echoes the secret is not quoted', async () => {
    await emu.fault({
      path: TOKEN,
      status: 401,
      body: { error: `invalid client ${CLIENT_SECRET}`, message: `secret was ${CLIENT_SECRET}` },
    })
    const r = await client().searchServices({ query: 'slack' })
    expect(r.error).toBe('PIPEDREAM_UNAUTHORIZED')
    expect(r.message).not.toContain(CLIENT_SECRET)
  })
})

describe('a success answer that echoes the access token', () => {
  test("an action's error, an options call's errors and a token validation's reason never carry it", async () => {
    const token = (await (await fetch(`${emu.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: emu.clientOptions.clientId, client_secret: CLIENT_SECRET }),
    })).json()).access_token
    const c = client({ clientId: undefined, clientSecret: undefined, token })
    const echo = `upstream said: Authorization Bearer ${token} is not allowed`
    await emu.fault({ path: RUN, when: 'after', count: 1, status: 200, body: { ret: null, os: [{ k: 'error', err: { name: 'Error', message: echo } }] } })
    const failed = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(failed.code).toBe('PIPEDREAM_ACTION_FAILED')
    expect(failed.message).toMatch(/Authorization Bearer \[redacted\] is not allowed/)
    await emu.fault({ path: CONFIGURE, count: 1, status: 200, body: { options: [], errors: [echo], observations: [] } })
    const options = await c.configureProp(CONFIGURE_ARGS)
    expect(options.errors.join()).toMatch(/\[redacted\]/)
    await emu.fault({ path: '/validate$', count: 1, status: 200, body: { success: false, error: echo } })
    const validated = await c.validateConnectToken('ctok_0123456789abcdef')
    expect(validated.reason).toMatch(/\[redacted\]/)
    for (const answer of [failed.message, JSON.stringify(failed), JSON.stringify(options), JSON.stringify(validated)]) {
      expect(answer).not.toContain(token)
    }
  })
})

describe('5xx', () => {
  test.each(['token', 'read', 'configure'])('a %s is retried and succeeds', async (kind) => {
    const r = await drive(kind, { status: 503, count: 1 })
    expect(r.ok).toBe(true)
    expect(r.requests.map((q) => q.status)).toEqual([503, 200])
  })

  test('concurrent callers of one key share a failed fetch: one retry cycle, not one each in turn', async () => {
    const c = client({ cache: { ttlMs: 60000 } })
    await emu.fault({ path: '/components/slack-send-message$', status: 503 })
    const answers = await Promise.all(Array.from({ length: 6 }, () => c.getComponent({ component_id: 'slack-send-message' })))
    expect(answers.map((a) => a.error)).toEqual(Array(6).fill('PIPEDREAM_SERVER_ERROR'))
    // One fetch and its two retries, for all six.
    expect(await emu.requests('/components/slack-send-message$')).toHaveLength(3)
    // A caller after the failure fetches again.
    await emu.clearFaults()
    expect((await c.getComponent({ component_id: 'slack-send-message' })).error).toBeUndefined()
  })

  test.each(['before', 'after'])('a run answered 5xx (%s the handler) is maybe_executed and sent once', async (when) => {
    const r = await drive('run', { status: 502, when, count: 1 })
    expect(r.code).toBe('PIPEDREAM_SERVER_ERROR')
    expect(r.maybe_executed).toBe(true)
    expect(r.requests).toHaveLength(1)
    expect(r.runs).toHaveLength(when === 'after' ? 1 : 0)
  })
})

describe('resets', () => {
  test.each(['token', 'read', 'configure'])('a %s whose connection is reset is retried', async (kind) => {
    const r = await drive(kind, { reset: true, count: 1 })
    expect(r.ok).toBe(true)
    expect(r.requests.map((q) => q.status)).toEqual([0, 200])
  })

  test.each(['before', 'after'])('a run reset %s the handler is maybe_executed and not retried', async (when) => {
    const r = await drive('run', { reset: true, when, count: 1 })
    expect(r.code).toBe('PIPEDREAM_NETWORK')
    expect(r.maybe_executed).toBe(true)
    expect(r.requests).toHaveLength(1)
    expect(r.runs).toHaveLength(when === 'after' ? 1 : 0)
  })

  test('a connection reset as it opens (before the request is written) leaves a run unsent or maybe_executed, never retried', async () => {
    // A listener that accepts and resets every connection at once.
    const sockets = []
    const resetter = net.createServer((s) => {
      sockets.push(s)
      s.resetAndDestroy()
    })
    await new Promise((r) => resetter.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${resetter.address().port}`
      const c = client({ baseUrl: url, token: 'static-token-for-reset-test', clientId: undefined, clientSecret: undefined })
      const before = sockets.length
      const read = await c.searchServices({ query: 'slack' })
      expect(read.error).toBe('PIPEDREAM_NETWORK')
      expect(sockets.length - before).toBe(3) // the first try and 2 retries
      // The run never gets this far (its component lookup fails first): not sent, so not maybe_executed.
      const run = await rejectionOf(c.executePipedreamConnect(SEND))
      expect(run.code).toBe('PIPEDREAM_NETWORK')
      expect(run.maybe_executed).toBeUndefined()
    } finally {
      await new Promise((r) => resetter.close(r))
    }
  })
})

describe('refused connections', () => {
  test('every class answers PIPEDREAM_NETWORK; a run that could not connect is not maybe_executed', async () => {
    const url = await closedPortUrl()
    const c = client({ baseUrl: url })
    expect((await c.searchServices({ query: 'slack' })).error).toBe('PIPEDREAM_NETWORK')
    expect((await c.configureProp(CONFIGURE_ARGS)).error).toBe('PIPEDREAM_NETWORK')
    const run = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(run.code).toBe('PIPEDREAM_NETWORK')
    expect(run.maybe_executed).toBeUndefined()
  })
})

describe('429 with extreme or garbage headers', () => {
  const extremes = [
    ['Retry-After of 100000 s', { 'retry-after': '100000' }],
    ['Retry-After in year 9999', { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' }],
    ['X-RateLimit-Reset of u64::MAX', { 'x-ratelimit-reset': '18446744073709551615' }],
  ]
  const garbage = [
    ['garbage Retry-After', { 'retry-after': 'soon', 'x-ratelimit-reset': 'never' }],
    ['negative Retry-After', { 'retry-after': '-5' }],
  ]

  // A wait longer than retry.maxDelayMs is not shortened and tried early (the server would
  // refuse again): the caller gets the wait, capped at a day, at once.
  test.each(extremes)('%s: each class fails at once with PIPEDREAM_RATE_LIMITED and the wait, sent once', async (_, headers) => {
    for (const kind of ['token', 'read', 'configure', 'run']) {
      await emu.reset()
      const r = await drive(kind, { status: 429, headers, count: 1 }, { rateLimit: { maxWaitMs: 5000 } })
      expect({ kind, ok: r.ok, code: r.code }).toEqual({ kind, ok: false, code: 'PIPEDREAM_RATE_LIMITED' })
      expect(r.message).toMatch(/Wait 86400000 ms before retrying/)
      expect(r.requests.map((q) => q.status)).toEqual([429])
      if (kind === 'run') {
        expect(r.maybe_executed).toBe(false)
        expect(r.runs).toHaveLength(0)
      }
    }
  })

  test.each(garbage)('%s: the header is ignored, each class is retried after its backoff and succeeds', async (_, headers) => {
    for (const kind of ['token', 'read', 'configure', 'run']) {
      await emu.reset()
      const started = Date.now()
      const r = await drive(kind, { status: 429, headers, count: 1 }, { rateLimit: { maxWaitMs: 5000 } })
      expect({ kind, ok: r.ok, code: r.code }).toEqual({ kind, ok: true, code: undefined })
      expect(r.requests.map((q) => q.status)).toEqual([429, 200])
      expect(Date.now() - started).toBeLessThan(4000)
      if (kind === 'run') expect(r.runs).toHaveLength(1)
    }
  })

  test('a huge Retry-After pauses a class no longer than maxDelayMs, for every client', async () => {
    // A distinct project id: the pause is shared per (base URL, project, class).
    const project = 'proj_pausetest1'
    const mk = () => client({ projectId: project, retry: { maxRetries: 0, minDelayMs: 20, maxDelayMs: 300 } })
    await emu.fault({ path: APPS, status: 429, headers: { 'retry-after': '100000' }, count: 1 })
    const first = await mk().searchServices({ query: 'slack' })
    expect(first.error).toBe('PIPEDREAM_RATE_LIMITED')
    const started = Date.now()
    const second = await mk().searchServices({ query: 'slack' })
    expect(second.error).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

describe('redirects', () => {
  test.each(['token', 'read', 'configure', 'run'])('a %s redirected to another origin is a coded error and is not followed', async (kind) => {
    const target = `${elsewhereUrl()}/steal?client_secret=x`
    const r = await drive(kind, { redirect: target, status: 307, when: kind === 'run' ? 'after' : 'before' })
    expect(r.code).toBe('PIPEDREAM_UNEXPECTED_REDIRECT')
    expect(r.message).toContain(`http://127.0.0.1:${elsewhere.address().port}`)
    expect(r.message).toContain('307')
    expect(r.message).not.toContain('client_secret')
    expect(r.requests).toHaveLength(1)
    expect(elsewhereHits).toEqual([])
    if (kind === 'run') {
      expect(r.maybe_executed).toBe(true)
      expect(r.runs).toHaveLength(1)
    }
  })

  test('a redirect to plain http elsewhere is not followed either', async () => {
    const r = await drive('read', { redirect: 'http://example.invalid/v1/connect/apps', status: 301 })
    expect(r.code).toBe('PIPEDREAM_UNEXPECTED_REDIRECT')
    expect(r.message).toContain('http://example.invalid')
  })
})

describe('slow bodies', () => {
  test.each(['token', 'read', 'configure'])('a %s whose body stalls past timeoutMs is retried', async (kind) => {
    const r = await drive(kind, { stall_body_ms: 3000, count: 1, ...(kind === 'token' ? {} : {}) })
    expect(r.ok).toBe(true)
    expect(r.requests).toHaveLength(2)
  })

  test('a run whose body stalls past timeoutMs is maybe_executed and not retried', async () => {
    const r = await drive('run', { stall_body_ms: 3000, when: 'after', count: 1 })
    expect(r.code).toBe('PIPEDREAM_TIMEOUT')
    expect(r.maybe_executed).toBe(true)
    expect(r.requests).toHaveLength(1)
    expect(r.runs).toHaveLength(1)
  })
})

describe('nothing sent is reported as nothing sent', () => {
  test('an abort while waiting in the rate limiter is not maybe_executed', async () => {
    // A quota of its own: the limiter's buckets are per (base URL, project, class, quota).
    const c = client({
      rateLimit: { execute: { requests: 1, perMs: 60000 }, maxWaitMs: 120000 },
    })
    // The one execute-class token of the minute goes to a configure call.
    await c.configureProp(CONFIGURE_ARGS)
    const ac = new AbortController()
    const pending = rejectionOf(c.executePipedreamConnect(SEND, { signal: ac.signal }))
    await new Promise((r) => setTimeout(r, 300))
    ac.abort()
    const e = await pending
    expect(e.message).toMatch(/aborted/)
    expect(e.name).toBe('AbortError')
    expect(e.maybe_executed).toBeUndefined()
    expect(await emu.requests(RUN)).toHaveLength(0)
  })

  test('a token the HTTP layer cannot carry is refused before anything is sent', async () => {
    const c = client()
    for (const token of ['tok\u0001en', 'tok en', 'tok\u00e9n']) {
      for (const config of [
        { ...SEND, auth_config: { token } },
      ]) {
        const e = await rejectionOf(c.executePipedreamConnect(config, { idempotencyKey: `bad-token-${token}` }))
        expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
        expect(e.maybe_executed).toBeUndefined()
      }
      const viaVariable = await rejectionOf(c.executePipedreamConnect(SEND, { variables: { pipedream_token: token } }))
      expect(viaVariable.code).toBe('PIPEDREAM_INVALID_ARGS')
    }
    expect(await emu.requests()).toHaveLength(0)
  })
})

describe('one idempotency key, several callers', () => {
  test("aborting one caller does not fail the others; the run goes on for them, once", async () => {
    const c = client({ timeoutMs: 5000 })
    const ac = new AbortController()
    ac.abort()
    const context = { idempotencyKey: 'shared-abort-key' }
    await emu.fault({ path: RUN, delay_ms: 1500, count: 1 })
    const live = new AbortController()
    const first = rejectionOf(c.executePipedreamConnect(SEND, { ...context, signal: live.signal }))
    // The first caller's run has reached the server (held there by the delay) before the
    // second caller comes, so the first is the one whose run it is.
    for (let i = 0; i < 200 && (await emu.requests(RUN)).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    const second = c.executePipedreamConnect(SEND, context)
    await new Promise((r) => setTimeout(r, 200))
    live.abort()
    const aborted = await first
    expect(aborted.name).toBe('AbortError')
    const res = await second
    expect(res.meta.replayed).toBe(true)
    expect(await emu.runs()).toHaveLength(1)
    // An already-aborted signal with the same key never touches the shared run.
    const early = await rejectionOf(c.executePipedreamConnect(SEND, { ...context, signal: ac.signal }))
    expect(early.name).toBe('AbortError')
    expect(await emu.runs()).toHaveLength(1)
  })

  test('when every caller aborts before the send, the run is cancelled and the key stays free', async () => {
    const c = client()
    const context = { idempotencyKey: 'all-abort-key' }
    // Hold the component lookup so the run is not sent before the aborts.
    await emu.fault({ path: '/components/slack-send-message$', delay_ms: 400, count: 1 })
    const a = new AbortController()
    const b = new AbortController()
    const p1 = rejectionOf(c.executePipedreamConnect(SEND, { ...context, signal: a.signal }))
    const p2 = rejectionOf(c.executePipedreamConnect(SEND, { ...context, signal: b.signal }))
    await new Promise((r) => setTimeout(r, 50))
    a.abort()
    b.abort()
    const errors = await Promise.all([p1, p2])
    for (const e of errors) expect(e.name).toBe('AbortError')
    // The first to abort is told the run may still happen (the other caller still wanted
    // it); the last one cancelled it before the send, and says so.
    expect(errors.filter((e) => e.maybe_executed === true).length).toBeLessThanOrEqual(1)
    expect(errors.some((e) => e.maybe_executed === undefined)).toBe(true)
    await new Promise((r) => setTimeout(r, 500))
    expect(await emu.runs()).toHaveLength(0)
    const res = await c.executePipedreamConnect(SEND, context)
    expect(res.meta.replayed).toBe(false)
    expect(await emu.runs()).toHaveLength(1)
  })
})

describe('token endpoint outage', () => {
  test('concurrent callers share one failed refresh instead of queueing behind each other', async () => {
    await emu.fault({ path: TOKEN, status: 503 })
    const c = client({ retry: { maxRetries: 2, minDelayMs: 200, maxDelayMs: 200 } })
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: 12 }, () => c.searchServices({ query: 'slack' })))
    const took = Date.now() - started
    expect(answers.every((a) => a.error === 'PIPEDREAM_SERVER_ERROR')).toBe(true)
    // One refresh with its retries (3 requests), shared by all 12 callers.
    expect(await emu.requests(TOKEN)).toHaveLength(3)
    // Each caller would otherwise wait for the one ahead: 12 x ~0.4 s.
    expect(took).toBeLessThan(3000)
    // Within the back-off a new caller gets the failure at once; after it, a fresh try.
    const again = await c.searchServices({ query: 'slack' })
    expect(again.error).toBe('PIPEDREAM_SERVER_ERROR')
    expect(await emu.requests(TOKEN)).toHaveLength(3)
    await emu.clearFaults()
    await new Promise((r) => setTimeout(r, 2100))
    expect((await c.searchServices({ query: 'slack' })).error).toBeUndefined()
  })
})

describe('stats and metrics stay clean under faults', () => {
  test('no secret or server text in getStats() or metrics()', async () => {
    const c = client()
    await emu.fault({ path: TOKEN, status: 401, body: { error: `bad ${CLIENT_SECRET}` }, count: 1 })
    await c.searchServices({ query: 'slack' })
    const text = JSON.stringify(c.getStats()) + c.metrics()
    expect(text).not.toContain(CLIENT_SECRET)
    expect(text).toContain('PIPEDREAM_UNAUTHORIZED')
  })
})

describe('bad input gets a coded error, and no fan-out', () => {
  test('configureProp with a far page is refused without a request; pages in order cost one each', async () => {
    const c = client()
    const far = await c.configureProp({ ...CONFIGURE_ARGS, page: 1000 })
    expect(far.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(far.message).toMatch(/page 1000/)
    expect(await emu.requests(CONFIGURE)).toHaveLength(0)
    // Page 2 from cold takes 3 requests (pages 0, 1, 2): the most one call may send.
    const cached = client({ cache: { ttlMs: 60000 } })
    const third = await cached.configureProp({ ...CONFIGURE_ARGS, page: 2 })
    expect(third.error === undefined || third.error === null).toBe(true)
    expect(await emu.requests(CONFIGURE)).toHaveLength(3)
    // Page 3 after that: at most one more request, walking on from the cached page 2 (none if
    // page 2 was the last).
    await cached.configureProp({ ...CONFIGURE_ARGS, page: 3 })
    const sent = (await emu.requests(CONFIGURE)).length
    expect(sent - 3).toBeLessThanOrEqual(1)
    expect((await cached.configureProp({ ...CONFIGURE_ARGS, page: 9 })).error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(await emu.requests(CONFIGURE)).toHaveLength(sent)
  })

  test.each(['__proto__', 'constructor', 'prototype'])('store and as refuse %s as a name', async (name) => {
    const c = client()
    const store = JSON.parse(`{"ts": ${JSON.stringify(name)}}`)
    const viaStore = await rejectionOf(c.executePipedreamConnect({ ...SEND, store }))
    expect(viaStore.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(viaStore.message).toContain(name)
    const viaAs = await rejectionOf(
      c.executePipedreamConnect({ ...SEND, store_to_record: true, as: name }, { currentRecord: { id: 'r1' } }),
    )
    expect(viaAs.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(await emu.requests()).toHaveLength(0)
  })

  test('log events carry names, not refused values or pasted credentials', async () => {
    const events = []
    const c = client({ logger: (e) => events.push(e) })
    const huge = 'x'.repeat(10 * 1024 * 1024)
    const pasted = 'Bearer sk_live_pasted_secret_81f3'
    await c.getComponent({ component_id: huge })
    await c.getComponents({ app_slug: pasted })
    await c.configureProp({ component_id: 'slack-send-message', prop_name: pasted })
    await rejectionOf(c.executePipedreamConnect({ ...SEND, params: { [pasted]: 1, text: 'x' } }, { alias: huge }))
    await new Promise((r) => setTimeout(r, 200))
    expect(events.length).toBeGreaterThanOrEqual(4)
    const text = JSON.stringify(events)
    expect(text.length).toBeLessThan(20_000)
    expect(text).not.toContain('sk_live_pasted_secret_81f3')
    expect(text).toContain('(invalid)')
  })
})
