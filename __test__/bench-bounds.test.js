'use strict'
// bench/bounds.js: the verdicts it prints under the benchmark's table follow from the rows'
// numbers, and flip when a floor moves past the line.
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { bounds, render } = require('../bench/bounds')
const { spread } = require('../bench/measure')

const EXEC = 'executePipedreamConnect (c=64)'
const COMPONENTS = 'getComponents, cache miss (c=64, github, 42 actions)'
const TEXT = "getComponents as a tool result's text (c=64, github, 42 actions; undici: JSON.stringify of its answer)"

/** A scenario row and its sub-rows, as run.js writes them: per-round values per side. */
function scenario(name, { rate, main, proc, emu, targets = {} }) {
  const values = (perRound) => Object.fromEntries(Object.entries(perRound).map(([s, xs]) => [s, spread(xs).median]))
  const r = (label, perRound, t = []) => ({ scenario: label, unit: 'µs/call', perRound, values: values(perRound), targets: t })
  return [
    { ...r(name, rate, targets.rate || []), unit: 'calls/s' },
    r('  ↳ main-thread CPU per call', main, targets.main || []),
    r('  ↳ event-loop active time per call (ELU: wall time, counts waits for a CPU)', main),
    r('  ↳ process CPU per call (all threads, our native runtime included)', proc, targets.process || []),
    r('  ↳ emulator CPU per call (another process on the same cores: the server side of the same calls)', emu),
  ]
}

const floorRow = (scenarioName, value) => ({ scenario: scenarioName, unit: 'µs/call', values: { ceiling: value }, targets: [] })
const floors = ({ raw, hyper, wakeUp = 17 }) => [
  floorRow('thread handoff, c=1: main-thread CPU per round trip to a worker thread that works 50 µs; the main thread woken once (the worker spins between calls, as ours stays awake)', wakeUp),
  floorRow("transport floor, c=64: process CPU per execute's run request from Rust on one Tokio worker, no JS, through raw HTTP/1.1 on keep-alive sockets", raw),
  floorRow("transport floor, c=64: process CPU per execute's run request from Rust on one Tokio worker, no JS, through hyper's pooled client (what ours sends on)", hyper),
]
const missed = (vs, op, x) => ({ vs, op, x, pass: false })
// The verdict that a floor is past the line, as the section marks it.
const OUT = /\*\*out of reach/i

/** An execute at c=64 that missed 1.5× undici: undici made 20,000 calls/s in every round. */
function executeRun(floor) {
  return [
    ...scenario(EXEC, {
      rate: { ours: [21000, 22000, 23000], undici: [20000, 20000, 20000] },
      main: { ours: [10, 11, 12], undici: [40, 41, 42] },
      proc: { ours: [40, 41, 42], undici: [45, 46, 47] },
      emu: { ours: [30, 31, 32], undici: [30, 30, 30] },
      targets: { rate: [missed('undici', '>=', 1.5), { vs: 'plan-js', op: '>=', x: 3, pass: true }] },
    }),
    ...floors(floor),
  ]
}

test('an execute at c=64 is out of reach only when what 1.5× undici leaves is under a floor', () => {
  // 2 cores × 1 s ÷ (1.5 × 20,000) = 66.7 µs per call, less ours' emulator CPU (30, 31, 32).
  const under = bounds(executeRun({ raw: 40, hyper: 45 }), 2)
  expect(under.explained).toHaveLength(1)
  expect(under.explained[0]).toContain('leaves ours 35.7 (rounds 34.7–36.7) µs')
  expect(under.explained[0]).toContain('out of reach on this machine')
  // Per round, rate × (process + emulator CPU per call) ÷ 2 s: 21,000 × 70, 22,000 × 72, … µs.
  expect(under.explained[0]).toContain("the calls kept 79 % of the cores' time busy, undici's 76 %")
  expect(under.unexplained).toEqual([])

  const hyperOnly = bounds(executeRun({ raw: 10, hyper: 40 }), 2).explained[0]
  expect(hyperOnly).toContain('out of reach for a client on hyper')

  const room = bounds(executeRun({ raw: 10, hyper: 14 }), 2).explained[0]
  expect(room).not.toMatch(OUT)
  expect(room).toContain('Not out of reach by the floors alone')
  // 35.7 − 14 over hyper's floor are left; ours spends 41 − 14 over it.
  expect(room).toContain('21.7 µs over hyper\'s floor are left for the JS thread (ours: 11.0)')
  expect(room).toContain('ours spends 27.0')

  // The same budget on four cores is no longer under the floor.
  expect(bounds(executeRun({ raw: 40, hyper: 45 }), 4).explained[0]).not.toMatch(OUT)
})

/** getComponents at c=64, objects and text, with V8's parse of ours' answer at `parse` µs. */
function componentsRun(parse) {
  return [
    ...scenario(COMPONENTS, {
      rate: { ours: [1600], undici: [1900] },
      main: { ours: [270], undici: [450] },
      proc: { ours: [770], undici: [505] },
      emu: { ours: [92], undici: [112] },
      targets: { main: [missed('undici', '<=', 1 / 3)], process: [missed('undici', '<=', 1)] },
    }),
    ...scenario(TEXT, {
      rate: { ours: [2000], undici: [1500] },
      main: { ours: [106], undici: [635] },
      proc: { ours: [555], undici: [694] },
      emu: { ours: [74], undici: [158] },
    }),
    {
      scenario: "getComponents' JSON.parse alone (ours: its 22.2 KB answer; undici: the 43.5 KB list it is sent)",
      unit: 'µs/call',
      values: { ours: parse, undici: 220 },
      targets: [],
    },
    ...floors({ raw: 10, hyper: 14 }),
  ]
}

test("getComponents' main thread is out of reach when V8's parse alone is over the ⅓ line", () => {
  const over = bounds(componentsRun(163), 2)
  const main = over.explained.find((s) => s.includes('main-thread CPU'))
  // ⅓ of undici's 450 is 150: the parse alone (163) is over it; at c=64 no wake-up is counted.
  expect(main).toContain('the line is 150 µs per call; the least is 163')
  expect(main).toContain('**Out of reach**')

  // The table judges on the rounds' ratios, which the sentence quotes when the row has them.
  const rows = componentsRun(163)
  rows[1].ratios = { undici: { median: 0.61, min: 0.5, max: 0.7, n: 1 } }
  expect(bounds(rows, 2).explained.find((s) => s.includes('main-thread CPU'))).toContain('ours spent 270 (0.61× undici by the rounds\' ratios, as judged)')

  const under = bounds(componentsRun(60), 2).explained.find((s) => s.includes('main-thread CPU'))
  expect(under).toContain('Not out of reach: ours spends 210 over the least')

  // Process CPU: the text row (555) is over undici's 505 before any parse on the JS thread.
  const proc = over.explained.find((s) => s.includes('process CPU ≤'))
  expect(proc).toContain('its text answer (no parse on the JS thread) 555')
  expect(proc).toContain('not physics')
})

test('a target that passed says nothing, and a miss no floor speaks to is named as such', () => {
  const rows = [
    ...scenario('executePipedreamConnect (c=1)', {
      rate: { ours: [2000], undici: [2100] },
      main: { ours: [70], undici: [240] },
      proc: { ours: [200], undici: [300] },
      emu: { ours: [100], undici: [100] },
      targets: { rate: [missed('undici', '>=', 1)], main: [{ vs: 'undici', op: '<=', x: 1 / 3, pass: true }], process: [missed('undici', '<=', 1)] },
    }),
    ...floors({ raw: 10, hyper: 14 }),
  ]
  const said = bounds(rows, 2)
  expect(said.explained).toEqual([])
  expect(said.unexplained).toEqual(['executePipedreamConnect (c=1): ≥ 1× undici', 'executePipedreamConnect (c=1), process CPU: ≤ 1× undici'])
  expect(render(said)).toContain(
    'No floor measured speaks to: executePipedreamConnect (c=1): ≥ 1× undici; executePipedreamConnect (c=1), process CPU: ≤ 1× undici.',
  )
  expect(render(bounds(floors({ raw: 10, hyper: 14 }), 2))).toBe('')
})

test('the command prints the section for a saved run, and usage without one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bounds-'))
  const file = path.join(dir, 'run.json')
  fs.writeFileSync(file, JSON.stringify({ machine: { cores: 2 }, rows: executeRun({ raw: 40, hyper: 45 }) }))
  const script = path.join(__dirname, '..', 'bench', 'bounds.js')
  let out
  try {
    out = execFileSync(process.execPath, [script, file], { encoding: 'utf8' })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  expect(out).toContain("Where each missed target stands against this run's floors")
  expect(out).toContain('out of reach on this machine')
  const bare = spawnSync(process.execPath, [script], { encoding: 'utf8' })
  expect(bare.status).toBe(2)
  expect(bare.stderr).toContain('usage: node bench/bounds.js')
})
