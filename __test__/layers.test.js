'use strict'
// The engine's layout as a contract (see docs/contributing.md "Layout"): arrows run one way,
// client → director → connect → transport, all over the base modules, and no two engine files
// import each other, directly or around a loop. Read from the `use` paths of src/engine.
const fs = require('node:fs')
const path = require('node:path')

const ENGINE = path.resolve(__dirname, '..', 'src', 'engine')

function rustFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? rustFiles(p) : e.name.endsWith('.rs') ? [p] : []
  })
}

/** A file's module path: `director/tools/mod.rs` → `director::tools`. */
function moduleOf(file) {
  const rel = path.relative(ENGINE, file).replace(/\.rs$/, '').split(path.sep)
  if (rel[rel.length - 1] === 'mod') rel.pop()
  return rel.join('::')
}

const files = rustFiles(ENGINE)
const modules = new Set(files.map(moduleOf))

/** The engine modules a file names outside its tests, resolved to the longest known module. */
function imports(file) {
  const self = moduleOf(file)
  const parent = file.endsWith('mod.rs') ? self : self.split('::').slice(0, -1).join('::')
  const src = fs.readFileSync(file, 'utf8').split(/\n#\[cfg\(test\)\]/)[0]
  const found = new Set()
  const resolve = (segments) => {
    for (let n = segments.length; n > 0; n--) {
      const m = segments.slice(0, n).join('::')
      if (modules.has(m)) return m
    }
    return null
  }
  for (const [, p] of src.matchAll(/crate::engine::((?:\w+::)*\w+)/g)) {
    const m = resolve(p.split('::'))
    if (m) found.add(m)
  }
  for (const [, p] of src.matchAll(/\bsuper::((?:\w+::)*\w+)/g)) {
    const base = parent.split('::').filter(Boolean)
    const m = resolve([...base.slice(0, file.endsWith('mod.rs') ? -1 : base.length), ...p.split('::')]) ||
      resolve([...base, ...p.split('::')])
    if (m) found.add(m)
  }
  found.delete(self)
  return found
}

const graph = new Map(files.map((f) => [moduleOf(f), imports(f)]))
const room = (m) => m.split('::')[0]
const RANK = { transport: 1, connect: 2, director: 3, client: 4 }

test('the engine has the three rooms and the facade', () => {
  for (const m of ['transport', 'connect', 'director', 'director::tools', 'director::node', 'client']) {
    expect(modules.has(m)).toBe(true)
  }
})

test('arrows run one way: client → director → connect → transport → base', () => {
  const upward = []
  for (const [from, tos] of graph) {
    const r = RANK[room(from)] || 0
    for (const to of tos) {
      const t = RANK[room(to)] || 0
      if (room(to) !== room(from) && t > r) upward.push(`${from} → ${to}`)
    }
  }
  expect(upward).toEqual([])
})

test('no import cycles between engine modules', () => {
  const cycles = []
  const state = new Map()
  const stack = []
  const visit = (m) => {
    state.set(m, 'open')
    stack.push(m)
    for (const next of graph.get(m) || []) {
      // A module may use its own submodules (`mod.rs` declaring them): not a cycle.
      if (next.startsWith(`${m}::`)) continue
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '))
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(m, 'done')
  }
  for (const m of graph.keys()) if (!state.has(m)) visit(m)
  expect(cycles).toEqual([])
})
