'use strict'
// Starts the Connect API emulator binary (a real HTTP server in its own process) and wraps its
// control API. Every test file starts its own emulator on a free port.
const { spawn } = require('node:child_process')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
const BIN =
  process.env.PIPEDREAM_EMULATOR_BIN ||
  path.join(ROOT, 'target', 'debug', process.platform === 'win32' ? 'pipedream-emulator.exe' : 'pipedream-emulator')

const CLIENT_ID = 'test-client'
const CLIENT_SECRET = 'test-client-secret-5f2b9c'
const PROJECT_ID = 'proj_test123'

class Emulator {
  constructor(child, url) {
    this.child = child
    this.url = url
  }

  async control(method, route, body) {
    const res = await fetch(`${this.url}/__emulator/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`emulator ${method} ${route}: ${res.status} ${text}`)
    return text ? JSON.parse(text) : null
  }

  /** Every API request the emulator saw, optionally only those whose path matches `pathRegex`. */
  async requests(pathRegex) {
    const q = pathRegex ? `?path=${encodeURIComponent(pathRegex)}` : ''
    return (await this.control('GET', `requests${q}`)).data
  }

  async runs() {
    return (await this.control('GET', 'runs')).data
  }

  async fault(rule) {
    return (await this.control('POST', 'faults', rule)).data
  }

  async clearFaults() {
    await this.control('DELETE', 'faults')
  }

  async reset() {
    await this.control('POST', 'reset')
  }

  async expireTokens() {
    await this.control('POST', 'expire-tokens')
  }

  async addAccount(account) {
    return (await this.control('POST', 'accounts', account)).data
  }

  async stop() {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    await exited
  }
}

/** Starts an emulator with the test OAuth client and project; `args` adds CLI flags. */
function startEmulator(args = []) {
  const child = spawn(
    BIN,
    ['--port', '0', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--project-id', PROJECT_ID, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`emulator did not start within 15 s; stderr: ${err}`))
    }, 15000)
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`cannot start ${BIN} (build it with \`npm run build:emulator\`): ${e.message}`))
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`emulator exited with ${code}; stderr: ${err}`))
    })
    child.stdout.on('data', (d) => {
      out += d
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      if (m) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        child.stdout.removeAllListeners('data')
        child.stdout.resume()
        resolve(new Emulator(child, m[1]))
      }
    })
  })
}

/** A port with nothing listening on it, for connection-refused tests. */
async function closedPortUrl() {
  const net = require('node:net')
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return `http://127.0.0.1:${port}`
}

module.exports = { startEmulator, closedPortUrl, CLIENT_ID, CLIENT_SECRET, PROJECT_ID, ROOT }
