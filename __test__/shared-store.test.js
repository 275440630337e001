'use strict'
// Many Director instances, one Pipedream budget (store.redis): four Node processes
// (helpers/store-instance.js), each with its own PipedreamClient, against one emulator and one
// redis-server of this file's own (password-protected, on a free loopback port). What reached
// "Pipedream" is read from the emulator's request journal (`ts_ms` per request).
const { fork } = require('node:child_process')
const crypto = require('node:crypto')
const path = require('node:path')
const pd = require('..')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')
const { RedisServer } = require('./helpers/redis')
const scan = require('./helpers/secret-scan')

jest.setTimeout(120000)

const USER = 'store-user'
const PASSWORD = `redis-pw-${crypto.randomBytes(6).toString('hex')}`
const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hello' } }
const RUNS = '/actions/run$'

let emu
let redis
beforeAll(async () => {
  // Pages of 10: the catalog and an app's components span several pages each.
  ;[emu, redis] = await Promise.all([
    startEmulator(['--max-page-size', '10', '--account', `${USER}:slack`]),
    RedisServer.start({ password: PASSWORD }),
  ])
  // The password and the URL carrying it must appear in nothing the instances report.
  scan.rememberRedisUrl(redis.url())
})
afterAll(async () => {
  await Promise.all([emu && emu.stop(), redis && redis.stop()])
})
beforeEach(async () => {
  await emu.reset()
  if (redis.child && redis.child.exitCode === null && redis.child.signalCode === null) await redis.command('FLUSHALL')
})

/** A PipedreamClient in a process of its own, driven over IPC. */
class Instance {
  constructor(child) {
    this.child = child
    this.pending = new Map()
    this.seq = 0
    child.on('message', ({ id, ...reply }) => {
      const p = this.pending.get(id)
      this.pending.delete(id)
      if (reply.error) p.reject(new Error(reply.error))
      else p.resolve(reply)
    })
  }

  static async start(options) {
    const child = fork(path.join(__dirname, 'helpers', 'store-instance.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const instance = new Instance(child)
    await instance.send('init', { options })
    return instance
  }

  send(cmd, args = {}) {
    const id = ++this.seq
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.child.send({ id, cmd, ...args })
    })
  }

  async report() {
    const report = await this.send('report')
    // What an instance shows (stats, metrics, log events) goes through the secret scan too.
    scan.keep(report)
    return report
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise((r) => this.child.once('exit', r))
    await this.send('exit').catch(() => {})
    await exited
  }
}

const options = ({ store = true, ...extra } = {}) => ({
  ...emu.clientOptions,
  externalUserId: USER,
  retry: { maxRetries: 0 },
  ...(store ? { store: { redis: { url: redis.url(), ...(store === true ? {} : store) } } } : {}),
  ...extra,
})

let running = []
async function instances(n, opts) {
  running = await Promise.all(Array.from({ length: n }, () => Instance.start(opts)))
  return running
}
afterEach(async () => {
  await Promise.all(running.map((i) => i.stop()))
  running = []
})

/** The most requests in any window of `ms` (timestamps in ms, any order). */
function busiestWindow(ts, ms) {
  const sorted = [...ts].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= ms) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

// Where a test is not about Redis being slow, a generous timeout keeps a loaded CI machine from
// turning a slow answer into a (correct, but beside the point) fallback.
const PATIENT = { timeoutMs: 1000 }

/**
 * Four instances × 64 concurrent executions for 5 s with `rateLimit.execute` 20 per 2000 ms
 * (one run every 100 ms, a bucket of 20), started together: the run requests the emulator saw.
 */
const QUOTA = { requests: 20, perMs: 2000 }
const EMISSION_MS = QUOTA.perMs / QUOTA.requests
async function fourInstancesUnderLoad(store) {
  const all = await instances(4, options({ store, rateLimit: { execute: QUOTA, maxWaitMs: 1500 } }))
  const startAt = Date.now() + 500
  const results = await Promise.all(all.map((i) => i.send('load', { config: SEND, concurrency: 64, durationMs: 5000, startAt })))
  const ts = (await emu.requests(RUNS)).map((r) => r.ts_ms)
  const span = Math.max(...ts) - Math.min(...ts)
  // What one GCRA of this quota allows over the span: the bucket, then one per emission interval.
  const allowed = QUOTA.requests + span / EMISSION_MS
  return { all, results, ts, allowed }
}

describe('shared rate limits', () => {
  test('four processes × 64 with store.redis: at most the quota per window (+1 bucket) reaches the API, across all of them', async () => {
    const { all, results, ts, allowed } = await fourInstancesUnderLoad(PATIENT)
    // Calls that did not fit rateLimit.maxWaitMs were refused locally, before sending; nothing else failed.
    for (const r of results) {
      expect(Object.keys(r.failed).filter((code) => code !== 'PIPEDREAM_RATE_LIMITED')).toEqual([])
      // Every instance ran and asked. Turns are first come, first served on Redis: an instance
      // starved of CPU (a loaded CI machine) may lose every race, so none is promised a share.
      expect(r.ok + (r.failed.PIPEDREAM_RATE_LIMITED || 0)).toBeGreaterThan(0)
    }
    expect(results.reduce((n, r) => n + r.ok, 0)).toBe(ts.length)
    // A GCRA lets through at most a bucket plus one per emission interval in any window: in a
    // window of perMs, the quota plus one bucket; over the run, the bucket plus the rate. One
    // request of slack for the instances' own scheduling.
    expect(busiestWindow(ts, QUOTA.perMs)).toBeLessThanOrEqual(2 * QUOTA.requests + 1)
    // The span is measured between arrivals at the server, and the first arrival may lag its
    // booking by a few ms (84 against 83.94 on a loaded machine): requests are whole.
    expect(ts.length).toBeLessThanOrEqual(Math.ceil(allowed) + 1)
    // And it was the shared limiter: the budget was used, no instance fell back.
    expect(ts.length).toBeGreaterThan(0.8 * allowed)
    const stores = await Promise.all(all.map(async (i) => (await i.report()).stats.store))
    for (const store of stores) expect(store).toMatchObject({ backend: 'redis', healthy: true, fallbacks: 0, fallback_calls: 0 })
    // The action's definition (read to check params) was fetched by one of them for all four.
    expect(stores.reduce((n, s) => n + s.cache_fills, 0)).toBe(1)
    expect(stores.reduce((n, s) => n + s.cache_hits, 0)).toBe(3)
    const keys = await redis.keys('pdc:rl:*')
    expect(keys).toContain(`pdc:rl:{${PROJECT_ID}:${keys[0].split(':')[3]}:execute}:tat`)
  })

  test('the same four processes without a store overshoot about 4×: each keeps its own budget', async () => {
    const { results, ts, allowed } = await fourInstancesUnderLoad(false)
    for (const r of results) expect(Object.keys(r.failed).filter((code) => code !== 'PIPEDREAM_RATE_LIMITED')).toEqual([])
    expect(ts.length).toBeGreaterThan(3 * allowed)
    expect(busiestWindow(ts, QUOTA.perMs)).toBeGreaterThan(2 * QUOTA.requests + 1)
    expect(await redis.keys('pdc:*')).toEqual([])
  })
})

describe('429 pauses', () => {
  /**
   * Instance A's run answers 429 with `Retry-After: 1`; then B, C and D each run once: the run
   * requests' times in the journal, the 429 first.
   */
  async function afterA429(store) {
    const [a, ...others] = await instances(4, options({ store }))
    // Each has its token, the component and the account, so a run is one request.
    for (const i of [a, ...others]) expect(await i.send('execute', { config: SEND })).toEqual({ ok: true })
    await emu.reset()
    await emu.fault({ path: RUNS, status: 429, headers: { 'retry-after': '1' }, count: 1 })
    expect(await a.send('execute', { config: SEND })).toMatchObject({ ok: false, code: 'PIPEDREAM_RATE_LIMITED' })
    const answers = await Promise.all(others.map((i) => i.send('execute', { config: SEND })))
    for (const answer of answers) expect(answer).toEqual({ ok: true })
    const runs = await emu.requests(RUNS)
    expect(runs.map((r) => r.status)).toEqual([429, 200, 200, 200])
    return runs.slice(1).map((r) => r.ts_ms - runs[0].ts_ms)
  }

  test('a 429 with Retry-After seen by one process pauses the class in the others', async () => {
    for (const after of await afterA429(PATIENT)) expect(after).toBeGreaterThanOrEqual(900)
  })

  test('without a store, the other processes do not know of it', async () => {
    for (const after of await afterA429(false)) expect(after).toBeLessThan(500)
  })
})

describe('shared idempotency', () => {
  const keyed = (key) => ({ config: SEND, context: { idempotencyKey: key }, full: true })
  const withoutReplayed = (answer) => ({ ...answer, meta: { ...answer.meta, replayed: undefined } })

  test('the same idempotencyKey in four processes at once: one run, four identical answers, three replayed', async () => {
    const all = await instances(4, options({ store: PATIENT }))
    const key = `order-${crypto.randomBytes(4).toString('hex')}`
    const answers = await Promise.all(all.map((i) => i.send('execute', keyed(key))))
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, true])
    expect(await emu.runs()).toHaveLength(1)
    const replayed = answers.map((a) => a.answer.meta.replayed === true)
    expect(replayed.filter(Boolean)).toHaveLength(3)
    for (const a of answers) expect(withoutReplayed(a.answer)).toEqual(withoutReplayed(answers[0].answer))
    // Later calls, in any process, replay too.
    const again = await all[3].send('execute', keyed(key))
    expect(again.answer.meta.replayed).toBe(true)
    expect(await emu.runs()).toHaveLength(1)
    // The key is kept hashed, never in clear, with the answer's text.
    const keys = await redis.keys('pdc:idem:*')
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(new RegExp(`^pdc:idem:\\{${PROJECT_ID}\\}:[0-9a-f]{64}$`))
    expect(keys[0]).not.toContain(key)
    for (const i of all) expect((await i.report()).stats.store).toMatchObject({ healthy: true, fallbacks: 0 })
  })

  test('a process killed (SIGKILL) mid-run: the others answer maybe_executed once its lease lapses, and never run it again', async () => {
    const [a, ...others] = await instances(3, options({ store: PATIENT }))
    // Warm: each has its token, the component and the account.
    for (const i of [a, ...others]) expect(await i.send('execute', { config: SEND })).toEqual({ ok: true })
    await emu.reset()
    await emu.fault({ path: RUNS, delay_ms: 2000, count: 1 })
    const key = `killed-${crypto.randomBytes(4).toString('hex')}`
    a.send('execute', keyed(key)).catch(() => {})
    // The run request reached the emulator: kill its sender before it answers.
    for (let t = 0; (await emu.requests(RUNS)).length === 0; t++) {
      if (t > 200) throw new Error('the run never reached the emulator')
      await new Promise((r) => setTimeout(r, 20))
    }
    const exited = new Promise((r) => a.child.once('exit', r))
    a.child.kill('SIGKILL')
    await exited
    const killedAt = Date.now()
    const answers = await Promise.all(others.map((i) => i.send('execute', keyed(key))))
    for (const answer of answers) expect(answer).toMatchObject({ ok: false, code: 'PIPEDREAM_NETWORK', maybe_executed: true })
    expect(answers[0].message).toContain('stopped before its run answered')
    // They waited for the lease (3 s) rather than running it.
    expect(Date.now() - killedAt).toBeGreaterThan(1000)
    // The answer stays: asked again, still maybe_executed, and still only the one run.
    expect(await others[0].send('execute', keyed(key))).toMatchObject({ ok: false, maybe_executed: true })
    await new Promise((r) => setTimeout(r, 2200)) // past the killed run's delay
    expect(await emu.requests(RUNS)).toHaveLength(1)
    expect((await emu.runs()).length).toBeLessThanOrEqual(1) // the killed one's, if it was journaled
  })

  const idemKey = (key) => `pdc:idem:{${PROJECT_ID}}:${crypto.createHash('sha256').update(key).digest('hex')}`
  const untilRunSent = async () => {
    for (let t = 0; (await emu.requests(RUNS)).length === 0; t++) {
      if (t > 200) throw new Error('the run never reached the emulator')
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  test('a value under the key that is no kept answer: the call settles maybe_executed, runs nothing, crashes nothing', async () => {
    const [a] = await instances(1, options({ store: PATIENT, deadlineMs: 5000 }))
    for (const planted of ['ok:[]', 'ok:{not json', 'ok:{}', 'ok:"text"']) {
      const key = `planted-${crypto.randomBytes(4).toString('hex')}`
      await redis.command('SET', idemKey(key), planted)
      const answer = await a.send('execute', keyed(key))
      expect(answer).toMatchObject({ ok: false, code: 'PIPEDREAM_BAD_RESPONSE', maybe_executed: true })
      // The store's value, not the API, is what could not be read.
      expect(answer.message).toMatch(/^The answer the shared store keeps for this idempotency key could not be read/)
    }
    expect(await emu.requests(RUNS)).toHaveLength(0)
  })

  /**
   * Two warm instances on one key: the first's run held `delayMs` by the emulator, the second
   * calling once that run was sent. Their answers, as promises.
   */
  async function secondWaitsOnFirst(store, delayMs) {
    const [a, b] = await instances(2, options({ store }))
    for (const i of [a, b]) expect(await i.send('execute', { config: SEND })).toEqual({ ok: true })
    await emu.reset()
    await emu.fault({ path: RUNS, delay_ms: delayMs, count: 1 })
    const key = `waits-${crypto.randomBytes(4).toString('hex')}`
    const first = a.send('execute', keyed(key))
    await untilRunSent()
    return { first, second: b.send('execute', keyed(key)) }
  }

  test('Redis emptied while another instance runs the key: the waiting one does not run it too', async () => {
    const { first, second } = await secondWaitsOnFirst(PATIENT, 2000)
    await new Promise((r) => setTimeout(r, 300)) // the second has seen the first's claim
    await redis.command('FLUSHALL')
    expect(await second).toMatchObject({ ok: false, maybe_executed: true })
    expect((await first).ok).toBe(true)
    expect(await emu.requests(RUNS)).toHaveLength(1)
  })

  test('Redis refusing writes (out of memory): a key answered elsewhere is replayed, and the store stays in use', async () => {
    const [a, b] = await instances(2, options({ store: PATIENT }))
    const key = `oom-${crypto.randomBytes(4).toString('hex')}`
    expect((await a.send('execute', keyed(key))).ok).toBe(true)
    await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    await redis.command('CONFIG', 'SET', 'maxmemory', '1')
    try {
      // A key of its own first: its claim is refused (a write), so it runs as without a store.
      expect((await b.send('execute', keyed(`${key}-other`))).ok).toBe(true)
      const again = await b.send('execute', keyed(key))
      expect(again.answer.meta.replayed).toBe(true)
      expect(await emu.runs()).toHaveLength(2)
      const { stats, events } = await b.report()
      expect(stats.store).toMatchObject({ healthy: true, fallbacks: 0 })
      expect(events.filter((e) => e.type === 'store').map((e) => e.outcome)).toEqual(['refused'])
    } finally {
      await redis.command('CONFIG', 'SET', 'maxmemory', '0')
    }
  })

  test('Redis stalled for 400 ms mid-run: the lease holds, and the waiting instance replays the answer', async () => {
    const { first, second } = await secondWaitsOnFirst({ timeoutMs: 50 }, 3000)
    await new Promise((r) => setTimeout(r, 700))
    redis.child.kill('SIGSTOP')
    await new Promise((r) => setTimeout(r, 400))
    redis.child.kill('SIGCONT')
    expect((await first).ok).toBe(true)
    const replayed = await second
    expect(replayed).toMatchObject({ ok: true })
    expect(replayed.answer.meta.replayed).toBe(true)
    expect(await emu.requests(RUNS)).toHaveLength(1)
  })

  test('Redis down: the same key in two processes falls back to local idempotency, and nothing fails', async () => {
    const down = await RedisServer.start()
    await down.stop()
    const twoDown = await instances(2, { ...options({ store: false }), store: { redis: { url: down.url() } } })
    const key = `down-${crypto.randomBytes(4).toString('hex')}`
    const answers = await Promise.all(twoDown.map((i) => i.send('execute', keyed(key))))
    expect(answers.map((a) => a.ok)).toEqual([true, true])
    // Weaker without the store: each process keeps its own key, so each ran once…
    expect(await emu.runs()).toHaveLength(2)
    // …and within one process the key still replays.
    const again = await Promise.all(twoDown.map((i) => i.send('execute', keyed(key))))
    for (const a of again) expect(a.answer.meta.replayed).toBe(true)
    expect(await emu.runs()).toHaveLength(2)
    for (const i of twoDown) expect((await i.report()).stats.store).toMatchObject({ backend: 'redis', healthy: false })
  })
})

describe('shared OAuth token', () => {
  test('four processes start cold: one token request across all of them, kept in Redis sealed', async () => {
    const all = await instances(4, options({ store: PATIENT }))
    const answers = await Promise.all(all.map((i) => i.send('execute', { config: SEND })))
    expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }])
    expect(await emu.requests('oauth')).toHaveLength(1)
    const keys = await redis.keys('pdc:token:*')
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(/^pdc:token:\{[0-9a-f]{16}\}$/)
    const stored = await redis.command('GET', keys[0])
    // Base64 of nonce ‖ AES-256-GCM ciphertext: the token (pdemu_…) appears in neither form.
    expect(stored).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(stored).not.toContain('pdemu_')
    expect(Buffer.from(stored, 'base64').toString('latin1')).not.toContain('pdemu_')
    const ttl = Number(await redis.command('PTTL', keys[0]))
    expect(ttl).toBeGreaterThan(0)
    // Every run went with that one token.
    expect(new Set((await emu.requests(RUNS)).map((r) => r.token_seq)).size).toBe(1)
    // A fifth process started later uses it too.
    const late = await Instance.start(options({ store: PATIENT }))
    running.push(late)
    expect(await late.send('execute', { config: SEND })).toEqual({ ok: true })
    expect(await emu.requests('oauth')).toHaveLength(1)
  })

  test('a 401 replaces the shared token once: the others, holding the old one, take the new one', async () => {
    const [a, ...others] = await instances(4, options({ store: PATIENT }))
    for (const i of [a, ...others]) expect(await i.send('execute', { config: SEND })).toEqual({ ok: true })
    await emu.expireTokens()
    // A's 401 deletes the shared token (still the one it used) and shares a new one.
    expect(await a.send('execute', { config: SEND })).toEqual({ ok: true })
    expect(await emu.requests('oauth')).toHaveLength(2)
    // The others' 401s are for the old token: the new shared one stays, and they use it.
    const answers = await Promise.all(others.map((i) => i.send('execute', { config: SEND })))
    expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }])
    expect(await emu.requests('oauth')).toHaveLength(2)
  })

  test('without a store each process fetches its own', async () => {
    const all = await instances(3, options({ store: false }))
    await Promise.all(all.map((i) => i.send('execute', { config: SEND })))
    expect(await emu.requests('oauth')).toHaveLength(3)
  })
})

describe('shared Connect token budget', () => {
  const TOKENS = { tokens: { requests: 2, perMs: 60_000 } }
  const tokenFor = (i, user) =>
    i.send('call', { method: 'createConnectToken', args: [{ external_user_id: user }] }).then(
      () => 'ok',
      (e) => e.message.split(' ')[0],
    )

  test("a user's budget is spent across every instance: two tokens in all, the rest refused before sending", async () => {
    const all = await instances(4, options({ store: PATIENT, rateLimit: TOKENS }))
    const outcomes = await Promise.all(all.flatMap((i) => [tokenFor(i, 'budget-user'), tokenFor(i, 'budget-user')]))
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(2)
    expect(outcomes.filter((o) => o === 'PIPEDREAM_RATE_LIMITED')).toHaveLength(6)
    expect(await emu.requests('/tokens$')).toHaveLength(2)
    // Another user's budget is their own; the user's id is not in Redis.
    expect(await tokenFor(all[3], 'other-user')).toBe('ok')
    const keys = await redis.keys('pdc:rl:*user*')
    expect(keys).toHaveLength(2)
    for (const k of keys) expect(k).not.toMatch(/budget-user|other-user/)
  })

  test('without a store each instance spends its own', async () => {
    const all = await instances(4, options({ store: false, rateLimit: TOKENS }))
    const outcomes = await Promise.all(all.flatMap((i) => [tokenFor(i, 'budget-user'), tokenFor(i, 'budget-user')]))
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(8)
    expect(await emu.requests('/tokens$')).toHaveLength(8)
  })
})

describe('shared discovery cache', () => {
  const CATALOG = '^/v1/connect/apps$'
  const ACTIONS = `^/v1/connect/${PROJECT_ID}/actions$`
  const queries = async (pattern) => (await emu.requests(pattern)).map((r) => r.query || '')
  const search = (i, query) => i.send('call', { method: 'searchServices', args: [{ query }] }).then((r) => r.answer)
  const components = (i) => i.send('call', { method: 'getComponents', args: [{ app_slug: 'github' }] }).then((r) => r.answer)
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

  test('four processes start cold: one fetch per catalog page across all of them, and a fifth starts warm', async () => {
    const all = await instances(4, options({ store: PATIENT }))
    const found = await Promise.all(all.map((i) => search(i, 'github')))
    for (const f of found) expect(f.error).toBeUndefined()
    expect(new Set(found.map((f) => JSON.stringify(f.services))).size).toBe(1)
    expect(found[0].services.map((s) => s.app_slug)).toContain('github')
    const catalog = await queries(CATALOG)
    // 48 apps in pages of 10: five pages, each asked for once between the four.
    expect(catalog).toHaveLength(5)
    expect(new Set(catalog).size).toBe(5)

    const listed = await Promise.all(all.map(components))
    for (const l of listed) expect(l.error).toBeUndefined()
    expect(new Set(listed.map((l) => JSON.stringify(l.components))).size).toBe(1)
    expect(listed[0].total_found).toBeGreaterThan(10)
    const pages = await queries(ACTIONS)
    expect(pages.length).toBeGreaterThanOrEqual(2)
    expect(new Set(pages).size).toBe(pages.length)

    // Kept as the API's own text, for the TTL plus the stale window (5 min + 1 h by default).
    const keys = (await redis.keys('pdc:cache:*')).filter((k) => !k.endsWith(':cleared'))
    expect(keys.length).toBe(catalog.length + pages.length)
    for (const k of keys) {
      expect(k).toMatch(/^pdc:cache:[0-9a-f]{8}:\{[0-9a-f]{32}\}$/)
      const ttl = Number(await redis.command('PTTL', k))
      expect(ttl).toBeGreaterThan(3_600_000)
      expect(ttl).toBeLessThanOrEqual(3_900_000)
      const stored = await redis.command('GET', k)
      const body = JSON.parse(stored.slice(stored.indexOf('\n') + 1))
      expect(Array.isArray(body.data)).toBe(true)
    }

    const late = await Instance.start(options({ store: PATIENT }))
    running.push(late)
    const before = (await emu.requests('^/v1/connect/')).length
    const warm = await search(late, 'github')
    expect(warm.services).toEqual(found[0].services)
    const warmList = await components(late)
    expect(warmList.cached).toBe(true)
    expect(warmList.components).toEqual(listed[0].components)
    expect((await emu.requests('^/v1/connect/')).length).toBe(before)
    // Every page was shared by one instance and read by the rest: the counts say so.
    const reports = await Promise.all([...all, late].map((i) => i.report()))
    const sum = (f) => reports.reduce((n, r) => n + r.stats.store[f], 0)
    expect(sum('cache_fills')).toBe(catalog.length + pages.length)
    expect(reports[4].stats.store).toMatchObject({ cache_fills: 0, cache_hits: catalog.length + pages.length })
    expect(reports[4].metrics).toContain(`pipedream_store_cache_hits_total ${catalog.length + pages.length}`)
  })

  test('without a store each of the four fetches every page', async () => {
    const all = await instances(4, options({ store: false }))
    await Promise.all(all.map((i) => search(i, 'github')))
    const catalog = await queries(CATALOG)
    expect(catalog).toHaveLength(20)
    expect(new Set(catalog).size).toBe(5)
    expect(await redis.keys('pdc:cache:*')).toEqual([])
  })

  test('past the TTL, a refresh that fails is answered from the shared entry, marked stale, by an instance that never fetched it', async () => {
    const opts = (store) => options({ store, cache: { ttlMs: 300, staleMs: 60_000 } })
    const [a] = await instances(1, opts(PATIENT))
    const fresh = await search(a, 'gmail')
    expect(fresh.error).toBeUndefined()
    await sleep(450)
    await emu.fault({ path: CATALOG, status: 503 })
    const b = await Instance.start(opts(PATIENT))
    const alone = await Instance.start(opts(false))
    running.push(b, alone)
    const stale = await search(b, 'gmail')
    expect(stale.error).toBeUndefined()
    expect(stale.stale).toBe(true)
    expect(stale.services).toEqual(fresh.services)
    // It did try: each page's refresh was answered with the 503, once (no retries here).
    expect((await emu.requests(CATALOG)).length).toBe(5 + 5)
    // A cold instance without the store has nothing to fall back to.
    const failed = await search(alone, 'gmail')
    expect(failed.error).toMatch(/503|server/i)
    expect(failed.services).toEqual([])
    await emu.clearFaults()
    // The refresh that works replaces the entry, fresh again for everyone.
    expect((await search(b, 'gmail')).stale).toBeUndefined()
  })

  test('clearCache in one instance: no instance reads the entries written before it', async () => {
    const [a, b] = await instances(2, options({ store: PATIENT }))
    await search(a, 'github')
    expect(await queries(CATALOG)).toHaveLength(5)
    await b.send('clearCache')
    await sleep(5)
    await search(b, 'github')
    expect(await queries(CATALOG)).toHaveLength(10)
    // What b fetched after its clear is shared: a third instance reads it.
    const c = await Instance.start(options({ store: PATIENT }))
    running.push(c)
    expect((await search(c, 'github')).services.length).toBeGreaterThan(0)
    expect(await queries(CATALOG)).toHaveLength(10)
    // A clear from an instance that reads nothing after it holds for the others all the same.
    await a.send('clearCache')
    await sleep(100)
    const d = await Instance.start(options({ store: PATIENT }))
    running.push(d)
    await search(d, 'github')
    expect(await queries(CATALOG)).toHaveLength(15)
  })
})

describe('Redis failure is not Director failure', () => {
  test('Redis killed mid-run and started again on its port: no call fails, the fallback shows, and sharing resumes', async () => {
    const all = await instances(
      4,
      options({ store: { expectedInstances: 4 }, rateLimit: { execute: { requests: 400, perMs: 1000 } } }),
    )
    const startAt = Date.now() + 300
    const load = Promise.all(all.map((i) => i.send('load', { config: SEND, concurrency: 8, durationMs: 6000, startAt })))
    await new Promise((r) => setTimeout(r, startAt - Date.now() + 1500))
    expect((await redis.keys('pdc:*')).length).toBeGreaterThan(0)
    await redis.kill()
    const killedAt = Date.now()
    await new Promise((r) => setTimeout(r, 1500))
    await redis.restart()
    const restartedAt = Date.now()
    expect(await redis.keys('pdc:*')).toEqual([]) // nothing persisted: keys from here on are new
    const results = await load

    for (const r of results) {
      expect(r.failed).toEqual({})
      expect(r.ok).toBeGreaterThan(0)
    }
    const ts = (await emu.requests(RUNS)).map((r) => r.ts_ms)
    // Runs went on while Redis was down.
    expect(ts.filter((t) => t > killedAt + 200 && t < restartedAt).length).toBeGreaterThan(0)
    // Sharing resumed: the limiter's keys are back in the restarted (empty) Redis.
    const keys = await redis.keys('pdc:rl:*')
    expect(keys.some((k) => k.endsWith(':execute}:tat'))).toBe(true)
    // Health comes back through the probes that calls start, once a second. A Redis call that
    // timed out in the load's last second (a slow CI machine, four instances on two cores)
    // starts a new outage with no call after it: a few more calls let the probe end it.
    for (const i of all) {
      const deadline = Date.now() + 10_000
      while (!(await i.report()).stats.store.healthy && Date.now() < deadline) {
        await i.send('execute', { config: SEND })
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    for (const i of all) {
      const { stats, metrics, events } = await i.report()
      expect(stats.store).toMatchObject({ backend: 'redis', healthy: true })
      expect(stats.store.fallbacks).toBeGreaterThanOrEqual(1)
      expect(stats.store.fallback_calls).toBeGreaterThan(0)
      expect(metrics).toContain(`pipedream_store_fallbacks_total ${stats.store.fallbacks}`)
      expect(metrics).toContain('pipedream_store_healthy 1')
      const store = events.filter((e) => e.type === 'store')
      // One warning per time Redis went away, and word when it came back.
      expect(store.filter((e) => e.outcome === 'unavailable')).toHaveLength(stats.store.fallbacks)
      for (const e of store.filter((e) => e.outcome === 'unavailable')) {
        expect(e).toMatchObject({ level: 'warn', backend: 'redis' })
        expect(['unreachable', 'timeout', 'error']).toContain(e.reason)
      }
      expect(store.at(-1)).toMatchObject({ outcome: 'ok', level: 'info', backend: 'redis' })
      expect(JSON.stringify({ stats, metrics, events })).not.toContain(PASSWORD)
    }
  })

  test('a client whose Redis is down from the start still runs, on its local share', async () => {
    const down = await RedisServer.start()
    await down.stop()
    const events = []
    const c = new pd.PipedreamClient({ ...options({ store: false }), store: { redis: { url: down.url() } }, logger: (e) => events.push(e) })
    const res = await c.executePipedreamConnect(SEND)
    expect(res.component_id).toBe('slack-send-message')
    // Discovery fetches its own catalog.
    const found = await c.searchServices({ query: 'github' })
    expect(found.error).toBeUndefined()
    expect(found.services.map((s) => s.app_slug)).toContain('github')
    expect(c.getStats().store).toMatchObject({ backend: 'redis', healthy: false, fallbacks: 1 })
    await new Promise((r) => setTimeout(r, 50))
    expect(events.filter((e) => e.type === 'store')).toMatchObject([{ outcome: 'unavailable', level: 'warn', reason: 'unreachable' }])
  })

  test('a URL without the password Redis asks for: away (authentication failed), not refused call by call', async () => {
    const events = []
    const url = redis.url().replace(/\/\/[^@]*@/, '//')
    expect(url).not.toContain(PASSWORD)
    const c = new pd.PipedreamClient({ ...options({ store: false }), store: { redis: { url } }, logger: (e) => events.push(e) })
    expect((await c.executePipedreamConnect(SEND)).component_id).toBe('slack-send-message')
    expect(c.getStats().store).toMatchObject({ backend: 'redis', healthy: false, fallbacks: 1 })
    await new Promise((r) => setTimeout(r, 50))
    expect(events.filter((e) => e.type === 'store')).toMatchObject([{ outcome: 'unavailable', reason: 'authentication failed' }])
  })
})

describe('the store option', () => {
  const typeError = (opts) => {
    try {
      new pd.PipedreamClient(opts)
    } catch (e) {
      return e
    }
    throw new Error('expected a TypeError')
  }

  test('a bad store option is a TypeError that names it and never quotes the URL or its password', () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:6379`
    const cases = [
      [{ store: 'redis://x' }, '`store` must be an object'],
      [{ store: { redis: url } }, '`store.redis` must be an object'],
      [{ store: { redis: [url] } }, '`store.redis` must be an object'],
      [{ store: { redis: {} } }, '`store.redis.url`'],
      [{ store: { redis: { url: 6379 } } }, '`store.redis.url` must be a string'],
      [{ store: { redis: { url: `http://:${PASSWORD}@127.0.0.1` } } }, '`store.redis.url`'],
      [{ store: { redis: { url: `redis://:${PASSWORD}@127.0.0.1/db` } } }, '`store.redis.url`'],
      [{ store: { redis: { url, keyPrefix: 'has space' } } }, '`store.redis.keyPrefix`'],
      [{ store: { redis: { url, expectedInstances: 0 } } }, '`store.redis.expectedInstances`'],
      [{ store: { redis: { url, timeoutMs: 1.5 } } }, '`store.redis.timeoutMs`'],
      [{ store: { redis: { url, urll: url } } }, 'unknown option `store.redis.urll`'],
      [{ store: { mysql: {} } }, 'unknown option `store.mysql`'],
    ]
    for (const [opts, named] of cases) {
      const e = typeError(opts)
      expect(e.name).toBe('TypeError') // made by the addon, in another realm than Jest's
      expect(e.code).toBe('ERR_INVALID_ARG_VALUE')
      expect(e.message).toContain(named)
      expect(e.message).not.toContain(PASSWORD)
    }
  })

  test('without a store nothing changes: the limits are local and nothing is written to Redis', async () => {
    const c = new pd.PipedreamClient(options({ store: false }))
    await c.executePipedreamConnect(SEND)
    expect(c.getStats().store).toEqual({ backend: 'local', healthy: true, fallbacks: 0, fallback_calls: 0, cache_hits: 0, cache_fills: 0 })
    expect(c.metrics()).not.toContain('pipedream_store_')
    expect(await redis.keys('*')).toEqual([])
  })

  test('PIPEDREAM_REDIS_URL gives the module functions a store, and its password shows nowhere', async () => {
    const vars = {
      PIPEDREAM_BASE_URL: emu.url,
      PIPEDREAM_PROJECT_ID: PROJECT_ID,
      PIPEDREAM_CLIENT_ID: CLIENT_ID,
      PIPEDREAM_CLIENT_SECRET: CLIENT_SECRET,
      PIPEDREAM_EXTERNAL_USER_ID: USER,
      PIPEDREAM_REDIS_URL: redis.url(),
    }
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
    Object.assign(process.env, vars)
    try {
      await pd.executePipedreamConnect(SEND)
      const stats = pd.getStats()
      expect(stats.store).toMatchObject({ backend: 'redis', healthy: true })
      expect(await redis.keys('pdc:rl:*')).not.toEqual([])
      expect(JSON.stringify(stats) + pd.metrics()).not.toContain(PASSWORD)
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
