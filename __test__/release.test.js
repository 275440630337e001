'use strict'
// The release workflow, package.json `napi.targets` and the committed npm/<target> packages must
// describe the same binaries: `napi artifacts` fails on a target without an artifact, a target
// missing from the matrix never ships, and a platform package with the wrong os/cpu/libc is
// installed where it cannot load (or skipped where it should be).
const fs = require('node:fs')
const path = require('node:path')
const YAML = require('yaml')

const ROOT = path.resolve(__dirname, '..')
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
const workflow = YAML.parse(fs.readFileSync(path.join(ROOT, '.github/workflows/release.yml'), 'utf8'))
const targets = pkg.napi.targets
const sorted = (items) => [...items].sort()

/**
 * napi-rs's names for a target (what `napi create-npm-dirs` and the loader use): Node's
 * `process.platform` and `process.arch`, then the ABI. (@napi-rs/cli's own parseTriple cannot be
 * required under Jest: it loads ESM-only dependencies.)
 */
function parseTriple(triple) {
  const ARCH = { x86_64: 'x64', aarch64: 'arm64' }
  const PLATFORM = { linux: 'linux', darwin: 'darwin', windows: 'win32' }
  const parts = triple.split('-')
  const at = parts.findIndex((p, i) => i > 0 && PLATFORM[p])
  const arch = ARCH[parts[0]]
  if (!arch || at === -1) throw new Error(`parseTriple does not know ${triple}: add its arch or OS`)
  const platform = PLATFORM[parts[at]]
  const abi = parts[at + 1]
  return { platform, arch, abi, platformArchABI: [platform, arch, abi].filter(Boolean).join('-') }
}

/**
 * Evaluates a GitHub Actions expression (an `if:`, with or without `${{ }}`) in `ctx`. Enough of
 * the language for this workflow: literals, context paths, `!`, `==`, `!=`, `&&`, `||`,
 * parentheses and contains / startsWith / endsWith, which compare strings case-insensitively
 * as GitHub does. The tests use it to see which steps really run for each matrix entry.
 */
function evaluate(expression, ctx) {
  const src = String(expression).trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1')
  const tokens = src.match(/'(?:[^']|'')*'|&&|\|\||==|!=|[!(),]|[A-Za-z_][\w.-]*|\d+(?:\.\d+)?|\S/g) || []
  let i = 0
  const take = (expected) => {
    const t = tokens[i++]
    if (expected !== undefined && t !== expected) throw new Error(`expected ${expected} in: ${expression}`)
    if (t === undefined) throw new Error(`unexpected end of: ${expression}`)
    return t
  }
  const truthy = (v) => !(v === false || v === 0 || v === '' || v === null || v === undefined)
  const text = (v) => (v === null || v === undefined ? '' : String(v)).toLowerCase()
  const functions = {
    contains: (a, b) => (Array.isArray(a) ? a.some((x) => text(x) === text(b)) : text(a).includes(text(b))),
    startswith: (a, b) => text(a).startsWith(text(b)),
    endswith: (a, b) => text(a).endsWith(text(b)),
  }
  function primary() {
    const t = take()
    if (t === '!') return !truthy(primary())
    if (t === '(') {
      const v = or()
      take(')')
      return v
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'")
    if (/^\d/.test(t)) return Number(t)
    if (t === 'true' || t === 'false') return t === 'true'
    if (t === 'null') return null
    if (tokens[i] === '(') {
      take('(')
      const args = []
      while (tokens[i] !== ')') {
        args.push(or())
        if (tokens[i] === ',') take(',')
      }
      take(')')
      const fn = functions[t.toLowerCase()]
      if (!fn) throw new Error(`unsupported function ${t} in: ${expression}`)
      return fn(...args)
    }
    return t.split('.').reduce((o, key) => (o === null || o === undefined ? undefined : o[key]), ctx)
  }
  function equality() {
    let v = primary()
    while (tokens[i] === '==' || tokens[i] === '!=') {
      const op = take()
      const r = primary()
      const same = typeof v === 'string' && typeof r === 'string' ? text(v) === text(r) : v === r
      v = op === '==' ? same : !same
    }
    return v
  }
  function and() {
    let v = equality()
    while (tokens[i] === '&&') {
      take()
      const r = equality()
      v = truthy(v) ? r : v
    }
    return v
  }
  function or() {
    let v = and()
    while (tokens[i] === '||') {
      take()
      const r = and()
      v = truthy(v) ? v : r
    }
    return v
  }
  const value = or()
  if (i !== tokens.length) throw new Error(`cannot read "${tokens[i]}" in: ${expression}`)
  return truthy(value)
}

const runs = (step, ctx) => step.if === undefined || evaluate(step.if, ctx)
/** The steps of `job` that run for one matrix entry. */
const stepsFor = (job, settings) => job.steps.filter((s) => runs(s, { matrix: { settings }, github: {} }))
const entries = (job) => job.strategy.matrix.settings

const build = workflow.jobs.build
const testJobs = Object.entries(workflow.jobs).filter(([id]) => id.startsWith('test'))
const publish = workflow.jobs.publish

describe('build matrix', () => {
  test('builds exactly the targets of package.json napi.targets, each once', () => {
    const built = entries(build).map((e) => e.target)
    expect(new Set(built).size).toBe(built.length)
    expect(sorted(built)).toEqual(sorted(targets))
  })

  test('each entry builds its own target on a runner of its OS and uploads bindings-<target>', () => {
    const runner = { linux: /^ubuntu-/, darwin: /^macos-/, win32: /^windows-/ }
    for (const e of entries(build)) {
      expect({ [e.target]: e.build }).toEqual({ [e.target]: expect.stringContaining(`npm run build -- --target ${e.target}`) })
      expect({ [e.target]: e.host }).toEqual({ [e.target]: expect.stringMatching(runner[parseTriple(e.target).platform]) })
      const upload = stepsFor(build, e).find((s) => String(s.uses).startsWith('actions/upload-artifact'))
      expect(upload).toBeDefined()
      expect(upload.with.name).toBe('bindings-${{ matrix.settings.target }}')
      expect(upload.with.path).toMatch(/\.node$/)
    }
  })

  test('linux gnu entries use the napi cross toolchain and pass the glibc 2.17 check (objdump -T)', () => {
    const gnu = entries(build).filter((e) => e.target.endsWith('-linux-gnu'))
    expect(sorted(gnu.map((e) => e.target))).toEqual(sorted(targets.filter((t) => t.endsWith('-linux-gnu'))))
    for (const e of gnu) {
      expect({ [e.target]: e.build.split(/\s+/) }).toEqual({ [e.target]: expect.arrayContaining(['--use-napi-cross']) })
      expect({ [e.target]: / (-x|--cross-compile)\b/.test(e.build) }).toEqual({ [e.target]: false })
      const checks = stepsFor(build, e).filter((s) => /objdump"? -T/.test(s.run || '') && /\b2\.17\b/.test(s.run))
      expect({ [e.target]: checks.length }).toEqual({ [e.target]: 1 })
      // The check runs after the build and before the upload, so a failing binary never ships.
      const names = build.steps.map((s) => s.name || s.uses)
      expect(names.indexOf(checks[0].name)).toBeGreaterThan(names.indexOf('Build'))
      expect(names.indexOf(checks[0].name)).toBeLessThan(names.indexOf('Upload artifact'))
    }
  })

  test('musl entries cross-compile with zig (-x, zig and cargo-zigbuild installed)', () => {
    const musl = entries(build).filter((e) => e.target.endsWith('-linux-musl'))
    expect(sorted(musl.map((e) => e.target))).toEqual(sorted(targets.filter((t) => t.endsWith('-linux-musl'))))
    for (const e of musl) {
      expect({ [e.target]: / (-x|--cross-compile)( |$)/.test(e.build) }).toEqual({ [e.target]: true })
      const steps = stepsFor(build, e)
      const zig = steps.filter((s) => /^(mlugg|goto-bus-stop)\/setup-zig@/.test(s.uses || ''))
      const zigbuild = steps.filter(
        (s) => (s.with && s.with.tool === 'cargo-zigbuild') || /cargo install[^\n]*cargo-zigbuild/.test(s.run || ''),
      )
      expect({ [e.target]: [zig.length, zigbuild.length] }).toEqual({ [e.target]: [1, 1] })
    }
  })

  test('the Linux test emulators are built by musl entries', () => {
    const musl = entries(build).filter((e) => e.target.endsWith('-linux-musl'))
    for (const e of musl) {
      const upload = stepsFor(build, e).find((s) => s.with && s.with.name === 'emulator-${{ matrix.settings.target }}')
      expect({ [e.target]: Boolean(upload) }).toEqual({ [e.target]: true })
    }
  })
})

describe('tests', () => {
  test('every target is tested, each on its own binary, in a job of its own', () => {
    const tested = testJobs.flatMap(([, job]) => entries(job).map((e) => e.target))
    expect(sorted(tested)).toEqual(sorted(targets))
    for (const [id, job] of testJobs) {
      expect({ [id]: job.needs }).toEqual({ [id]: expect.arrayContaining(['build']) })
      for (const e of entries(job)) {
        // The smoke check compares the loaded file with `abi`; a wrong one would pass vacuously.
        expect({ [e.target]: e.abi }).toEqual({ [e.target]: parseTriple(e.target).platformArchABI })
        const download = stepsFor(job, e).find((s) => s.with && s.with.name === 'bindings-${{ matrix.settings.target }}')
        expect({ [e.target]: Boolean(download) }).toEqual({ [e.target]: true })
      }
    }
  })

  test('Linux targets run in node:20-slim (glibc) or node:20-alpine (musl), arm64 on arm64 runners', () => {
    const linux = testJobs.flatMap(([, job]) => entries(job)).filter((e) => e.target.includes('-linux-'))
    expect(linux.length).toBe(targets.filter((t) => t.includes('-linux-')).length)
    for (const e of linux) {
      const musl = e.target.endsWith('-musl')
      expect({ [e.target]: e.image }).toEqual({ [e.target]: musl ? 'node:20-alpine' : 'node:20-slim' })
      expect({ [e.target]: e.host }).toEqual({ [e.target]: e.target.startsWith('aarch64') ? 'ubuntu-24.04-arm' : 'ubuntu-latest' })
      // A static musl emulator for the same CPU, built in the build job.
      expect({ [e.target]: e.emulator }).toEqual({ [e.target]: `${e.target.split('-')[0]}-unknown-linux-musl` })
      expect(targets).toContain(e.emulator)
    }
  })
})

describe('publish', () => {
  test('runs only for a pushed v* tag', () => {
    expect(workflow.on.push.tags).toContain('v*')
    expect(publish.if).toBeDefined()
    const when = (event_name, ref) => evaluate(publish.if, { github: { event_name, ref } })
    expect(when('push', 'refs/tags/v0.1.0')).toBe(true)
    expect(when('push', 'refs/tags/v1.2.0-rc.1')).toBe(true)
    expect(when('push', 'refs/heads/main')).toBe(false)
    expect(when('push', 'refs/tags/release-1')).toBe(false)
    expect(when('pull_request', 'refs/pull/7/merge')).toBe(false)
    expect(when('workflow_dispatch', 'refs/heads/main')).toBe(false)
  })

  test('needs every build and test job', () => {
    const others = Object.keys(workflow.jobs).filter((id) => id !== 'publish')
    expect(others).toEqual(expect.arrayContaining(['build', ...testJobs.map(([id]) => id)]))
    expect(sorted(publish.needs)).toEqual(sorted(others))
  })

  test('assembles npm/ from the artifacts, then publishes with provenance', () => {
    expect(publish.permissions).toEqual({ contents: 'write', 'id-token': 'write' })
    const runs = publish.steps.map((s) => s.run || '')
    const at = (re) => runs.findIndex((r) => re.test(r))
    const order = [
      at(/napi create-npm-dirs/),
      at(/napi artifacts/),
      at(/napi pre-publish -t npm/),
      at(/^npm publish .*--provenance/m),
    ]
    expect(order.every((i) => i >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    const download = publish.steps.findIndex((s) => String(s.uses).startsWith('actions/download-artifact'))
    expect(download).toBeGreaterThan(order[0])
    expect(download).toBeLessThan(order[1])
    // The platform packages' own `npm publish` (inside napi pre-publish) signs provenance too.
    const prePublish = publish.steps[order[2]]
    expect(prePublish.env.NPM_CONFIG_PROVENANCE).toBe('true')
    for (const i of [order[2], order[3]]) expect(publish.steps[i].env.NODE_AUTH_TOKEN).toBe('${{ secrets.NPM_TOKEN }}')
  })
})

describe('npm/<target> packages', () => {
  const dirs = fs
    .readdirSync(path.join(ROOT, 'npm'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)

  test('there is one per target and no other', () => {
    expect(sorted(dirs)).toEqual(sorted(targets.map((t) => parseTriple(t).platformArchABI)))
  })

  test.each(targets)('%s: name, version, os, cpu and libc', (target) => {
    const { platformArchABI, platform, arch, abi } = parseTriple(target)
    const file = path.join(ROOT, 'npm', platformArchABI, 'package.json')
    expect(fs.existsSync(file)).toBe(true)
    const sub = JSON.parse(fs.readFileSync(file, 'utf8'))
    const binary = `${pkg.napi.binaryName}.${platformArchABI}.node`
    expect(sub.name).toBe(`${pkg.napi.packageName}-${platformArchABI}`)
    expect(sub.name).toBe(`@director/pipedream-connect-${platformArchABI}`)
    expect(sub.version).toBe(pkg.version)
    expect(sub.os).toEqual([platform])
    expect(sub.cpu).toEqual([arch])
    expect(sub.main).toBe(binary)
    expect(sub.files).toEqual([binary])
    if (abi === 'gnu') expect(sub.libc).toEqual(['glibc'])
    else if (abi === 'musl') expect(sub.libc).toEqual(['musl'])
    else expect(sub).not.toHaveProperty('libc')
  })
})
