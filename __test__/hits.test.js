'use strict'
// Cache hits answered at once: index.js asks the core synchronously (`cachedAnswer`, a function
// bound to the client by `__bound`) before the async method. A hit must be the same answer the
// async path gives, a fresh object each time, sent nowhere, logged, and still refused for an
// aborted signal.
const pd = require('..')
const { startEmulator } = require('./helpers/emulator')

let emu
beforeAll(async () => {
  emu = await startEmulator()
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new pd.PipedreamClient({ ...emu.clientOptions, ...extra })
const apiRequests = async () => (await emu.requests('^/v1/connect/')).length
const nativeOf = (c) => c[Object.getOwnPropertySymbols(c).find((s) => s.description === 'native')]

test('a hit is the miss answer with cached: true, non-ASCII text intact, and sends nothing', async () => {
  const c = client()
  const miss = await c.searchServices({ query: 'slack' })
  expect(miss.cached).toBe(false)
  // The shortened Slack description ends in '…': the core sends it as a \u escape.
  const slack = miss.services.find((s) => s.app_slug === 'slack')
  expect(slack.description).toMatch(/[^\x00-\x7f]/)
  const sent = await apiRequests()
  const hit = await c.searchServices({ query: 'slack' })
  expect(hit).toEqual({ ...miss, cached: true })
  expect(await apiRequests()).toBe(sent)
  expect(c.getStats().cache.hits).toBe(1)
})

test('each hit is a fresh object, and a differently cased query echoes its own text', async () => {
  const c = client()
  await c.searchServices({ query: 'gmail' })
  const first = await c.searchServices({ query: 'gmail' })
  first.services.length = 0
  first.message = 'changed by the caller'
  const second = await c.searchServices({ query: 'gmail' })
  expect(second.services.length).toBeGreaterThan(0)
  expect(second.message).toMatch(/"gmail"/)
  const upper = await c.searchServices({ query: 'GMAIL' })
  expect(upper.cached).toBe(true)
  expect(upper.query).toBe('GMAIL')
  expect(upper.message).toMatch(/"GMAIL"/)
})

test('getComponents, getComponent and handleToolCall hits equal their misses', async () => {
  const c = client()
  const comps = await c.getComponents({ app_slug: 'github', query: 'issue', limit: 3 })
  const comp = await c.getComponent({ component_id: 'slack-send-message' })
  const sent = await apiRequests()
  expect(await c.getComponents({ app_slug: 'github', query: 'issue', limit: 3 })).toEqual({ ...comps, cached: true })
  expect(await c.getComponent({ component_id: 'slack-send-message' })).toEqual({ ...comp, cached: true })
  const tool = await c.handleToolCall('pipedream_get_component', { component_id: 'slack-send-message', version: null })
  expect(tool).toEqual({ ...comp, cached: true })
  expect(await apiRequests()).toBe(sent)
})

test('arguments the probe does not take still get the async answer', async () => {
  const c = client()
  await c.searchServices({ query: 'gmail' })
  // Not plain (an object for a string): the async path reads it and names the problem.
  const nested = await c.searchServices({ query: { toString: () => 'gmail' } })
  expect(nested.error).toBe('PIPEDREAM_INVALID_ARGS')
  // A field the call does not take is refused whichever path reads it, cached or not.
  for (const extra of [{ a: 1 }, 1]) {
    const refused = await c.searchServices({ query: 'gmail', extra })
    expect(refused.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(refused.message).toMatch(/unknown field `extra`; the fields are query, limit/)
  }
  expect((await c.searchServices({ query: 'gmail' })).cached).toBe(true)
  // Plain but wrong: the probe declines and the async path names the problem.
  const plainBad = await c.searchServices({ query: 'gmail', limit: 'x' })
  expect(plainBad.error).toBe('PIPEDREAM_INVALID_ARGS')
  expect(plainBad.message).toMatch(/`limit` must be a number/)
  // A tool name that does not exist is still PIPEDREAM_UNKNOWN_TOOL.
  expect((await c.handleToolCall('no_such_tool', { query: 'gmail' })).error).toBe('PIPEDREAM_UNKNOWN_TOOL')
})

test('the probe reads its arguments whole at every length, short or long, ASCII or not', async () => {
  // The probe copies arguments of up to 251 UTF-8 bytes in one Node-API call and reads longer
  // ones in full: a hit must be found either way, whatever character ends at the edge.
  const c = client()
  const probe = nativeOf(c).__bound().cachedAnswer
  const seen = new Set()
  for (let k = 114; k <= 118; k++) {
    for (const tail of ['', 'a', '€', '😀']) {
      const args = { query: `gmail ${'é'.repeat(k)}${tail}` }
      seen.add(Buffer.byteLength(JSON.stringify(args)))
      const miss = await c.searchServices(args)
      expect(miss.error).toBeUndefined()
      const text = probe('searchServices', JSON.stringify(args))
      expect(typeof text).toBe('string')
      expect(JSON.parse(text)).toEqual({ ...miss, cached: true })
    }
  }
  // Every length across the edge was tried.
  for (let bytes = 248; bytes <= 258; bytes++) expect(seen).toContain(bytes)
  // Arguments whose JSON text is longer than the one-call read still hit (a tool's name too).
  const long = { query: `gmail ${'é'.repeat(150)}` }
  const miss = await c.searchServices(long)
  expect(Buffer.byteLength(JSON.stringify(long))).toBeGreaterThan(256)
  expect(JSON.parse(probe('pipedream_search_services', JSON.stringify(long)))).toEqual({ ...miss, cached: true })
  expect(probe('x'.repeat(300), JSON.stringify(long))).toBeNull()
})

test('the probe answers its own client only, and null for anything but two strings', async () => {
  const c = client()
  const other = client()
  const args = JSON.stringify({ query: 'gmail' })
  await c.searchServices({ query: 'gmail' })
  const probe = nativeOf(c).__bound().cachedAnswer
  expect(JSON.parse(probe('searchServices', args)).cached).toBe(true)
  expect(JSON.parse(probe('searchServices', args, true)).cached).toBe(true)
  // Bound to the client it was made by: another client's probe has no such entry.
  expect(nativeOf(other).__bound().cachedAnswer('searchServices', args)).toBeNull()
  // Anything but two strings is no hit: the async path answers it.
  const notHits = [
    [],
    ['searchServices'],
    [undefined, args],
    [1, 2],
    [{}, []],
    ['searchServices', 5],
    ['searchServices', Symbol('x')],
    [Symbol('op'), args],
    ['searchServices', { toString: () => args }],
    ['searchServices', '{not json'],
    ['searchServices', '\ud800'],
    ['searchServices', 'x'.repeat(1 << 20)],
  ]
  for (const argv of notHits) expect([argv, probe(...argv)]).toEqual([argv, null])
  // A text flag that is not `true` asks for the JSON; arguments past the third are ignored.
  const json = probe('searchServices', args, false)
  expect(probe('searchServices', args, 'yes')).toBe(json)
  expect(probe('searchServices', args, { valueOf: () => true })).toBe(json)
  expect(probe('searchServices', args, false, 'extra', 'args', 'beyond', 'four')).toBe(json)
  expect(probe('searchServices', args, true)).not.toBe(json)
  // Called with another `this`, or as a constructor, it is the same probe.
  expect(JSON.parse(probe.call({}, 'searchServices', args)).cached).toBe(true)
  expect(() => new probe('searchServices', args)).not.toThrow()
  // A hit through the probe is counted as any other.
  expect(c.getStats().cache.hits).toBe(9)
})

test('clients that answered hits are collected once dropped, and a probe kept alone still answers', () => {
  const { execFileSync } = require('node:child_process')
  const script = `const pd = require(${JSON.stringify(require('node:path').resolve(__dirname, '..'))});
    const options = ${JSON.stringify(emu.clientOptions)};
    const settle = async () => { for (let i = 0; i < 20; i++) { gc(); await new Promise((r) => setTimeout(r, 20)) } };
    const nativeOf = (c) => c[Object.getOwnPropertySymbols(c).find((s) => s.description === 'native')];
    (async () => {
      let collected = 0, hits = 0;
      const registry = new FinalizationRegistry(() => collected++);
      for (let i = 0; i < 40; i++) {
        const c = new pd.PipedreamClient(options);
        registry.register(c, i);
        await c.searchServices({ query: 'gmail' });
        if ((await c.searchServices({ query: 'gmail' })).cached) hits++;
      }
      let last = new pd.PipedreamClient(options);
      registry.register(last, 'last');
      await last.searchServices({ query: 'slack' });
      const probe = nativeOf(last).__bound().cachedAnswer;
      last = null;
      await settle();
      const kept = JSON.parse(probe('searchServices', JSON.stringify({ query: 'slack' }))).cached;
      process.stdout.write(JSON.stringify({ collected, hits, kept }));
    })()`
  const res = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
  expect(res.hits).toBe(40)
  // The last client's object is collected too: the probe holds the client's core, not it.
  expect(res.collected).toBeGreaterThanOrEqual(39)
  expect(res.kept).toBe(true)
})

test('on a miss the async method is handed the JSON text the probe made, and answers as for the object', async () => {
  const c = client()
  const native = nativeOf(c)
  const handed = []
  for (const method of ['searchServices', 'getComponents', 'getComponent', 'handleToolCall']) {
    const real = native[method]
    native[method] = function (...args) {
      handed.push([method, ...args.slice(0, method === 'handleToolCall' ? 2 : 1)])
      return real.apply(this, args)
    }
  }
  const other = client()
  const otherNative = nativeOf(other)
  const calls = [
    ['searchServices', { query: 'gmail', limit: 3 }],
    ['getComponents', { app_slug: 'gmail', query: 'send émail', limit: 2 }],
    ['getComponent', { component_id: 'gmail-send-email' }],
  ]
  for (const [method, args] of calls) {
    const viaText = await c[method](args)
    // Another client's native method, given the object: the answer must be the same.
    const viaObject = await otherNative[method](args)
    expect(viaText).toEqual(viaObject)
    expect(viaText.error).toBeUndefined()
  }
  const tool = await c.handleToolCall('pipedream_search_services', { query: 'slack' })
  expect(tool.error).toBeUndefined()
  expect(handed).toEqual([
    ['searchServices', JSON.stringify(calls[0][1])],
    ['getComponents', JSON.stringify(calls[1][1])],
    ['getComponent', JSON.stringify(calls[2][1])],
    ['handleToolCall', 'pipedream_search_services', JSON.stringify({ query: 'slack' })],
  ])
  // Arguments that are not plain are still handed over as they are.
  const nested = { query: 'gmail', extra: { a: 1 } }
  await c.searchServices(nested)
  expect(handed.at(-1)).toEqual(['searchServices', nested])
})

test('an aborted signal rejects even when the answer is cached', async () => {
  const c = client()
  await c.searchServices({ query: 'gmail' })
  const ac = new AbortController()
  ac.abort()
  await expect(c.searchServices({ query: 'gmail' }, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
  // A live signal does not stop a hit.
  expect((await c.searchServices({ query: 'gmail' }, { signal: new AbortController().signal })).cached).toBe(true)
})

test('a hit is logged as a cached discovery call', async () => {
  const events = []
  const c = client({ logger: (e) => events.push(e) })
  await c.searchServices({ query: 'gmail' })
  await c.searchServices({ query: 'gmail' })
  await new Promise((r) => setTimeout(r, 50))
  const discovery = events.filter((e) => e.type === 'discovery' && e.op === 'searchServices')
  expect(discovery.map((e) => e.cached)).toEqual([false, true])
})

test('a disabled client answers PIPEDREAM_DISABLED, never from the cache', async () => {
  const res = await client({ enabled: false }).searchServices({ query: 'gmail' })
  expect(res.error).toBe('PIPEDREAM_DISABLED')
})

test('a number JSON cannot carry is not read as null by the probe', async () => {
  const c = client()
  await c.searchServices({ query: 'gmail' })
  // JSON.stringify would send limit: null (the default, a hit); the async path rejects NaN.
  const res = await c.searchServices({ query: 'gmail', limit: NaN })
  expect(res.error).toBe('PIPEDREAM_INVALID_ARGS')
})

test('a lone surrogate in an argument is read as U+FFFD, as the walk reads it, not refused', async () => {
  const c = client()
  for (const [call, args, replaced] of [
    ['searchServices', { query: 'mail\ud800' }, { query: 'mail\ufffd' }],
    ['getComponents', { app_slug: 'slack', query: 'send\udc00' }, { app_slug: 'slack', query: 'send\ufffd' }],
  ]) {
    const answer = await c[call](args)
    expect(answer.error).toBeUndefined()
    expect(answer).toEqual({ ...(await c[call](replaced)), cached: answer.cached })
  }
})

describe('abort reasons, as fetch has them', () => {
  async function rejectionOf(promise) {
    try {
      await promise
    } catch (e) {
      return e
    }
    throw new Error('expected a rejection')
  }

  test('an abort in the same tick as a cached call wins over the hit', async () => {
    const c = client()
    await c.searchServices({ query: 'slack' })
    const ac = new AbortController()
    const pending = c.searchServices({ query: 'slack' }, { signal: ac.signal })
    ac.abort()
    const e = await rejectionOf(pending)
    expect([e.name, e.code]).toEqual(['AbortError', 'ABORT_ERR'])
    // Unaborted, the same call is still a hit.
    expect((await c.searchServices({ query: 'slack' }, { signal: new AbortController().signal })).cached).toBe(true)
    // The same for the hit handed over as text.
    const asText = new AbortController()
    const text = c.handleToolCallText('pipedream_search_services', { query: 'slack' }, { signal: asText.signal })
    asText.abort()
    const t = await rejectionOf(text)
    expect([t.name, t.code]).toEqual(['AbortError', 'ABORT_ERR'])
    const hit = await c.handleToolCallText('pipedream_search_services', { query: 'slack' }, { signal: new AbortController().signal })
    expect(JSON.parse(hit).cached).toBe(true)
  })

  test("a signal's own reason is the rejection: AbortSignal.timeout's TimeoutError, a custom value", async () => {
    const c = client({ cache: { ttlMs: 0 } })
    await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 2000 })
    const timedOut = await rejectionOf(c.searchServices({ query: 'slack' }, { signal: AbortSignal.timeout(100) }))
    expect(timedOut.name).toBe('TimeoutError')
    const ac = new AbortController()
    const pending = c.searchServices({ query: 'slack' }, { signal: ac.signal })
    setTimeout(() => ac.abort({ why: 'user left' }), 50)
    expect(await rejectionOf(pending)).toEqual({ why: 'user left' })
    // A plain abort keeps the documented AbortError, its default reason as the cause.
    const plain = new AbortController()
    const third = c.searchServices({ query: 'slack' }, { signal: plain.signal })
    setTimeout(() => plain.abort(), 50)
    const e = await rejectionOf(third)
    expect([e.name, e.code, e.cause && e.cause.name]).toEqual(['AbortError', 'ABORT_ERR', 'AbortError'])
  })

  test('a run that may have been sent keeps maybe_executed, the reason as its cause', async () => {
    const c = client({ token: undefined, externalUserId: 'abort-user', timeoutMs: 10000 })
    await emu.addAccount({ external_user_id: 'abort-user', app: 'slack' })
    await emu.fault({ path: '/actions/run$', delay_ms: 2000 })
    const ac = new AbortController()
    const pending = c.executePipedreamConnect(
      { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi' } },
      { signal: ac.signal },
    )
    for (let i = 0; i < 300 && (await emu.requests('/actions/run$')).length === 0; i++) await new Promise((r) => setTimeout(r, 10))
    ac.abort(new Error('shutting down'))
    const e = await rejectionOf(pending)
    expect([e.name, e.code, e.maybe_executed]).toEqual(['AbortError', 'ABORT_ERR', true])
    expect(e.cause.message).toBe('shutting down')
  })
})

test('a repeated hit (its text kept) is counted, and never outlives its cache entry', async () => {
  const c = client({ cache: { ttlMs: 300, staleMs: 0 } })
  const args = { app_slug: 'slack', query: 'send' }
  const miss = await c.getComponents(args)
  expect(miss.cached).toBe(false)
  const first = await c.getComponents(args)
  const again = await c.getComponents(args)
  expect(again).toEqual(first)
  expect(again).not.toBe(first)
  expect(again.cached).toBe(true)
  expect(c.getStats().cache.hits).toBe(2)
  const sent = await apiRequests()
  // Past the TTL the kept text is not served: the call goes to the API again.
  await new Promise((resolve) => setTimeout(resolve, 400))
  expect((await c.getComponents(args)).cached).toBe(false)
  expect(await apiRequests()).toBeGreaterThan(sent)
  expect((await c.getComponents(args)).cached).toBe(true)
  c.clearCache()
  expect((await c.getComponents(args)).cached).toBe(false)
})
