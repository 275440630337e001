'use strict'
// The "Stable API surface" section of the API reference (docs/api.md, linked from the README) is
// the semver contract: removing or renaming anything it lists is a major change. These tests fail
// when the section and the package drift apart in either direction: a name exported, declared or
// produced but not listed, or listed but gone. The reference's option and error-code tables, and
// the codes and variable names the README and docs/ mention, are held to the same lists.
const fs = require('node:fs')
const path = require('node:path')
const pd = require('..')

const ROOT = path.resolve(__dirname, '..')
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8')
/** The API reference, where the stable surface, the options table and the error codes live. */
const API_DOC = 'docs/api.md'
const sorted = (items) => [...items].sort()

/**
 * The section's `### ` subsections, each as its bullets `- label: \`item\`, \`item\`, …`
 * (continuation lines indented), read as `{ label, items }`.
 */
function stableSurface() {
  const md = read(API_DOC)
  const start = md.indexOf('\n## Stable API surface\n')
  if (start === -1) throw new Error(`${API_DOC} has no "## Stable API surface" section`)
  const rest = md.slice(start + 1)
  const end = rest.indexOf('\n## ')
  const section = end === -1 ? rest : rest.slice(0, end)
  const subsections = new Map()
  for (const part of section.split('\n### ').slice(1)) {
    const newline = part.indexOf('\n')
    subsections.set(part.slice(0, newline).trim(), bullets(part.slice(newline)))
  }
  return subsections
}

function bullets(text) {
  const raw = []
  let open = false
  for (const line of text.split('\n')) {
    if (line.startsWith('- ')) {
      raw.push(line.slice(2))
      open = true
    } else if (open && /^ {2}\S/.test(line)) {
      raw[raw.length - 1] += ` ${line.trim()}`
    } else {
      open = false
    }
  }
  return raw.map((b) => {
    const colon = b.indexOf(': ')
    if (colon === -1) throw new Error(`${API_DOC} stable surface: a bullet without "label: items": ${b}`)
    const items = [...b.slice(colon + 2).matchAll(/`([^`]+)`/g)].map((m) => m[1])
    if (new Set(items).size !== items.length) throw new Error(`${API_DOC} stable surface lists a name twice: ${b}`)
    return { label: b.slice(0, colon).trim(), items }
  })
}

/** One subsection's bullets as label → items; `kinds` are the only labels allowed. */
function lists(name, kinds) {
  const found = stableSurface().get(name)
  if (!found) throw new Error(`${API_DOC} stable surface has no "### ${name}"`)
  const map = new Map()
  for (const { label, items } of found) {
    if (kinds && !kinds.includes(label)) throw new Error(`${API_DOC} "### ${name}": unknown list "${label}" (expected ${kinds.join(', ')})`)
    if (map.has(label)) throw new Error(`${API_DOC} "### ${name}": "${label}" listed twice`)
    map.set(label, items)
  }
  return map
}

/**
 * Every top-level `export` of index.d.ts: name → { kind, members }, where members are the field
 * or method names of an interface or class, with `?` on optional fields. index.d.ts is generated
 * one member per line or `;`-separated; nested `{ … }` / `( … )` types are skipped.
 */
function declarations() {
  const src = read('index.d.ts')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
  const decls = new Map()
  const re = /^export (?:declare )?(const|let|var|function|class|interface|type|enum|namespace) (\w+)/gm
  let m
  while ((m = re.exec(src))) {
    const [, kind, name] = m
    if (name.startsWith('__')) continue // internal, see docs/api.md "Exports"
    let members = null
    if (kind === 'class' || kind === 'interface') {
      const open = src.indexOf('{', re.lastIndex)
      let depth = 0
      let close = open
      for (; close < src.length; close++) {
        if (src[close] === '{') depth++
        else if (src[close] === '}' && --depth === 0) break
      }
      members = memberNames(src.slice(open + 1, close))
    }
    if (decls.has(name)) throw new Error(`index.d.ts exports ${name} twice`)
    decls.set(name, { kind, members })
  }
  return decls
}

function memberNames(body) {
  const chunks = ['']
  let depth = 0
  for (const ch of body) {
    if ('{(['.includes(ch)) depth++
    else if ('})]'.includes(ch)) depth--
    if (depth === 0 && (ch === '\n' || ch === ';')) chunks.push('')
    else chunks[chunks.length - 1] += ch
  }
  return chunks
    .map((c) => c.trim())
    .filter(Boolean)
    .map((c) => {
      const m = c.match(/^(?:(?:readonly|static)\s+)*(\w+)(\?)?\s*[:(<]/)
      if (!m) throw new Error(`index.d.ts: cannot read the member "${c}"`)
      return m[1] + (m[2] || '')
    })
}

const EXPORT_KINDS = { functions: 'function', classes: 'class', constants: 'const' }
const TYPE_KINDS = { interfaces: 'interface', types: 'type' }

/** Listed name → index.d.ts kind, from "### Exports" and "### Types". */
function listedDeclarations() {
  const listed = new Map()
  for (const [section, kinds] of [['Exports', EXPORT_KINDS], ['Types', TYPE_KINDS]]) {
    for (const [label, names] of lists(section, Object.keys(kinds))) {
      for (const name of names) {
        if (listed.has(name)) throw new Error(`${API_DOC} stable surface lists ${name} twice`)
        listed.set(name, kinds[label])
      }
    }
  }
  return listed
}

test('the stable surface lists exactly the names require() exports, each as the kind it is', () => {
  const exportsListed = lists('Exports', Object.keys(EXPORT_KINDS))
  const listed = [...exportsListed.values()].flat()
  // Names starting with `__` are internal (napi-rs's loader marker): not part of the surface.
  expect(sorted(listed)).toEqual(sorted(Object.keys(pd).filter((n) => !n.startsWith('__'))))

  for (const name of exportsListed.get('functions') || []) {
    expect({ [name]: typeof pd[name] }).toEqual({ [name]: 'function' })
  }
  for (const name of exportsListed.get('classes') || []) {
    expect({ [name]: typeof pd[name] }).toEqual({ [name]: 'function' })
    expect(Object.getOwnPropertyNames(pd[name].prototype).length).toBeGreaterThan(1)
  }
  for (const name of exportsListed.get('constants') || []) {
    expect({ [name]: typeof pd[name] }).not.toEqual({ [name]: 'function' })
  }
})

test("napi-rs's declared loader marker is exported as index.d.ts says", () => {
  expect(require('node:fs').readFileSync(require.resolve('../index.d.ts'), 'utf8')).toMatch(/export declare const __napiBindingTarget:/)
  expect(pd.__napiBindingTarget).toBe('native')
})

test('the stable surface lists every export of index.d.ts, as the same kind, and nothing else', () => {
  const declared = new Map([...declarations()].map(([name, d]) => [name, d.kind]))
  const listed = listedDeclarations()
  expect(sorted(listed.keys())).toEqual(sorted(declared.keys()))
  expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(declared))
})

test('the stable surface lists every method of every class, as index.d.ts and the addon have them', () => {
  const classes = [...declarations()].filter(([, d]) => d.kind === 'class')
  const methods = lists('Methods')
  expect(sorted([...methods.keys()].map((l) => l.replace(/`/g, '')))).toEqual(sorted(classes.map(([name]) => name)))
  for (const [name, d] of classes) {
    const listed = methods.get(`\`${name}\``)
    expect({ [name]: sorted(listed) }).toEqual({ [name]: sorted(d.members) })
    // What the addon really defines; `__` names are internal (`__bound`, which index.js
    // uses, and the test setup's `__secretScan` marker).
    const defined = Object.getOwnPropertyNames(pd[name].prototype).filter((n) => !n.startsWith('__'))
    expect({ [name]: sorted(listed) }).toEqual({ [name]: sorted(defined) })
  }
})

test('the stable surface lists the fields of every interface, optional ones with ?, as index.d.ts declares them', () => {
  const interfaces = [...declarations()].filter(([, d]) => d.kind === 'interface')
  const fields = lists('Fields')
  expect(sorted([...fields.keys()].map((l) => l.replace(/`/g, '')))).toEqual(sorted(interfaces.map(([name]) => name)))
  for (const [name, d] of interfaces) {
    expect({ [name]: sorted(fields.get(`\`${name}\``)) }).toEqual({ [name]: sorted(d.members) })
  }
  // The option names are what `new PipedreamClient(options)` documents in its table too.
  const table = read(API_DOC).match(/\| option \| environment \| default \|\n\|[-|]+\|\n((?:\|.*\|\n)+)/)
  expect(table).not.toBeNull()
  const documented = new Set(
    table[1].split('\n').flatMap((row) => [...(row.split('|')[1] || '').matchAll(/`(\w+)/g)].map((m) => m[1])),
  )
  const options = declarations().get('ClientOptions').members.map((f) => f.replace('?', ''))
  expect(sorted(documented)).toEqual(sorted(options))
})

/**
 * The codes the package can produce, read from its source rather than from prose: every
 * `"PIPEDREAM_…"`, `"ABORT_ERR"` and `"ERR_…"` string literal in src/**\/*.rs outside the test
 * modules (the engine's `ErrorCode::as_str`, the binding's TypeError code, `handleToolCall`'s
 * unknown-tool answer), minus the environment variable names of `config::ENV_VARS`; plus the
 * codes the hand-written entry `index.js` assigns (its load error), unless index.js is napi's
 * generated loader, whose codes are napi-rs's. A code added anywhere in the source fails this
 * test until the stable surface lists it; a code listed but no longer in the source fails it too.
 */
function sourceCodes() {
  const rustFiles = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name)
      return e.isDirectory() ? rustFiles(p) : e.name.endsWith('.rs') ? [p] : []
    })
  const env = envVars()

  const codes = new Set()
  for (const file of rustFiles(path.join(ROOT, 'src'))) {
    let text = fs.readFileSync(file, 'utf8')
    const tests = text.search(/^#\[cfg\(test\)\]\s*\nmod /m)
    if (tests !== -1) text = text.slice(0, tests)
    for (const m of text.matchAll(/"((?:PIPEDREAM|ERR)_[A-Z0-9_]+|ABORT_ERR)"/g)) if (!env.has(m[1])) codes.add(m[1])
  }
  const entry = read('index.js')
  if (!entry.includes('auto-generated by NAPI-RS')) {
    for (const m of entry.matchAll(/\bcode\s*[:=]\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(m[1])
    for (const m of entry.matchAll(/\btypeError\('([A-Z][A-Z0-9_]+)'/g)) codes.add(m[1])
  }
  return codes
}

/** The `PIPEDREAM_*` variables the client reads: `config::ENV_VARS` in src/engine/config.rs. */
function envVars() {
  const found = read('src/engine/config.rs').match(/pub const ENV_VARS[^=]*=\s*\[([^\]]*)\]/)
  if (!found) throw new Error('src/engine/config.rs: ENV_VARS not found')
  const env = new Set([...found[1].matchAll(/"(\w+)"/g)].map((m) => m[1]))
  expect(env.size).toBeGreaterThan(0)
  return env
}

/** The engine's own list: `ErrorCode::as_str` in src/engine/error.rs. */
function engineCodes() {
  const body = read('src/engine/error.rs').match(/pub fn as_str\(self\)[\s\S]*?\n {4}\}/)
  if (!body) throw new Error('src/engine/error.rs: ErrorCode::as_str not found')
  return [...body[0].matchAll(/=> "([A-Z_]+)"/g)].map((m) => m[1])
}

test('the stable surface lists exactly the error codes the source can produce', () => {
  const listed = [...lists('Codes').values()].flat()
  const produced = sourceCodes()
  expect(produced.size).toBeGreaterThan(engineCodes().length)
  expect(sorted(listed)).toEqual(sorted(produced))
})

test("the API reference's error-code table covers the engine's codes and names no unlisted one", () => {
  const md = read(API_DOC)
  const table = md.match(/\n### Error codes\n\n\| code \| when \|\n\|[-|]+\|\n((?:\|.*\|\n)+)/)
  expect(table).not.toBeNull()
  const documented = table[1]
    .trim()
    .split('\n')
    .map((row) => row.match(/^\| `([A-Z_]+)`/)[1])
  const listed = [...lists('Codes').values()].flat()
  for (const code of documented) expect({ documented: code, listed: listed.includes(code) }).toEqual({ documented: code, listed: true })
  for (const code of engineCodes()) expect({ engine: code, documented: documented.includes(code) }).toEqual({ engine: code, documented: true })
})

/** The user-facing docs: the README and every page under docs/. */
function docPages() {
  const pages = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`)
  expect(pages).toContain(API_DOC)
  return ['README.md', ...pages]
}

test("the README's error-code summary names every code a failed call can carry", () => {
  const md = read('README.md')
  const start = md.indexOf('\n## Error codes\n')
  expect(start).not.toBe(-1)
  const rest = md.slice(start + 1)
  const section = rest.slice(0, rest.indexOf('\n## ') === -1 ? undefined : rest.indexOf('\n## '))
  const named = new Set([...section.matchAll(/\b(?:PIPEDREAM|ERR)_[A-Z0-9_]*[A-Z0-9]\b|\bABORT_ERR\b/g)].map((m) => m[0]))
  for (const code of [...pd.errorCodes, 'ABORT_ERR']) expect({ code, summarized: named.has(code) }).toEqual({ code, summarized: true })
  // …and the section links to the full table.
  expect(section).toContain(`](${API_DOC}#error-codes)`)
})

test('every PIPEDREAM_* name in the README and docs/ is a code, a configuration variable or a name the CLI uses', () => {
  const codes = new Set([...lists('Codes').values()].flat())
  const env = envVars()
  // The CLI and the scripts read a few variables of their own (PIPEDREAM_EMULATOR_BIN, …).
  const tools = new Set()
  for (const file of ['bin/pipedream-connect.js', ...fs.readdirSync(path.join(ROOT, 'scripts')).map((f) => `scripts/${f}`)]) {
    for (const m of read(file).matchAll(/\bPIPEDREAM_[A-Z0-9_]*[A-Z0-9]\b/g)) tools.add(m[0])
  }
  for (const page of docPages()) {
    for (const m of read(page).matchAll(/\bPIPEDREAM_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      const name = m[0]
      expect({ page, name, known: codes.has(name) || env.has(name) || tools.has(name) }).toEqual({ page, name, known: true })
    }
  }
})
