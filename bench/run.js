#!/usr/bin/env node
'use strict'
// A first side-by-side benchmark (issue 7 asks for more: the official SDK and a native load
// generator as the ceiling, batch and RSS scenarios, a JSON file). Both sides run against the
// same emulator process, interleaved (A B A B …) over several rounds; the table shows the median
// of our throughput divided by plan-js's, and the min–max over rounds.
const { spawn } = require('node:child_process')
const path = require('node:path')
const { PlanJsClient } = require('./baseline/plan-js')

const ROOT = path.resolve(__dirname, '..')
const BIN = process.env.PIPEDREAM_EMULATOR_BIN || path.join(ROOT, 'target', 'debug', 'pipedream-emulator')
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5)
const USER = 'bench-user'

function startEmulator() {
  const child = spawn(BIN, ['--port', '0', '--account', `${USER}:slack`], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.stdout.on('data', (d) => {
      const m = String(d).match(/listening on (http:\/\/\S+)/)
      if (m) resolve({ url: m[1], stop: () => child.kill('SIGTERM') })
    })
  })
}

/** Calls per second for `n` calls of `fn(i)` with `concurrency` in flight. */
async function throughput(fn, n, concurrency) {
  let next = 0
  const started = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++)
    }),
  )
  return n / (Number(process.hrtime.bigint() - started) / 1e9)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const emu = await startEmulator()
  const pd = require(ROOT)
  const options = { baseUrl: emu.url, clientId: 'emulator-client', clientSecret: 'emulator-secret', projectId: 'proj_emulator', externalUserId: USER }
  const ours = new pd.PipedreamClient({ ...options, rateLimit: { enabled: false }, cache: { ttlMs: 300000, maxEntries: 1_000_000 } })
  const plan = new PlanJsClient(options)
  const accounts = await (await fetch(`${emu.url}/v1/connect/proj_emulator/accounts?external_user_id=${USER}&app=slack`, {
    headers: { authorization: `Bearer ${await plan.bearer()}`, 'x-pd-environment': 'production' },
  })).json()
  const account = accounts.data[0].id
  const send = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'bench' } }
  // Warm both: token, component definition, connection pools.
  await ours.executePipedreamConnect(send)
  await plan.execute({ ...send, account_id: account })

  let miss = 0
  const scenarios = [
    ['searchServices, cache miss (c=16)', (c) => (i) => c.searchServices({ query: `q${miss++}` }), 400, 16],
    ['searchServices, cache hit (c=1)', (c) => () => c.searchServices({ query: 'gmail' }), 20000, 1],
    ['executePipedreamConnect (c=1)', (c) => (c === ours ? () => ours.executePipedreamConnect(send) : () => plan.execute({ ...send, account_id: account })), 300, 1],
    ['executePipedreamConnect (c=64)', (c) => (c === ours ? () => ours.executePipedreamConnect(send) : () => plan.execute({ ...send, account_id: account })), 2000, 64],
  ]
  await ours.searchServices({ query: 'gmail' })
  await plan.searchServices({ query: 'gmail' })
  const rows = []
  for (const [name, make, n, conc] of scenarios) {
    const ratios = []
    let oursRate = 0
    let planRate = 0
    for (let r = 0; r < ROUNDS; r++) {
      const a = await throughput(make(ours), n, conc)
      const b = await throughput(make(plan), n, conc)
      ratios.push(a / b)
      oursRate += a / ROUNDS
      planRate += b / ROUNDS
    }
    rows.push(`| ${name} | ${oursRate.toFixed(0)} | ${planRate.toFixed(0)} | ${median(ratios).toFixed(2)}× | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |`)
  }
  emu.stop()
  console.log(`Node ${process.version}, ${require('node:os').cpus().length} cores, ${ROUNDS} interleaved rounds, emulator: ${path.basename(BIN)}`)
  console.log('| scenario | ours (calls/s) | plan-js (calls/s) | ours / plan-js, median | min–max |')
  console.log('|---|---|---|---|---|')
  for (const r of rows) console.log(r)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
