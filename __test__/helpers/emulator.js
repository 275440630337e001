'use strict'
// Starts the Connect API emulator binary (a real HTTP server in its own process) and wraps its
// control API. Every test file starts its own emulator on a free port.
const path = require('node:path')
const { emulatorBin, spawnEmulator } = require('../../scripts/emulator')

const ROOT = path.resolve(__dirname, '..', '..')

const CLIENT_ID = 'test-client'
const CLIENT_SECRET = 'test-client-secret-5f2b9c'
// A project of its own for every test file (Jest loads this helper anew per file): the rate
// limiter and its 429 pauses are shared per (base URL, project), so one file's state cannot
// slow another's, even when Jest runs them one after another in the same worker.
const PROJECT_ID = `proj_${require('node:crypto').randomBytes(6).toString('hex')}`

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

  /** What a client needs to reach this emulator as the test OAuth client and project. */
  get clientOptions() {
    return { baseUrl: this.url, projectId: PROJECT_ID, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }
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
async function startEmulator(args = []) {
  const { child, url } = await spawnEmulator(emulatorBin(), [
    '--client-id',
    CLIENT_ID,
    '--client-secret',
    CLIENT_SECRET,
    '--project-id',
    PROJECT_ID,
    ...args,
  ])
  return new Emulator(child, url)
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

/** What `promise` rejects with; fails when it resolves. */
async function rejectionOf(promise) {
  let value
  try {
    value = await promise
  } catch (e) {
    return e
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
}

module.exports = { startEmulator, closedPortUrl, rejectionOf, CLIENT_ID, CLIENT_SECRET, PROJECT_ID, ROOT }
