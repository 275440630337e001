'use strict'
// Runs with every test file (jest.config.js `setupFilesAfterEnv`): it wraps the package so that
// every credential any test hands it (client secrets, tokens in options, node auth_config,
// workflow variables) is remembered, and every message, error and logger event it produces is
// kept; after the file's tests, none of the remembered credentials may appear in what was kept.
const pd = require('../..')

const secrets = new Set()
const seen = []
// Jest re-runs this file for every test file, but the native addon (and so the prototype
// patched below) is loaded once per process: the wrappers look up the current file's sink.
const SINK = Symbol.for('pipedream-connect.secret-scan')
const PROTO = pd.PipedreamClient.prototype
const sink = () => PROTO[SINK]
const remember = (value) => sink().remember(value)
const keep = (value) => sink().keep(value)
const rememberHere = (value) => {
  if (typeof value === 'string' && value.length >= 6) secrets.add(value)
}
const keepHere = (value) => {
  try {
    seen.push(typeof value === 'string' ? value : JSON.stringify(value))
  } catch {
    seen.push(String(value))
  }
}
const keepError = (e) => {
  keep({ message: e && e.message, code: e && e.code, details: e && e.details, stack: e && e.stack })
}

/** A Redis URL's password (raw and decoded) and the URL itself: `store.redis.url` may hold one. */
function rememberRedisUrl(url) {
  if (typeof url !== 'string') return
  remember(url)
  try {
    const { password } = new URL(url)
    remember(password)
    remember(decodeURIComponent(password))
  } catch {
    // Not a URL: the client refuses it, and the whole text was remembered above.
  }
}

function rememberCall(args) {
  for (const a of args) {
    if (!a || typeof a !== 'object') continue
    remember(a.auth_config && a.auth_config.token)
    remember(a.variables && a.variables.pipedream_token)
    if (Array.isArray(a)) for (const item of a) rememberCall([item && item.config, item && item.context])
  }
}

function watched(fn) {
  return function (...args) {
    rememberCall(args)
    let result
    try {
      result = fn.apply(this, args)
    } catch (e) {
      keepError(e)
      throw e
    }
    if (result && typeof result.then === 'function') {
      result.then(
        (v) => keep(v),
        (e) => keepError(e),
      )
    } else if (result !== undefined) {
      keep(result)
    }
    return result
  }
}

const here = { remember: rememberHere, keep: keepHere }
Object.defineProperty(PROTO, SINK, { value: here, writable: true, configurable: true })

const METHODS = [
  'searchServices', 'getComponents', 'getComponent', 'configureProp', 'reloadProps', 'handleToolCall',
  'handleToolCallText', 'executePipedreamConnect', 'executeBatch', 'getStats', 'metrics', 'listAccounts', 'getAccount',
  'deleteAccount', 'deleteAccountsForApp', 'listUsers', 'deleteUser', 'createConnectToken',
  'validateConnectToken', 'parseConnectionWebhook',
]
const proto = pd.PipedreamClient.prototype
if (!proto.__secretScan) {
  Object.defineProperty(proto, '__secretScan', { value: true })
  for (const m of METHODS) if (typeof proto[m] === 'function') proto[m] = watched(proto[m])
  const Native = pd.PipedreamClient
  pd.PipedreamClient = new Proxy(Native, {
    construct(target, [options]) {
      if (options && typeof options === 'object') {
        remember(options.clientSecret)
        remember(options.token)
        try {
          rememberRedisUrl(options.store && options.store.redis && options.store.redis.url)
        } catch {
          // Options whose reading throws: the client names them, and they carry no URL here.
        }
        const logger = options.logger
        // A logger that is not a function is passed on as it is, for the addon to refuse.
        if (logger === undefined || logger === null || typeof logger === 'function') {
          options = { ...options, logger: (event) => {
            keep(event)
            if (typeof logger === 'function') logger(event)
          } }
        }
      }
      try {
        return new target(options)
      } catch (e) {
        keepError(e)
        throw e
      }
    },
  })
}

/** The remembered credentials that occur in `text`. */
function leaked(known, text) {
  return [...known].filter((s) => text.includes(s))
}

for (const m of METHODS) {
  if (typeof pd[m] === 'function' && !pd[m].__watched) {
    pd[m] = watched(pd[m])
    pd[m].__watched = true
  }
}

afterAll(async () => {
  // Let the last logger events arrive.
  await new Promise((r) => setTimeout(r, 50))
  // The module functions' default client reads it from the environment.
  rememberRedisUrl(process.env.PIPEDREAM_REDIS_URL)
  const found = leaked(secrets, seen.join('\n'))
  if (found.length) {
    throw new Error(`credentials appeared in messages, errors or log events: ${found.map((s) => s.slice(0, 4) + '…').join(', ')}`)
  }
})

module.exports = { leaked, secrets, seen, remember, keep, rememberRedisUrl }
