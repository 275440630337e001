'use strict'
// TLS to the API. The certificate verifier is built once per process and shared by every
// client, so these tests run each client in a child process whose trust store is chosen by
// SSL_CERT_FILE (read by the platform verifier on Linux). The server is a real TLS endpoint
// (node's http2 server, HTTP/1.1 allowed) in front of the emulator, with a certificate for
// 127.0.0.1 issued by a test CA (fixtures/tls: P-256, valid 2020-2120; the CA keys were not
// kept). The last tests put a forwarding and tunnelling proxy (node's http server) in the way,
// named by the variables curl reads.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const http2 = require('node:http2')
const net = require('node:net')
const path = require('node:path')
const { startEmulator } = require('./helpers/emulator')

const ROOT = path.resolve(__dirname, '..')
const TLS = path.join(__dirname, 'fixtures', 'tls')

let emu
let server
let seen // every request the TLS front saw: { version, path }
let handshakeErrors
beforeAll(async () => {
  emu = await startEmulator()
  const upstream = new URL(emu.url)
  server = http2.createSecureServer({
    key: fs.readFileSync(path.join(TLS, 'server.key')),
    cert: fs.readFileSync(path.join(TLS, 'server.pem')),
    allowHTTP1: true,
  })
  server.on('request', (req, res) => {
    seen.push({ version: req.httpVersion, path: req.url })
    const headers = {}
    for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':') && k !== 'connection') headers[k] = v
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        const back = {}
        for (const [k, v] of Object.entries(answer.headers)) {
          if (!['connection', 'keep-alive', 'transfer-encoding'].includes(k)) back[k] = v
        }
        res.writeHead(answer.statusCode, back)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    req.pipe(out)
  })
  server.on('tlsClientError', (e) => handshakeErrors.push(e.code || e.message))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await emu.stop()
})
beforeEach(() => {
  seen = []
  handshakeErrors = []
})

const httpsUrl = () => `https://127.0.0.1:${server.address().port}`

// Makes two clients one after the other in a fresh process, each searching once (running
// `between` before the second); prints what each construction and search gave.
function twoClients(baseUrl, env, between = '') {
  const script = `
    const { PipedreamClient } = require(${JSON.stringify(ROOT)})
    const options = JSON.parse(process.argv[1])
    ;(async () => {
      const out = []
      for (let i = 0; i < 2; i++) {
        if (i === 1) { ${between} }
        try {
          const res = await new PipedreamClient(options).searchServices({ query: 'slack' })
          out.push({ error: res.error, message: res.message, found: res.services.length })
        } catch (e) {
          out.push({ thrown: { name: e.name, code: e.code, message: e.message } })
        }
      }
      process.stdout.write(JSON.stringify(out))
    })()
  `
  const options = { ...emu.clientOptions, baseUrl }
  const childEnv = { ...env }
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(PIPEDREAM_|SSL_CERT_)|_PROXY$/i.test(k)) childEnv[k] ??= v
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(options)], { env: childEnv })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`))
      else resolve({ results: JSON.parse(out), stderr: err })
    })
  })
}

test('clients trust the CA in SSL_CERT_FILE and offer h2 by ALPN', async () => {
  const { results } = await twoClients(httpsUrl(), { SSL_CERT_FILE: path.join(TLS, 'ca.pem') })
  for (const r of results) {
    expect(r.error).toBeUndefined()
    expect(r.found).toBeGreaterThan(0)
  }
  // Both clients got their token and the catalog through the TLS front, over HTTP/2 (ALPN
  // offers h2, then HTTP/1.1).
  const tokens = seen.filter((r) => r.path === '/v1/oauth/token')
  expect(tokens.length).toBe(2)
  expect(seen.filter((r) => r.path.startsWith('/v1/connect/apps')).length).toBeGreaterThanOrEqual(2)
  expect(new Set(seen.map((r) => r.version))).toEqual(new Set(['2.0']))
  expect(handshakeErrors).toEqual([])
})

test('the system CA certificates are read once per process, by its first client', async () => {
  // The second client is made after the bundle is gone: it uses the verifier the first built.
  const between = `process.env.SSL_CERT_FILE = ${JSON.stringify(path.join(TLS, 'missing.pem'))}`
  const { results } = await twoClients(httpsUrl(), { SSL_CERT_FILE: path.join(TLS, 'ca.pem') }, between)
  for (const r of results) {
    expect(r.thrown).toBeUndefined()
    expect(r.error).toBeUndefined()
  }
  expect(seen.filter((r) => r.path === '/v1/oauth/token').length).toBe(2)
})

test('a server whose certificate no trusted CA issued is refused once, before any request', async () => {
  const { results } = await twoClients(httpsUrl(), { SSL_CERT_FILE: path.join(TLS, 'other-ca.pem') })
  for (const r of results) {
    expect(r.thrown).toBeUndefined()
    expect(r.error).toBe('PIPEDREAM_NETWORK')
    expect(r.message).toMatch(/the TLS certificate of 127\.0\.0\.1:\d+ was refused \(invalid peer certificate: UnknownIssuer\); nothing was sent/)
    expect(r.message).not.toContain(emu.clientOptions.clientSecret)
  }
  expect(seen).toEqual([])
  // One handshake per client: a refused certificate is refused again on every attempt, so it
  // is not retried.
  expect(handshakeErrors.length).toBe(2)
})

test('without any CA certificate, an http base URL still works and an https one says what to install', async () => {
  const none = { SSL_CERT_FILE: path.join(TLS, 'missing.pem'), SSL_CERT_DIR: path.join(TLS, 'missing') }
  // A slim container with no ca-certificates, talking to the emulator over plain HTTP.
  const plain = await twoClients(emu.url, none)
  for (const r of plain.results) {
    expect(r.error).toBeUndefined()
    expect(r.found).toBeGreaterThan(0)
  }
  const secure = await twoClients(httpsUrl(), none)
  for (const r of secure.results) {
    expect(r.thrown.name).toBe('TypeError')
    expect(r.thrown.code).toBe('ERR_INVALID_ARG_VALUE')
    expect(r.thrown.message).toMatch(/`baseUrl`: is https, but no CA certificates could be loaded/)
    expect(r.thrown.message).toMatch(/ca-certificates.*SSL_CERT_FILE/)
  }
  expect(seen).toEqual([])
})

describe("through the environment's proxy", () => {
  let proxy
  let proxied // what the proxy saw: { connect?, method?, url?, auth }
  beforeAll(async () => {
    proxy = http.createServer((req, res) => {
      proxied.push({ method: req.method, url: req.url, auth: req.headers['proxy-authorization'] })
      const target = new URL(req.url)
      const headers = { ...req.headers }
      delete headers['proxy-authorization']
      const out = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers)
          answer.pipe(res)
        },
      )
      out.on('error', () => res.destroy())
      req.pipe(out)
    })
    proxy.on('connect', (req, socket, head) => {
      proxied.push({ connect: req.url, auth: req.headers['proxy-authorization'] })
      const [host, port] = req.url.split(':')
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
      upstream.on('error', () => socket.destroy())
      socket.on('error', () => upstream.destroy())
    })
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    proxy.closeAllConnections()
    await new Promise((resolve) => proxy.close(resolve))
  })
  beforeEach(() => {
    proxied = []
  })
  const proxyUrl = (auth = '') => `http://${auth}127.0.0.1:${proxy.address().port}`
  const basic = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

  test('an http base URL is reached through HTTP_PROXY, requests in absolute form with its credentials', async () => {
    const { results } = await twoClients(emu.url, { HTTP_PROXY: proxyUrl('me:s3cret@') })
    for (const r of results) expect(r.found).toBeGreaterThan(0)
    const tokens = proxied.filter((r) => r.url === `${emu.url}/v1/oauth/token`)
    expect(tokens.length).toBe(2)
    expect(proxied.every((r) => r.url.startsWith(`${emu.url}/v1/`))).toBe(true)
    expect(new Set(proxied.map((r) => r.auth))).toEqual(new Set([basic('me', 's3cret')]))
  })

  test('an https base URL is tunnelled with CONNECT through HTTPS_PROXY, TLS end to end', async () => {
    const env = { SSL_CERT_FILE: path.join(TLS, 'ca.pem'), HTTPS_PROXY: proxyUrl('me:pw@') }
    const { results } = await twoClients(httpsUrl(), env)
    for (const r of results) expect(r.found).toBeGreaterThan(0)
    // One tunnel per client (its connection is kept), and the front saw the requests over h2.
    expect(proxied).toEqual([
      { connect: `127.0.0.1:${server.address().port}`, auth: basic('me', 'pw') },
      { connect: `127.0.0.1:${server.address().port}`, auth: basic('me', 'pw') },
    ])
    expect(seen.filter((r) => r.path === '/v1/oauth/token').length).toBe(2)
    expect(new Set(seen.map((r) => r.version))).toEqual(new Set(['2.0']))
  })

  test('NO_PROXY bypasses it', async () => {
    const { results } = await twoClients(emu.url, { HTTP_PROXY: proxyUrl(), NO_PROXY: '127.0.0.1' })
    for (const r of results) expect(r.found).toBeGreaterThan(0)
    expect(proxied).toEqual([])
  })

  test('a proxy this client cannot use is a configuration error that quotes no credentials', async () => {
    const { results } = await twoClients(emu.url, { HTTP_PROXY: 'socks5://me:s3cret@127.0.0.1:1' })
    for (const r of results) {
      expect(r.thrown.name).toBe('TypeError')
      expect(r.thrown.code).toBe('ERR_INVALID_ARG_VALUE')
      expect(r.thrown.message).toMatch(/`baseUrl`: .*uses socks5:\/\/; only http:\/\/ proxies are supported. Set NO_PROXY/)
      expect(r.thrown.message).not.toContain('s3cret')
    }
    expect(proxied).toEqual([])
  })
})
