'use strict'
// metrics() is OpenMetrics text that Prometheus scrapes: read here by the official Python
// client's parsers (the strict OpenMetrics one and the classic text one), never by a regex of
// ours. The Grafana dashboard in examples/ queries only metrics that are exported.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { PipedreamClient } = require('..')
const { startEmulator } = require('./helpers/emulator')

const USER = 'metrics-user'
const DASHBOARD = path.join(__dirname, '..', 'examples', 'grafana', 'dashboard.json')
const PARSE = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as classic
text = sys.stdin.read()
list(classic(text))
print(json.dumps([
    {"name": f.name, "type": f.type,
     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
    for f in openmetrics(text)
]))
`

// Debian's python3-prometheus-client (which .ci/run installs) is for the system Python; a
// python3 earlier on PATH (pyenv) may have its own.
const PYTHON = ['python3', '/usr/bin/python3'].find(
  (bin) => spawnSync(bin, ['-c', 'import prometheus_client']).status === 0,
)

/** The families the parsers read, or a test failure quoting the parser's complaint. */
function parse(text) {
  if (!PYTHON) throw new Error('no python3 with prometheus_client: apt-get install python3-prometheus-client')
  const r = spawnSync(PYTHON, ['-c', PARSE], { input: text, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`a Prometheus parser refused metrics(): ${r.stderr || r.error}`)
  return JSON.parse(r.stdout)
}

let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:slack`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = () =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    cache: { ttlMs: 0 },
    retry: { maxRetries: 0 },
  })
const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hello' } }
const family = (families, name) => families.find((f) => f.name === name)
const sample = (f, name, labels = {}) =>
  f.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** A search, two runs and a run refused before sending (an error by code, not a run). */
async function traffic(c) {
  await c.searchServices({ query: 'slack' })
  await c.executePipedreamConnect(SEND)
  await c.executePipedreamConnect(SEND)
  await expect(c.executePipedreamConnect({ ...SEND, params: { text: 'no channel' } })).rejects.toMatchObject({
    code: 'PIPEDREAM_INVALID_PARAMS',
  })
}

test('the text parses as OpenMetrics; the latency histogram has buckets, _sum and a _count that keeps counting', async () => {
  const c = client()
  await traffic(c)
  // A run the action refuses, and one whose answer never comes back readable (maybe executed).
  await emu.fault({ path: '/actions/run$', status: 200, malformed: 'truncated', when: 'after', count: 1 })
  await expect(c.executePipedreamConnect(SEND)).rejects.toMatchObject({ maybe_executed: true })
  let families = parse(c.metrics())
  // Every request to the API, the OAuth token requests included.
  const sent = async () => (await emu.requests('^/v1/(connect/|oauth/token$)')).length

  const duration = family(families, 'pipedream_request_duration_seconds')
  expect(duration.type).toBe('histogram')
  const buckets = duration.samples.filter((s) => s.name.endsWith('_bucket'))
  expect(buckets.length).toBeGreaterThan(5)
  expect(buckets.at(-1).labels.le).toBe('+Inf')
  const count = sample(duration, 'pipedream_request_duration_seconds_count').value
  expect(count).toBe(await sent())
  expect(buckets.at(-1).value).toBe(count)
  expect(sample(duration, 'pipedream_request_duration_seconds_sum').value).toBeGreaterThan(0)

  const runs = family(families, 'pipedream_runs')
  expect(runs.type).toBe('counter')
  const journal = await emu.runs()
  expect(sample(runs, 'pipedream_runs_total', { outcome: 'ok' }).value).toBe(journal.filter((r) => r.outcome === 'ok').length - 1)
  expect(sample(runs, 'pipedream_runs_total', { outcome: 'maybe_executed' }).value).toBe(1)
  const requests = family(families, 'pipedream_requests')
  expect(sample(requests, 'pipedream_requests_total', { class: 'execute', status: '200' }).value).toBe(journal.length)

  // Monotonic: more traffic, and _count grows by exactly what the server saw.
  const before = await sent()
  await traffic(c)
  families = parse(c.metrics())
  const after = sample(family(families, 'pipedream_request_duration_seconds'), 'pipedream_request_duration_seconds_count')
  expect(after.value).toBe(count + (await sent()) - before)
})

test('every metric the Grafana dashboard queries is exported', async () => {
  const c = client()
  await traffic(c)
  const names = new Set(parse(c.metrics()).flatMap((f) => [f.name, ...f.samples.map((s) => s.name)]))
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'))
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))
  expect(exprs.length).toBeGreaterThanOrEqual(6)
  const queried = new Set(exprs.flatMap((e) => e.match(/\bpipedream_[a-z_]+/g) || []))
  expect([...queried].filter((m) => !names.has(m))).toEqual([])
  // The panels the dashboard promises: rate, latency, errors, cache, rate limits, runs.
  for (const m of ['pipedream_requests_total', 'pipedream_request_duration_seconds_bucket', 'pipedream_errors_total',
    'pipedream_cache_hits_total', 'pipedream_rate_limit_waits_total', 'pipedream_runs_total']) {
    expect(queried.has(m)).toBe(true)
  }
})
