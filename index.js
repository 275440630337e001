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

/**
 * A Pipedream Connect client: a connection pool and discovery caches of its own; the rate
 * limiter is shared by every client of one base URL and project. Options left out fall back to
 * the `PIPEDREAM_*` environment variables, then to defaults. See `index.d.ts` for each method.
 */
class PipedreamClient {
  constructor(options) {
    Object.defineProperty(this, NATIVE, { value: new binding.PipedreamClient(options, envVars()) })
  }

  searchServices(args, options) {
    return cachedAnswer(this[NATIVE], 'searchServices', args, options) || this[NATIVE].searchServices(args, options)
  }

  getComponents(args, options) {
    return cachedAnswer(this[NATIVE], 'getComponents', args, options) || this[NATIVE].getComponents(args, options)
  }

  getComponent(args, options) {
    return cachedAnswer(this[NATIVE], 'getComponent', args, options) || this[NATIVE].getComponent(args, options)
  }

  configureProp(args, options) {
    return this[NATIVE].configureProp(args, options)
  }

  reloadProps(args, options) {
    return this[NATIVE].reloadProps(args, options)
  }

  handleToolCall(name, args, options) {
    return cachedAnswer(this[NATIVE], name, args, options) || this[NATIVE].handleToolCall(name, args, options)
  }

  executePipedreamConnect(config, context) {
    return this[NATIVE].executePipedreamConnect(config, context)
  }

  executeBatch(items, options) {
    return this[NATIVE].executeBatch(items, options)
  }

  listAccounts(args, options) {
    return this[NATIVE].listAccounts(args, options)
  }

  forget(idempotencyKey) {
    return this[NATIVE].forget(idempotencyKey)
  }

  getStats() {
    return this[NATIVE].getStats()
  }

  metrics() {
    return this[NATIVE].metrics()
  }

  clearCache() {
    return this[NATIVE].clearCache()
  }
}

// A discovery answer the core has cached is asked for synchronously (`__cachedAnswer`, a sync
// call of ~1 µs) and parsed here; only a miss takes the async method, whose round trip through
// the runtime costs tens of microseconds. The arguments must be plain (strings, numbers,
// booleans) so that the JSON text the core reads is exactly what the async method would read;
// anything else, and an aborted signal, goes the usual way.
function cachedAnswer(native, op, args, options) {
  if (typeof op !== 'string' || !isPlain(args) || (options && options.signal && options.signal.aborted)) return null
  const json = native.__cachedAnswer(op, JSON.stringify(args))
  return json == null ? null : Promise.resolve(JSON.parse(json))
}

function isPlain(args) {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return false
  for (const key in args) {
    const v = args[key]
    // Not NaN or Infinity either: JSON.stringify would turn them into null.
    if (!(typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v))) return false
  }
  return true
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
const throwIt = (d) => {
  throw d.error
}
const nothing = () => undefined

exports.PipedreamClient = PipedreamClient
exports.searchServices = onDefault('searchServices', failWith('searchServices'))
exports.getComponents = onDefault('getComponents', failWith('getComponents'))
exports.getComponent = onDefault('getComponent', failWith('getComponent'))
exports.configureProp = onDefault('configureProp', failWith('configureProp'))
exports.reloadProps = onDefault('reloadProps', failWith('reloadProps'))
exports.handleToolCall = onDefault('handleToolCall', (d, [name, args]) =>
  binding.__configFailure(typeof name === 'string' ? name : String(name), args, d.vars),
)
exports.executePipedreamConnect = onDefault('executePipedreamConnect', failWith('executePipedreamConnect'))
exports.executeBatch = onDefault('executeBatch', failWith('executeBatch'))
exports.listAccounts = onDefault('listAccounts', failWith('listAccounts'))
exports.forget = onDefault('forget', nothing)
exports.getStats = onDefault('getStats', throwIt)
exports.metrics = onDefault('metrics', throwIt)
exports.clearCache = onDefault('clearCache', nothing)
exports.toolDefinitions = binding.toolDefinitions
exports.nodeSchema = binding.nodeSchema
exports.directorPrompt = binding.directorPrompt

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
        `Build from source in a checkout with Rust installed: npm ci && npm run build.`,
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
