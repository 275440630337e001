'use strict'
// Starting and stopping the Connect API emulator binary in its own process, for the tests, the
// demo, the soak test, the benchmark and the install test. (The CLI in bin/ has its own copy:
// it ships in the package, and scripts/ does not.)
const { spawn } = require('node:child_process')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const EXE = process.platform === 'win32' ? 'pipedream-emulator.exe' : 'pipedream-emulator'

/** The emulator binary: `PIPEDREAM_EMULATOR_BIN`, else cargo's `profile` build in the checkout. */
function emulatorBin(profile = 'debug') {
  return process.env.PIPEDREAM_EMULATOR_BIN || path.join(ROOT, 'target', profile, EXE)
}

/**
 * Spawns `bin` with `--port 0` and `args`, and resolves once it prints the address it listens
 * on: `{ child, url, stderr(), stop() }`. Rejects, naming the binary and the last of its
 * stderr, when it cannot start, exits first, or stays silent for 15 s.
 */
function spawnEmulator(bin, args = []) {
  const child = spawn(bin, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8192)
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const fail = (message) => {
      clearTimeout(timer)
      child.stdout.removeAllListeners('data')
      reject(new Error(message))
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(`emulator did not start within 15 s; stderr: ${stderr}`)
    }, 15000)
    const onExit = (code, signal) => fail(`emulator exited (${code ?? signal}) before listening; stderr: ${stderr}`)
    child.once('exit', onExit)
    child.once('error', (e) => fail(`cannot start ${bin} (build it with \`npm run build:emulator\`): ${e.message}`))
    child.stdout.on('data', (d) => {
      out += d
      const m = out.match(/listening on (http:\/\/[^\s]+)/)
      if (!m) return
      clearTimeout(timer)
      child.off('exit', onExit)
      child.stdout.removeAllListeners('data')
      child.stdout.resume()
      resolve({ child, url: m[1], stderr: () => stderr, stop: () => stopEmulator(child) })
    })
  })
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stopEmulator(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

module.exports = { emulatorBin, spawnEmulator }
