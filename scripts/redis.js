'use strict'
// A redis-server of one's own, for the tests (__test__/helpers/redis.js) and the benchmark's
// `--redis` row: a child process on a free loopback port with no persistence (`--save ''
// --appendonly no`), ready once it answers PING, and stopped at the end.
// It can be killed and started again on the same port, as a Redis restart in the middle of a
// run would be. `command()` speaks RESP over a socket, so no client library or redis-cli is
// needed to look at the keys.
const { spawn } = require('node:child_process')
const net = require('node:net')

const BIN = process.env.REDIS_SERVER_BIN || 'redis-server'

/** A TCP port nothing listens on now. */
async function freePort() {
  const server = net.createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return port
}

/** `args` as a RESP array of bulk strings. */
function encode(args) {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')
}

/** One RESP reply from `buf` at `at`: `{ value, end }`, or null while it is incomplete. */
function decode(buf, at = 0) {
  const line = buf.indexOf('\r\n', at)
  if (line === -1) return null
  const type = String.fromCharCode(buf[at])
  const head = buf.toString('utf8', at + 1, line)
  const next = line + 2
  switch (type) {
    case '+':
      return { value: head, end: next }
    case '-':
      return { value: new Error(head), end: next }
    case ':':
      return { value: Number(head), end: next }
    case '$': {
      const len = Number(head)
      if (len < 0) return { value: null, end: next }
      if (buf.length < next + len + 2) return null
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 }
    }
    case '*': {
      const count = Number(head)
      if (count < 0) return { value: null, end: next }
      const items = []
      let end = next
      for (let i = 0; i < count; i++) {
        const item = decode(buf, end)
        if (!item) return null
        items.push(item.value)
        end = item.end
      }
      return { value: items, end }
    }
    default:
      throw new Error(`unexpected RESP reply: ${buf.toString('utf8', at, Math.min(buf.length, at + 40))}`)
  }
}

/**
 * Sends `args` as one command to the server on `port` (after `AUTH password` when given) and
 * resolves with its reply; an error reply rejects.
 */
function command(port, args, password) {
  const commands = password ? [['AUTH', password], args] : [args]
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`redis ${args[0]}: no reply within 5 s`))
    }, 5000)
    socket.on('connect', () => socket.write(commands.map(encode).join('')))
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      const replies = []
      for (let at = 0; replies.length < commands.length; ) {
        const reply = decode(buf, at)
        if (!reply) return
        replies.push(reply.value)
        at = reply.end
      }
      clearTimeout(timer)
      socket.end()
      const failed = replies.find((r) => r instanceof Error)
      if (failed) reject(failed)
      else resolve(replies[replies.length - 1])
    })
    socket.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

class RedisServer {
  constructor(port, password) {
    this.port = port
    this.password = password
    this.child = null
  }

  /**
   * A server on a free port, resolved once it answers PING; with `password`, clients must
   * authenticate (`requirepass`).
   */
  static async start({ password } = {}) {
    const server = new RedisServer(await freePort(), password)
    await server.restart()
    return server
  }

  /** `redis://[:password@]127.0.0.1:<port>`. */
  url() {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : ''
    return `redis://${auth}127.0.0.1:${this.port}`
  }

  /** Starts the server on its port (again): empty, as nothing is persisted. */
  async restart() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      throw new Error('redis-server is still running')
    }
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    if (this.password) args.push('--requirepass', this.password)
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4096)
    })
    const failed = new Promise((_, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start ${BIN} (apt-get install redis-server): ${e.message}`)))
      child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before answering: ${stderr}`)))
    })
    failed.catch(() => {})
    this.child = child
    const deadline = Date.now() + 10000
    for (;;) {
      try {
        const pong = await Promise.race([this.command('PING'), failed])
        if (pong === 'PONG') return
      } catch (e) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) throw e
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Stops the server abruptly (SIGKILL), as a crash or a lost host would. */
  async kill() {
    await this.signal('SIGKILL')
  }

  /** Stops the server. */
  async stop() {
    await this.signal('SIGTERM')
  }

  async signal(name) {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill(name)
    await exited
  }

  /** Runs one command on the server. */
  command(...args) {
    return command(this.port, args, this.password)
  }

  /** The keys matching `pattern` (a test server holds few). */
  keys(pattern) {
    return this.command('KEYS', pattern)
  }
}

module.exports = { RedisServer, command, freePort }
