#!/usr/bin/env node
'use strict'
// The side-by-side benchmark (issue 7). Against one emulator process, the same calls through:
//   ours     this package (a PipedreamClient, rate limiter off so it never waits),
//   plan-js  the integration plan's code as plain JS (bench/baseline/plan-js.js),
//   sdk      the plan's handlers on the official @pipedream/sdk (bench/baseline/sdk.js),
//   ceiling  wrk on the same endpoint at the same concurrency: the loopback limit.
// Sides are interleaved within each round (A B C, then B C A, …) so drift in machine load hits
// them alike; a row shows per-side medians over rounds and the median and min–max of the
// per-round ratios. Prints one markdown table and writes the same data as JSON.
//
//   npm run bench                        # builds, then: node --expose-gc bench/run.js
//   node --expose-gc bench/run.js --quick                  # CI: every scenario once, small
//   node --expose-gc bench/run.js --rounds 3 --only execute --json /tmp/bench.json
const { execFile, spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { parseArgs, promisify } = require('node:util')
const { PlanJsClient } = require('./baseline/plan-js')
const { lazyClients } = require('./clients')
const { bounds, line, render } = require('./bounds')
const { wrkAvailable } = require('./ceiling')
const { mainThreadCpuNs, spread, watchServer } = require('./measure')
const { scenarios, missKeys, warmUp, actionsList, runBody, runPath } = require('./scenarios')
const { emulatorBin, spawnEmulator } = require('../scripts/emulator')
const { RedisServer } = require('../scripts/redis')

const execFileAsync = promisify(execFile)

const ROOT = path.resolve(__dirname, '..')
const BIN = emulatorBin('release')
const FLOOR_BIN = `transport-floor${process.platform === 'win32' ? '.exe' : ''}`
const USER = 'bench-user'
const PROJECT = 'proj_emulator'
const CREDENTIALS = { clientId: 'emulator-client', clientSecret: 'emulator-secret' }
const SIDES = ['ours', 'undici', 'plan-js', 'sdk']
const MB = 1024 * 1024
const HIT = { query: 'mail', limit: 20 }

// Misuse exits 2, a missing tool 1; both are one line without a stack.
const usage = (message) => Object.assign(new Error(message), { plain: true, status: 2 })
const missing = (message) => Object.assign(new Error(message), { plain: true, status: 1 })

function readOptions() {
  const { values } = parseArgsOrUsage({
    options: {
      quick: { type: 'boolean', default: false },
      isolated: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      redis: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    console.log(`Usage: node --expose-gc bench/run.js [--quick] [--rounds N] [--only TEXT] [--json PATH]

  --quick       every scenario once with few calls (CI: checks the harness, judges nothing)
  --isolated    each side alone in a fresh process per sample (bench/side.js), instead of all
                sides interleaved in this one
  --rounds N    interleaved rounds (default 5; 1 with --quick)
  --only TEXT   only scenarios whose name contains TEXT (case-insensitive)
  --json PATH   write the results there instead of bench/results/<timestamp>.json
  --redis       also measure the rate limiter in Redis (store.redis) against the local one,
                with a redis-server started on a free port (needs redis-server installed)

Env: PIPEDREAM_EMULATOR_BIN (default target/release/pipedream-emulator), WRK_BIN (default wrk).`)
    process.exit(0)
  }
  const rounds = values.rounds === undefined ? (values.quick ? 1 : 5) : Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) throw usage('--rounds must be an integer from 1 to 100')
  return {
    quick: values.quick,
    isolated: values.isolated,
    rounds,
    only: values.only?.toLowerCase(),
    json: values.json,
    redis: values.redis,
  }
}

/** The newest file under `paths` (files or folders, from ROOT): its path and mtime. */
function newestSource(paths) {
  let found = { file: null, mtimeMs: 0 }
  const visit = (file) => {
    const st = fs.statSync(file, { throwIfNoEntry: false })
    if (!st) return
    if (st.isDirectory()) return fs.readdirSync(file).forEach((name) => visit(path.join(file, name)))
    if (st.mtimeMs > found.mtimeMs) found = { file, mtimeMs: st.mtimeMs }
  }
  paths.forEach((p) => visit(path.join(ROOT, p)))
  return found
}

/**
 * Refuses a build older than its sources before any sample: a stale addon or emulator measures
 * other code than the checkout's, and a stale transport-floor failed only at the end of a
 * 17-minute run.
 */
function checkBuilt(file, sources, build) {
  const built = fs.statSync(file, { throwIfNoEntry: false })
  const source = newestSource(sources)
  if (built && source.mtimeMs > built.mtimeMs) {
    const rel = (f) => path.relative(ROOT, f)
    throw missing(`${rel(file)} is older than ${rel(source.file)}: rebuild it with ${build}`)
  }
}

// ---------------------------------------------------------------------------------------------
// The emulator, in its own process

function startEmulator() {
  if (!fs.existsSync(BIN)) {
    const build = '`cargo build --release -p pipedream-emulator`'
    throw missing(`no emulator at ${BIN}: build it with ${build} or set PIPEDREAM_EMULATOR_BIN`)
  }
  return spawnEmulator(BIN, ['--project-id', PROJECT, '--account', `${USER}:slack`])
}

// ---------------------------------------------------------------------------------------------
// Setup: what the scenarios need to know about the emulator's catalog

/** The app with the most actions, counted with the list endpoint's `total_count`. */
async function biggestApp(plan, apps) {
  let best = null
  for (const app of apps) {
    const page = await plan.get(`/v1/connect/${PROJECT}/actions?app=${app.name_slug}&limit=1`)
    const actions = page.page_info.total_count
    if (!best || actions > best.actions) best = { slug: app.name_slug, actions }
  }
  return best
}

async function allApps(plan) {
  const apps = []
  let after = null
  do {
    const page = await plan.get(`/v1/connect/apps?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`)
    apps.push(...page.data)
    after = page.page_info.end_cursor
  } while (after)
  return apps
}

// ---------------------------------------------------------------------------------------------
// Measuring

const valueOf = (unit, sample) => (unit === 'µs/call' ? sample.usPerCall : sample.rate)

/**
 * `sample(side, n)`: one sample of `n` calls. Shared mode calls the side here (warmed once up
 * front); isolated mode starts a fresh process per sample, which warms itself up.
 */
async function measureScenario(sc, rounds, isolated, quick) {
  // The usual sides in their order, then any a row adds (a second ours under another condition).
  const sides = [...SIDES.filter((s) => sc.sides[s]), ...Object.keys(sc.sides).filter((s) => !SIDES.includes(s))]
  const samples = Object.fromEntries(sides.map((s) => [s, []]))
  const ceiling = []
  if (!isolated) for (const s of sides) await warmUp(sc, s, quick)
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => sides[(i + r) % sides.length])
    for (const s of order) samples[s].push(isolated ? await isolated(sc.name, s) : await sc.sides[s](sc.n))
    if (sc.ceiling) ceiling.push(await sc.ceiling.run())
    process.stderr.write('.')
  }
  const rows = [row(sc.name, sc.unit, samples, ceiling, sc.ceiling?.label, sc.targets, (x) => valueOf(sc.unit, x))]
  if (sc.cpu) {
    // Without schedstat (not Linux) the event loop's active time stands in for main-thread CPU.
    const threadCpu = mainThreadCpuNs() !== null
    const { main = [], process: processTargets = [] } = sc.cpuTargets || {}
    const subRow = (name, unit, targets, pick) => row(`  ↳ ${name}`, unit, samples, [], null, targets, pick)
    const measured = (pick) => Object.values(samples).some((xs) => xs.some((x) => pick(x) != null))
    if (threadCpu) rows.push(subRow('main-thread CPU per call', 'µs/call', main, (x) => x.mainCpuUs))
    const elu = 'event-loop active time per call (ELU: wall time, counts waits for a CPU)'
    rows.push(subRow(elu, 'µs/call', threadCpu ? [] : main, (x) => x.eluActiveUs))
    const processCpu = 'process CPU per call (all threads, our native runtime included)'
    rows.push(subRow(processCpu, 'µs/call', processTargets, (x) => x.procCpuUs))
    const server = 'emulator CPU per call (another process on the same cores: the server side of the same calls)'
    if (measured((x) => x.serverCpuUs)) {
      rows.push(subRow(server, 'µs/call', [], (x) => x.serverCpuUs))
    }
    // A batch is one call from JS; its items' latencies are not seen from here.
    if (measured((x) => x.p50Us)) {
      rows.push(subRow('latency p50', 'µs', [], (x) => x.p50Us))
      rows.push(subRow('latency p99', 'µs', [], (x) => x.p99Us))
    }
  }
  // A row comparing ours with itself under another condition shows that side in the reference
  // column, and the ratio to it in the ceiling's.
  if (sc.reference) {
    for (const r of rows) {
      r.values.ceiling = r.values[sc.reference]
      if (r.ratios[sc.reference]) r.ratios.ceiling = r.ratios[sc.reference]
      r.ceilingLabel = sc.reference
    }
  }
  return rows
}

/** One table row: per-side medians, per-round ratios of ours to each other side, targets. */
function row(scenario, unit, samples, ceilingSamples, ceilingLabel, targets, pick) {
  const perRound = Object.fromEntries(Object.entries(samples).map(([s, xs]) => [s, xs.map(pick)]))
  if (ceilingSamples.length) perRound.ceiling = ceilingSamples.map((x) => valueOf(unit, x))
  const values = Object.fromEntries(Object.entries(perRound).map(([s, xs]) => [s, spread(xs)?.median ?? null]))
  const ratios = {}
  // Every other side: plan-js, the SDK and the ceiling, or a second ours (a row comparing
  // ours with itself under another condition).
  for (const other of Object.keys(perRound).filter((s) => s !== 'ours')) {
    if (!perRound.ours || !perRound[other]) continue
    ratios[other] = spread(perRound.ours.map((x, i) => x / perRound[other][i]))
  }
  return {
    scenario,
    unit,
    values,
    perRound,
    ratios,
    ceilingLabel: ceilingSamples.length ? ceilingLabel : null,
    targets: judge(targets, ratios),
  }
}

function judge(targets, ratios) {
  return targets.map((t) => {
    const r = ratios[t.vs]
    const pass = r ? (t.op === '>=' ? r.median >= t.x : r.median <= t.x) : null
    return { ...t, pass }
  })
}

/** Runs `script` in a fresh `node --expose-gc`, `input` as JSON on stdin; its last stdout line as JSON. */
async function child(script, input) {
  const proc = spawn(process.execPath, ['--expose-gc', path.join(__dirname, script)], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  proc.stdout.on('data', (d) => {
    out += d
  })
  const done = new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/${script} exited ${code}`))))
  })
  // A child that dies early breaks the pipe; its exit status is the error to report.
  proc.stdin.on('error', () => {})
  proc.stdin.end(JSON.stringify(input))
  await done
  return JSON.parse(out.trim().split('\n').pop())
}

/** `count` cached answers in a fresh process (bench/rss.js). */
async function measureRss(emu, keys, count) {
  const options = { baseUrl: emu.url, ...CREDENTIALS, projectId: PROJECT, rateLimit: { enabled: false } }
  const r = await child('rss.js', { options, keys: keys.slice(0, count), count, concurrency: 64 })
  const ratio = { median: r.ratio, min: r.ratio, max: r.ratio, n: 1 }
  return {
    scenario: `RSS growth, ${count.toLocaleString('en-US')} cached searchServices answers`,
    unit: 'MB',
    values: { ours: r.rssBytes / MB, ceiling: r.jsonBytes / MB },
    ceilingLabel: 'their JSON',
    ratios: { ceiling: ratio },
    targets: judge([{ vs: 'ceiling', op: '<=', x: 2 }], { ceiling: ratio }),
    detail: r,
  }
}

/**
 * RSS per pending call: `count` runs the emulator holds, for ours and undici, each alone in a
 * fresh process (bench/pending.js), `rounds` samples each. The delay outlasts the settle time.
 */
async function measurePending(emu, base, account, count, rounds) {
  const faults = `${emu.url}/__emulator/faults`
  const rule = { path: `^/v1/connect/${PROJECT}/actions/run$`, method: 'POST', delay_ms: 60_000 }
  const res = await fetch(faults, { method: 'POST', body: JSON.stringify(rule) })
  if (!res.ok) throw new Error(`could not add the delay fault: ${res.status} ${await res.text()}`)
  const send = {
    ours: { component_id: 'slack-send-message', auth_config: { account_id: account }, params: { conversation: 'C1', text: 'x' } },
    js: { component_id: 'slack-send-message', app: 'slack', account_id: account, params: { conversation: 'C1', text: 'x' } },
  }
  try {
    // Every sample as pending.js reported it (the JS heap's share too), for the results' JSON.
    const { samples, detail } = await alone('pending.js', { base, send, count, settleMs: 1500 }, rounds, 'perCallBytes')
    const name = `  RSS per pending call (${count.toLocaleString('en-US')} runs in flight)`
    return { ...row(name, 'KB', samples, [], null, [{ vs: 'undici', op: '<=', x: 1 }], (x) => x), detail }
  } finally {
    await fetch(faults, { method: 'DELETE' })
  }
}

/** RSS per idle client: `count` clients made and kept, for ours and undici (bench/idle.js). */
async function measureIdle(base, count, rounds) {
  const { samples, detail } = await alone('idle.js', { base, count }, rounds, 'perClientBytes')
  const name = `RSS per idle client (${count.toLocaleString('en-US')} clients made and kept)`
  return { ...row(name, 'KB', samples, [], null, [], (x) => x), detail }
}

/**
 * The thread handoff floor (bench/handoff.js): a round trip from the main thread to a worker
 * thread that works 50 µs, with that worker asleep between calls or spinning, `rounds` fresh
 * processes each. The main thread's CPU per round trip, in the reference column, with the wall
 * time per round trip in its label.
 */
async function measureHandoff(n, rounds) {
  const busyUs = 50
  const modes = [
    { awake: true, what: 'woken once (the worker spins between calls, as ours stays awake)' },
    { awake: false, what: 'wakes the sleeping worker, then is woken' },
  ]
  const rows = []
  for (const { awake, what } of modes) {
    const detail = []
    for (let r = 0; r < rounds; r++) detail.push(await child('handoff.js', { awake, n, warm: Math.ceil(n / 10), busyUs }))
    const wall = spread(detail.map((d) => d.wallUs)).median
    rows.push(
      referenceRow(
        `thread handoff, c=1: main-thread CPU per round trip to a worker thread that works ${busyUs} µs; the main thread ${what}`,
        detail.map((d) => d.mainCpuUs),
        `round trip ${wall.toFixed(0)} µs`,
        detail,
      ),
    )
  }
  return rows
}

/**
 * A row that measures no side, only a floor: the median of `values` (µs per call) in the
 * reference column, none if a sample had no figure, with `label` beside it.
 */
function referenceRow(scenario, values, label, detail) {
  const value = values.every((v) => v !== null) ? spread(values).median : null
  return { scenario, unit: 'µs/call', values: { ceiling: value }, ceilingLabel: label, ratios: {}, targets: [], detail }
}

/**
 * The transport floor (transport-floor, built beside the emulator): the execute's run request
 * posted from Rust on one Tokio worker with no JS, through raw HTTP/1.1 sockets and through
 * hyper's pooled client, at c=1 and c=64, a fresh process per sample. Its process CPU per
 * request in the reference column, its rate and the emulator's CPU in the label.
 */
async function measureFloor(emu, bearer, account, rounds, quick) {
  const bin = path.join(path.dirname(BIN), FLOOR_BIN)
  if (!fs.existsSync(bin)) {
    throw missing(`no transport-floor beside the emulator (${bin}): build both with \`cargo build --release -p pipedream-emulator\``)
  }
  const args = [
    ...['--base-url', emu.url, '--path', runPath(PROJECT), '--body', runBody(USER, account)],
    ...['--server-pid', String(emu.child.pid), '--warm-ms', quick ? '100' : '1000', '--window-ms', quick ? '200' : '2000'],
  ]
  const modes = [
    { mode: 'raw', what: 'raw HTTP/1.1 on keep-alive sockets' },
    { mode: 'hyper', what: "hyper's pooled client (what ours sends on)" },
  ]
  const rows = []
  for (const concurrency of [1, 64]) {
    for (const { mode, what } of modes) {
      const detail = []
      for (let r = 0; r < rounds; r++) {
        // The token in the environment: a command line is readable by every user of the machine.
        const env = { ...process.env, TRANSPORT_FLOOR_TOKEN: bearer }
        const { stdout } = await execFileAsync(bin, [...args, '--mode', mode, '--concurrency', String(concurrency)], { env }).catch((e) => {
          throw new Error(`transport-floor failed: ${e.stderr || e.message}`)
        })
        detail.push(JSON.parse(stdout))
      }
      const median = (pick) => spread(detail.map(pick)).median
      const rate = median((d) => d.requests / d.seconds)
      const server = detail.every((d) => d.serverCpuUs !== null) ? `, emulator ${median((d) => d.serverCpuUs).toFixed(1)} µs` : ''
      rows.push(
        referenceRow(
          `transport floor, c=${concurrency}: process CPU per execute's run request from Rust on one Tokio worker, no JS, through ${what}`,
          detail.map((d) => d.procCpuUs),
          `${rate.toFixed(0)} calls/s${server}`,
          detail,
        ),
      )
    }
  }
  return rows
}

/**
 * `rounds` samples of `script` for ours and undici, each alone in a fresh process, the order
 * alternating; `field` of each output, in KB.
 */
async function alone(script, input, rounds, field) {
  const samples = { ours: [], undici: [] }
  const detail = []
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? ['undici', 'ours'] : ['ours', 'undici']) {
      const out = await child(script, { ...input, side })
      samples[side].push(out[field] / 1024)
      detail.push(out)
    }
  }
  return { samples, detail }
}

function addonRow(addonPath) {
  if (!addonPath) throw new Error(`could not tell which .node file require('${ROOT}') loaded`)
  const bytes = fs.statSync(addonPath).size
  const file = spawnSync('file', ['-b', addonPath], { encoding: 'utf8' })
  const stripped = file.error || !/stripped/.test(file.stdout) ? 'unknown' : /not stripped/.test(file.stdout) ? 'no' : 'yes'
  return {
    scenario: `addon size (${path.basename(addonPath)}, stripped: ${stripped})`,
    unit: 'MB',
    values: { ours: bytes / MB },
    ratios: {},
    targets: [],
    detail: { path: addonPath, bytes, stripped },
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function machine(rounds) {
  let distro = ''
  try {
    distro = fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] || ''
  } catch {}
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model?.trim() || 'unknown',
    cores: cpus.length,
    os: [distro, `${os.type()} ${os.release()} ${os.arch()}`].filter(Boolean).join(', '),
    node: process.version,
    rounds,
  }
}

function num(v, unit) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  if (unit === 'MB') return v.toFixed(1)
  if (unit === 'µs/call') return v < 10 ? v.toFixed(2) : v.toFixed(1)
  return v >= 100 ? Math.round(v).toString() : v.toFixed(1)
}

function ratioCell(r) {
  if (!r) return '—'
  const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
  return r.n > 1 ? `${f(r.median)}× (${f(r.min)}–${f(r.max)})` : `${f(r.median)}×`
}

const SHOWN = ['ours', 'undici', 'plan-js', 'sdk']
const HEAD = ['scenario', 'unit', ...SHOWN, 'ceiling / reference']
const RATIOS = ['undici', 'plan-js', 'sdk', 'ceiling']

function table(rows) {
  const head = [...HEAD, ...RATIOS.map((s) => `ours ÷ ${s}`), 'target', 'result']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const r of rows) {
    const label = r.ceilingLabel && r.ceilingLabel !== 'wrk' ? ` (${r.ceilingLabel})` : ''
    const ceiling = r.values.ceiling === undefined ? '—' : `${num(r.values.ceiling, r.unit)}${label}`
    const target = r.targets.map((t) => line(t, r))
    const result = r.targets.map((t) => (t.pass === null ? 'n/a' : t.pass ? 'pass' : '**miss**'))
    const cells = [
      r.scenario,
      r.unit,
      ...SHOWN.map((s) => num(r.values[s], r.unit)),
      ceiling,
      ...RATIOS.map((s) => ratioCell(r.ratios[s])),
      target.join('; ') || '—',
      result.join(' · ') || '—',
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

const NOTES = [
  [
    "Values are medians over rounds; a ratio is ours ÷ the other side in the row's unit, median (min–max) of",
    'the per-round ratios: for calls/s and items/s higher is better, for µs and MB lower is better.',
  ],
  [
    "Ceiling: wrk (-c = the row's concurrency, -t 2, or 1 at c=1; 1 s per round) sending the same requests to the",
    'same emulator; for getComponents that is the one list request (ours also fetches the app for its display',
    'name). The cache-hit reference is a JS Map lookup plus JSON.parse of the same answer (a fresh object per',
    'call, as ours gives); plan-js hands back one shared object.',
  ],
  [
    "Main-thread CPU is the main thread's own CPU time (Linux /proc/self/task/<pid>/schedstat) per call.",
    'Event-loop active time (performance.eventLoopUtilization) is wall time and also counts waits for a CPU, so',
    'on a shared machine it overstates; it is the judged figure only where schedstat is missing. Process CPU',
    '(process.cpuUsage) adds every thread of the Node process, our Rust runtime included. The emulator and wrk',
    "are separate processes on the same cores. Emulator CPU is the emulator's threads' CPU time (their",
    'schedstat) during the sample: the server side of the same calls. At c=64 the cores are busy, so a side',
    "makes at most (cores × 1 s) ÷ (its process CPU + the emulator's CPU per call) calls per second.",
  ],
  [
    "The JSON.parse row times V8 alone on the text each side's main thread turns into objects on a getComponents",
    "miss (ours: its answer; undici: the API's list): ours' main thread cannot spend less than that per call.",
  ],
  [
    'The thread handoff rows time no client: a main thread hands a call to a worker_threads worker that works 50',
    'µs and is woken by its answer (libuv, an eventfd, as an addon answers), in a fresh process per sample. Its',
    "CPU per round trip is the floor under any answer handed back from another thread on this machine: undici's",
    "main thread pays one wake-up per call at c=1 too (the socket's), ours pays it for its runtime's answer.",
  ],
  [
    "The transport floor rows post the execute's run request from a Rust program (transport-floor, built with",
    'the emulator) on one Tokio worker, as many loops as the concurrency, with no JS: through raw HTTP/1.1',
    "sockets, the least a client on Tokio spends, and through hyper's pooled client, which ours sends on; each",
    "answer is parsed as JSON. What ours spends per execute above them is the JS thread, the hops between",
    'threads and its own checks and answer.',
  ],
  [
    'Before its samples every side is warmed up for 2 s (search misses: 1,000 or 3,000 calls, each needs a',
    'distinct key), in each fresh process with --isolated: with a few hundred calls only, the JS sides ran with',
    'a cold JIT and this table flattered ours by up to 3x.',
  ],
  [
    "Every side is given the connected account (as the plan's node config carries it), except the ours-only row",
    "where ours looks it up with one accounts request per call. plan-js batches run the plan's loop (slices of",
    '64 with Promise.allSettled); sdk batches keep 64 in flight.',
  ],
  [
    'RSS growth is measured in a fresh process after global.gc(); the reference is the summed UTF-8 length of',
    'JSON.stringify(answer) of the cached answers, a proxy for the size of the data held.',
  ],
].map((lines) => lines.join(' '))

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = readOptions()
  const started = Date.now()
  const wrkVersion = wrkAvailable()
  if (!wrkVersion) {
    const msg = 'wrk is not installed (or WRK_BIN is wrong): it gives the loopback ceiling. Install it (apt-get install wrk).'
    if (opts.quick) throw missing(msg)
    console.error(`warning: ${msg} The ceiling column stays empty.`)
  }
  if (!global.gc) console.error('warning: run with node --expose-gc; without it GC runs are not separated between sides')

  // Loaded before any client, to tell which .node file the loader picked (require.cache holds
  // native modules too).
  require(ROOT)
  const addonPath = Object.keys(require.cache).find((f) => f.endsWith('.node') && f.startsWith(ROOT))
  if (addonPath) checkBuilt(addonPath, ['src', 'build.rs', 'Cargo.toml', 'Cargo.lock'], '`npm run build`')
  const emulatorSources = ['emulator/src', 'emulator/Cargo.toml', 'Cargo.lock']
  for (const bin of [BIN, path.join(path.dirname(BIN), FLOOR_BIN)]) {
    checkBuilt(bin, emulatorSources, '`cargo build --release -p pipedream-emulator`')
  }
  const emu = await startEmulator()
  watchServer(emu.child.pid)
  let redis = null
  try {
    if (opts.redis) redis = await RedisServer.start()
    const base = { baseUrl: emu.url, ...CREDENTIALS, projectId: PROJECT, externalUserId: USER }
    const plan = new PlanJsClient(base)
    const apps = await allApps(plan)
    const app = await biggestApp(plan, apps)
    const accounts = await plan.get(`/v1/connect/${PROJECT}/accounts?external_user_id=${USER}&app=slack`)
    const account = accounts.data[0].id
    const rssCount = opts.quick ? 2000 : 20_000
    const keys = missKeys(apps, Math.max(rssCount, (opts.rounds + 1) * 4_000), HIT)

    const clients = lazyClients(base, { redisUrl: redis ? redis.url() : null })
    const hitAnswer = await clients.ours.searchServices(HIT)
    if (hitAnswer.error) throw new Error(`ours searchServices failed: ${hitAnswer.error} ${hitAnswer.message}`)
    const hitJson = JSON.stringify(await clients.ours.searchServices(HIT))
    await clients.plan.searchServices(HIT)
    // The JSON texts each side's JS thread turns into objects on a getComponents miss: ours'
    // answer as the addon hands it over (characters beyond ASCII escaped, so V8 keeps it as a
    // one-byte string), and the list as the API sends it, which undici parses.
    const oursComponents = await clients.oursUncached.getComponents({ app_slug: app.slug, limit: 100 })
    if (oursComponents.error) throw new Error(`ours getComponents failed: ${oursComponents.error}`)
    const escaped = (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
    const oursText = JSON.stringify(oursComponents).replace(/[\u0080-\uffff]/g, escaped)
    const bearer = await plan.bearer()
    const headers = { authorization: `Bearer ${bearer}`, 'x-pd-environment': 'production' }
    const listed = await plan.send('GET', actionsList(PROJECT, app.slug), headers)
    if (!listed.ok) throw new Error(`the actions list failed: ${listed.status}`)
    const listText = await listed.text()

    // What a fresh process (bench/side.js) needs to rebuild the scenarios: JSON only.
    const shared = {
      quick: opts.quick,
      base,
      baseUrl: emu.url,
      emulatorPid: emu.child.pid,
      projectId: PROJECT,
      bearer,
      user: USER,
      account,
      app,
      keys,
      hit: { args: HIT, json: hitJson, services: hitAnswer.services.length },
      parsed: { ours: oursText, undici: listText },
      hasWrk: Boolean(wrkVersion),
      wrkSeconds: 1,
      redisUrl: redis ? redis.url() : null,
    }
    const ctx = { ...shared, clients }
    const isolated = opts.isolated ? (scenario, side) => child('side.js', { ctx: shared, scenario, side }) : null
    const list = scenarios(ctx).filter((s) => !opts.only || s.name.toLowerCase().includes(opts.only))
    const m = machine(opts.rounds)
    const header = [
      `${m.cpu}, ${m.cores} cores`,
      m.os,
      `Node ${m.node}`,
      `${opts.rounds} interleaved round${opts.rounds > 1 ? 's' : ''}`,
      opts.isolated ? 'each side alone in a fresh process per sample' : 'all sides in one process',
      opts.quick ? '--quick: harness check, timings not judged' : null,
      `emulator ${path.relative(ROOT, BIN) || BIN}`,
      wrkVersion || 'no wrk',
    ]
      .filter(Boolean)
      .join(' · ')
    console.error(header)

    const rows = []
    for (const sc of list) {
      process.stderr.write(`${sc.name} `)
      const t0 = Date.now()
      const scRows = await measureScenario(sc, opts.rounds, isolated, opts.quick)
      scRows[0].seconds = (Date.now() - t0) / 1000
      rows.push(...scRows)
      process.stderr.write(` ${scRows[0].seconds.toFixed(1)} s\n`)
    }
    // The rows measured in processes of their own, each unless --only leaves it out.
    const separate = async (name, measure) => {
      if (opts.only && !name.toLowerCase().includes(opts.only)) return
      process.stderr.write(`${name} `)
      const t0 = Date.now()
      const measured = [await measure()].flat()
      measured[0].seconds = (Date.now() - t0) / 1000
      rows.push(...measured)
      process.stderr.write(` ${measured[0].seconds.toFixed(1)} s\n`)
    }
    await separate(`RSS growth, ${rssCount.toLocaleString('en-US')} cached searchServices answers`, () =>
      measureRss(emu, keys, rssCount),
    )
    await separate('RSS per pending call', () => measurePending(emu, base, account, opts.quick ? 500 : 10_000, opts.rounds))
    await separate('RSS per idle client', () => measureIdle(base, opts.quick ? 100 : 1000, opts.rounds))
    await separate('thread handoff', () => measureHandoff(opts.quick ? 500 : 20_000, opts.rounds))
    await separate('transport floor', () => measureFloor(emu, bearer, account, opts.rounds, opts.quick))
    rows.push(addonRow(addonPath))

    const empty = rows.filter((r) => Object.values(r.values).some((v) => v === null || !Number.isFinite(v)))
    const judged = rows.flatMap((r) => r.targets).filter((t) => t.pass !== null)
    const passed = judged.filter((t) => t.pass).length
    const stands = bounds(rows, m.cores)
    console.log(`\n${header}\n`)
    console.log(table(rows))
    console.log()
    for (const n of NOTES) console.log(`- ${n}`)
    const section = render(stands)
    if (section) console.log(`\n${opts.quick ? '(--quick: from numbers too small to judge.) ' : ''}${section}`)
    const verdict = opts.quick ? 'Targets not judged in --quick mode' : `${passed} of ${judged.length} targets met`
    console.log(`\n${verdict}; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`)

    const stamp = new Date(started).toISOString().replace(/[:.]/g, '-')
    const file = opts.json || path.join(__dirname, 'results', `${stamp}.json`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const data = {
      started: new Date(started).toISOString(),
      machine: m,
      options: opts,
      emulator: BIN,
      wrk: wrkVersion,
      addon: addonPath,
      app,
      notes: NOTES,
      rows,
      bounds: stands,
    }
    fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`)
    console.log(`Results: ${path.relative(process.cwd(), file) || file}`)
    if (empty.length) throw new Error(`no number for: ${empty.map((r) => r.scenario.trim()).join(', ')}`)
    // A floor bench/bounds.js cannot find is a row renamed under it: its verdicts would go quiet.
    const lost = Object.entries(stands.floor).filter(([, v]) => v === null)
    if (!opts.only && lost.length) throw new Error(`bench/bounds.js found no row for: ${lost.map(([k]) => k).join(', ')}`)
  } finally {
    await emu.stop()
    if (redis) await redis.stop()
  }
}

function parseArgsOrUsage(config) {
  try {
    return parseArgs(config)
  } catch (e) {
    throw usage(`${e.message} (see --help)`)
  }
}

main().catch((e) => {
  if (e.plain) {
    console.error(`bench: ${e.message}`)
    process.exit(e.status)
  }
  console.error(e)
  process.exit(1)
})
