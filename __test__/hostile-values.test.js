'use strict'
// Hostile JS values against every export: a seeded property test. A child Node process (heap
// capped at 256 MB and, where `ulimit` exists, address space at ~4 GB, so a giant allocation
// fails instead of eating the machine) feeds sparse arrays, 50 MB strings, deep and circular
// structures, throwing getters and Proxies, Symbols, BigInts, typed arrays, … to every function
// export and PipedreamClient method in every argument position (see helpers/hostile-child.js).
// Every call must return a result or throw / reject an Error with a string code; the process
// must never crash, run out of memory or hang.
//
// Reproduce or narrow a run by hand (with an emulator's PIPEDREAM_* variables set):
//   HOSTILE_SEED=7 HOSTILE_ONLY='sparse' node --max-old-space-size=256 __test__/helpers/hostile-child.js
const { spawn } = require('node:child_process')
const path = require('node:path')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')

const CHILD = path.join(__dirname, 'helpers', 'hostile-child.js')
const USER = 'hostile-user-1'
const SEED = process.env.HOSTILE_SEED || '1'
const CALLS = Number(process.env.HOSTILE_CALLS || 2000)
const CHILD_TIMEOUT_MS = 120000
const ADDRESS_SPACE_KB = 4000000

let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:gmail:Hostile Inbox`, '--account', `${USER}:google_sheets:Sheets`])
})
afterAll(() => emu && emu.stop())

/**
 * Runs the child under the memory caps; resolves (never rejects) with how it ended, its stdout
 * and the tail of its stderr (where it writes a `CALL` line before each call).
 */
function runChild(args, env, timeoutMs) {
  const node = [process.execPath, '--max-old-space-size=256', CHILD, ...args]
  const [cmd, argv] =
    process.platform === 'win32'
      ? [node[0], node.slice(1)]
      : ['/bin/sh', ['-c', `ulimit -v ${ADDRESS_SPACE_KB} 2>/dev/null; exec "$@"`, 'sh', ...node]]
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIPEDREAM_') && !k.startsWith('HOSTILE_')))
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-16384)
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** The last `CALL #n …` line: the input being processed when the child died or hung. */
function lastCall(stderr) {
  const lines = stderr.split('\n').filter((l) => l.startsWith('CALL #'))
  return lines.length ? lines[lines.length - 1] : '(no call had started)'
}

function tagged(stdout, tag) {
  const line = stdout.split('\n').find((l) => l.startsWith(`${tag} `))
  return line ? JSON.parse(line.slice(tag.length + 1)) : null
}

test('hostile values in every argument position never crash the process: a result or a coded error', async () => {
  const run = await runChild(
    [],
    {
      PIPEDREAM_BASE_URL: emu.url,
      PIPEDREAM_CLIENT_ID: CLIENT_ID,
      PIPEDREAM_CLIENT_SECRET: CLIENT_SECRET,
      PIPEDREAM_PROJECT_ID: PROJECT_ID,
      PIPEDREAM_PROJECT_ENVIRONMENT: 'development',
      PIPEDREAM_EXTERNAL_USER_ID: USER,
      HOSTILE_SEED: SEED,
      HOSTILE_CALLS: String(CALLS),
      HOSTILE_CALL_TIMEOUT_MS: '10000',
      HOSTILE_USER: USER,
      ...(process.env.HOSTILE_ONLY ? { HOSTILE_ONLY: process.env.HOSTILE_ONLY } : {}),
      ...(process.env.HOSTILE_SKIP ? { HOSTILE_SKIP: process.env.HOSTILE_SKIP } : {}),
    },
    CHILD_TIMEOUT_MS,
  )
  const summary = tagged(run.stdout, 'HOSTILE_SUMMARY')
  const tail = run.stderr.split('\n').filter((l) => !l.startsWith('CALL #')).join('\n').slice(-3000)

  if (run.timedOut || run.signal || run.code !== 0 || !summary) {
    const how = run.timedOut
      ? `did not finish within ${CHILD_TIMEOUT_MS / 1000} s (killed): a hang that blocks the event loop`
      : run.signal
        ? `was killed by ${run.signal} (abort, out of memory or segfault)`
        : run.code === 3
          ? 'was kept alive after its last call'
          : `exited with code ${run.code}${summary ? '' : ' without a summary'}`
    throw new Error(
      `The hostile-values child (seed ${SEED}) ${how} after ${run.ms} ms.\n` +
        `Input at the time: ${lastCall(run.stderr)}\n` +
        `Its stderr ends with:\n${tail}`,
    )
  }

  const { outcomes } = summary
  // Every call was classified, and enough calls were made.
  expect(outcomes.resolved + outcomes.rejectedCoded + outcomes.thrownCoded + outcomes.failed + outcomes.internalUncoded).toBe(summary.calls)
  expect(summary.calls).toBeGreaterThanOrEqual(Math.min(CALLS, 1000))
  // A new export or method would be fuzzed, but should get a valid template in the child.
  expect({ unknownExports: summary.unknownExports, unknownMethods: summary.unknownMethods }).toEqual({ unknownExports: [], unknownMethods: [] })

  if (summary.failureCount > 0) {
    const lines = summary.failures.map((f) => `  - ${f.input}\n      ${f.problem}`)
    const kinds = summary.signatures.map(
      (s) => `  ${String(s.count).padStart(5)} × ${s.problem}\n          in ${s.where.join(', ')}; e.g. ${s.first}`,
    )
    throw new Error(
      `${summary.failureCount} of ${summary.calls} calls (seed ${SEED}, ${summary.durationMs} ms) gave no result and no coded error.\n` +
        `First failures:\n${lines.join('\n')}\n` +
        `By problem:\n${kinds.join('\n')}`,
    )
  }
}, CHILD_TIMEOUT_MS + 30000)

describe('a secret of the wrong type in the constructor options', () => {
  // In a child process: the suite's secret scan wraps the constructor in this one and replaces
  // `logger`.
  let out
  beforeAll(async () => {
    const run = await runChild(['--secrets'], {}, 30000)
    out = tagged(run.stdout, 'HOSTILE_SECRETS')
    if (!out) throw new Error(`the child ended (${run.code ?? run.signal}) without an answer:\n${run.stderr.slice(-3000)}`)
  })

  const SECRET = 'sk_live_SECRETVALUE123'
  const bytes = [...Buffer.from(SECRET)]
  // The secret in the forms a conversion error could print it: text, bytes, hex, base64.
  const forms = [
    'SECRETVALUE',
    bytes.join(','),
    bytes.join(', '),
    Buffer.from(SECRET).toString('hex'),
    Buffer.from(SECRET).toString('base64').slice(0, 16),
  ]

  test.each([
    ['clientSecret object', 'clientSecret'],
    ['token array', 'token'],
    ['clientSecret Buffer', 'clientSecret'],
  ])('%s: a TypeError naming the option, without the secret', (name, option) => {
    const e = out[name]
    expect(e.threw).toBe(true)
    expect(e.name).toBe('TypeError')
    expect(e.code).toMatch(/^ERR_INVALID_ARG_(VALUE|TYPE)$/)
    expect(e.message).toContain(option)
    for (const form of forms) {
      expect(e.message).not.toContain(form)
      expect(e.stack).not.toContain(form)
    }
  })

  test('logger: 42 is a coded TypeError naming `logger`', () => {
    const e = out['logger 42']
    expect(e.threw).toBe(true)
    expect(e.name).toBe('TypeError')
    expect(e.code).toMatch(/^ERR_INVALID_ARG_(VALUE|TYPE)$/)
    expect(e.message).toMatch(/logger/)
  })
})
