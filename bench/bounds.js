#!/usr/bin/env node
'use strict'
// Where each missed target stands against the floors measured in the same run. Issue 14 asks
// to "say where the physics says no, and with what evidence": a verdict from one run's numbers
// says it for that run's machine and hour, where a sentence in the docs would say it for one
// run only. Printed under the table by run.js; `node bench/bounds.js <results.json>` prints it
// again for a saved run.
//
// Three bounds, each from rows of the same run:
// - calls/s at c=64: the cores are busy, so a side makes at most cores × 1 s ÷ (its process
//   CPU + the emulator's, per call). Meeting x× another side's rate leaves ours at most
//   cores × 1 s ÷ (x × that rate) − ours' emulator CPU per call, at full use of the cores. The
//   transport floor rows (a Rust client on hyper, or raw sockets, with no JS) spend less on the
//   execute's request than any client of ours can.
// - main-thread CPU: an answer made on another thread costs the main thread at least one
//   wake-up at c=1 (the thread handoff row with the worker awake), and an answer handed over as
//   objects at least V8's JSON.parse of it (the JSON.parse row).
// - process CPU on getComponents: the text row makes the same requests and answer with no
//   parse on the JS thread.
// A verdict says "out of reach" only where such a bound is past the line; elsewhere it says by
// how much ours misses what the bounds leave room for.
const fs = require('node:fs')
const { spread } = require('./measure')

const SUB = { main: '  ↳ main-thread CPU', process: '  ↳ process CPU', emulator: '  ↳ emulator CPU' }

/** Each scenario row with the sub-rows under it (`main`, `process`, `emulator`). */
function group(rows) {
  const groups = []
  for (const r of rows) {
    if (!r.scenario.startsWith('  ↳')) {
      groups.push({ row: r, sub: {} })
      continue
    }
    const g = groups[groups.length - 1]
    const kind = g && Object.keys(SUB).find((k) => r.scenario.startsWith(SUB[k]))
    if (kind) g.sub[kind] = r
  }
  return groups
}

/** The reference value of the first row whose scenario matches `re`, or null. */
function floorOf(rows, re) {
  const r = rows.find((x) => re.test(x.scenario))
  const v = r?.values?.ceiling
  return Number.isFinite(v) ? v : null
}

const concurrencyOf = (scenario) => Number(/\(c(?:oncurrency |=)(\d+)/.exec(scenario)?.[1] ?? NaN)
const pct = (x) => `${Math.round(x * 100)} %`
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1))
const span = (s) => (s.n > 1 ? `${fmt(s.median)} (rounds ${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median))
/** A target as the table writes it: `≥ 1.5× undici`, `≤ ⅓× undici`, the ceiling by its label. */
const line = (t, row) => {
  const against = t.vs === 'ceiling' ? row?.ceilingLabel || 'ceiling' : t.vs
  return `${t.op === '>=' ? '≥' : '≤'} ${t.x === 1 / 3 ? '⅓' : t.x}× ${against}`
}

/**
 * One sentence per missed target that a bound speaks to, and the names of the missed targets
 * none does. `cores` is the machine's; `rows` the run's rows as run.js writes them.
 */
function bounds(rows, cores) {
  const groups = group(rows)
  const floor = {
    raw64: floorOf(rows, /^transport floor, c=64: .*raw/),
    hyper64: floorOf(rows, /^transport floor, c=64: .*hyper/),
    wakeUp: floorOf(rows, /^thread handoff, c=1: .*woken once/),
    parse: groups.find((g) => /^getComponents' JSON\.parse alone/.test(g.row.scenario))?.row.values.ours ?? null,
  }
  const textOf = (c) => groups.find((g) => g.row.scenario.startsWith(`getComponents as a tool result's text (c=${c},`))
  const explained = []
  const unexplained = []
  for (const { row, sub } of groups) {
    const c = concurrencyOf(row.scenario)
    const objects = row.scenario.startsWith('getComponents, cache miss')
    const runsRequest = /^execute(PipedreamConnect|Batch)/.test(row.scenario) && !/looked up|variables/.test(row.scenario)
    const missed = (r) => r.targets.filter((t) => t.pass === false)
    for (const t of missed(row)) {
      const said = c === 64 && sub.process && sub.emulator ? rate(row, sub, t, cores, { floor, runsRequest, text: objects ? textOf(64) : null }) : null
      said ? explained.push(said) : unexplained.push(`${row.scenario.trim()}: ${line(t, row)}`)
    }
    for (const t of sub.main ? missed(sub.main) : []) {
      const said = mainThread(row, sub.main, t, c, { floor, objects })
      said ? explained.push(said) : unexplained.push(`${row.scenario.trim()}, main-thread CPU: ${line(t)}`)
    }
    for (const t of sub.process ? missed(sub.process) : []) {
      const text = objects ? textOf(c) : null
      const said = text?.sub.process ? processCpu(row, sub.process, t, text.sub.process, floor) : null
      said ? explained.push(said) : unexplained.push(`${row.scenario.trim()}, process CPU: ${line(t)}`)
    }
  }
  return { floor, explained, unexplained }
}

/** Per round: what x× the other side's rate leaves ours per call at full use of the cores. */
function rate(row, sub, t, cores, { floor, runsRequest, text }) {
  const other = row.perRound?.[t.vs]
  const emu = sub.emulator.perRound?.ours
  if (!other || !emu || t.op !== '>=') return null
  const budget = spread(other.map((r, i) => (cores * 1e6) / (t.x * r) - emu[i]))
  const spent = sub.process.values.ours
  if (!budget || !Number.isFinite(spent)) return null
  let s = `${row.scenario} ${line(t, row)}: at full use of the ${cores} cores, that leaves ours ${span(budget)} µs of process CPU per call beside the emulator's; ours spent ${fmt(spent)}`
  // How much of the cores' time each side's calls kept busy: a side held back by one thread
  // (undici's JS thread, ours' runtime worker) leaves some idle, and the budget assumes none.
  const use = (side) => {
    const [r, p, e] = [row.perRound?.[side], sub.process.perRound?.[side], sub.emulator.perRound?.[side]]
    if (!r || !p || !e) return null
    return spread(r.map((x, i) => (x * (p[i] + e[i])) / (cores * 1e6)))?.median ?? null
  }
  const [usedOurs, usedOther] = [use('ours'), use(t.vs)]
  s += usedOurs !== null && usedOther !== null ? ` (the calls kept ${pct(usedOurs)} of the cores' time busy, ${t.vs}'s ${pct(usedOther)}).` : '.'
  const b = budget.median
  if (runsRequest && floor.hyper64 !== null && floor.raw64 !== null) {
    s += ` The transport floor at c=64 (Rust, no JS) spends ${fmt(floor.hyper64)} through hyper, ${fmt(floor.raw64)} through raw sockets:`
    if (b < floor.raw64) s += ' **out of reach on this machine**, under the raw floor: no client on Tokio makes this rate here.'
    else if (b < floor.hyper64) s += ' **out of reach for a client on hyper**, under its floor.'
    else s += ` ${fmt(b - floor.hyper64)} µs over hyper's floor are left for the JS thread (ours: ${fmt(sub.main?.values.ours ?? NaN)}), the hops and the package's work; ours spends ${fmt(spent - floor.hyper64)}. Not out of reach by the floors alone.`
  } else if (text) {
    const before = text.sub.process?.values.ours
    if (Number.isFinite(before)) {
      s += ` Ours' text answer, the same requests and answer with no parse on the JS thread, spent ${fmt(before)}`
      s += b < before ? ': under that, ours would have to do less than it does before any JS.' : '.'
    }
  }
  return s
}

/** The least a main thread spends on ours' answer at concurrency `c`, against the ⅓ line. */
function mainThread(row, main, t, c, { floor, objects }) {
  const other = main.values[t.vs]
  const spent = main.values.ours
  // The floors bound any client's main thread; a line drawn against ours itself is not theirs.
  if (t.vs.startsWith('ours') || !Number.isFinite(other) || !Number.isFinite(spent) || t.op !== '<=') return null
  const parts = []
  if (c === 1 && floor.wakeUp !== null) parts.push([floor.wakeUp, 'one wake-up by an answer from another thread'])
  if (objects && floor.parse !== null) parts.push([floor.parse, "V8's JSON.parse of ours' answer"])
  if (!parts.length) return null
  const least = parts.reduce((a, [v]) => a + v, 0)
  const limit = t.x * other
  let s = `${row.scenario}, main-thread CPU ${line(t)}: the line is ${fmt(limit)} µs per call; the least is ${fmt(least)} (${parts.map(([v, what]) => `${what} ${fmt(v)}`).join(' + ')}); ours spent ${fmt(spent)}${judged(main, t)}.`
  const which = objects ? ' for an answer of this size as objects' : ''
  s += least > limit ? ` **Out of reach**${which}: the least is over the line.` : ` Not out of reach: ours spends ${fmt(spent - least)} over the least.`
  return s
}

/** getComponents as objects against the text row: the same work less the JS thread's parse. */
function processCpu(row, proc, t, textProc, floor) {
  const other = proc.values[t.vs]
  const spent = proc.values.ours
  const before = textProc.values.ours
  if (![other, spent, before].every(Number.isFinite) || t.op !== '<=') return null
  const limit = t.x * other
  let s = `${row.scenario}, process CPU ${line(t)}: the line is ${fmt(limit)} µs per call; ours spent ${fmt(spent)}${judged(proc, t)}, its text answer (no parse on the JS thread) ${fmt(before)}`
  if (floor.parse !== null) s += `, V8's parse of the answer alone ${fmt(floor.parse)}`
  s += before > limit ? '. Ours does more than the line before any JS: not physics, the richer answer.' : `. Not out of reach: ${fmt(spent - limit)} over the line.`
  return s
}

/**
 * The ratio the table judged `t` on: the median of the rounds' ratios, which can miss a line
 * that the medians of the values meet.
 */
function judged(r, t) {
  const ratio = r.ratios?.[t.vs]?.median
  return Number.isFinite(ratio) ? ` (${ratio.toFixed(2)}× ${t.vs} by the rounds' ratios, as judged)` : ''
}

/** The section printed under the table. */
function render({ explained, unexplained }) {
  if (!explained.length && !unexplained.length) return ''
  const out = ["Where each missed target stands against this run's floors (bench/bounds.js):"]
  for (const s of explained) out.push(`- ${s}`)
  if (unexplained.length) out.push(`- No floor measured speaks to: ${unexplained.join('; ')}.`)
  return out.join('\n')
}

module.exports = { bounds, render, line }

if (require.main === module) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: node bench/bounds.js bench/results/<run>.json')
    process.exit(2)
  }
  const data = JSON.parse(fs.readFileSync(file, 'utf8'))
  console.log(render(bounds(data.rows, data.machine.cores)) || 'No target missed.')
}
