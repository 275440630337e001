'use strict'
// The child process of hostile-values.test.js. It feeds hostile JS values (seeded, so a run is
// reproducible) to every export of the package and every PipedreamClient method, in every
// argument position, and classifies each outcome:
//
//   ok      a result (a discovery `{ error }` must carry a string code), or a thrown / rejected
//           Error-like object with a string `code` (PIPEDREAM_*, ERR_*, ABORT_ERR) and a string
//           message shorter than 10,000 chars;
//   failed  anything else: an error without such a code, an oversized message, a non-Error
//           thrown, a call still pending after the per-call timeout, an uncaught exception or
//           unhandled rejection (e.g. from a hostile `logger`; counted here by a handler, where
//           a plain Node process would die of it).
//
// `__`-prefixed methods (internal) are fuzzed too, but only a crash or a hang of theirs counts.
//
// A process crash (abort, OOM, segfault) or a hang that blocks the event loop cannot be
// classified from inside: the parent sees the signal or its own timeout, and names the input
// from the last `CALL` line this process wrote to stderr before making the call.
//
// Usage:
//   node hostile-child.js            fuzz; prints `HOSTILE_SUMMARY {json}` on stdout at the end
//   node hostile-child.js --secrets  constructor options with a secret of the wrong type
// Environment:
//   PIPEDREAM_*                      point the package (module functions) at an emulator
//   HOSTILE_SEED                     PRNG seed (default 1)
//   HOSTILE_CALLS                    how many calls to plan (default 2000)
//   HOSTILE_CALL_TIMEOUT_MS          per-call timeout (default 10000)
//   HOSTILE_ONLY / HOSTILE_SKIP      regexps on hostile kind names, to keep / drop kinds
//   HOSTILE_EXPENSIVE_TARGETS        how many targets each expensive kind is tried on (default 6)
//   HOSTILE_USER                     external user with a seeded gmail account
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
const { seededRandom } = require(path.join(ROOT, 'scripts', 'random.js'))

const MAX_MESSAGE = 10000
const CODE = /^(PIPEDREAM_[A-Z0-9_]+|ERR_[A-Z0-9_]+|ABORT_ERR)$/
const MAX_FAILURES = 20
// Constructor options every hostile value is tried in.
const OPTION_FIELDS = ['clientSecret', 'token', 'logger', 'retry', 'rateLimit']

/** Synchronous, so the line is out before a call that might abort the process. */
function progress(line) {
  try {
    fs.writeSync(2, line + '\n')
  } catch {
    // a full or closed pipe must not change the outcome
  }
}

function short(v, n = 160) {
  let s
  try {
    if (typeof v === 'string') s = JSON.stringify(v)
    else if (typeof v === 'symbol' || typeof v === 'bigint') s = String(v) + (typeof v === 'bigint' ? 'n' : '')
    else if (typeof v === 'function') s = `[function ${v.name || 'anonymous'}]`
    else if (v && typeof v === 'object') s = `[object ${Object.prototype.toString.call(v).slice(8, -1)}]`
    else s = String(v)
  } catch {
    s = '[unprintable]'
  }
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s
}

// ---------------------------------------------------------------------------------------------
// Hostile values. `make()` returns a fresh value each time, except for the expensive ones, which
// are built once and shared (nothing in the package is expected to mutate its arguments).

function trap(where) {
  const e = new Error(`hostile trap: ${where}`)
  e.hostileTrap = true
  return e
}

// Field names the package reads somewhere, so that objects with throwing getters are hit.
const FIELDS = [
  'query', 'limit', 'app_slug', 'type', 'component_id', 'version', 'prop_name', 'params', 'external_user_id',
  'account_id', 'page', 'signal', 'aborted', 'reason', 'addEventListener', 'removeEventListener', 'config',
  'context', 'auth_config', 'token', 'service_auth', 'authProvisionId', 'store', 'create_records', 'store_to_record',
  'as', 'workflowId', 'alias', 'variables', 'pipedream_token', 'currentRecord', 'id', 'externalUserId',
  'idempotencyKey', 'concurrency', 'baseUrl', 'projectId', 'environment', 'clientId', 'clientSecret', 'enabled',
  'cache', 'rateLimit', 'timeoutMs', 'deadlineMs', 'maxResponseBytes', 'maxConnections', 'allowInsecureHttp', 'retry',
  'idempotency', 'logger', 'length', 'toJSON', 'then',
]

function throwingGetters(throwWhat) {
  const o = {}
  for (const k of FIELDS) {
    Object.defineProperty(o, k, {
      enumerable: true,
      get() {
        throw throwWhat(k)
      },
    })
  }
  return o
}

const throwingTraps = (label) => ({
  get: (_, k) => {
    throw trap(`${label} get ${String(k)}`)
  },
  has: () => {
    throw trap(`${label} has`)
  },
  ownKeys: () => {
    throw trap(`${label} ownKeys`)
  },
  getOwnPropertyDescriptor: () => {
    throw trap(`${label} getOwnPropertyDescriptor`)
  },
  getPrototypeOf: () => {
    throw trap(`${label} getPrototypeOf`)
  },
  apply: () => {
    throw trap(`${label} apply`)
  },
  construct: () => {
    throw trap(`${label} construct`)
  },
  set: () => {
    throw trap(`${label} set`)
  },
  defineProperty: () => {
    throw trap(`${label} defineProperty`)
  },
  isExtensible: () => {
    throw trap(`${label} isExtensible`)
  },
})

function nestedObject(depth) {
  let v = { query: 'gmail', leaf: true }
  for (let i = 0; i < depth; i++) v = { query: 'gmail', component_id: 'gmail-search-emails', nested: v }
  return v
}

function nestedArray(depth) {
  let v = ['leaf']
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

function sparse(length) {
  const a = []
  a.length = length
  a[0] = 'first'
  a[length - 1] = 'last'
  return a
}

function manyKeys(n) {
  const o = {}
  for (let i = 0; i < n; i++) o[`k${i}`] = i
  return o
}

const once = (build) => {
  let v
  let built = false
  return () => {
    if (!built) {
      v = build()
      built = true
    }
    return v
  }
}

// [name, make, expensive?]
const KINDS = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['true', () => true],
  ['false', () => false],
  ['0', () => 0],
  ['-0', () => -0],
  ['-1', () => -1],
  ['1.5', () => 1.5],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['2**53+1', () => 2 ** 53 + 1],
  ['2**32', () => 2 ** 32],
  ['1e308', () => 1e308],
  ['5e-324', () => 5e-324],
  ['empty string', () => ''],
  ['whitespace string', () => ' \t\n '],
  ['NUL string', () => '\0'],
  ['control-character string', () => 'a\u0001\u001b[31m\r\nb\u007f\u2028'],
  ['lone surrogates', () => '\ud800x\udfff'],
  ['path traversal', () => '../../etc/passwd'],
  ['url-ish string', () => 'http://169.254.169.254/latest/?a=b&c=%00#frag'],
  ['percent-encoded', () => '%2e%2e%2f%00%0d%0a'],
  ['1 MB string', () => 'x'.repeat(1 << 20)],
  ['50 MB string', once(() => 'y'.repeat(50 * 1024 * 1024)), true],
  ['4 MB emoji string', once(() => '😀'.repeat(1 << 20)), true],
  ['Symbol', () => Symbol('hostile')],
  ['Symbol.iterator', () => Symbol.iterator],
  ['BigInt 10n', () => 10n],
  ['BigInt 2n**200n', () => 2n ** 200n],
  ['BigInt -1n', () => -1n],
  ['arrow function', () => () => 'gmail'],
  ['async function', () => async () => 'gmail'],
  ['class', () => class Hostile {}],
  ['function with fields', () => Object.assign(function hostile() {}, { query: 'gmail', component_id: 'gmail-search-emails', app_slug: 'gmail' })],
  ['function that throws', () => () => {
    throw trap('function called')
  }],
  ['async function that rejects', () => async () => {
    throw trap('async function called')
  }],
  ['bound function', () => function () {}.bind(null)],
  ['sparse array length 2**32-1', () => sparse(2 ** 32 - 1)],
  ['sparse array length 2**31', () => sparse(2 ** 31)],
  ['new Array(1e8)', () => new Array(1e8)],
  ['array of 1e6 small items', once(() => new Array(1e6).fill(7)), true],
  ['array of 1e5 strings', once(() => Array.from({ length: 1e5 }, (_, i) => `s${i}`)), true],
  ['empty array', () => []],
  ['array with holes', () => [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['array with extra props', () => Object.assign(['a'], { query: 'gmail', component_id: 'x' })],
  ['nested object depth 10', () => nestedObject(10)],
  ['nested object depth 100', () => nestedObject(100)],
  ['nested object depth 10000', () => nestedObject(10000)],
  ['nested array depth 10', () => nestedArray(10)],
  ['nested array depth 100', () => nestedArray(100)],
  ['nested array depth 10000', () => nestedArray(10000)],
  ['circular object', () => {
    const o = { query: 'gmail', component_id: 'gmail-search-emails', params: {} }
    o.params.self = o
    o.self = o
    return o
  }],
  ['circular array', () => {
    const a = ['x']
    a.push(a)
    return a
  }],
  ['getters that throw', () => throwingGetters((k) => trap(`getter ${k}`))],
  ['getters that throw 42', () => throwingGetters(() => 42)],
  ['getter that changes on each read', () => {
    let n = 0
    const o = {}
    for (const k of FIELDS) {
      Object.defineProperty(o, k, { enumerable: true, get: () => (n++ % 2 === 0 ? 'gmail' : { nested: [n] }) })
    }
    return o
  }],
  ['Proxy whose traps throw', () => new Proxy({}, throwingTraps('object Proxy'))],
  ['array Proxy whose traps throw', () => new Proxy([], throwingTraps('array Proxy'))],
  ['function Proxy whose traps throw', () => new Proxy(function () {}, throwingTraps('function Proxy'))],
  ['revoked Proxy', () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    return proxy
  }],
  ['Proxy with 1e5 own keys', () => {
    const keys = Array.from({ length: 1e5 }, (_, i) => `k${i}`)
    return new Proxy({}, {
      ownKeys: () => keys,
      getOwnPropertyDescriptor: () => ({ value: 'v', enumerable: true, configurable: true, writable: true }),
      get: () => 'v',
    })
  }],
  ['Proxy lying about array length', () => new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : Reflect.get(t, k)) })],
  ['__proto__ own key (JSON.parse)', () => JSON.parse('{"__proto__":{"query":"gmail","polluted":true},"query":"gmail","component_id":"gmail-search-emails"}')],
  ['constructor/prototype own keys', () => JSON.parse('{"constructor":{"prototype":{"polluted":true}},"prototype":{"x":1},"query":"gmail"}')],
  ['__proto__ via defineProperty', () => Object.defineProperty({ query: 'gmail' }, '__proto__', { value: { polluted: true }, enumerable: true })],
  ['valid Date', () => new Date(0)],
  ['invalid Date', () => new Date(NaN)],
  ['Map', () => new Map([['query', 'gmail']])],
  ['Set', () => new Set(['gmail'])],
  ['WeakMap', () => new WeakMap()],
  ['WeakRef', () => new WeakRef({})],
  ['Uint8Array', () => new Uint8Array([103, 109, 97, 105, 108])],
  ['Float64Array with NaN', () => new Float64Array([NaN, Infinity, -0])],
  ['BigInt64Array', () => new BigInt64Array([1n, -1n])],
  ['Buffer', () => Buffer.from('gmail')],
  ['10 MB Buffer', once(() => Buffer.alloc(10 * 1024 * 1024, 0x61)), true],
  ['10 MB Uint8Array', once(() => new Uint8Array(10 * 1024 * 1024)), true],
  ['ArrayBuffer', () => new ArrayBuffer(16)],
  ['SharedArrayBuffer', () => new SharedArrayBuffer(16)],
  ['DataView', () => new DataView(new ArrayBuffer(8))],
  ['frozen object', () => Object.freeze({ query: 'gmail', component_id: 'gmail-search-emails', app_slug: 'gmail' })],
  ['sealed array', () => Object.seal(['gmail'])],
  ['toJSON that throws', () => ({
    query: 'gmail',
    component_id: 'gmail-search-emails',
    toJSON() {
      throw trap('toJSON')
    },
  })],
  ['toJSON returning 50 MB', () => ({ query: 'gmail', toJSON: () => 'z'.repeat(50 * 1024 * 1024) }), true],
  ['toString/valueOf that throw', () => ({
    toString() {
      throw trap('toString')
    },
    valueOf() {
      throw trap('valueOf')
    },
    [Symbol.toPrimitive]() {
      throw trap('toPrimitive')
    },
  })],
  ['class instance', () => new (class Args {
    constructor() {
      this.query = 'gmail'
      this.component_id = 'gmail-search-emails'
    }
    get app_slug() {
      return 'gmail'
    }
  })()],
  ['null-prototype object', () => Object.assign(Object.create(null), { query: 'gmail', component_id: 'gmail-search-emails' })],
  ['1 MB key', () => ({ ['k'.repeat(1 << 20)]: 1, query: 'gmail' })],
  ['control-character keys', () => ({ '\0': 1, 'a\nb': 2, '\u001b[31m': 3, '': 4, '\ud800': 5, query: 'gmail' })],
  ['1e5 keys', once(() => manyKeys(1e5)), true],
  ['symbol keys', () => ({ [Symbol('k')]: 1, [Symbol.toStringTag]: 'Args', query: 'gmail' })],
  ['numeric keys', () => ({ 0: 'a', 4294967295: 'b', '-1': 'c', query: 'gmail' })],
  ['String object', () => new String('gmail')], // eslint-disable-line no-new-wrappers
  ['Number object', () => new Number(5)], // eslint-disable-line no-new-wrappers
  ['Promise', () => Promise.resolve('gmail')],
  ['thenable that throws', () => ({
    then() {
      throw trap('then')
    },
  })],
  ['Error object', () => Object.assign(new Error('hostile'), { code: 'PIPEDREAM_FAKE' })],
  ['RegExp', () => /gmail/g],
  ['AbortSignal', () => new AbortController().signal],
  ['aborted AbortSignal', () => AbortSignal.abort()],
  ['AbortSignal aborted with a throwing reason', () => {
    const c = new AbortController()
    const reason = throwingGetters((k) => trap(`reason ${k}`))
    SIGNAL_REASONS.add(reason)
    c.abort(reason)
    return c.signal
  }],
  // As fetch does, a call rejects with a real signal's own reason: this one is recognised.
  ['AbortSignal aborted with a custom reason', () => {
    const c = new AbortController()
    const reason = { hostileAbortReason: true }
    SIGNAL_REASONS.add(reason)
    c.abort(reason)
    return c.signal
  }],
  ['fake signal { aborted: true }', () => ({ aborted: true, reason: 'fake', addEventListener() {}, removeEventListener() {} })],
  ['arguments object', () => (function () {
    return arguments // eslint-disable-line prefer-rest-params
  })('gmail', 1)],
]

// ---------------------------------------------------------------------------------------------
// Valid templates, one per target, built fresh for every call.

function templates(env) {
  const USER = env.HOSTILE_USER || 'hostile-user-1'
  let n = 0
  const key = () => `hostile-key-${++n}`
  const options = () => ({ signal: new AbortController().signal })
  const args = {
    searchServices: () => [{ query: 'gmail', limit: 3 }, options()],
    getComponents: () => [{ app_slug: 'gmail', type: 'action', query: 'search emails', limit: 5 }, options()],
    getComponent: () => [{ component_id: 'gmail-search-emails', version: '0.0.4' }, options()],
    configureProp: () => [
      { component_id: 'slack-send-message', prop_name: 'conversation', params: { text: 'hi' }, external_user_id: USER, query: 'eng', page: 0 },
      options(),
    ],
    reloadProps: () => [
      { component_id: 'google_sheets-add-single-row', params: { sheetId: 'sheet-1', worksheetId: 'Sheet1' }, external_user_id: USER },
      options(),
    ],
    handleToolCall: (rng) => {
      const tools = [
        ['pipedream_search_services', { query: 'gmail', limit: 3 }],
        ['pipedream_get_components', { app_slug: 'gmail', type: 'action', query: 'search', limit: 3 }],
        ['pipedream_get_component', { component_id: 'gmail-search-emails', version: null }],
        ['pipedream_configure_prop', { component_id: 'gmail-search-emails', prop_name: 'labelIds', params: null, external_user_id: USER, account_id: null, query: null, page: null }],
        ['pipedream_proxy_request', { app_slug: 'gmail', method: 'GET', url: '/gmail/v1/users/me/profile', body: null, headers: null, external_user_id: USER, account_id: null }],
      ]
      const [name, a] = tools[Math.floor(rng() * tools.length)]
      return [name, a, options()]
    },
    handleToolCallText: (rng) => args.handleToolCall(rng),
    executePipedreamConnect: () => [execConfig(), execContext()],
    executeBatch: () => [
      [
        { config: execConfig(), context: execContext() },
        { config: { component_id: 'gmail-search-emails', params: { query: 'is:unread' } }, context: { externalUserId: USER } },
      ],
      { concurrency: 2, signal: new AbortController().signal },
    ],
    proxyRequest: () => [
      { app: 'gmail', method: 'POST', url: '/gmail/v1/users/me/drafts', headers: { 'x-trace': 'h' }, body: { a: 1 }, external_user_id: USER, max_bytes: 4096 },
      { idempotencyKey: key(), signal: new AbortController().signal },
    ],
    downloadStashedFile: () => ['1day/proj_x/exu_x/0123/u/hostile.png', options()],
    deployTrigger: () => [
      { component_id: 'gmail-new-email-received', params: {}, external_user_id: USER, webhook_url: 'https://director.example/hooks/wf/0123', emit_on_deploy: false },
      { idempotencyKey: key(), signal: new AbortController().signal },
    ],
    listDeployedTriggers: () => [{ external_user_id: USER }, options()],
    getDeployedTrigger: () => [{ id: 'dc_nothere1', external_user_id: USER }, options()],
    updateDeployedTrigger: () => [{ id: 'dc_nothere2', external_user_id: USER, active: false, name: 'x', params: { labels: [] } }, options()],
    deleteDeployedTrigger: () => [{ id: 'dc_nothere3', external_user_id: USER, ignore_hook_errors: true }, options()],
    listTriggerEvents: () => [{ id: 'dc_nothere4', external_user_id: USER, n: 5 }, options()],
    listTriggerWebhooks: () => [{ id: 'dc_nothere5', external_user_id: USER }, options()],
    setTriggerWebhooks: () => [{ id: 'dc_nothere6', external_user_id: USER, webhook_urls: ['https://director.example/h'] }, options()],
    regenerateTriggerSigningKey: () => [{ id: 'dc_nothere7', webhook_id: 'wh_nothere', external_user_id: USER }, options()],
    verifyTriggerWebhook: () => [
      { rawBody: '{"a":1}', headers: { 'x-pd-signature': 't=1,v1=00' }, signingKey: 'k', toleranceMs: 60000, path: '/h/wf/00', pathSecret: 'a-path-secret-of-16+' },
    ],
    triggerWebhookUrl: () => ['https://director.example/hooks', { id: 'wf_1', secret: 'a-path-secret-of-16+' }],
    listAccounts: () => [{ external_user_id: USER, app: 'gmail' }, options()],
    // Ids that exist nowhere, so deleting leaves the seeded account for the other calls.
    getAccount: () => ['apn_nothere1', { include_credentials: true, signal: new AbortController().signal }],
    deleteAccount: () => ['apn_nothere2', options()],
    deleteAccountsForApp: () => ['dropbox', options()],
    listUsers: () => [{ q: 'hostile' }, options()],
    deleteUser: () => ['no-such-hostile-user', options()],
    createConnectToken: () => [{ external_user_id: USER, app: 'gmail', expires_in: 600 }, options()],
    validateConnectToken: () => ['ctok_0000000000000000', { app: 'gmail' }],
    toolDefinitions: () => [{ format: 'mcp' }],
    // Servers it starts stay up until the child exits; a handful at most.
    startEmulator: () => [{ accounts: [{ external_user_id: 'hostile-user', app: 'slack' }], seed: 2 }],
    parseConnectionWebhook: () => ['{"event":"CONNECTION_ERROR","error":"closed"}', { 'content-type': 'application/json' }],
    forget: () => [key()],
    getStats: () => [],
    metrics: () => [],
    clearCache: () => [],
  }
  function execConfig() {
    return {
      component_id: 'gmail-search-emails',
      params: { query: 'from:investor@company.com', maxResults: 5 },
      store: { 'messages.0.id': 'firstId', $summary: 'summaryText' },
      create_records: { type: 'email', id_pattern: 'email_{index}' },
      auth_config: { external_user_id: USER },
      store_to_record: false,
    }
  }
  function execContext() {
    return {
      workflowId: 'wf_hostile',
      alias: 'search',
      variables: { other: 1 },
      currentRecord: { id: 'rec_1', type: 'email', fields: {} },
      externalUserId: USER,
      signal: new AbortController().signal,
      idempotencyKey: key(),
    }
  }
  const clientOptions = (events) => ({
    baseUrl: env.PIPEDREAM_BASE_URL,
    projectId: env.PIPEDREAM_PROJECT_ID,
    environment: 'development',
    clientId: env.PIPEDREAM_CLIENT_ID,
    clientSecret: env.PIPEDREAM_CLIENT_SECRET,
    externalUserId: USER,
    enabled: true,
    cache: { ttlMs: 60000, staleMs: 60000, maxEntries: 1000 },
    rateLimit: {
      enabled: true,
      maxWaitMs: 1000,
      read: { requests: 3000, perMs: 300000 },
      execute: { requests: 2000, perMs: 300000 },
      accounts: { requests: 2000, perMs: 300000 },
      tokens: { requests: 100, perMs: 60000 },
    },
    timeoutMs: 5000,
    deadlineMs: 8000,
    maxResponseBytes: 10485760,
    maxConnections: 64,
    allowInsecureHttp: false,
    retry: { maxRetries: 0, minDelayMs: 10, maxDelayMs: 100 },
    idempotency: { ttlMs: 60000 },
    logger: () => {
      events.count++
    },
  })
  return { args, clientOptions, USER }
}

// ---------------------------------------------------------------------------------------------
// Mutation of a valid template at one node.

/** Every path in `v` (the root is []), following own enumerable keys of plain objects/arrays. */
function paths(v, prefix = [], out = []) {
  out.push(prefix)
  if (v && typeof v === 'object' && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) {
    for (const k of Object.keys(v)) paths(v[k], [...prefix, k], out)
  }
  return out
}

const pathText = (p) => (p.length ? p.map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k}`)).join('') : '(whole)')

/** Returns [newValue, description]. */
function mutate(rng, value, kind, forcedPath) {
  const pick = (arr) => arr[Math.floor(rng() * arr.length)]
  const all = paths(value)
  const modes = forcedPath ? ['replace', 'replace', 'replace', 'getter'] : ['replace', 'replace', 'replace', 'getter', 'add-key']
  const mode = pick(modes)
  const p = forcedPath || pick(all)
  if (p.length === 0 && mode === 'replace') return [kind.make(), kind.name]
  if (mode === 'add-key') {
    const containers = all.filter((q) => {
      const c = at(value, q)
      return c && typeof c === 'object'
    })
    if (!containers.length) return [kind.make(), kind.name]
    const q = pick(containers)
    const c = at(value, q)
    // An array's own `length` cannot hold a hostile value (defineProperty throws a RangeError).
    const k = pick(['extra', '__proto__', 'constructor', 'toJSON', 'then', ...(Array.isArray(c) ? [] : ['length']), 'query'])
    Object.defineProperty(c, k, { value: kind.make(), enumerable: true, configurable: true, writable: true })
    return [value, `valid with ${pathText([...q, k])} ← ${kind.name}`]
  }
  if (p.length === 0) return [kind.make(), kind.name]
  const parent = at(value, p.slice(0, -1))
  const k = p[p.length - 1]
  if (mode === 'getter') {
    // The leaf becomes an accessor: throwing, or returning the hostile value.
    const v = kind.make()
    const throws = rng() < 0.5
    Object.defineProperty(parent, k, {
      enumerable: true,
      configurable: true,
      get() {
        if (throws) throw trap(`getter ${pathText(p)}`)
        return v
      },
    })
    return [value, throws ? `valid with ${pathText(p)} a getter that throws` : `valid with ${pathText(p)} a getter returning ${kind.name}`]
  }
  parent[k] = kind.make()
  return [value, `valid with ${pathText(p)} ← ${kind.name}`]
}

function at(v, p) {
  for (const k of p) v = v[k]
  return v
}

// ---------------------------------------------------------------------------------------------
// Classification.

/** Custom reasons of real AbortSignals: rejecting with one is what fetch does, not an uncoded error. */
const SIGNAL_REASONS = new WeakSet()

function checkError(e) {
  if (e !== null && typeof e === 'object' && SIGNAL_REASONS.has(e)) return null
  if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return `a non-object was thrown: ${short(e)}`
  let code
  let message
  let name
  try {
    code = e.code
    message = e.message
    name = e.name
  } catch (x) {
    return `reading the error's code/message threw: ${short(x && x.message)}`
  }
  if (typeof code !== 'string' || !CODE.test(code)) {
    const own = e.hostileTrap ? ' (the input\'s own exception, passed through)' : ''
    return `uncoded error${own}: ${short(name)} code=${short(code)}: ${short(message, 240)}`
  }
  if (typeof message !== 'string') return `error ${code} with a non-string message: ${short(message)}`
  if (message.length >= MAX_MESSAGE) return `error ${code} with a message of ${message.length} chars: ${short(message, 120)}`
  return null
}

function checkResolved(v, method) {
  if (method === 'executeBatch' && Array.isArray(v)) {
    // executeBatch: allSettled-like outcomes.
    for (let i = 0; i < v.length; i++) {
      const o = v[i]
      if (!o || (o.status !== 'fulfilled' && o.status !== 'rejected')) return `batch outcome [${i}] is not settled-shaped: ${short(o)}`
      if (o.status === 'rejected') {
        const bad = checkError(o.reason)
        if (bad) return `batch outcome [${i}] rejected with ${bad}`
      }
    }
    return null
  }
  if (v && typeof v === 'object' && v.error !== undefined && v.error !== null) {
    if (typeof v.error !== 'string' || !CODE.test(v.error)) return `resolved with error=${short(v.error)}`
    if (typeof v.message !== 'string') return `resolved with error ${v.error} and a non-string message`
    if (v.message.length >= MAX_MESSAGE) return `resolved with error ${v.error} and a message of ${v.message.length} chars`
  }
  return null
}

// ---------------------------------------------------------------------------------------------
// The fuzz run.

async function fuzz() {
  const env = process.env
  const seed = Number(env.HOSTILE_SEED || 1) >>> 0
  const rng = seededRandom(seed)
  const pick = (arr) => arr[Math.floor(rng() * arr.length)]
  const plannedCalls = Number(env.HOSTILE_CALLS || 2000)
  const callTimeout = Number(env.HOSTILE_CALL_TIMEOUT_MS || 10000)
  const expensiveTargets = Number(env.HOSTILE_EXPENSIVE_TARGETS || 6)
  const only = env.HOSTILE_ONLY ? new RegExp(env.HOSTILE_ONLY) : null
  const skip = env.HOSTILE_SKIP ? new RegExp(env.HOSTILE_SKIP) : null
  const kinds = KINDS.map(([name, make, expensive]) => ({ name, make, expensive: Boolean(expensive) })).filter(
    (k) => (!only || only.test(k.name)) && (!skip || !skip.test(k.name)),
  )

  const pd = require(ROOT)
  const { PipedreamClient } = pd
  const T = templates(env)
  const events = { count: 0 }
  const client = new PipedreamClient(T.clientOptions(events))

  const METHODS = [
    'searchServices', 'getComponents', 'getComponent', 'configureProp', 'reloadProps', 'handleToolCall',
    'handleToolCallText', 'executePipedreamConnect', 'executeBatch', 'listAccounts', 'getAccount', 'deleteAccount', 'deleteAccountsForApp',
    'listUsers', 'deleteUser', 'createConnectToken', 'validateConnectToken', 'forget', 'getStats', 'metrics',
    'clearCache', 'toolDefinitions', 'parseConnectionWebhook', 'startEmulator', 'proxyRequest', 'downloadStashedFile',
    'deployTrigger', 'listDeployedTriggers', 'getDeployedTrigger', 'updateDeployedTrigger', 'deleteDeployedTrigger',
    'listTriggerEvents', 'listTriggerWebhooks', 'setTriggerWebhooks', 'regenerateTriggerSigningKey',
    'verifyTriggerWebhook', 'triggerWebhookUrl',
  ]
  // Every function export, checked against the list so that a new export is not silently left out.
  const fnExports = Object.keys(pd).filter((k) => typeof pd[k] === 'function' && k !== 'PipedreamClient')
  const unknownExports = fnExports.filter((k) => !METHODS.includes(k))
  const protoMethods = Object.getOwnPropertyNames(PipedreamClient.prototype).filter(
    (k) => k !== 'constructor' && typeof PipedreamClient.prototype[k] === 'function',
  )
  const unknownMethods = protoMethods.filter((k) => !METHODS.includes(k))
  const internalMethods = [...unknownExports, ...unknownMethods].filter((k) => k.startsWith('__'))

  const targets = []
  // Module functions with no method of the same name on the class.
  const MODULE_ONLY = ['toolDefinitions', 'startEmulator']
  for (const m of METHODS) {
    if (typeof pd[m] === 'function') targets.push({ name: `pd.${m}`, method: m, self: pd, fn: pd[m] })
    if (!MODULE_ONLY.includes(m)) targets.push({ name: `client.${m}`, method: m, self: client, fn: client[m] })
  }
  // Functions not in the list: fuzzed with generic arguments. `__`-prefixed ones are internal
  // (crashes and hangs still count, uncoded errors do not); any other is reported as unknown so
  // that it gets a valid template here.
  for (const m of unknownExports) targets.push({ name: `pd.${m}`, method: m, self: pd, fn: pd[m], internal: m.startsWith('__') })
  for (const m of unknownMethods) targets.push({ name: `client.${m}`, method: m, self: client, fn: client[m], internal: m.startsWith('__') })
  targets.push({ name: 'new PipedreamClient', ctor: true })

  const templateFor = (t) => {
    if (t.ctor) return [T.clientOptions(events)]
    const make = T.args[t.method]
    return make ? make(rng) : [undefined, undefined]
  }

  // The plan, shuffled. `must` always runs: each expensive kind against a few targets, every
  // kind in each sensitive constructor option, a few hostile receivers and odd constructor
  // invocations. `pool` (every cheap kind against every target, in a random position and mode,
  // then random pairs) is cut down to what is left of the planned number of calls.
  const ctor = targets.find((t) => t.ctor)
  const cheap = kinds.filter((k) => !k.expensive)
  const must = []
  const pool = []
  for (const kind of kinds) {
    if (kind.expensive) {
      for (const t of shuffle(rng, targets.slice()).slice(0, expensiveTargets)) must.push({ kind, target: t, how: 'arg' })
    } else {
      for (const t of targets) pool.push({ kind, target: t, how: 'arg' })
    }
  }
  // Every hostile value as each sensitive constructor option; a client that gets built is then
  // used, so a hostile logger is called.
  for (const kind of cheap) {
    for (const field of OPTION_FIELDS) must.push({ kind, target: ctor, how: 'arg', forcedPath: [field] })
  }
  for (const kind of pickSome(rng, cheap, 20)) {
    must.push({ kind, target: pick(targets.filter((t) => !t.ctor)), how: 'receiver' })
  }
  for (const kind of pickSome(rng, cheap, 5)) {
    must.push({ kind, target: ctor, how: 'call without new' })
    must.push({ kind, target: ctor, how: 'Reflect.construct' })
  }
  while (must.length + pool.length < plannedCalls && cheap.length) pool.push({ kind: pick(cheap), target: pick(targets), how: 'arg' })
  shuffle(rng, pool)
  pool.length = Math.max(0, Math.min(pool.length, plannedCalls - must.length))
  const plan = shuffle(rng, [...must, ...pool])

  // Per call: resolved, rejectedCoded, thrownCoded, failed or internalUncoded (they add up to
  // `calls`). Besides: background failures.
  const counts = { resolved: 0, rejectedCoded: 0, thrownCoded: 0, failed: 0, internalUncoded: 0, background: 0 }
  const failures = []
  const signatures = new Map()
  let calls = 0
  let current = '(none)'
  const started = Date.now()

  // Failures are grouped by their problem with quoted values and numbers left out, and each group
  // lists the functions it was seen in.
  // `background` failures (uncaught exceptions, unhandled rejections) belong to no one call.
  function failAt(desc, problem, where = '?', background = false) {
    if (background) {
      counts.background++
    } else if (internal) {
      counts.internalUncoded++
      return
    } else {
      counts.failed++
    }
    const sig = problem
      .replace(/`[^`]*(`|$)/g, '`…`')
      .replace(/hostile trap: [^"]*/g, 'hostile trap')
      .replace(/\d{2,}/g, 'N')
      .slice(0, 200)
    let entry = signatures.get(sig)
    const isNew = !entry
    if (!entry) signatures.set(sig, (entry = { count: 0, first: desc, where: new Set() }))
    entry.count++
    entry.where.add(where)
    if (failures.length < MAX_FAILURES && (isNew || failures.length < MAX_FAILURES / 2)) failures.push({ input: desc, problem })
  }

  process.on('uncaughtException', (e) => {
    failAt(`during or after: ${current}`, `uncaughtException: ${short(e && e.message, 240)}${e && e.hostileTrap ? " (the input's own exception)" : ''}`, 'uncaught', true)
  })
  let finished = false
  process.on('exit', (code) => {
    if (!finished) progress(`HOSTILE_EARLY_EXIT the process exited (code ${code}) during or after: ${current}`)
  })
  process.on('unhandledRejection', (e) => {
    failAt(`during or after: ${current}`, `unhandledRejection: ${short(e && e.message, 240)}`, 'uncaught', true)
  })

  // Internal methods (`__`-prefixed, not part of the API) are fuzzed for crashes and hangs only.
  let internal = false
  const slowest = []
  /** One call: `invoke()` runs it; the outcome is classified and counted. */
  async function call(desc, invoke, where, isInternal = false) {
    calls++
    current = desc
    internal = isInternal
    const fail = (d, problem) => failAt(d, problem, where)
    const t0 = Date.now()
    try {
      return await classify(desc, invoke, fail, where)
    } finally {
      const ms = Date.now() - t0
      if (ms >= 200) {
        slowest.push({ ms, input: desc })
        slowest.sort((x, y) => y.ms - x.ms)
        slowest.length = Math.min(slowest.length, 10)
      }
    }
  }

  async function classify(desc, invoke, fail, where) {
    progress(`CALL #${calls} ${desc}`)
    let result
    try {
      result = invoke()
    } catch (e) {
      const bad = checkError(e)
      if (bad) fail(desc, `threw ${bad}`)
      else counts.thrownCoded++
      return { threw: e }
    }
    if (result && typeof result.then === 'function' && result instanceof Promise) {
      let timer
      const outcome = await Promise.race([
        result.then((value) => ({ value }), (error) => ({ error })),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve({ hang: true }), callTimeout)
        }),
      ])
      clearTimeout(timer)
      if (outcome.hang) {
        fail(desc, `still pending after ${callTimeout} ms`)
        return {}
      }
      if ('error' in outcome) {
        const bad = checkError(outcome.error)
        if (bad) fail(desc, `rejected with ${bad}`)
        else counts.rejectedCoded++
        return { rejected: outcome.error }
      }
      result = outcome.value
    }
    const bad = checkResolved(result, where)
    if (bad) fail(desc, bad)
    else counts.resolved++
    return { value: result }
  }

  for (const step of plan) {
    const { kind, target, how } = step
    if (how === 'receiver') {
      const a = templateFor(target)
      await call(`${target.name.replace(/^\w+\./, `(this=${kind.name}).`)}(valid args)`, () => {
        const self = kind.make()
        return target.fn.apply(self, a)
      }, target.method, target.internal)
      continue
    }
    if (how === 'call without new') {
      await call(`PipedreamClient(${kind.name}) without new`, () => PipedreamClient(kind.make()), 'PipedreamClient')
      continue
    }
    if (how === 'Reflect.construct') {
      await call(`Reflect.construct(PipedreamClient, [valid options], newTarget=${kind.name})`, () => {
        const nt = kind.make()
        return Reflect.construct(PipedreamClient, [T.clientOptions(events)], isConstructor(nt) ? nt : class Other {})
      }, 'PipedreamClient')
      continue
    }
    const a = templateFor(target)
    // One position gets the hostile value; one more than the declared positions, so extra
    // arguments are tried too.
    const positions = Math.max(a.length, 1) + (rng() < 0.1 ? 1 : 0)
    const i = Math.floor(rng() * positions)
    let d
    if (i < a.length) {
      ;[a[i], d] = mutate(rng, a[i], kind, i === 0 ? step.forcedPath : undefined)
    } else {
      a[i] = kind.make()
      d = kind.name
    }
    const descs = a.map((_, j) => (j === i ? d : 'valid'))
    if (target.ctor) {
      const desc = `new PipedreamClient(${descs.join(', ')})`
      const r = await call(desc, () => new PipedreamClient(...a), 'new PipedreamClient')
      // A client that was built: use it, without network (stats) and with (one discovery call,
      // which also exercises its logger).
      if (r.value && typeof r.value.getStats === 'function') {
        const c = r.value
        await call(`${desc}.getStats()`, () => c.getStats(), 'getStats')
        await call(`${desc}.metrics()`, () => c.metrics(), 'metrics')
        await call(`${desc}.searchServices()`, () => c.searchServices({ query: `hostile${calls}`, limit: 2 }), 'searchServices')
      }
    } else {
      await call(`${target.name}(${descs.join(', ')})`, () => target.fn.apply(target.self, a), target.method, target.internal)
    }
  }

  // Let late logger events and background failures arrive.
  await new Promise((r) => setTimeout(r, 200))
  current = '(after the last call)'

  if (typeof global.gc === 'function') global.gc()
  const summary = {
    seed,
    calls,
    planned: plan.length,
    kinds: kinds.length,
    targets: targets.map((t) => t.name),
    unknownExports: unknownExports.filter((k) => !k.startsWith('__')),
    unknownMethods: unknownMethods.filter((k) => !k.startsWith('__')),
    internalMethods,
    memory: (({ rss, heapUsed, external }) => ({ rss, heapUsed, external }))(process.memoryUsage()),
    durationMs: Date.now() - started,
    outcomes: counts,
    loggerEvents: events.count,
    slowest,
    failureCount: counts.failed + counts.background,
    failures,
    signatures: [...signatures.entries()]
      .sort((x, y) => y[1].count - x[1].count)
      .slice(0, 40)
      .map(([problem, { count, first, where }]) => ({ count, problem, where: [...where].sort(), first })),
  }
  process.stdout.write(`HOSTILE_SUMMARY ${JSON.stringify(summary)}\n`)
  finished = true
  // If something keeps Node alive past this, say so and fail.
  setTimeout(() => {
    process.stdout.write('HOSTILE_KEPT_ALIVE the process did not exit within 10 s of the last call\n')
    process.exit(3)
  }, 10000).unref()
}

/** Whether `f` can be a `new.target` (else Reflect.construct itself throws, before the package). */
function isConstructor(f) {
  try {
    Reflect.construct(function () {}, [], f)
    return true
  } catch {
    return false
  }
}

function shuffle(rng, a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

function pickSome(rng, a, n) {
  return shuffle(rng, a.slice()).slice(0, n)
}

// ---------------------------------------------------------------------------------------------
// Secrets of the wrong type in constructor options, and a logger that is not a function.

function secrets() {
  const { PipedreamClient } = require(ROOT)
  const SECRET = 'sk_live_SECRETVALUE123'
  const cases = [
    ['clientSecret object', { clientId: 'client-abc', clientSecret: { value: SECRET } }],
    ['token array', { token: [SECRET] }],
    ['clientSecret Buffer', { clientId: 'client-abc', clientSecret: Buffer.from(SECRET) }],
    ['logger 42', { logger: 42 }],
  ]
  const out = {}
  for (const [name, options] of cases) {
    try {
      new PipedreamClient(options) // eslint-disable-line no-new
      out[name] = { threw: false }
    } catch (e) {
      out[name] = {
        threw: true,
        isObject: e !== null && typeof e === 'object',
        name: e && e.name,
        constructorName: e && e.constructor && e.constructor.name,
        code: e && e.code,
        message: e && e.message,
        stack: e && e.stack,
      }
    }
  }
  process.stdout.write(`HOSTILE_SECRETS ${JSON.stringify(out)}\n`)
}

if (require.main === module) {
  if (process.argv.includes('--secrets')) {
    secrets()
  } else {
    fuzz().catch((e) => {
      progress(`HOSTILE_CHILD_ERROR ${e && e.stack}`)
      process.exit(2)
    })
  }
}
