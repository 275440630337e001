#!/usr/bin/env node
'use strict'
// What a user's `npm install @director/pipedream-connect` gets, proved without a registry:
// packs the root package (with the optionalDependencies `napi pre-publish` adds at release) and
// the linux-x64-gnu platform package holding the binary built for release, installs both
// tarballs into a new project in the OS temp directory, and there requires the package, calls
// searchServices against the emulator, loads it in a worker thread and runs the CLI.
//
//   node scripts/install-test.js [path/to/pipedream-connect.linux-x64-gnu.node]
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const assert = require('node:assert/strict')
const { emulatorBin, spawnEmulator } = require('./emulator')

const ROOT = path.resolve(__dirname, '..')
const TARGET = 'linux-x64-gnu'
const BINARY = path.resolve(process.argv[2] || path.join(ROOT, `pipedream-connect.${TARGET}.node`))
const EMULATOR = emulatorBin()
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

function startEmulator() {
  return spawnEmulator(EMULATOR, ['--client-id', 'install-client', '--client-secret', 'install-secret', '--project-id', 'proj_install'])
}

// Runs in the temporary project, with nothing of the checkout on its module path.
const CHECK = `
'use strict'
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const options = { baseUrl: process.argv[2], clientId: 'install-client', clientSecret: 'install-secret', projectId: 'proj_install' }

const entry = require.resolve('@director/pipedream-connect')
assert.ok(entry.startsWith(path.join(__dirname, 'node_modules')), entry)
const pd = require('@director/pipedream-connect')
const addon = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
assert.deepEqual(addon, [path.join(__dirname, 'node_modules', '@director', process.argv[3], process.argv[4])])

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
  const found = check(await new pd.PipedreamClient(options).searchServices({ query: 'slack' }))
  const fromWorker = await new Promise((resolve, reject) => {
    const w = new Worker(worker, { eval: true, workerData: options })
    w.once('message', resolve)
    w.once('error', reject)
  })
  check(fromWorker)
  console.log('installed package: searchServices found ' + found + ' services, on the main thread and in a worker')
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
  const emu = await startEmulator()
  try {
    const { rootTgz, platformTgz, platform } = stagePackages(path.join(work, 'packages'), packed)
    const project = path.join(work, 'project')
    fs.mkdirSync(project)
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'install-test', private: true }))
    npm(['install', '--no-audit', '--no-fund', rootTgz, platformTgz], project)
    fs.writeFileSync(path.join(project, 'check.js'), CHECK)
    const out = execFileSync(process.execPath, ['check.js', emu.url, platform.name.split('/')[1], platform.main], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: '' },
    })
    process.stdout.write(out)
    const help = execFileSync(path.join(project, 'node_modules', '.bin', 'pipedream-connect'), ['--help'], { cwd: project, encoding: 'utf8' })
    assert.match(help, /Usage: pipedream-connect/)
    console.log('installed CLI: pipedream-connect --help works')
  } finally {
    await emu.stop()
    fs.rmSync(work, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
