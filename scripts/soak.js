'use strict'
// Soak test: many executePipedreamConnect calls at high concurrency against the Connect API
// emulator with injected faults, then checks that every call settled, that no action ran twice
// (the run journal is matched to calls by a marker in each call's params) and that memory stayed
// flat. The last line of output is `N passed, M failed`; the exit status is non-zero when M > 0.
//
//   npm run soak                                   # 20,000 calls, 200 in flight, ~5 % faults
//   node --expose-gc scripts/soak.js --count 2000 --concurrency 100 --fault-rate 0.1 --seed 7
const path = require('node:path')
const { parseArgs } = require('node:util')
const { emulatorBin, spawnEmulator } = require('./emulator')
const { seededRandom } = require('./random')

const ROOT = path.resolve(__dirname, '..')
const BIN = emulatorBin()
const USER = 'soak-user'
const COMPONENT = 'slack-send-message'
const CHANNEL = 'C04YZIXCO0E'
const FAIL_VALUE = '__emulator_fail__'
const RSS_LIMIT_MB = 50
const MB = 1024 * 1024

// ---------------------------------------------------------------------------------------------
// Options

function readOptions() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '200' },
      'fault-rate': { type: 'string', default: '0.05' },
      seed: { type: 'string', default: '1' },
      'timeout-s': { type: 'string', default: '600' },
    },
    strict: true,
    allowPositionals: false,
  })
  const int = (name, min, max) => {
    const v = Number(values[name])
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`)
    return v
  }
  const rate = Number(values['fault-rate'])
  if (!Number.isFinite(rate) || rate < 0 || rate >= 1) throw new Error('--fault-rate must be a number in [0, 1)')
  return {
    count: int('count', 1, 1_000_000),
    concurrency: int('concurrency', 1, 10_000),
    faultRate: rate,
    seed: int('seed', 0, 2 ** 32 - 1),
    timeoutMs: int('timeout-s', 1, 24 * 3600) * 1000,
  }
}

// ---------------------------------------------------------------------------------------------
// The emulator, in its own process

function startEmulator(seed) {
  return spawnEmulator(BIN, ['--seed', String(seed), '--account', `${USER}:slack`])
}

async function control(emu, method, route, body) {
  const res = await fetch(`${emu.url}/__emulator/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`emulator ${method} ${route}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

// ---------------------------------------------------------------------------------------------
// Faults: about `rate` of all API requests are hit. Reads (the component definition and the
// account lookup) get 503s, which the addon retries. On the run endpoint five kinds share the
// rate with `__emulator_fail__` params, a sixth each: 429 (retried: the action did not run),
// 500 after the handler ran (maybe_executed, must not be re-sent), a connection reset
// (maybe_executed), and two unreadable 200s after the handler ran, a truncated body and an HTML
// page (maybe_executed: the action ran, and its answer was lost). Rules on one path are tried
// in order and a rule that loses its roll passes to the next, so the later rules'
// probabilities are conditional on the earlier ones missing.
const SHARES = 6

function faultRules(rate) {
  if (rate === 0) return []
  const share = rate / SHARES
  const chained = (k) => share / (1 - k * share) // P(k-th rule hits | the k before it missed)
  const run = { path: '/actions/run$', method: 'POST' }
  return [
    { path: `/components/${COMPONENT}$`, method: 'GET', status: 503, probability: rate },
    { path: '/accounts$', method: 'GET', status: 503, probability: rate },
    { ...run, status: 429, retry_after: 1, probability: chained(0) },
    { ...run, status: 500, when: 'after', probability: chained(1) },
    { ...run, reset: true, probability: chained(2) },
    { ...run, malformed: 'truncated', when: 'after', probability: chained(3) },
    { ...run, malformed: 'html', when: 'after', probability: chained(4) },
  ]
}

// ---------------------------------------------------------------------------------------------

const rssMb = () => process.memoryUsage().rss / MB
const gc = () => {
  if (typeof global.gc === 'function') global.gc()
}
const fmt = (n, d = 1) => n.toFixed(d)

async function main() {
  const opts = readOptions()
  const started = Date.now()
  const globalFailures = []
  const notes = []
  if (typeof global.gc !== 'function') notes.push('run without --expose-gc: RSS figures are taken without a forced GC')

  const { PipedreamClient } = require(ROOT)
  const emu = await startEmulator(opts.seed)
  let emulatorExit = null
  emu.child.on('exit', (code, signal) => {
    emulatorExit = code ?? signal
  })
  const stopOnSignal = (sig) => {
    emu.child.kill('SIGTERM')
    process.exit(sig === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnSignal)

  try {
    return await soak(opts, emu, PipedreamClient, started, globalFailures, notes, () => emulatorExit)
  } finally {
    await emu.stop()
  }
}

async function soak(opts, emu, PipedreamClient, started, globalFailures, notes, emulatorExit) {
  const { count, concurrency, faultRate, seed, timeoutMs } = opts
  const rules = faultRules(faultRate)
  if (rules.length) await control(emu, 'POST', 'faults', { rules })

  const client = new PipedreamClient({
    baseUrl: emu.url,
    projectId: 'proj_emulator',
    clientId: 'emulator-client',
    clientSecret: 'emulator-secret',
    externalUserId: USER,
    // No discovery cache, so every call reads the component (and, as always, the account).
    cache: { ttlMs: 0 },
    rateLimit: { enabled: false },
    // A 429's Retry-After (1 s) is capped by maxDelayMs.
    retry: { minDelayMs: 10, maxDelayMs: 200 },
  })

  // Which calls carry `__emulator_fail__`, reproducible from --seed.
  const random = seededRandom(seed)
  const designedToFail = Array.from({ length: count }, () => random() < faultRate / SHARES)
  // Every other call carries an idempotency key, so both kinds of call meet every fault.
  const keyOf = (i) => (i % 2 === 0 ? `soak-key-${i}` : undefined)
  // Per call: 'ok' | code string | 'UNCODED'; what a rejection said; whether the result echoed
  // the call's own marker. Error and result objects are not kept (they would weigh on RSS).
  const outcome = new Array(count).fill(null)
  const maybeExecuted = new Uint8Array(count)
  const echoOk = new Uint8Array(count)
  const uncodedSamples = []

  const warmupAt = Math.min(1000, Math.max(1, Math.floor(count / 2)))
  let warmupRss = null
  let settled = 0
  let next = 0
  let timedOut = false
  const inFlight = new Set()

  const begun = new Uint8Array(count)
  const runOne = async (i) => {
    begun[i] = 1
    const marker = `soak-${i}`
    const controller = new AbortController()
    inFlight.add(controller)
    try {
      const res = await client.executePipedreamConnect(
        {
          component_id: COMPONENT,
          params: { conversation: designedToFail[i] ? FAIL_VALUE : CHANNEL, text: marker },
          store: { 'message.text': 'sent_text' },
        },
        { workflowId: 'soak', alias: 'send', signal: controller.signal, idempotencyKey: keyOf(i) },
      )
      outcome[i] = 'ok'
      echoOk[i] = res?.result?.message?.text === marker && res?.stored?.sent_text === marker ? 1 : 0
    } catch (e) {
      if (e instanceof Error && typeof e.code === 'string' && e.code) {
        outcome[i] = e.code
        if (e.maybe_executed === true) maybeExecuted[i] = 1
      } else {
        outcome[i] = 'UNCODED'
        if (uncodedSamples.length < 5) uncodedSamples.push(`soak-${i}: ${String(e && (e.stack || e))}`.slice(0, 500))
      }
    } finally {
      inFlight.delete(controller)
      settled++
      if (settled === warmupAt) {
        gc()
        warmupRss = rssMb()
      }
    }
  }

  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000
    process.stderr.write(`[soak] ${settled}/${count} settled, ${inFlight.size} in flight, ${fmt(s)} s, rss ${fmt(rssMb())} MB\n`)
  }, 5000)

  // A global deadline: in-flight calls are aborted; if they still do not settle, give up.
  let deadlineTimer
  let giveUpTimer
  let giveUp
  const gaveUp = new Promise((resolve) => {
    giveUp = resolve
  })
  deadlineTimer = setTimeout(() => {
    timedOut = true
    next = count // start nothing new
    process.stderr.write(`[soak] global timeout after ${timeoutMs / 1000} s: aborting ${inFlight.size} in-flight calls\n`)
    for (const c of inFlight) c.abort()
    giveUpTimer = setTimeout(giveUp, 30_000, 'gave-up')
  }, timeoutMs)

  const runStarted = Date.now()
  const worker = async () => {
    while (next < count) await runOne(next++)
  }
  const pool = Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  const poolResult = await Promise.race([pool.then(() => 'done'), gaveUp])
  const runSeconds = (Date.now() - runStarted) / 1000
  clearInterval(progress)
  clearTimeout(deadlineTimer)
  clearTimeout(giveUpTimer)

  // ---- redelivery: a queue sends every keyed maybe_executed call again with its key ----------
  // The key must answer with the kept failure, and nothing may run again (checked in the
  // journal below, with every other duplicate).
  let redelivered = 0
  if (!timedOut) {
    const again = []
    for (let i = 0; i < count; i++) if (keyOf(i) && maybeExecuted[i]) again.push(i)
    for (const i of again) {
      redelivered++
      try {
        await client.executePipedreamConnect(
          { component_id: COMPONENT, params: { conversation: designedToFail[i] ? FAIL_VALUE : CHANNEL, text: `soak-${i}` } },
          { idempotencyKey: keyOf(i) },
        )
        globalFailures.push(`soak-${i}: redelivered with its key after maybe_executed, and it fulfilled`)
      } catch (e) {
        if (!(e && e.maybe_executed === true)) {
          globalFailures.push(`soak-${i}: redelivered with its key, answered ${e && e.code} without maybe_executed`)
        }
      }
    }
  }

  gc()
  const endRss = rssMb()

  if (timedOut) globalFailures.push(`global timeout (${timeoutMs / 1000} s) reached with ${count - settled} calls not settled in time`)
  if (poolResult === 'gave-up') globalFailures.push(`${count - settled} calls never settled, even after being aborted`)
  if (emulatorExit() !== null) globalFailures.push(`the emulator exited during the run (${emulatorExit()})`)

  // ---- the emulator's view ------------------------------------------------------------------
  let runs = []
  let runRequests = []
  let faultHits = []
  try {
    runs = (await control(emu, 'GET', 'runs')).data
    runRequests = (await control(emu, 'GET', `requests?path=${encodeURIComponent('/actions/run$')}`)).data
    faultHits = (await control(emu, 'GET', 'faults')).data
  } catch (e) {
    globalFailures.push(`could not read the emulator's journal: ${e.message}`)
  }
  if (runs.length && (runs[0].seq !== 1 || runs[runs.length - 1].seq !== runs.length)) {
    globalFailures.push(`the run journal is incomplete (seq ${runs[0].seq}..${runs[runs.length - 1].seq}, ${runs.length} entries)`)
  }

  const runsOf = new Uint16Array(count)
  const runOk = new Uint8Array(count)
  let foreignRuns = 0
  for (const r of runs) {
    const m = /^soak-(\d+)$/.exec(r.configured_props?.text ?? '')
    const i = m ? Number(m[1]) : -1
    if (i < 0 || i >= count) {
      foreignRuns++
      continue
    }
    runsOf[i]++
    if (r.outcome === 'ok') runOk[i] = 1
  }
  if (foreignRuns) globalFailures.push(`${foreignRuns} journal runs carry no marker of this soak`)

  // ---- per call -----------------------------------------------------------------------------
  const byOutcome = new Map()
  const failures = new Map() // reason -> { n, examples }
  const fail = (reason, i) => {
    const f = failures.get(reason) ?? { n: 0, examples: [] }
    f.n++
    if (f.examples.length < 5) f.examples.push(`soak-${i}`)
    failures.set(reason, f)
  }
  let passed = 0
  let duplicates = 0
  let meRan = 0
  let meNotRan = 0
  for (let i = 0; i < count; i++) {
    const o = outcome[i] ?? (begun[i] ? 'NOT_SETTLED' : 'NOT_STARTED')
    const key = o === 'ok' ? 'fulfilled' : maybeExecuted[i] ? `${o} (maybe_executed)` : o
    byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1)
    const n = runsOf[i]
    if (n > 1) duplicates++
    let problem = null
    if (o === 'NOT_SETTLED') problem = 'never settled'
    else if (o === 'NOT_STARTED') problem = 'not started before the global timeout'
    else if (o === 'UNCODED') problem = 'rejected with something other than an Error with a string code'
    else if (n > 1) problem = maybeExecuted[i] ? 'maybe_executed call ran more than once (re-sent)' : `ran ${n} times`
    else if (o === 'ok') {
      if (n !== 1) problem = 'fulfilled but not in the run journal'
      else if (!runOk[i]) problem = 'fulfilled but the journaled run failed'
      else if (designedToFail[i]) problem = `fulfilled although its params carry ${FAIL_VALUE}`
      else if (!echoOk[i]) problem = "fulfilled with another call's result (marker not echoed)"
    } else if (maybeExecuted[i]) {
      if (n === 1) meRan++
      else meNotRan++
    } else if (o === 'PIPEDREAM_ACTION_FAILED') {
      if (n !== 1) problem = 'PIPEDREAM_ACTION_FAILED but not run exactly once'
      else if (!designedToFail[i]) problem = `PIPEDREAM_ACTION_FAILED without ${FAIL_VALUE}`
    } else if (n !== 0 && o !== 'ABORT_ERR') {
      problem = `${o} without maybe_executed, yet the action ran`
    }
    if (problem) fail(problem, i)
    else passed++
  }

  // ---- the request log must agree with what the calls reported -----------------------------
  const runStatus = new Map()
  for (const r of runRequests) runStatus.set(r.status, (runStatus.get(r.status) ?? 0) + 1)
  const countWhere = (pred) => {
    let n = 0
    for (let i = 0; i < count; i++) if (pred(i)) n++
    return n
  }
  // (Skipped after a timeout: an aborted call's run request may have been faulted too.)
  if (runRequests.length && !timedOut) {
    const me500 = countWhere((i) => maybeExecuted[i] && outcome[i] === 'PIPEDREAM_SERVER_ERROR')
    const meReset = countWhere((i) => maybeExecuted[i] && outcome[i] === 'PIPEDREAM_NETWORK')
    if ((runStatus.get(500) ?? 0) !== me500)
      globalFailures.push(`${runStatus.get(500) ?? 0} run requests answered 500 but ${me500} calls reported SERVER_ERROR with maybe_executed`)
    if ((runStatus.get(0) ?? 0) !== meReset)
      globalFailures.push(`${runStatus.get(0) ?? 0} run requests were reset but ${meReset} calls reported NETWORK with maybe_executed`)
    if (runs.length + (runStatus.get(429) ?? 0) + (runStatus.get(0) ?? 0) !== runRequests.length)
      notes.push(`run requests (${runRequests.length}) != journal runs (${runs.length}) + 429s + resets`)
  }

  // ---- memory -------------------------------------------------------------------------------
  if (warmupRss === null) globalFailures.push('the warm-up RSS was never taken')
  else if (endRss - warmupRss > RSS_LIMIT_MB)
    globalFailures.push(`RSS grew by ${fmt(endRss - warmupRss)} MB after warm-up (limit ${RSS_LIMIT_MB} MB)`)

  // ---- summary ------------------------------------------------------------------------------
  const lines = []
  lines.push(`soak: ${count} executions of ${COMPONENT}, concurrency ${concurrency}, fault rate ${faultRate}, seed ${seed}`)
  lines.push(`calls designed to fail (${FAIL_VALUE}): ${designedToFail.filter(Boolean).length}`)
  lines.push('outcomes:')
  for (const [k, v] of [...byOutcome].sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(44)} ${v}`)
  lines.push(`maybe_executed calls: ${meRan + meNotRan} (ran once: ${meRan}, did not run: ${meNotRan})`)
  lines.push(`journal runs: ${runs.length}; markers run more than once: ${duplicates}`)
  lines.push(`keyed maybe_executed calls redelivered with their key: ${redelivered}`)
  lines.push(
    `run requests: ${runRequests.length} (${[...runStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === 0 ? 'reset' : s}: ${n}`).join(', ')})`,
  )
  if (faultHits.length) {
    lines.push('fault hits:')
    for (const r of faultHits) {
      const what = `${r.reset ? 'reset' : r.malformed ? `200 ${r.malformed}` : r.status}${r.when === 'after' ? ' after' : ''}`
      lines.push(`  ${`${r.method} ${r.path}`.padEnd(44)} ${what.padEnd(20)} p=${fmt(r.probability, 4)}  hits ${r.hits}`)
    }
  }
  lines.push(
    `rss: warm-up (after ${warmupAt}) ${warmupRss === null ? 'n/a' : fmt(warmupRss)} MB, end ${fmt(endRss)} MB, growth ${warmupRss === null ? 'n/a' : fmt(endRss - warmupRss)} MB (limit ${RSS_LIMIT_MB} MB)`,
  )
  lines.push(`time: ${fmt(runSeconds)} s for the calls, ${fmt(settled / runSeconds)} calls/s; ${fmt((Date.now() - started) / 1000)} s in all`)
  for (const n of notes) lines.push(`note: ${n}`)
  for (const [reason, f] of failures) lines.push(`FAIL ${f.n} × ${reason} (e.g. ${f.examples.join(', ')})`)
  for (const s of uncodedSamples) lines.push(`  uncoded: ${s}`)
  for (const g of globalFailures) lines.push(`FAIL ${g}`)
  const failed = count - passed + globalFailures.length
  lines.push(`${passed} passed, ${failed} failed`)
  console.log(lines.join('\n'))
  return failed
}

main().then(
  (failed) => {
    process.exitCode = failed > 0 ? 1 : 0
    // The addon must not keep Node alive; if something does, still stop.
    setTimeout(() => {
      process.stderr.write('[soak] something kept the process alive after the summary; exiting\n')
      process.exit(process.exitCode)
    }, 5000).unref()
  },
  (e) => {
    console.error(e && e.stack ? e.stack : e)
    console.log('0 passed, 1 failed')
    process.exit(1)
  },
)
