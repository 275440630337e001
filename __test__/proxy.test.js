'use strict'
// Connect's proxy: a request to an app's own API with the user's connected account, as a
// module call (proxyRequest), a workflow node (config.proxy) and an LLM tool
// (pipedream_proxy_request). The emulator forwards to an echo upstream on loopback, which says
// what reached it and under whose credentials; its journal (/__emulator/proxy) and request log
// say what was sent. Refusals are checked where they matter: nothing reached the proxy route.
const { PipedreamClient } = require('..')
const { startEmulator, rejectionOf } = require('./helpers/emulator')

const USER = 'proxy-user'
const PROXY = '/proxy/'
let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:slack`, '--account', `${USER}:zendesk`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    timeoutMs: 5000,
    retry: { minDelayMs: 10, maxDelayMs: 50, maxRetries: 2 },
    ...extra,
  })
const proxied = async () => (await emu.control('GET', 'proxy')).data
const proxyRequests = () => emu.requests(PROXY)
const accountOf = async (app) => (await client().listAccounts({ external_user_id: USER, app }))[0].id

describe('proxyRequest', () => {
  test('a relative GET reaches the app with the account, encoded as the docs say', async () => {
    const c = client()
    const res = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/users.list?limit=2', headers: { 'X-Trace': 't-1' } })
    const account = await accountOf('slack')
    expect(res.status).toBe(200)
    expect(res.body_encoding).toBe('json')
    expect(res.url).toBe('https://slack.com/api/users.list?limit=2')
    expect(res.account_id).toBe(account)
    expect(res.body).toEqual(
      expect.objectContaining({ method: 'GET', url: 'https://slack.com/api/users.list?limit=2', authorized_as: account }),
    )
    expect(res.body.headers['x-trace']).toBe('t-1')
    expect(res.headers['content-type']).toMatch(/application\/json/)
    expect(res.meta).toEqual(expect.objectContaining({ attempts: 1, replayed: false, account_id: account }))
    // What was sent: base64url without padding of the full URL, our query, prefixed headers.
    const [sent] = await proxyRequests()
    const segment = sent.path.split(PROXY)[1]
    expect(segment).not.toMatch(/[=+/%]/)
    expect(Buffer.from(segment, 'base64url').toString()).toBe('https://slack.com/api/users.list?limit=2')
    expect(new URLSearchParams(sent.query)).toEqual(new URLSearchParams({ external_user_id: USER, account_id: account }))
    expect(await proxied()).toEqual([expect.objectContaining({ method: 'GET', account_id: account, status: 200 })])
  })

  test('keys and strings of every length around the one-call read arrive exactly, whatever the last character', async () => {
    // The addon copies a string of up to 255 UTF-8 bytes out of V8 in one call and measures a
    // longer one first; a character of 1–4 bytes may straddle that edge (V8 stops before it).
    const body = {}
    for (let bytes = 244; bytes <= 262; bytes++) {
      for (const ch of ['a', 'é', '€', '😀']) {
        const width = Buffer.byteLength(ch)
        const text = 'x'.repeat(bytes - width) + ch
        expect(Buffer.byteLength(text)).toBe(bytes)
        body[`${text}|key`] = text
        body[text] = `${text}|value`
      }
    }
    const res = await client().proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body })
    expect(res.body.body).toEqual(body)
    expect(Object.keys(res.body.body)).toHaveLength(Object.keys(body).length)
  })

  test('an object body sends what JSON.stringify would: own enumerable string keys only', async () => {
    const proto = { inherited: 1 }
    const body = Object.create(proto)
    body.b = 1
    body[2] = 'two'
    body.a = { nested: [1, { [Symbol('hidden')]: 1, shown: true }] }
    body[Symbol('key')] = 'left out'
    Object.defineProperty(body, 'hidden', { value: 'not enumerable', enumerable: false })
    body.gone = undefined
    const res = await client().proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body })
    expect(res.body.body).toEqual(JSON.parse(JSON.stringify(body)))
    expect(Object.keys(res.body.body).sort()).toEqual(['2', 'a', 'b'])
  })

  test('a JSON body is sent as JSON; a string body as text with its content-type', async () => {
    const c = client()
    const json = await c.proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { channel: 'C1', text: 'hi' } })
    expect(json.body.body).toEqual({ channel: 'C1', text: 'hi' })
    expect(json.body.headers['content-type']).toBe('application/json')
    const text = await c.proxyRequest({
      app: 'slack',
      method: 'PUT',
      url: 'https://slack.com/api/files.upload',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b\n1,2\n',
    })
    expect(text.body.body).toBe('a,b\n1,2\n')
    expect(text.body.headers['content-type']).toBe('text/csv')
    // A JSON type of the caller's own reaches the app (forwarded as x-pd-proxy-content-type,
    // as the SDK forwards every header of the caller's).
    const api = await c.proxyRequest({
      app: 'slack',
      method: 'PATCH',
      url: '/api/x',
      headers: { 'Content-Type': 'application/vnd.api+json' },
      body: { data: { type: 'tasks' } },
    })
    expect(api.body.body).toEqual({ data: { type: 'tasks' } })
    expect(api.body.headers['content-type']).toBe('application/vnd.api+json')
    expect((await proxied()).map((p) => p.method)).toEqual(['POST', 'PUT', 'PATCH'])
  })

  test('an account_id alone names the app', async () => {
    const account = await accountOf('slack')
    const res = await client().proxyRequest({ account_id: account, method: 'GET', url: '/api/auth.test' })
    expect(res.body.authorized_as).toBe(account)
    expect(res.url).toBe('https://slack.com/api/auth.test')
  })

  test('an unknown account is PIPEDREAM_NOT_FOUND and nothing is proxied', async () => {
    const e = await rejectionOf(client().proxyRequest({ account_id: 'apn_nothere1', method: 'GET', url: '/api/auth.test' }))
    expect(e.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(e.message).toMatch(/account/)
    expect(await proxyRequests()).toEqual([])
  })

  test('an account-specific base (zendesk) takes a relative URL that Pipedream fills', async () => {
    const res = await client().proxyRequest({ app: 'zendesk', method: 'GET', url: '/api/v2/tickets.json' })
    expect(res.url).toBe('/api/v2/tickets.json')
    expect(res.body.url).toMatch(/^https:\/\/[a-z0-9-]+\.zendesk\.com\/api\/v2\/tickets\.json$/)
  })

  test.each([
    ['a domain outside the allowed ones', { app: 'slack', method: 'GET', url: 'https://evil.example/api' }, /allowed domains/],
    ['a look-alike domain', { app: 'slack', method: 'GET', url: 'https://evilslack.com/api' }, /allowed domains/],
    ['a non-https URL', { app: 'slack', method: 'GET', url: 'http://slack.com/api/users.list' }, /https/],
    ['an authorization header', { app: 'slack', method: 'GET', url: '/api', headers: { Authorization: 'Bearer mine' } }, /authorization/],
    ['an api-key header', { app: 'slack', method: 'GET', url: '/api', headers: { 'x-api-key': 'k' } }, /x-api-key/],
    ['an app without a proxy', { app: 'postgresql', method: 'GET', url: 'https://db.example/x' }, /not enabled/],
  ])('%s is refused before anything is sent', async (_, request, message) => {
    const e = await rejectionOf(client().proxyRequest(request))
    expect(e.code).toBe('PIPEDREAM_PROXY_REFUSED')
    expect(e.message).toMatch(message)
    // Named by method and origin (the app, for a relative URL), as every proxy failure is.
    const origin = request.url.startsWith('/') ? request.app : new URL(request.url).origin
    expect(e.message.startsWith(`Pipedream component 'proxy GET ${origin}' failed: `)).toBe(true)
    expect(await proxyRequests()).toEqual([])
  })

  test("a request that cannot be read is named 'proxy'", async () => {
    const e = await rejectionOf(client().proxyRequest({ app: 'slack', method: 'POST', url: '/api/files.upload', body: Buffer.from('x') }))
    expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(e.message.startsWith("Pipedream component 'proxy' failed: ")).toBe(true)
  })

  test('an app record without `connect` (SDK 3 has none) leaves the checks to Pipedream: sent, not refused', async () => {
    const c = client({ cache: { ttlMs: 0 } })
    const bare = { data: { id: 'app_OkrhR1', name_slug: 'slack', name: 'Slack', auth_type: 'oauth', img_src: '', categories: [], featured_weight: 1 } }
    const record = '^/v1/connect/apps/slack$'
    await emu.fault({ path: record, method: 'GET', status: 200, body: bare, count: 2 })
    const relative = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/users.list' })
    expect(relative.status).toBe(200)
    expect(relative.url).toBe('/api/users.list')
    expect(relative.body.url).toBe('https://slack.com/api/users.list')
    const absolute = await c.proxyRequest({ app: 'slack', method: 'GET', url: 'https://slack.com/api/auth.test' })
    expect(absolute.body.url).toBe('https://slack.com/api/auth.test')
    expect(await proxyRequests()).toHaveLength(2)
    // This client's own rules still hold without the record's.
    await emu.fault({ path: record, method: 'GET', status: 200, body: bare, count: 1 })
    const e = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'GET', url: 'http://slack.com/api' }))
    expect(e.code).toBe('PIPEDREAM_PROXY_REFUSED')
    expect(await proxyRequests()).toHaveLength(2)
    expect((await emu.requests(record)).map((r) => r.status)).toEqual([200, 200, 200])
  })

  test('bad arguments are PIPEDREAM_INVALID_ARGS', async () => {
    const c = client()
    for (const request of [
      { app: 'slack', method: 'TRACE', url: '/x' },
      { app: 'slack', method: 'GET', url: '/x', body: { a: 1 } },
      { app: 'slack', method: 'GET' },
      { method: 'GET', url: '/x' },
      { app: '../x', method: 'GET', url: '/x' },
      { app: 'slack', method: 'GET', url: '/x', headers: { 'bad name': 'v' } },
    ]) {
      expect((await rejectionOf(c.proxyRequest(request))).code).toBe('PIPEDREAM_INVALID_ARGS')
    }
    expect(await proxyRequests()).toEqual([])
  })

  test('an app error status rejects with that status; a 4xx is not retried', async () => {
    const e = await rejectionOf(client().proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__status=404' }))
    expect(e.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(e.status).toBe(404)
    expect(await proxied()).toHaveLength(1)
  })

  test("an app's 401 is the app's: not taken for an expired Pipedream token, so a write is sent once and no token is fetched", async () => {
    const c = client()
    await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/users.list' })
    const post = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'POST', url: '/api/x?__status=401', body: { text: 'once' } }))
    expect(post).toEqual(expect.objectContaining({ code: 'PIPEDREAM_UNAUTHORIZED', status: 401 }))
    expect(post.message).toMatch(/The app answered 401.*reconnect the account/s)
    expect(post.message).not.toMatch(/Pipedream API error|PIPEDREAM_CLIENT_SECRET/)
    for (let i = 0; i < 3; i++) await rejectionOf(c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__status=401' }))
    // One proxied request each (a 4xx is not retried), on the token of the first call.
    expect((await proxied()).map((p) => [p.method, p.status])).toEqual([['GET', 200], ['POST', 401], ['GET', 401], ['GET', 401], ['GET', 401]])
    expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(1)
  })

  test("an app's 404 says the app has nothing there, not to check Pipedream's ids", async () => {
    const e = await rejectionOf(client().proxyRequest({ app: 'slack', method: 'GET', url: '/api/nothing?__status=404' }))
    expect(e.message).toMatch(/^Pipedream component 'proxy GET slack' failed: The app answered 404.*check the path/s)
    expect(e.message).not.toMatch(/project id/)
  })

  test('a credential header with a {{…}} placeholder reaches the app filled from the account; a literal one is refused', async () => {
    const c = client()
    const account = await accountOf('slack')
    const res = await c.proxyRequest({
      app: 'slack',
      method: 'GET',
      url: '/api/x',
      headers: { Authorization: 'Bearer {{oauth_access_token}}', 'x-api-key': '{{ oauth_access_token }}' },
    })
    expect(res.body.authorized_as).toBe(account)
    expect(res.body.headers['x-api-key']).toMatch(/^emulated_access_[0-9a-f]+$/)
    // A literal credential, alone or beside a placeholder, is the caller's own: refused.
    for (const value of ['Bearer sk-123', 'Bearer {{api_key}} sk-123', 'sk-123{{api_key}}']) {
      const literal = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x', headers: { authorization: value } }))
      expect(literal.code).toBe('PIPEDREAM_PROXY_REFUSED')
      expect(literal.message).toMatch(/\{\{api_key\}\}/)
      expect(literal.message).not.toContain('sk-123')
    }
    expect(await proxied()).toHaveLength(1)
  })

  test('a GET still unanswered at deadlineMs times out without maybe_executed', async () => {
    await emu.fault({ path: PROXY, when: 'after', delay_ms: 1500, count: 1 })
    const e = await rejectionOf(client({ deadlineMs: 300 }).proxyRequest({ app: 'slack', method: 'GET', url: '/api/x' }))
    expect(e.code).toBe('PIPEDREAM_TIMEOUT')
    expect(e.maybe_executed).toBeFalsy()
    expect(e.message).not.toMatch(/may have run/)
  })

  test('a 5xx is retried for a GET, and never for a POST, which is maybe_executed', async () => {
    const c = client()
    const get = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__status=503' }))
    expect(get.code).toBe('PIPEDREAM_SERVER_ERROR')
    expect(get.maybe_executed).toBeFalsy()
    expect(await proxied()).toHaveLength(3)
    await emu.reset()
    const post = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'POST', url: '/api/x?__status=503', body: {} }))
    expect(post.code).toBe('PIPEDREAM_SERVER_ERROR')
    expect(post.maybe_executed).toBe(true)
    expect(await proxied()).toHaveLength(1)
  })

  test('a connection reset after a POST was written is maybe_executed and not re-sent; a GET is retried', async () => {
    const c = client()
    await emu.fault({ path: PROXY, when: 'after', reset: true, count: 1 })
    const post = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { text: 'once' } }))
    expect(post.maybe_executed).toBe(true)
    expect(await proxyRequests()).toHaveLength(1)
    await emu.reset()
    await emu.fault({ path: PROXY, when: 'after', reset: true, count: 1 })
    const get = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/users.list' })
    expect(get.status).toBe(200)
    expect(await proxyRequests()).toHaveLength(2)
  })

  test('a 429 with a garbage Retry-After is retried for a POST (it was refused), within the cap', async () => {
    await emu.fault({ path: PROXY, status: 429, headers: { 'retry-after': 'soon' }, count: 1 })
    const res = await client().proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { text: 'x' } })
    expect(res.meta.attempts).toBe(2)
    expect(await proxied()).toHaveLength(1)
  })

  test("an app's 429 does not hold back the other proxy requests: one app's limit is not every app's", async () => {
    await emu.fault({ path: PROXY, status: 429, headers: { 'retry-after': '2' }, count: 1 })
    const c = client({ retry: { minDelayMs: 10, maxDelayMs: 1000, maxRetries: 2 } })
    // Longer than maxDelayMs: not waited for, the call answers the 429.
    const limited = await rejectionOf(c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/a' }))
    expect(limited.code).toBe('PIPEDREAM_RATE_LIMITED')
    const next = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/b' })
    expect(next.meta.rate_limit_wait_ms).toBe(0)
    expect((await proxyRequests()).map((r) => r.status)).toEqual([429, 200])
  })

  test('a redirect is not followed, and a POST it answered is maybe_executed', async () => {
    await emu.fault({ path: PROXY, status: 307, headers: { location: 'https://elsewhere.example/steal' }, count: 1 })
    const e = await rejectionOf(client().proxyRequest({ app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: {} }))
    expect(e.code).toBe('PIPEDREAM_UNEXPECTED_REDIRECT')
    expect(e.maybe_executed).toBe(true)
    expect(await proxyRequests()).toHaveLength(1)
  })

  test('a slow answer to a POST times out as maybe_executed, sent once', async () => {
    await emu.fault({ path: PROXY, when: 'after', delay_ms: 1500, count: 1 })
    const e = await rejectionOf(client({ timeoutMs: 300 }).proxyRequest({ app: 'slack', method: 'POST', url: '/api/x', body: {} }))
    expect(e.code).toBe('PIPEDREAM_TIMEOUT')
    expect(e.maybe_executed).toBe(true)
    expect(await proxyRequests()).toHaveLength(1)
  })

  test('a long answer is cut at max_bytes and says so; binary comes as base64', async () => {
    const c = client()
    const long = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__bytes=5000', max_bytes: 1000 })
    expect(long).toEqual(expect.objectContaining({ truncated: true, body_encoding: 'text' }))
    expect(long.body).toBe('x'.repeat(1000))
    const whole = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__bytes=5000' })
    expect(whole.truncated).toBe(false)
    expect(whole.body).toHaveLength(5000)
    // Not JSON by its content type, but text by its bytes: text, not parsed.
    const png = await c.proxyRequest({ app: 'slack', method: 'GET', url: '/api/x?__content_type=image/png' })
    expect(png.body_encoding).toBe('text')
    expect(JSON.parse(png.body).method).toBe('GET')
  })

  test('an idempotencyKey sends a write once; the second call replays', async () => {
    const c = client()
    const request = { app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { text: 'once' } }
    const first = await c.proxyRequest(request, { idempotencyKey: 'proxy-once-1' })
    const second = await c.proxyRequest(request, { idempotencyKey: 'proxy-once-1' })
    expect(second.body).toEqual(first.body)
    expect([first.meta.replayed, second.meta.replayed]).toEqual([false, true])
    expect(await proxied()).toHaveLength(1)
  })

  test('an aborted signal rejects with an AbortError and sends nothing', async () => {
    const controller = new AbortController()
    controller.abort()
    const e = await rejectionOf(client().proxyRequest({ app: 'slack', method: 'GET', url: '/x' }, { signal: controller.signal }))
    expect(e.name).toBe('AbortError')
    expect(await proxyRequests()).toEqual([])
  })
})

describe('a pipedream_connect node with proxy', () => {
  test('the JSON answer is the result: store and records read it; status is in exports', async () => {
    const c = client()
    const out = await c.executePipedreamConnect(
      {
        proxy: { app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { channel: 'C1', text: 'hello' } },
        store: { 'body.text': 'sentText', method: 'sentWith' },
      },
      { workflowId: 'wf-proxy' },
    )
    expect(out.component_id).toBe('proxy')
    expect(out.result.body).toEqual({ channel: 'C1', text: 'hello' })
    expect(out.stored).toEqual({ sentText: 'hello', sentWith: 'POST' })
    expect(out.exports).toEqual(expect.objectContaining({ status: 200, url: 'https://slack.com/api/chat.postMessage', truncated: false }))
    expect(out.summary).toBe('POST https://slack.com/api/chat.postMessage answered 200')
    expect(out.meta.account_id).toBe(await accountOf('slack'))
    expect(await emu.runs()).toEqual([])
    expect(await proxied()).toHaveLength(1)
  })

  test('log events name the method and origin, never the path, query or body', async () => {
    const events = []
    const c = client({ logger: (e) => events.push(e), logLevel: 'debug' })
    await c.executePipedreamConnect({
      proxy: { app: 'slack', method: 'POST', url: 'https://slack.com/api/private-path-77?q=private-query', body: { text: 'private-body' } },
    })
    const text = JSON.stringify(events)
    expect(events.some((e) => e.type === 'execution' && e.outcome === 'ok')).toBe(true)
    const execution = events.find((e) => e.type === 'execution')
    expect(execution).toEqual(expect.objectContaining({ component_id: 'proxy', proxy: { method: 'POST', origin: 'https://slack.com' } }))
    for (const secret of ['private-path-77', 'private-query', 'private-body']) expect(text).not.toContain(secret)
  })

  test('component_id and proxy together, or stash with proxy, are refused', async () => {
    const c = client()
    const both = await rejectionOf(
      c.executePipedreamConnect({ component_id: 'slack-send-message', proxy: { app: 'slack', method: 'GET', url: '/x' } }),
    )
    expect(both.code).toBe('PIPEDREAM_INVALID_ARGS')
    const stash = await rejectionOf(c.executePipedreamConnect({ proxy: { app: 'slack', method: 'GET', url: '/x' }, stash: true }))
    expect(stash.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(await proxyRequests()).toEqual([])
  })

  test('a user without an account for the app gets PIPEDREAM_ACCOUNT_MISSING with a link', async () => {
    const e = await rejectionOf(
      client().executePipedreamConnect({ proxy: { app: 'github', method: 'GET', url: '/user' } }, { externalUserId: 'nobody' }),
    )
    expect(e.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(e.connect_link_url).toMatch(/app=github/)
    expect(await proxyRequests()).toEqual([])
  })
})

describe('the pipedream_proxy_request tool', () => {
  const args = (extra) => ({ app_slug: 'slack', method: 'GET', url: '/api/users.list', body: null, headers: null, external_user_id: null, account_id: null, ...extra })

  test('answers the app status and body as data', async () => {
    const c = client()
    const answer = await c.handleToolCall('pipedream_proxy_request', JSON.stringify(args({ headers: '{"x-trace":"tool"}' })))
    expect(answer.status).toBe(200)
    expect(answer.body.headers['x-trace']).toBe('tool')
    const post = await c.handleToolCall('pipedream_proxy_request', args({ method: 'POST', url: '/api/chat.postMessage', body: '{"text":"from tool"}' }))
    expect(post.body.body).toEqual({ text: 'from tool' })
    expect(await proxied()).toHaveLength(2)
  })

  test('a refusal or an app error is an answer with a code, not a throw', async () => {
    const c = client()
    const refused = await c.handleToolCall('pipedream_proxy_request', args({ url: 'https://evil.example/x' }))
    expect(refused).toEqual(expect.objectContaining({ error: 'PIPEDREAM_PROXY_REFUSED', app_slug: 'slack', status: null }))
    const missing = await c.handleToolCall('pipedream_proxy_request', args({ url: '/api/x?__status=404' }))
    expect(missing).toEqual(expect.objectContaining({ error: 'PIPEDREAM_NOT_FOUND', status: 404 }))
  })

  test('a write that may have reached the app says maybe_executed, and is not re-sent; a read is retried and does not', async () => {
    const c = client()
    const post = await c.handleToolCall('pipedream_proxy_request', args({ method: 'POST', url: '/api/x?__status=503', body: '{}' }))
    expect(post).toEqual(expect.objectContaining({ error: 'PIPEDREAM_SERVER_ERROR', status: 503, maybe_executed: true, body: null }))
    expect(post.message).toMatch(/may have run/)
    expect(await proxied()).toHaveLength(1)
    await emu.reset()
    await emu.fault({ path: PROXY, when: 'after', reset: true, count: 1 })
    const reset = await c.handleToolCall('pipedream_proxy_request', args({ method: 'DELETE', url: '/api/x' }))
    expect(reset).toEqual(expect.objectContaining({ error: 'PIPEDREAM_NETWORK', maybe_executed: true }))
    expect(await proxyRequests()).toHaveLength(1)
    await emu.reset()
    const get = await c.handleToolCall('pipedream_proxy_request', args({ url: '/api/x?__status=503' }))
    expect(get.error).toBe('PIPEDREAM_SERVER_ERROR')
    expect(get).not.toHaveProperty('maybe_executed')
    expect(await proxied()).toHaveLength(3)
  })

  test('aborted after a write was sent: rejects with maybe_executed; aborted before, or a read: without', async () => {
    const c = client()
    await emu.fault({ path: PROXY, when: 'after', delay_ms: 1000 })
    const sending = new AbortController()
    const pending = c.handleToolCall('pipedream_proxy_request', args({ method: 'POST', url: '/api/x', body: '{}' }), { signal: sending.signal })
    const deadline = Date.now() + 3000
    while ((await proxyRequests()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    sending.abort()
    const e = await rejectionOf(pending)
    expect(e.name).toBe('AbortError')
    expect(e.maybe_executed).toBe(true)
    expect(e.message).toMatch(/may have run/)
    expect(await proxyRequests()).toHaveLength(1)

    const reading = new AbortController()
    const read = c.handleToolCall('pipedream_proxy_request', args({ url: '/api/x' }), { signal: reading.signal })
    while ((await proxyRequests()).length < 2 && Date.now() < deadline + 3000) await new Promise((r) => setTimeout(r, 10))
    reading.abort()
    const r = await rejectionOf(read)
    expect(r.name).toBe('AbortError')
    expect(r.maybe_executed).toBeFalsy()

    const early = new AbortController()
    early.abort()
    const before = await rejectionOf(c.handleToolCall('pipedream_proxy_request', args({ method: 'POST', url: '/api/x', body: '{}' }), { signal: early.signal }))
    expect(before.name).toBe('AbortError')
    expect(before.maybe_executed).toBeFalsy()
    expect(await proxyRequests()).toHaveLength(2)
  })

  test('a write still unanswered at deadlineMs is an answer with maybe_executed, sent once', async () => {
    await emu.fault({ path: PROXY, when: 'after', delay_ms: 1500, count: 1 })
    const answer = await client({ deadlineMs: 300 }).handleToolCall('pipedream_proxy_request', args({ method: 'PATCH', url: '/api/x', body: '{}' }))
    expect(answer).toEqual(expect.objectContaining({ error: 'PIPEDREAM_TIMEOUT', maybe_executed: true }))
    expect(await proxyRequests()).toHaveLength(1)
  })

  test('is offered with the other tools, and MCP marks it as one that can write', () => {
    const { toolDefinitions } = require('..')
    const names = toolDefinitions().map((t) => t.function.name)
    expect(names).toContain('pipedream_proxy_request')
    const mcp = toolDefinitions({ format: 'mcp' }).find((t) => t.name === 'pipedream_proxy_request')
    expect(mcp.annotations.readOnlyHint).toBe(false)
  })
})
