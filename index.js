'use strict'
// The package entry. `binding.js` is napi-rs's generated loader: it tries a local build
// (`pipedream-connect.<platform>.node` beside it, as in a checkout) and then this platform's
// package (`@director/pipedream-connect-<platform>`, an optional dependency). When neither loads,
// its error does not say which platform it looked for or what to do; `loadError` does.
try {
  module.exports = require('./binding.js')
} catch (cause) {
  throw loadError(cause)
}
answerCacheHitsAtOnce(module.exports)

// A discovery answer the core has cached is asked for synchronously (`__cachedAnswer`, a sync
// call of ~1 µs) and parsed here; only a miss takes the async method, whose round trip through
// the runtime costs tens of microseconds. The arguments must be plain (strings, numbers,
// booleans) so that the JSON text the core reads is exactly what the async method would read;
// anything else, and an aborted signal, goes the usual way.
function answerCacheHitsAtOnce(binding) {
  const fast = (native, probe, op) =>
    function (args, options) {
      return cachedAnswer(this, probe, op, args, options) || native.call(this, args, options)
    }
  const fastTool = (native, probe) =>
    function (name, args, options) {
      return cachedAnswer(this, probe, name, args, options) || native.call(this, name, args, options)
    }
  const proto = binding.PipedreamClient.prototype
  for (const name of ['searchServices', 'getComponents', 'getComponent']) {
    replace(proto, name, fast(proto[name], proto.__cachedAnswer, name))
    replace(binding, name, fast(binding[name], binding.__cachedAnswer, name))
  }
  replace(proto, 'handleToolCall', fastTool(proto.handleToolCall, proto.__cachedAnswer))
  replace(binding, 'handleToolCall', fastTool(binding.handleToolCall, binding.__cachedAnswer))
  delete binding.__cachedAnswer
}

/** A resolved promise of the cached answer, or null to take the async method. */
function cachedAnswer(self, probe, op, args, options) {
  if (typeof op !== 'string' || !isPlain(args) || (options && options.signal && options.signal.aborted)) return null
  const json = probe.call(self, op, JSON.stringify(args))
  return json == null ? null : Promise.resolve(JSON.parse(json))
}

function replace(target, name, fn) {
  Object.defineProperty(fn, 'name', { value: name })
  Object.defineProperty(target, name, { value: fn, writable: true, configurable: true, enumerable: true })
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
