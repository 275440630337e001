#!/usr/bin/env node
'use strict'
// What a user's `npm install @director/pipedream-connect` gets, proved without a registry:
// packs the root package (with the optionalDependencies `napi pre-publish` adds at release) and
// the linux-x64-gnu platform package holding the binary built for release, installs both
// tarballs into a new project in the OS temp directory, and there: counts what got installed
// (the package and its platform binary, nothing else), and with no Rust toolchain on PATH starts
// the emulator the package ships (startEmulator), calls searchServices against it on the main
// thread and in a worker, runs the README's Jest workflow test, and runs the CLI, also piped
// into `head`.
//
//   node scripts/install-test.js [path/to/pipedream-connect.linux-x64-gnu.node]
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const assert = require('node:assert/strict')

const ROOT = path.resolve(__dirname, '..')
const TARGET = 'linux-x64-gnu'
const BINARY = path.resolve(process.argv[2] || path.join(ROOT, `pipedream-connect.${TARGET}.node`))
const root = require(path.join(ROOT, 'package.json'))

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

function packedFiles(dir) {
  return JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], dir))[0].files.map((f) => f.path)
}

function checkRootContents(packed) {
  const files = [...packed].sort()
  // The docs the README links to ship with it, so its links work in node_modules too.
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
  assert.ok(docs.includes('docs/api.md'), `docs/ holds ${docs}`)
  const expected = ['CHANGELOG.md', 'LICENSE', 'README.md', 'binding.js', 'index.d.ts', 'index.js', 'package.json', 'bin/pipedream-connect.js', ...docs]
  const missing = expected.filter((f) => !files.includes(f))
  assert.deepEqual(missing, [], `npm pack leaves out ${missing}`)
  const stray = files.filter((f) => !expected.includes(f))
  assert.deepEqual(stray, [], `npm pack would publish files the package does not need: ${stray}`)
  console.log(`root package: ${files.join(', ')}`)
}

function pack(dir, into) {
  const name = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', into], dir))[0].filename
  return path.join(into, name)
}

function stagePackages(work, packed) {
  // The root as it is published: its own files, plus one optional dependency per target.
  const stagedRoot = path.join(work, 'root')
  for (const f of packed) {
    fs.mkdirSync(path.dirname(path.join(stagedRoot, f)), { recursive: true })
    fs.copyFileSync(path.join(ROOT, f), path.join(stagedRoot, f))
  }
  const manifest = { ...root, optionalDependencies: {} }
  for (const dir of fs.readdirSync(path.join(ROOT, 'npm'))) {
    const p = require(path.join(ROOT, 'npm', dir, 'package.json'))
    manifest.optionalDependencies[p.name] = p.version
  }
  delete manifest.devDependencies
  delete manifest.overrides
  delete manifest.scripts
  fs.writeFileSync(path.join(stagedRoot, 'package.json'), JSON.stringify(manifest, null, 2))

  const stagedPlatform = path.join(work, TARGET)
  fs.cpSync(path.join(ROOT, 'npm', TARGET), stagedPlatform, { recursive: true })
  const platform = require(path.join(stagedPlatform, 'package.json'))
  fs.copyFileSync(BINARY, path.join(stagedPlatform, platform.main))
  assert.deepEqual(packedFiles(stagedPlatform).sort(), ['README.md', platform.main, 'package.json'].sort())
  return { rootTgz: pack(stagedRoot, work), platformTgz: pack(stagedPlatform, work), platform }
}

/** PATH without the directories that hold cargo or rustc: the user's machine has neither. */
function pathWithoutRust() {
  const dirs = (process.env.PATH || '').split(path.delimiter)
  const rust = (dir) => ['cargo', 'rustc'].some((exe) => fs.existsSync(path.join(dir, exe)))
  return dirs.filter((dir) => dir && !rust(dir)).join(path.delimiter)
}

/** Runtime packages installed besides ours and its platform binary (there must be none). */
function strayPackages(project) {
  const found = []
  const modules = path.join(project, 'node_modules')
  for (const entry of fs.readdirSync(modules)) {
    if (entry.startsWith('.')) continue
    const names = entry.startsWith('@') ? fs.readdirSync(path.join(modules, entry)).map((n) => `${entry}/${n}`) : [entry]
    found.push(...names)
  }
  return found.filter((name) => !name.startsWith('@director/pipedream-connect'))
}

/** The README's Jest example (the block that starts with `// workflow.test.js`). */
function readmeWorkflowTest() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.startsWith('// workflow.test.js'))
  assert.ok(block, 'README.md has no js block starting with // workflow.test.js')
  return block
}

// Runs in the temporary project, with nothing of the checkout on its module path.
const CHECK = `
'use strict'
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')

const entry = require.resolve('@director/pipedream-connect')
assert.ok(entry.startsWith(path.join(__dirname, 'node_modules')), entry)
const pd = require('@director/pipedream-connect')
const addon = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
assert.deepEqual(addon, [path.join(__dirname, 'node_modules', '@director', process.argv[2], process.argv[3])])

const check = (res) => {
  assert.equal(res.error, undefined, res.message)
  assert.ok(res.services.some((s) => s.app_slug === 'slack'), JSON.stringify(res))
  return res.services.length
}
const worker = \`
  const { parentPort, workerData } = require('node:worker_threads')
  const pd = require('@director/pipedream-connect')
  new pd.PipedreamClient(workerData).searchServices({ query: 'slack' }).then((r) => parentPort.postMessage(r))
\`
;(async () => {
  // The emulator the package ships, in this process.
  const emu = await pd.startEmulator({ clientId: 'install-client', clientSecret: 'install-secret', projectId: 'proj_install' })
  const options = emu.clientOptions
  const found = check(await new pd.PipedreamClient(options).searchServices({ query: 'slack' }))
  const fromWorker = await new Promise((resolve, reject) => {
    const w = new Worker(worker, { eval: true, workerData: options })
    w.once('message', resolve)
    w.once('error', reject)
  })
  check(fromWorker)
  assert.ok((await emu.requests('^/v1/connect/apps$')).length >= 2)
  await emu.close()
  console.log('installed package: its emulator started; searchServices found ' + found + ' services, on the main thread and in a worker')
})().catch((e) => {
  console.error(e)
  process.exit(1)
})
`

async function main() {
  assert.ok(fs.existsSync(BINARY), `no binary at ${BINARY}: build it first (npm run build)`)
  const packed = packedFiles(ROOT)
  checkRootContents(packed)
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-install-'))
  try {
    const { rootTgz, platformTgz, platform } = stagePackages(path.join(work, 'packages'), packed)
    const project = path.join(work, 'project')
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'install-test', private: true }))
    npm(['install', '--no-audit', '--no-fund', rootTgz, platformTgz], project)
    assert.deepEqual(strayPackages(project), [], 'the package installed runtime dependencies')
    console.log('installed: @director/pipedream-connect and its platform package, no other package')

    const env = { ...process.env, NODE_PATH: '', PATH: pathWithoutRust() }
    assert.notEqual(spawnSync('cargo', ['--version'], { env }).status, 0, 'cargo is still on PATH')
    fs.writeFileSync(path.join(project, 'check.js'), CHECK)
    const out = execFileSync(process.execPath, ['check.js', platform.name.split('/')[1], platform.main], { cwd: project, encoding: 'utf8', env })
    process.stdout.write(out)

    // The README's Jest test of a workflow, against the installed package's emulator.
    fs.writeFileSync(path.join(project, 'workflow.test.js'), readmeWorkflowTest())
    const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js')
    const run = spawnSync(process.execPath, [jest, '--ci', '--rootDir', project, 'workflow.test.js'], { cwd: project, encoding: 'utf8', env })
    assert.equal(run.status, 0, `the README's workflow test failed in the installed project:\n${run.stdout}${run.stderr}`)
    assert.match(run.stderr, /Tests:\s+2 passed, 2 total/)
    console.log("installed package: the README's Jest workflow test passes against its emulator")

    const cli = path.join(project, 'node_modules', '.bin', 'pipedream-connect')
    const help = execFileSync(cli, ['--help'], { cwd: project, encoding: 'utf8', env })
    assert.match(help, /Usage: pipedream-connect/)
    // A reader that stops early: no EPIPE stack trace, exit 0 (pipefail sees the CLI's status).
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `"${cli}" --help | head -n 1`], { cwd: project, encoding: 'utf8', env })
    assert.equal(piped.status, 0, piped.stderr)
    assert.equal(piped.stderr, '')
    assert.match(piped.stdout, /^Usage: pipedream-connect/)
    console.log('installed CLI: pipedream-connect --help works, also piped into head')
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

module.exports = { readmeWorkflowTest }
