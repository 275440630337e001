'use strict'
// The package entry. `binding.js` is napi-rs's generated loader: it tries a local build
// (`pipedream-connect.<platform>.node` beside it, as in a checkout) and then this platform's
// package (`@director/pipedream-connect-<platform>`, an optional dependency). When neither loads,
// its error does not say which platform it looked for or what to do; `loadError` does.
// Exports are assigned one by one (`exports.x = …`) so that ESM named imports see them.
let binding
try {
  binding = require('./binding.js')
} catch (cause) {
  throw loadError(cause)
}

// The JS surface: a `PipedreamClient` class around the native one, and the module functions
// on a default client. The native addon only translates; what is decided here is where
// `process.env` is read (in JS, where it is cheap) and the synchronous cache-hit path.

const ENV_VARS = binding.__envVars()

/** The `PIPEDREAM_*` variables `process.env` holds now, as strings. */
function envVars() {
  const vars = {}
  for (const name of ENV_VARS) {
    const value = process.env[name]
    if (typeof value === 'string') vars[name] = value
  }
  return vars
}

const NATIVE = Symbol('native')
// The native client's per-call paths as functions bound to it (`__bound`): a method call costs
// napi-rs's bookkeeping of its borrow of `this`, over two fifths of a cache hit's native work.
const BOUND = Symbol('bound')
const boundOf = (native) => native[BOUND] ?? (native[BOUND] = native.__bound())
const LOGGER = Symbol('logger')

/** A `TypeError` with a Node-style `code`, for misuse at the call site. */
function typeError(code, message) {
  const error = new TypeError(message)
  error.code = code
  return error
}

/**
 * A Pipedream Connect client: a connection pool and discovery caches of its own; the rate
 * limiter is shared by every client of one base URL and project. Options left out fall back to
 * the `PIPEDREAM_*` environment variables, then to defaults. See `index.d.ts` for each method.
 * A function rather than a `class`, so a call without `new` gets a coded error.
 */
function PipedreamClient(options) {
  if (!new.target) {
    throw typeError('ERR_CONSTRUCT_CALL_REQUIRED', 'PipedreamClient is a class: create one with new PipedreamClient(options)')
  }
  const safe = withSafeLogger(options)
  Object.defineProperty(this, NATIVE, { value: new binding.PipedreamClient(safe, envVars()) })
  // The native client holds the logger weakly: held strongly there, a logger that reaches its
  // client (`tenant.client = new PipedreamClient({ logger: (e) => tenant.log(e) })`) kept both
  // alive for good. The client holds it, and each call holds the client until it settles.
  if (safe !== options) Object.defineProperty(this, LOGGER, { value: safe.logger })
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 }
/** The levels, most severe first: a logger object without a level's method gets the next one. */
const SEVERITY = Object.keys(LEVELS).reverse()

/**
 * An event's level: retries warn; failed executions are errors, other failures warnings. The
 * shared store going away is a warning, and its return is news (info).
 */
function levelOf(event) {
  if (event.type === 'retry') return 'warn'
  if (event.type === 'store') return event.outcome === 'ok' ? 'info' : 'warn'
  if (event.outcome !== 'ok') return event.type === 'execution' ? 'error' : 'warn'
  return event.type === 'execution' ? 'info' : 'debug'
}

/**
 * The `logger` option as the native client takes it: one function of the event. A logger
 * object (console, pino, winston: `debug`/`info`/`warn`/`error`) gets each event at the method
 * of its level, as `(event, message)`, or at the next lower one it has. Events below
 * `logLevel` (default `debug` for a function, `info` for an object) are dropped, and each
 * carries its `level`. A logger that throws (or returns a rejected promise) would be an
 * uncaught exception in the host process, since it runs from a native callback: its failures
 * are swallowed here, as the README promises that logging never disturbs a call.
 */
function withSafeLogger(options) {
  let logger
  let least
  let copy
  try {
    if (!options || typeof options !== 'object') return options
    logger = options.logger
    const isObject = logger !== null && typeof logger === 'object' && SEVERITY.some((m) => typeof logger[m] === 'function')
    if (typeof logger !== 'function' && !isObject) return options
    // A function has always had every event; a logger object gets `info` and up by default.
    least = LEVELS[options.logLevel] ?? (typeof logger === 'function' ? LEVELS.debug : LEVELS.info)
    copy = { ...options }
  } catch {
    // A getter that throws: the native constructor reads the options itself, and says so.
    return options
  }
  const deliver = (event) => {
    if (typeof logger === 'function') return logger(event)
    const method = SEVERITY.slice(SEVERITY.indexOf(event.level)).find((m) => typeof logger[m] === 'function')
    return method ? logger[method](event, `pipedream ${event.type} ${event.outcome}`) : undefined
  }
  return {
    ...copy,
    logger(event) {
      try {
        event.level = levelOf(event)
        if (LEVELS[event.level] < least) return
        const result = deliver(event)
        if (result && typeof result.then === 'function') result.then(undefined, () => {})
      } catch {
        // The caller's logger failed; the call it reports on goes on.
      }
    },
  }
}

/** The native client behind `self`, or a coded error for a method detached from its client. */
function nativeOf(self, method) {
  let native
  try {
    native = self != null && self[NATIVE]
  } catch {
    // A revoked proxy or a hostile `this`: no client either.
  }
  if (!native) {
    throw typeError('ERR_INVALID_THIS', `PipedreamClient.${method} must be called on a client: client.${method}(…), or bind it`)
  }
  return native
}

const methods = {
  searchServices(args, options) {
    const native = nativeOf(this, 'searchServices')
    return discovery(native, 'searchServices', args, options, (a) => native.searchServices(a, options))
  },
  getComponents(args, options) {
    const native = nativeOf(this, 'getComponents')
    return discovery(native, 'getComponents', args, options, (a) => native.getComponents(a, options))
  },
  getComponent(args, options) {
    const native = nativeOf(this, 'getComponent')
    return discovery(native, 'getComponent', args, options, (a) => native.getComponent(a, options))
  },
  configureProp(args, options) {
    return withReason(nativeOf(this, 'configureProp').configureProp(args, options), options)
  },
  reloadProps(args, options) {
    return withReason(nativeOf(this, 'reloadProps').reloadProps(args, options), options)
  },
  handleToolCall(name, args, options) {
    const native = nativeOf(this, 'handleToolCall')
    return discovery(native, name, args, options, (a) => native.handleToolCall(name, a, options))
  },
  handleToolCallText(name, args, options) {
    const native = nativeOf(this, 'handleToolCallText')
    return discovery(native, name, args, options, (a) => native.handleToolCallText(name, a, options), true)
  },
  executePipedreamConnect(config, context) {
    const native = nativeOf(this, 'executePipedreamConnect')
    const text = nodeText(config, context)
    const pending = text === null ? native.executePipedreamConnect(config, context) : boundOf(native).executeJson(text, context)
    return withReason(pending, context)
  },
  executeBatch(items, options) {
    const native = nativeOf(this, 'executeBatch')
    const text = batchText(items)
    const pending = text === null ? native.executeBatch(items, options) : native.__executeBatchJson(text, options)
    return withReason(pending, options)
  },
  proxyRequest(request, options) {
    return withReason(nativeOf(this, 'proxyRequest').proxyRequest(request, options), options)
  },
  async downloadStashedFile(s3Key, options) {
    const file = await withReason(nativeOf(this, 'downloadStashedFile').downloadStashedFile(s3Key, options), options)
    return file.data === null ? file : { ...file, data: Buffer.from(file.data, 'base64') }
  },
  deployTrigger(request, options) {
    return withReason(nativeOf(this, 'deployTrigger').deployTrigger(request, options), options)
  },
  listDeployedTriggers(args, options) {
    return withReason(nativeOf(this, 'listDeployedTriggers').listDeployedTriggers(args, options), options)
  },
  getDeployedTrigger(args, options) {
    return withReason(nativeOf(this, 'getDeployedTrigger').getDeployedTrigger(args, options), options)
  },
  updateDeployedTrigger(args, options) {
    return withReason(nativeOf(this, 'updateDeployedTrigger').updateDeployedTrigger(args, options), options)
  },
  deleteDeployedTrigger(args, options) {
    return withReason(nativeOf(this, 'deleteDeployedTrigger').deleteDeployedTrigger(args, options), options)
  },
  listTriggerEvents(args, options) {
    return withReason(nativeOf(this, 'listTriggerEvents').listTriggerEvents(args, options), options)
  },
  listTriggerWebhooks(args, options) {
    return withReason(nativeOf(this, 'listTriggerWebhooks').listTriggerWebhooks(args, options), options)
  },
  setTriggerWebhooks(args, options) {
    return withReason(nativeOf(this, 'setTriggerWebhooks').setTriggerWebhooks(args, options), options)
  },
  regenerateTriggerSigningKey(args, options) {
    return withReason(nativeOf(this, 'regenerateTriggerSigningKey').regenerateTriggerSigningKey(args, options), options)
  },
  verifyTriggerWebhook(args) {
    return nativeOf(this, 'verifyTriggerWebhook').verifyTriggerWebhook(plainHeaders(args))
  },
  triggerWebhookUrl(base, options) {
    return nativeOf(this, 'triggerWebhookUrl').triggerWebhookUrl(base, options)
  },
  listAccounts(args, options) {
    return withReason(nativeOf(this, 'listAccounts').listAccounts(args, options), options)
  },
  getAccount(accountId, options) {
    return withReason(nativeOf(this, 'getAccount').getAccount(accountId, options), options)
  },
  deleteAccount(accountId, options) {
    return withReason(nativeOf(this, 'deleteAccount').deleteAccount(accountId, options), options)
  },
  deleteAccountsForApp(app, options) {
    return withReason(nativeOf(this, 'deleteAccountsForApp').deleteAccountsForApp(app, options), options)
  },
  listUsers(args, options) {
    return withReason(nativeOf(this, 'listUsers').listUsers(args, options), options)
  },
  deleteUser(externalUserId, options) {
    return withReason(nativeOf(this, 'deleteUser').deleteUser(externalUserId, options), options)
  },
  createConnectToken(args, options) {
    return withReason(nativeOf(this, 'createConnectToken').createConnectToken(args, options), options)
  },
  validateConnectToken(token, options) {
    return withReason(nativeOf(this, 'validateConnectToken').validateConnectToken(token, options), options)
  },
  parseConnectionWebhook(rawBody, headers) {
    return nativeOf(this, 'parseConnectionWebhook').parseConnectionWebhook(rawBody, headers)
  },
  forget(idempotencyKey) {
    const native = nativeOf(this, 'forget')
    if (typeof idempotencyKey !== 'string') {
      throw typeError('ERR_INVALID_ARG_TYPE', 'forget(idempotencyKey) takes the idempotencyKey string a call was given')
    }
    return native.forget(idempotencyKey)
  },
  getStats() {
    return nativeOf(this, 'getStats').getStats()
  },
  metrics() {
    return nativeOf(this, 'metrics').metrics()
  },
  clearCache() {
    return nativeOf(this, 'clearCache').clearCache()
  },
}
for (const [name, fn] of Object.entries(methods)) {
  const method = {
    [name](...args) {
      const result = fn.apply(this, args)
      return result instanceof Promise && hasLogger(this) ? heldUntilSettled(this, result) : result
    },
  }[name]
  Object.defineProperty(PipedreamClient.prototype, name, { value: method, writable: true, configurable: true })
}

function hasLogger(self) {
  try {
    return self[LOGGER] !== undefined
  } catch {
    return false
  }
}

/** `promise`, holding `client` (and so its logger) until it settles: a call's events still
 * reach the logger of a client nothing else holds (`new PipedreamClient({ logger }).run(…)`). */
function heldUntilSettled(client, promise) {
  return promise.finally(() => {
    void client
  })
}

// A discovery answer the core has cached is asked for synchronously (`cachedAnswer`, a sync
// call of ~1 µs) and parsed here; only a miss takes the async method, whose round trip through
// the runtime costs tens of microseconds. The arguments must be plain (strings, numbers,
// booleans) so that the JSON text the core reads is exactly what the async method would read;
// anything else, and an aborted signal, goes the usual way. On a miss the async method is
// handed that JSON text, which the core reads as the object (as it reads an LLM SDK's
// `arguments`): one string to copy instead of an object to walk on this thread.
function discovery(native, op, args, options, call, asText = false) {
  const probe = cachedAnswer(native, op, args, options, asText)
  if (probe !== null && typeof probe !== 'string') return probe
  return withReason(call(probe === null ? args : probe), options)
}

/**
 * A promise of the cached answer (its text `asText`), or on a miss the arguments' JSON text if
 * it was made, or null.
 */
function cachedAnswer(native, op, args, options, asText) {
  try {
    const signal = options && options.signal
    // A signal the async path refuses (not an AbortSignal) is refused on a hit too.
    if (signal != null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) return null
    if (typeof op !== 'string' || !isPlain(args) || (signal && signal.aborted)) return null
    const text = JSON.stringify(args)
    const json = boundOf(native).cachedAnswer(op, text, asText)
    if (json == null) return text
    const answer = () => (asText ? json : JSON.parse(json))
    // As with fetch, an abort before the answer is handed over (even in the same tick) wins.
    if (!signal) return Promise.resolve(answer())
    return Promise.resolve().then(() => {
      if (signal.aborted) throw abortReason(signal, null)
      return answer()
    })
  } catch {
    // Arguments whose reading throws (a getter, a proxy): the async path reads them and
    // answers with a coded error.
    return null
  }
}

/**
 * What a call rejects with when its signal aborted. A plain `abort()` keeps the documented
 * `AbortError` with `code: 'ABORT_ERR'` (and `maybe_executed` when the run may have been sent);
 * a signal aborted with a reason of its own (`AbortSignal.timeout()`'s TimeoutError, a custom
 * value) rejects with that reason, as `fetch` does, unless the run may have been sent: then
 * the `AbortError` says so and carries the reason as its `cause`.
 */
function abortReason(signal, error) {
  const fallback = () => {
    if (error) return error
    const aborted = new Error('This operation was aborted')
    aborted.name = 'AbortError'
    aborted.code = 'ABORT_ERR'
    return aborted
  }
  try {
    // Only a real AbortSignal's reason is honoured; a look-alike object gets the AbortError.
    if (Object.prototype.toString.call(signal) !== '[object AbortSignal]') return fallback()
    const reason = signal.reason
    // Duck-typed: the default reason is a DOMException from whichever realm made the signal.
    const plain = reason === undefined || (reason !== null && typeof reason === 'object' && reason.name === 'AbortError')
    if (!plain && !(error && error.maybe_executed)) return reason
    const rejected = fallback()
    if (reason !== undefined && rejected.cause === undefined) rejected.cause = reason
    return rejected
  } catch {
    // A reason whose reading throws: the documented AbortError stands.
    return fallback()
  }
}

/** The call's promise, with an abort rejected as `abortReason` says. */
function withReason(promise, holder) {
  let signal
  try {
    signal = holder && typeof holder === 'object' ? holder.signal : undefined
  } catch {
    // The native call read the holder itself and answered for it.
  }
  if (!signal || typeof signal !== 'object') return promise
  return promise.then(undefined, (error) => {
    let aborted = false
    try {
      aborted = signal.aborted === true
    } catch {
      // A hostile signal: its own error stands.
    }
    if (aborted && error && error.name === 'AbortError' && error.code === 'ABORT_ERR') throw abortReason(signal, error)
    throw error
  })
}

/**
 * `args` with a WHATWG `Headers` (what `fetch` and Next.js route handlers give) as the plain
 * record the native call reads; read as an object, it has no own fields and no signature.
 */
function plainHeaders(args) {
  try {
    const headers = args !== null && typeof args === 'object' ? args.headers : undefined
    if (Object.prototype.toString.call(headers) !== '[object Headers]') return args
    const plain = {}
    headers.forEach((value, name) => {
      plain[name] = value
    })
    return { ...args, headers: plain }
  } catch {
    // Arguments whose reading throws: the native call reads them and names the problem.
    return args
  }
}

/** Discovery arguments whose JSON text the core reads exactly as it would read the object. */
function isPlain(args) {
  // Binary data is not a record, and `for…in` over it would make a key per byte.
  if (!isRecord(args)) return false
  for (const key in args) {
    const v = args[key]
    // Not NaN or Infinity either: JSON.stringify would turn them into null. A lone surrogate
    // would be written as an escape the core cannot read; the walk reads it as U+FFFD.
    if (!((typeof v === 'string' && v.isWellFormed()) || typeof v === 'boolean' || Number.isFinite(v))) return false
  }
  return true
}

// A node's config and context (one, or a batch's items) are read by JS when they are plain,
// and handed over as JSON text: the native walk makes dozens of Node-API calls per node (9 per
// object, 4 per key) on this thread, and V8 copies and stringifies a plain node faster (a
// 1,000-item batch was read in 1.6-2.7 ms instead of 4-5; one execute's synchronous part took
// 4.9 µs instead of 6.6). The text must be exactly what the walk would read, so only values
// whose JSON is theirs pass (no NaN, Dates, binary data, proxies, getters that throw, lone
// surrogates, integers past 2^53, own `__proto__` keys), within the walk's own bounds; anything
// else is handed over as it is, and the walk reads it and names what it refuses. Symbol keys
// are not counted against the walk's bound on values here; they are not sent either way.
const LIMITS = binding.__walkLimits()
// Text one handover copies at most, counted as the walk's byte bound counts it here (3 bytes a
// UTF-16 unit): the copy and its JSON hold the items' text twice more while the call starts (a
// batch of 40 MB of text peaked at +205 MB of RSS this way, +108 MB through the walk), so larger
// nodes and batches take the walk, where that copying is not most of the cost anyway.
const HANDOVER_BYTES = 16 * 1024 * 1024
const NOT_PLAIN = Symbol('not plain')
const { isProxy } = require('node:util').types
/** The context fields the engine reads; `variables` and `currentRecord` only by one field. */
const CONTEXT_FIELDS = ['workflowId', 'alias', 'externalUserId', 'idempotencyKey']
const CONTEXT_PICKS = [['variables', 'pipedream_token'], ['currentRecord', 'id']]
/** Every context field the engine reads, by its name in any case and without separators. */
const CONTEXT_KNOWN = new Set([...CONTEXT_FIELDS, ...CONTEXT_PICKS.map(([name]) => name), 'signal'])
const CONTEXT_NAMES = new Set([...CONTEXT_KNOWN].map(loosely))

/** `args.rs`' `loosely`: `external_user_id` and `externalUserId` are both `externaluserid`. */
function loosely(name) {
  return name.replace(/[^A-Za-z0-9]/g, '').toLowerCase()
}

/** `{ config, context }` as the walk's JSON text, or null when the walk must read them. */
function nodeText(config, context) {
  try {
    if (inheritedToJSON()) return null
    const spent = { bytes: 0 }
    const entry = nodeEntry(config, context, spent)
    return entry === NOT_PLAIN || spent.bytes > HANDOVER_BYTES ? null : JSON.stringify(entry)
  } catch {
    // Reading threw (a getter, a proxy trap): the walk reads again and says so.
    return null
  }
}

/** A batch's items as the walk's JSON text, or null when the walk must read them. */
function batchText(items) {
  try {
    if (!Array.isArray(items) || isProxy(items) || items.length > LIMITS.batchItems || inheritedToJSON()) return null
    const entries = new Array(items.length)
    const spent = { bytes: 0 }
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (!isRecord(item) || (entries[i] = nodeEntry(item.config, item.context, spent)) === NOT_PLAIN) return null
      if (spent.bytes > HANDOVER_BYTES) return null
    }
    return JSON.stringify(entries)
  } catch {
    return null
  }
}

/** A `toJSON` every object inherits would change what JSON.stringify writes. */
function inheritedToJSON() {
  return Object.prototype.toJSON !== undefined || Array.prototype.toJSON !== undefined
}

/** `{ config, context }` copied as the walk reads them, or NOT_PLAIN; text copied adds to `spent`. */
function nodeEntry(config, context, spent) {
  const entry = {}
  if (config !== undefined && (entry.config = copy(config, spent)) === NOT_PLAIN) return NOT_PLAIN
  if (context !== undefined && context !== null && (entry.context = pickContext(context, spent)) === NOT_PLAIN) return NOT_PLAIN
  return entry
}

/** A non-array object whose JSON is its own enumerable string keys. */
function isRecord(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isProxy(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** `read_context`: four fields whole, one field each of `variables` and `currentRecord`, and any of them misspelled. */
function pickContext(context, spent) {
  if (!isRecord(context)) return NOT_PLAIN
  const out = {}
  // One of them spelled otherwise (`external_user_id`) is handed over for the engine to refuse:
  // left out, the call would run as the default user, or with no signal.
  for (const key in context) {
    if (CONTEXT_KNOWN.has(key)) continue
    if (CONTEXT_NAMES.has(loosely(key))) out[key] = null
  }
  for (const name of CONTEXT_FIELDS) {
    const value = context[name]
    if (value !== undefined && (out[name] = copy(value, spent)) === NOT_PLAIN) return NOT_PLAIN
  }
  for (const [name, field] of CONTEXT_PICKS) {
    const holder = context[name]
    if (holder === undefined || holder === null) continue
    if (!isRecord(holder)) return NOT_PLAIN
    const picked = {}
    const value = holder[field]
    if (value !== undefined && (picked[field] = copy(value, spent)) === NOT_PLAIN) return NOT_PLAIN
    out[name] = picked
  }
  return out
}

/** A copy of `value` made of plain JSON values only, or NOT_PLAIN; each argument its own budget. */
function copy(value, spent) {
  const budget = { values: LIMITS.values, bytes: LIMITS.bytes }
  const out = copyValue(value, 0, budget)
  spent.bytes += LIMITS.bytes - budget.bytes
  return out
}

function copyValue(value, depth, budget) {
  switch (typeof value) {
    case 'string':
      // Charged at 3 bytes per UTF-16 unit, the most UTF-8 can take: within that, the walk's
      // exact count is within its bound too.
      budget.bytes -= 3 * value.length
      return budget.bytes >= 0 && value.isWellFormed() ? value : NOT_PLAIN
    case 'number':
      return Number.isFinite(value) && (Number.isSafeInteger(value) || !Number.isInteger(value)) ? value : NOT_PLAIN
    case 'boolean':
      return value
    case 'object':
      break
    default:
      return NOT_PLAIN
  }
  if (value === null) return null
  if (depth >= LIMITS.depth || isProxy(value)) return NOT_PLAIN
  if (Array.isArray(value)) {
    const length = value.length
    budget.values -= length
    if (budget.values < 0) return NOT_PLAIN
    const out = new Array(length)
    for (let i = 0; i < length; i++) {
      const item = value[i]
      // As the walk reads a hole or an undefined item: null.
      if ((out[i] = item === undefined ? null : copyValue(item, depth + 1, budget)) === NOT_PLAIN) return NOT_PLAIN
    }
    return out
  }
  if (!isRecord(value)) return NOT_PLAIN
  const keys = Object.keys(value)
  budget.values -= keys.length
  if (budget.values < 0) return NOT_PLAIN
  const out = {}
  for (const key of keys) {
    budget.bytes -= 3 * key.length
    // `out.__proto__ = …` would set the copy's prototype, not a key.
    if (budget.bytes < 0 || key === '__proto__' || !key.isWellFormed()) return NOT_PLAIN
    const item = value[key]
    if (item !== undefined && (out[key] = copyValue(item, depth + 1, budget)) === NOT_PLAIN) return NOT_PLAIN
  }
  return out
}

// The module functions use one default client, configured from the environment, and made
// anew when a `PIPEDREAM_*` variable changes (a `.env` loaded after `require()`, a test that
// points the module elsewhere). When the environment does not configure one, each call fails
// as that call fails: discovery calls and tools answer `PIPEDREAM_INVALID_CONFIG` in their own
// shape, executions reject with it, `getStats`/`metrics` throw the TypeError.
let shared = null

function defaultClient() {
  const vars = envVars()
  const key = JSON.stringify(vars)
  if (!shared || shared.key !== key) {
    try {
      shared = { key, vars, client: new PipedreamClient() }
    } catch (error) {
      shared = { key, vars, error }
    }
  }
  return shared
}

function onDefault(name, failure) {
  const fn = function (...args) {
    const d = defaultClient()
    return d.client ? d.client[name](...args) : failure(d, args)
  }
  Object.defineProperty(fn, 'name', { value: name })
  return fn
}

const failWith = (call) => (d, args) => binding.__configFailure(call, args[0], d.vars)
// A name that is no string is only shown, never converted: an object's `toString` may throw,
// or take seconds (a huge array).
const shownName = (name) =>
  typeof name === 'string'
    ? name
    : name === null || (typeof name !== 'object' && typeof name !== 'function')
      ? String(name)
      : `(${typeof name})`
const toolFailure = (d, [name, args]) => binding.__configFailure(shownName(name), args, d.vars)
const throwIt = (d) => {
  throw d.error
}
const nothing = () => undefined

/**
 * The Connect API emulator as a test double: a real HTTP server on 127.0.0.1 in this process
 * (native, linked into the addon), with the control calls a test needs. See `Emulator` in
 * index.d.ts.
 */
async function startEmulator(options) {
  let isArray = false
  try {
    isArray = Array.isArray(options)
  } catch {
    isArray = true // a revoked Proxy: not an options object either
  }
  if (options !== undefined && (options === null || typeof options !== 'object' || isArray)) {
    throw typeError('ERR_INVALID_ARG_TYPE', 'startEmulator(options): options must be an object such as { accounts }')
  }
  let faults, rest
  try {
    ;({ faults, ...rest } = options || {})
  } catch {
    // A getter or proxy that throws: its exception is not ours to pass on.
    throw typeError('ERR_INVALID_ARG_VALUE', 'startEmulator(options): the options could not be read (reading them threw)')
  }
  const server = await binding.__startEmulator(rest)
  if (server.error !== undefined) {
    const error = new Error(`startEmulator: ${server.error}`)
    error.code = 'PIPEDREAM_EMULATOR_FAILED'
    throw error
  }
  const { id, url, projectId, clientId, clientSecret } = server
  let closed = false
  const control = async (method, route, body) => {
    if (closed) throw typeError('ERR_INVALID_STATE', `emulator ${url} is closed`)
    let sent
    try {
      sent = body === undefined ? undefined : JSON.stringify(body)
    } catch {
      // A BigInt, a cycle, a getter that throws (anything, `undefined` too): not ours to pass on.
      throw typeError('ERR_INVALID_ARG_VALUE', `emulator /__emulator/${route}: the argument cannot be sent as JSON (a BigInt, a cycle, or a getter that throws)`)
    }
    const res = await fetch(`${url}/__emulator/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: sent,
    })
    const text = await res.text()
    if (!res.ok) {
      const error = new Error(`emulator ${method} /__emulator/${route}: ${res.status} ${text}`)
      error.code = 'PIPEDREAM_EMULATOR_CONTROL'
      throw error
    }
    return text ? JSON.parse(text) : null
  }
  // A lone surrogate cannot be percent-encoded (URIError): a coded TypeError instead.
  const component = (name, value) => {
    try {
      return encodeURIComponent(value)
    } catch {
      throw typeError('ERR_INVALID_ARG_VALUE', `emulator: ${name} cannot be put in a URL (a lone surrogate, or a value whose conversion throws)`)
    }
  }
  const emulator = {
    url,
    clientOptions: { baseUrl: url, projectId, clientId, clientSecret },
    runs: async () => (await control('GET', 'runs')).data,
    proxyRequests: async () => (await control('GET', 'proxy')).data,
    triggers: async () => (await control('GET', 'triggers')).data,
    emitTrigger: async (id, event = {}) => (await control('POST', `triggers/${component('id', id)}/emit`, event)).data,
    triggerDeliveries: async () => (await control('GET', 'trigger-deliveries')).data,
    requests: async (pathRegex) =>
      (await control('GET', `requests${pathRegex ? `?path=${component('pathRegex', pathRegex)}` : ''}`)).data,
    fault: async (rules) => (await control('POST', 'faults', rules)).data,
    clearFaults: async () => {
      await control('DELETE', 'faults')
    },
    addAccount: async (account) => (await control('POST', 'accounts', account)).data,
    connect: async (args) => control('POST', 'connect', args),
    webhooks: async () => (await control('GET', 'webhooks')).data,
    reset: async () => {
      await control('POST', 'reset')
    },
    close: async () => {
      closed = true
      await binding.__closeEmulator(id)
    },
  }
  if (faults !== undefined) {
    try {
      await emulator.fault(faults)
    } catch (error) {
      await emulator.close()
      throw error
    }
  }
  return emulator
}

exports.PipedreamClient = PipedreamClient
exports.startEmulator = startEmulator
exports.searchServices = onDefault('searchServices', failWith('searchServices'))
exports.getComponents = onDefault('getComponents', failWith('getComponents'))
exports.getComponent = onDefault('getComponent', failWith('getComponent'))
exports.configureProp = onDefault('configureProp', failWith('configureProp'))
exports.reloadProps = onDefault('reloadProps', failWith('reloadProps'))
exports.handleToolCall = onDefault('handleToolCall', toolFailure)
exports.handleToolCallText = onDefault('handleToolCallText', (d, args) =>
  toolFailure(d, args).then((answer) => JSON.stringify(answer)),
)
exports.executePipedreamConnect = onDefault('executePipedreamConnect', failWith('executePipedreamConnect'))
exports.executeBatch = onDefault('executeBatch', failWith('executeBatch'))
exports.proxyRequest = onDefault('proxyRequest', failWith('proxyRequest'))
exports.downloadStashedFile = onDefault('downloadStashedFile', failWith('downloadStashedFile'))
exports.deployTrigger = onDefault('deployTrigger', failWith('deployTrigger'))
exports.listDeployedTriggers = onDefault('listDeployedTriggers', failWith('listDeployedTriggers'))
exports.getDeployedTrigger = onDefault('getDeployedTrigger', failWith('getDeployedTrigger'))
exports.updateDeployedTrigger = onDefault('updateDeployedTrigger', failWith('updateDeployedTrigger'))
exports.deleteDeployedTrigger = onDefault('deleteDeployedTrigger', failWith('deleteDeployedTrigger'))
exports.listTriggerEvents = onDefault('listTriggerEvents', failWith('listTriggerEvents'))
exports.listTriggerWebhooks = onDefault('listTriggerWebhooks', failWith('listTriggerWebhooks'))
exports.setTriggerWebhooks = onDefault('setTriggerWebhooks', failWith('setTriggerWebhooks'))
exports.regenerateTriggerSigningKey = onDefault('regenerateTriggerSigningKey', failWith('regenerateTriggerSigningKey'))
exports.verifyTriggerWebhook = function verifyTriggerWebhook(args) {
  return binding.verifyTriggerWebhook(plainHeaders(args))
}
exports.triggerWebhookUrl = binding.triggerWebhookUrl
exports.listAccounts = onDefault('listAccounts', failWith('listAccounts'))
exports.getAccount = onDefault('getAccount', failWith('getAccount'))
exports.deleteAccount = onDefault('deleteAccount', failWith('deleteAccount'))
exports.deleteAccountsForApp = onDefault('deleteAccountsForApp', failWith('deleteAccountsForApp'))
exports.listUsers = onDefault('listUsers', failWith('listUsers'))
exports.deleteUser = onDefault('deleteUser', failWith('deleteUser'))
exports.createConnectToken = onDefault('createConnectToken', failWith('createConnectToken'))
exports.validateConnectToken = onDefault('validateConnectToken', failWith('validateConnectToken'))
exports.parseConnectionWebhook = onDefault('parseConnectionWebhook', throwIt)
exports.forget = onDefault('forget', nothing)
exports.getStats = onDefault('getStats', throwIt)
exports.metrics = onDefault('metrics', throwIt)
exports.clearCache = onDefault('clearCache', nothing)
exports.errorCodes = Object.freeze(binding.__errorCodes())
exports.toolDefinitions = binding.toolDefinitions
exports.nodeSchema = binding.nodeSchema
exports.directorPrompt = binding.directorPrompt
// Declared in index.d.ts by napi-rs: internal, but a declared value must exist.
exports.__napiBindingTarget = binding.__napiBindingTarget

function loadError(cause) {
  const { platform, arch } = process
  const abi = platform === 'linux' ? (isMusl() ? 'musl' : 'gnu') : platform === 'win32' ? 'msvc' : ''
  const target = [platform, arch, abi].filter(Boolean).join('-')
  const pkg = `@director/pipedream-connect-${target}`
  const prebuilt = {
    'linux-x64-gnu': 1,
    'linux-arm64-gnu': 1,
    'linux-x64-musl': 1,
    'linux-arm64-musl': 1,
    'darwin-x64': 1,
    'darwin-arm64': 1,
    'win32-x64-msvc': 1,
    'win32-arm64-msvc': 1,
  }
  const reasons = flatten(cause)
    .map((e) => `  - ${String((e && e.message) || e).split('\n')[0]}`)
    .join('\n')
  const help = prebuilt[target]
    ? [
        `The prebuilt binary for ${target} comes in the optional dependency ${pkg}, and it is not installed or did not load.`,
        `- Installed with --omit=optional, --no-optional or optional=false in .npmrc? Install again without it.`,
        `- npm can leave out optional dependencies for a platform other than the one that wrote the lockfile`,
        `  (https://github.com/npm/cli/issues/4828): delete node_modules and package-lock.json and run npm install,`,
        `  or add ${pkg} to your dependencies.`,
        `- Copied node_modules from another OS, CPU or libc (glibc vs musl)? Run npm install on this machine.`,
      ]
    : [
        `There is no prebuilt binary for ${target}. Prebuilt: ${Object.keys(prebuilt).join(', ')}.`,
        `Build from source in a checkout with Rust installed: npm ci && npm run build, then npm install /path/to/checkout`,
        `in your project (a tarball packed from a checkout does not carry the binary).`,
      ]
  const error = new Error(
    `@director/pipedream-connect could not load its native binary for ${target} (Node ${process.version}).\n` +
      `${help.join('\n')}\nWhat was tried:\n${reasons || '  - (nothing)'}`,
    { cause },
  )
  error.code = 'PIPEDREAM_BINDING_NOT_FOUND'
  return error
}

function flatten(error) {
  // The generated loader throws one error whose `cause` chains everything it tried.
  const seen = []
  for (let e = error && error.cause; e && seen.length < 20; e = e.cause) seen.push(e)
  return seen.length ? seen : [error]
}

function isMusl() {
  try {
    return !process.report.getReport().header.glibcVersionRuntime
  } catch {
    return false
  }
}
