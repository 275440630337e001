'use strict'
// Options are checked at construction; the module-level functions use a default client built
// from PIPEDREAM_* environment variables.
const path = require('node:path')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')


let emu
beforeAll(async () => {
  emu = await startEmulator()
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

test('exports the documented API', () => {
  expect(typeof pd.searchServices).toBe('function')
  expect(typeof PipedreamClient).toBe('function')
  const c = new PipedreamClient()
  expect(typeof c.searchServices).toBe('function')
  expect(typeof c.clearCache).toBe('function')
})

test.each([
  [{ timeoutMs: 0 }, /Invalid option `timeoutMs`: must be a whole number from 1 to 600000/],
  [{ timeoutMs: 'fast' }, /Invalid options: `timeoutMs` must be a number/],
  [{ baseUrl: 'not a url' }, /Invalid option `baseUrl`/],
  [{ baseUrl: 'ftp://example.com' }, /Invalid option `baseUrl`: must use http or https/],
  [{ baseUrl: 'https://user:pw@example.com' }, /Invalid option `baseUrl`: must not embed credentials/],
  [{ projectId: 'project-1' }, /Invalid option `projectId`: must look like proj_/],
  [{ environment: 'staging' }, /Invalid option `environment`/],
  [{ clientId: 'abc' }, /Invalid option `clientSecret`: is required with clientId/],
  [{ clientSecret: 'shh-secret-99' }, /Invalid option `clientId`: is required with clientSecret/],
  [{ token: '' }, /Invalid option `token`/],
  [{ enabled: 'yes' }, /Invalid options: `enabled` must be true or false/],
  [{ cache: { ttlMs: -1 } }, /Invalid option `cache\.ttlMs`/],
  [{ cache: { maxEntries: 0 } }, /Invalid option `cache\.maxEntries`/],
  [{ rateLimit: { maxWaitMs: 1.5 } }, /Invalid option `rateLimit\.maxWaitMs`/],
  [{ rateLimit: { read: { requests: 0, perMs: 1000 } } }, /Invalid option `rateLimit\.read\.requests`/],
  [{ rateLimit: { execute: { requests: 5 } } }, /`rateLimit\.execute\.perMs` is required/],
  ['proj_123', /expected an object/],
  // napi reads a string, number or boolean given for an option that holds others as {}.
  [{ cache: 'off' }, /Invalid options: `cache` must be an object such as \{ ttlMs\?/],
  [{ cache: 0 }, /`cache` must be an object/],
  [{ rateLimit: false }, /`rateLimit` must be an object/],
  [{ rateLimit: { read: 100 } }, /`rateLimit\.read` must be an object such as \{ requests, perMs \}/],
  [{ rateLimit: { proxy: [1000, 300000] } }, /`rateLimit\.proxy` must be an object/],
  [{ retry: 3 }, /`retry` must be an object such as \{ maxRetries\?/],
  [{ idempotency: 'shh-secret-99' }, /`idempotency` must be an object/],
  // A credential of the wrong type is named, never printed (the test checks for shh-secret-99).
  [{ clientId: 'abc', clientSecret: { value: 'shh-secret-99' } }, /Invalid options: `clientSecret` must be a string/],
  [{ token: ['shh-secret-99'] }, /Invalid options: `token` must be a string/],
  [{ clientId: 'abc', clientSecret: Buffer.from('shh-secret-99') }, /Invalid options: `clientSecret` must be a string/],
  [{ rateLimit: { read: { requests: 'shh-secret-99', perMs: 1 } } }, /`rateLimit\.read\.requests` must be a number/],
  [{ logger: 42 }, /Invalid options: `logger` must be a function/],
  [{ logger: 'shh-secret-99' }, /Invalid options: `logger` must be a function/],
  [{ token: 'shh-secret-99\n\u0000x' }, /Invalid option `token`: holds spaces, control or non-ASCII characters/],
])('bad options %j throw a TypeError naming the option', (options, pattern) => {
  let thrown
  try {
    new PipedreamClient(options)
  } catch (e) {
    thrown = e
  }
  // The addon builds its errors in Node's main realm, not in Jest's sandbox, so compare by name.
  expect(thrown.name).toBe('TypeError')
  expect(thrown.constructor.name).toBe('TypeError')
  expect(thrown.code).toBe('ERR_INVALID_ARG_VALUE')
  expect(thrown.message).toMatch(pattern)
  expect(thrown.message).not.toContain('shh-secret-99')
  expect(String(thrown.stack)).not.toContain('shh-secret-99')
})

// Jest gives each test file its own copy of process.env, which native code cannot see, so the
// environment tests run in a plain Node child process, as Director would.
function runNode(code, env) {
  const { execFileSync } = require('node:child_process')
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIPEDREAM_')))
  const script = `const pd = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const out = (v) => process.stdout.write(JSON.stringify(v));
    (async () => { ${code} })().catch((e) => out({ thrown: { name: e.name, message: e.message } }))`
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...base, ...env }, encoding: 'utf8' }))
}
const emulatorEnv = () => ({
  PIPEDREAM_BASE_URL: emu.url,
  PIPEDREAM_CLIENT_ID: CLIENT_ID,
  PIPEDREAM_CLIENT_SECRET: CLIENT_SECRET,
  PIPEDREAM_PROJECT_ID: PROJECT_ID,
  PIPEDREAM_PROJECT_ENVIRONMENT: 'development',
})

test('a client whose logger reaches it is collected once dropped; a call of a client nothing holds still logs', async () => {
  const { execFileSync } = require('node:child_process')
  // The orphan's list answers late: the garbage collector runs while it is under way.
  await emu.fault({ path: '/actions$', method: 'GET', delay_ms: 400, count: 1 })
  const script = `const pd = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const options = ${JSON.stringify(emu.clientOptions)};
    const settle = async () => { for (let i = 0; i < 20; i++) { gc(); await new Promise((r) => setTimeout(r, 20)) } };
    (async () => {
      let collected = 0, logged = 0, orphanLogged = 0;
      const registry = new FinalizationRegistry(() => collected++);
      for (let i = 0; i < 40; i++) {
        // The usual client per tenant: the logger reaches the tenant, which holds the client.
        const tenant = { events: 0 };
        tenant.client = new pd.PipedreamClient({ ...options, logger: () => { tenant.events++; logged++ } });
        registry.register(tenant.client, i);
        await tenant.client.searchServices({ query: 'gmail' });
      }
      const orphan = new pd.PipedreamClient({ ...options, logger: (e) => { if (e.type === 'discovery') orphanLogged++ } }).getComponents({ app_slug: 'slack' });
      await settle();
      await orphan;
      await settle();
      process.stdout.write(JSON.stringify({ collected, logged, orphanLogged }));
    })()`
  const res = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' }))
  expect(res.logged).toBeGreaterThanOrEqual(40)
  expect(res.orphanLogged).toBeGreaterThan(0)
  expect(res.collected).toBeGreaterThanOrEqual(38)
})

test('a bad environment variable names the variable', () => {
  const res = runNode(`new pd.PipedreamClient(); out('constructed')`, { PIPEDREAM_ENABLED: 'perhaps' })
  expect(res.thrown.name).toBe('TypeError')
  expect(res.thrown.message).toMatch(/Invalid option `PIPEDREAM_ENABLED`: must be true or false/)
})

test('module searchServices uses the environment, and follows changes to it', async () => {
  const res = runNode(
    `const first = await pd.searchServices({ query: 'airtable' });
     const second = await pd.searchServices({ query: 'airtable' });
     process.env.PIPEDREAM_ENABLED = 'false';
     const off = await pd.searchServices({ query: 'airtable' });
     out({ first, second, off })`,
    emulatorEnv(),
  )
  expect(res.first.error).toBeUndefined()
  expect(res.first.services.map((s) => s.app_slug)).toEqual(expect.arrayContaining(['airtable_oauth']))
  expect(res.second.cached).toBe(true)
  expect(res.off.error).toBe('PIPEDREAM_DISABLED')
  const reqs = await emu.requests('^/v1/connect/apps$')
  expect(reqs).toHaveLength(1)
  expect(reqs[0].environment).toBe('development')
  expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(1)
})

test('module searchServices reports a bad environment as a result, not a throw', () => {
  const res = runNode(`out(await pd.searchServices({ query: 'gmail' }))`, { PIPEDREAM_BASE_URL: 'nonsense' })
  expect(res.error).toBe('PIPEDREAM_INVALID_CONFIG')
  expect(res.message).toMatch(/Invalid option `PIPEDREAM_BASE_URL`/)
  expect(res.query).toBe('gmail')
})

test('module handleToolCallText answers as text, a bad environment included', async () => {
  const bad = runNode(`out(await pd.handleToolCallText('pipedream_search_services', { query: 'gmail' }))`, { PIPEDREAM_BASE_URL: 'nonsense' })
  expect(typeof bad).toBe('string')
  expect(JSON.parse(bad)).toMatchObject({ error: 'PIPEDREAM_INVALID_CONFIG', query: 'gmail' })
  const good = runNode(`out(await pd.handleToolCallText('pipedream_search_services', '{"query": "gmail"}'))`, emulatorEnv())
  expect(typeof good).toBe('string')
  expect(JSON.parse(good).services[0].app_slug).toBe('gmail')
  expect(await emu.requests('^/v1/connect/apps$')).toHaveLength(1)
})

test('module handleToolCall in a bad environment answers any tool name, one whose reading throws included', () => {
  const res = runNode(
    `const names = [Object.create(null), new Proxy({}, { get() { throw 'boom' } }), { toString() { throw new Error('no') } },
       Object.assign([], { length: 2 ** 32 - 1 }), Symbol('s'), 42, null]
     const answers = []
     for (const name of names) {
       for (const fn of ['handleToolCall', 'handleToolCallText']) {
         try { answers.push(await pd[fn](name, { query: 'x' })) } catch (e) { answers.push({ threw: String(e) }) }
       }
     }
     out(answers)`,
    { PIPEDREAM_BASE_URL: 'nonsense' },
  )
  expect(res).toHaveLength(14)
  for (const answer of res) {
    const a = typeof answer === 'string' ? JSON.parse(answer) : answer
    expect(a.threw).toBeUndefined()
    expect(a.error).toBe('PIPEDREAM_UNKNOWN_TOOL')
  }
})

test('a signal that is no AbortSignal is refused on a cache hit as on a miss', async () => {
  const pd = new PipedreamClient(emu.clientOptions)
  const calls = [
    (o) => pd.searchServices({ query: 'slack' }, o),
    (o) => pd.getComponents({ app_slug: 'slack' }, o),
    (o) => pd.getComponent({ component_id: 'slack-send-message' }, o),
  ]
  for (const call of calls) {
    for (const signal of [true, {}, 'abc']) {
      pd.clearCache()
      expect((await call({ signal })).error).toBe('PIPEDREAM_INVALID_ARGS')
      expect((await call()).error).toBeUndefined()
      const hit = await call({ signal })
      expect(hit.error).toBe('PIPEDREAM_INVALID_ARGS')
      expect(hit.message).toMatch(/signal must be an AbortSignal/)
    }
  }
})

test('module searchServices without credentials is PIPEDREAM_AUTH_MISSING', async () => {
  const res = runNode(`out(await pd.searchServices({ query: 'gmail' }))`, { PIPEDREAM_BASE_URL: emu.url })
  expect(res.error).toBe('PIPEDREAM_AUTH_MISSING')
  expect(await emu.requests()).toHaveLength(0)
})

test('the environment of a worker thread is its own', async () => {
  // A worker may be given a different env; the module client there must follow it.
  const res = runNode(
    `const { Worker } = require('node:worker_threads');
     const code = 'const pd = require(' + JSON.stringify(${JSON.stringify(path.resolve(__dirname, '..'))}) + ');' +
       'pd.searchServices({ query: "gmail" }).then((r) => require("node:worker_threads").parentPort.postMessage(r))';
     const w = new Worker(code, { eval: true, env: { ...process.env, PIPEDREAM_ENABLED: 'false' } });
     const fromWorker = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) });
     await w.terminate();
     const fromMain = await pd.searchServices({ query: 'gmail' });
     out({ fromWorker, fromMain })`,
    emulatorEnv(),
  )
  expect(res.fromWorker.error).toBe('PIPEDREAM_DISABLED')
  expect(res.fromMain.error).toBeUndefined()
})

test('the client secret is never visible on the client object', () => {
  const c = new PipedreamClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
  const seen = JSON.stringify(c) + require('node:util').inspect(c, { showHidden: true, depth: 5 })
  expect(seen).not.toContain(CLIENT_SECRET)
})

test('the suite-wide secret scan is active and would catch a leak', async () => {
  const scan = require('./helpers/secret-scan')
  const c = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
  await c.searchServices({ query: 'gmail' })
  // The client secret was remembered and the answer was kept...
  expect(scan.secrets.has(CLIENT_SECRET)).toBe(true)
  expect(scan.seen.some((s) => s.includes('gmail'))).toBe(true)
  // ...and a text that carries a remembered secret is reported.
  expect(scan.leaked(scan.secrets, `oops ${CLIENT_SECRET}`)).toEqual([CLIENT_SECRET])
  expect(scan.leaked(scan.secrets, scan.seen.join('\n'))).toEqual([])
})

describe('loggers', () => {
  const { startEmulator, CLIENT_ID, CLIENT_SECRET } = require('./helpers/emulator')
  let emu
  beforeAll(async () => {
    emu = await startEmulator()
  })
  afterAll(() => emu.stop())
  const waitFor = async (check) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20))
  }

  test('a logger object gets each event at the method of its level, from logLevel up', async () => {
    const calls = []
    const record = (level) => (event, message) => calls.push({ level, event, message })
    const logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
    const c = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, logger, logLevel: 'debug' })
    await c.searchServices({ query: 'slack' })
    await waitFor(() => calls.length >= 2)
    expect(calls.map((c) => c.level).sort()).toEqual(['debug', 'debug'])
    for (const { level, event, message } of calls) {
      expect(event.level).toBe(level)
      expect(message).toBe(`pipedream ${event.type} ${event.outcome}`)
    }
    // The default level for an object is info: a discovery call (debug) is not passed on.
    const quiet = []
    const q = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, logger: { info: (e) => quiet.push(e), debug: (e) => quiet.push(e) } })
    await q.searchServices({ query: 'gmail' })
    await new Promise((r) => setTimeout(r, 200))
    expect(quiet).toEqual([])
  })

  test('console works as a logger; a function gets every event with its level', async () => {
    expect(() => new PipedreamClient({ baseUrl: emu.url, logger: console })).not.toThrow()
    const events = []
    const c = new PipedreamClient({ baseUrl: emu.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, logger: (e) => events.push(e) })
    await c.searchServices({ query: 'notion' })
    await waitFor(() => events.length >= 2)
    expect(events.map((e) => e.level)).toEqual(['debug', 'debug'])
  })

  test('an unknown option name or a bad logLevel is a TypeError that says what is valid', () => {
    for (const [options, pattern] of [
      [{ clientSecert: 'x' }, /unknown option `clientSecert`; the options are: baseUrl, projectId/],
      [{ retry: { maxRetires: 2 } }, /unknown option `retry.maxRetires`; the options are: maxRetries/],
      [{ logLevel: 'loud' }, /`logLevel` must be 'debug', 'info', 'warn' or 'error'/],
      [{ logger: { log: () => {} } }, /`logger` must be a function/],
    ]) {
      let thrown
      try {
        new PipedreamClient(options)
      } catch (e) {
        thrown = e
      }
      expect([thrown && thrown.name, thrown && thrown.code]).toEqual(['TypeError', 'ERR_INVALID_ARG_VALUE'])
      expect(thrown.message).toMatch(pattern)
    }
  })
})
