'use strict'
// executeBatch: the plan's Example 2 (records → iterate → Airtable create per record), bounded
// concurrency, settled results in input order, and exactly one run per item per the journal.
const path = require('node:path')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, PROJECT_ID } = require('./helpers/emulator')

const API_KEY = 'batch-static-key-91c2d7'
const USER = 'director-user-1'

let emu
beforeAll(async () => {
  emu = await startEmulator(['--api-key', API_KEY, '--account', `${USER}:airtable:Main Base`, '--account', `${USER}:gmail:Inbox`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({ baseUrl: emu.url, projectId: PROJECT_ID, token: API_KEY, externalUserId: USER, ...extra })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pad = (i) => String(i).padStart(3, '0')
const runRequests = () => emu.requests('/actions/run$')

function expectPipedreamError(err, componentId, code) {
  expect(err.name).toBe('PipedreamError')
  expect(err.code).toBe(code)
  expect(err.message.startsWith(`Pipedream component '${componentId}' failed: `)).toBe(true)
  expect(err.message).not.toContain(API_KEY)
}

/** One Example 2 item: create an Airtable record for investor record number `n` (1-based). */
function airtableItem(n, { fail = false, missing = false } = {}) {
  const fields = { Name: `Investor ${n}`, Email: `investor${n}@fund.example`, Company: `Fund ${n} Capital` }
  const params = { base_id: 'appInvestors01', table_name: fail ? '__emulator_fail__' : 'Investors', fields }
  if (missing) delete params.table_name
  return {
    config: { component_id: 'airtable-create-record', params, store_to_record: true, as: 'airtableRecord' },
    context: {
      workflowId: 'wf_example2',
      alias: 'airtable',
      currentRecord: { id: `investor_${pad(n)}`, type: 'investor', fields: { name: fields.Name, email: fields.Email } },
    },
  }
}

/** Max number of run requests that arrived within `windowMs` of each other (the emulator holds each for delay_ms). */
function maxOverlap(starts, windowMs) {
  const s = [...starts].sort((a, b) => a - b)
  let best = 0
  for (let j = 0; j < s.length; j++) {
    let n = 0
    for (let i = 0; i <= j; i++) if (s[j] - s[i] < windowMs) n++
    best = Math.max(best, n)
  }
  return best
}

test('exports executeBatch as a module function and a client method', () => {
  expect(typeof pd.executeBatch).toBe('function')
  expect(typeof client().executeBatch).toBe('function')
})

test('Example 2: 100 records, 10 failing; every item settles in input order and runs exactly once', async () => {
  const FAIL = new Set([3, 23, 43, 63, 83]) // the action fails inside (os error)
  const MISSING = new Set([13, 33, 53, 73, 93]) // table_name missing: refused before any run
  const items = Array.from({ length: 100 }, (_, i) =>
    airtableItem(i + 1, { fail: FAIL.has(i + 1), missing: MISSING.has(i + 1) }),
  )
  const results = await client().executeBatch(items, { concurrency: 8 })

  expect(Array.isArray(results)).toBe(true)
  expect(results).toHaveLength(100)
  results.forEach((r, i) => {
    const n = i + 1
    const input = items[i]
    if (FAIL.has(n)) {
      expect(r.status).toBe('rejected')
      expectPipedreamError(r.reason, 'airtable-create-record', 'PIPEDREAM_ACTION_FAILED')
      expect(r.reason.message).toContain('Emulated failure')
    } else if (MISSING.has(n)) {
      expect(r.status).toBe('rejected')
      expectPipedreamError(r.reason, 'airtable-create-record', 'PIPEDREAM_INVALID_PARAMS')
      expect(r.reason.details.map((d) => d.param)).toEqual(['table_name'])
    } else {
      expect(r.status).toBe('fulfilled')
      expect(r.reason).toBeUndefined()
      // The emulator echoes the fields: this item's own data, in this item's slot.
      expect(r.value.component_id).toBe('airtable-create-record')
      expect(r.value.result.fields).toEqual(input.config.params.fields)
      expect(r.value.record_update).toEqual({
        record_id: input.context.currentRecord.id,
        field: 'airtableRecord',
        value: r.value.result,
      })
      expect(r.value.meta.token_source).toBe('env')
    }
  })

  // The journal: one run per item that was sent (all but the 5 refused ones, failing ones
  // included), none twice, none for the refused ones.
  const sentCount = items.length - MISSING.size
  const runs = await emu.runs()
  expect(runs).toHaveLength(sentCount)
  const byEmail = new Map()
  for (const run of runs) {
    expect(run.id).toBe('airtable-create-record')
    expect(run.external_user_id).toBe(USER)
    const email = run.configured_props.fields.Email
    byEmail.set(email, [...(byEmail.get(email) || []), run])
  }
  items.forEach((item, i) => {
    const n = i + 1
    const sent = byEmail.get(item.config.params.fields.Email) || []
    if (MISSING.has(n)) {
      expect(sent).toHaveLength(0)
      return
    }
    expect(sent).toHaveLength(1)
    expect(sent[0].configured_props.fields).toEqual(item.config.params.fields)
    expect(sent[0].configured_props.table_name).toBe(item.config.params.table_name)
    expect(sent[0].configured_props.airtable).toEqual({ authProvisionId: expect.stringMatching(/^apn_/) })
    expect(sent[0].outcome).toBe(FAIL.has(n) ? 'error' : 'ok')
  })
  expect(await runRequests()).toHaveLength(sentCount)
})

test('a batch rejection is the same error a single call gives', async () => {
  const c = client()
  const bad = airtableItem(7, { missing: true })
  const single = await c.executePipedreamConnect(bad.config, bad.context).then(
    () => null,
    (e) => e,
  )
  expect(single).not.toBeNull()
  const [ok, fromBatch] = await c.executeBatch([airtableItem(1), bad])
  expect(ok.status).toBe('fulfilled')
  expect(fromBatch.status).toBe('rejected')
  for (const key of ['name', 'code', 'message', 'details']) expect(fromBatch.reason[key]).toEqual(single[key])
  expect(Object.prototype.toString.call(fromBatch.reason)).toBe('[object Error]')
  expect((await emu.runs()).map((r) => r.configured_props.fields.Email)).toEqual([ok.value.result.fields.Email])
})

test('an item holding what JSON cannot carry is that item rejected, and the others run', async () => {
  const c = client()
  const cycle = {}
  cycle.self = cycle
  const unreadable = [
    [{ ...airtableItem(2), config: { ...airtableItem(2).config, params: { base_id: NaN } } }, /items\[1\]\.config\.params\.base_id is NaN/],
    [{ ...airtableItem(3), config: { ...airtableItem(3).config, params: { n: 10n } } }, /items\[2\]\.config\.params\.n is a BigInt/],
    [{ ...airtableItem(4), config: { ...airtableItem(4).config, params: cycle } }, /items\[3\]\.config\.params/],
    [{ ...airtableItem(5), context: { variables: { pipedream_token: () => 't' } } }, /items\[4\]: context\.variables\.pipedream_token is a function/],
  ]
  const outcomes = await c.executeBatch([airtableItem(1), ...unreadable.map(([item]) => item), airtableItem(6)])
  expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected', 'fulfilled'])
  unreadable.forEach(([, message], i) => {
    expect(outcomes[i + 1].reason.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(outcomes[i + 1].reason.message).toMatch(message)
  })
  expect((await emu.runs()).map((r) => r.configured_props.fields.Email).sort()).toEqual(['investor1@fund.example', 'investor6@fund.example'])
})

describe('concurrency', () => {
  const DELAY = 150

  async function runHeldBatch(count, options) {
    const c = client()
    // Warm the component and account caches so the runs, not discovery, are what is measured.
    await c.executePipedreamConnect(airtableItem(999).config, airtableItem(999).context)
    await emu.reset()
    await emu.fault({ path: '/actions/run$', delay_ms: DELAY })
    const items = Array.from({ length: count }, (_, i) => airtableItem(i + 1))
    const started = Date.now()
    const results = await c.executeBatch(items, options)
    const elapsed = Date.now() - started
    expect(results.map((r) => r.status)).toEqual(items.map(() => 'fulfilled'))
    expect(results.map((r) => r.value.result.fields.Email)).toEqual(items.map((it) => it.config.params.fields.Email))
    const starts = (await runRequests()).map((r) => r.ts_ms)
    expect(starts).toHaveLength(count)
    expect(await emu.runs()).toHaveLength(count)
    return { elapsed, overlap: maxOverlap(starts, DELAY - 5) }
  }

  test('concurrency: 3 is honoured: never more than 3 runs in flight, and more than one', async () => {
    const { elapsed, overlap } = await runHeldBatch(9, { concurrency: 3 })
    expect(overlap).toBeLessThanOrEqual(3)
    expect(overlap).toBeGreaterThanOrEqual(2)
    // Nine held runs, three at a time: at least three rounds.
    expect(elapsed).toBeGreaterThanOrEqual(3 * DELAY - 20)
  })

  test('a slow item holds one slot only: the others run through the rest meanwhile', async () => {
    const c = client()
    await c.executePipedreamConnect(airtableItem(999).config, airtableItem(999).context)
    await emu.reset()
    // Only the first run is held.
    await emu.fault({ path: '/actions/run$', delay_ms: 800, count: 1 })
    const items = Array.from({ length: 10 }, (_, i) => airtableItem(i + 1))
    const results = await c.executeBatch(items, { concurrency: 2 })
    expect(results.map((r) => r.value.result.fields.Email)).toEqual(items.map((it) => it.config.params.fields.Email))
    const starts = (await runRequests()).map((r) => r.ts_ms).sort((a, b) => a - b)
    expect(starts).toHaveLength(10)
    // Nine runs went through the other slot while the first was held: none waited for it.
    // (Answers kept in order made the finished ones count as in flight until it was done.)
    expect(starts[9] - starts[0]).toBeLessThan(500)
  })

  test('the default concurrency is bounded (5)', async () => {
    const { overlap } = await runHeldBatch(12, {})
    expect(overlap).toBeLessThanOrEqual(5)
    expect(overlap).toBeGreaterThanOrEqual(2)
  })
})

describe('abort', () => {
  test('an already aborted signal runs nothing', async () => {
    const ac = new AbortController()
    ac.abort()
    const items = Array.from({ length: 5 }, (_, i) => airtableItem(i + 1))
    const outcome = await client()
      .executeBatch(items, { signal: ac.signal })
      .then(
        (results) => ({ results }),
        (error) => ({ error }),
      )
    if (outcome.error) {
      expect(outcome.error.name).toBe('AbortError')
      expect(outcome.error.code).toBe('ABORT_ERR')
    } else {
      expect(outcome.results).toHaveLength(5)
      for (const r of outcome.results) {
        expect(r.status).toBe('rejected')
        expect(r.reason.name).toBe('AbortError')
        expect(r.reason.code).toBe('ABORT_ERR')
      }
    }
    expect(await emu.runs()).toEqual([])
    expect(await runRequests()).toEqual([])
  })

  test('a duck-typed signal is read as every other method reads it, not walked as JSON', async () => {
    // Its methods are own properties: walking the options whole refused them as functions.
    const listeners = []
    let added = 0
    const signal = {
      aborted: false,
      reason: undefined,
      addEventListener: (type, fn) => listeners.push(fn) && added++,
      removeEventListener: (type, fn) => listeners.splice(listeners.indexOf(fn), 1),
    }
    const items = [airtableItem(1), airtableItem(2)]
    const results = await client().executeBatch(items, { concurrency: 2, signal })
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect(await runRequests()).toHaveLength(2)
    // Listened to while it ran, and let go when it settled.
    expect(added).toBe(1)
    expect(listeners).toHaveLength(0)
    // The other options are still checked by name.
    const refused = await client().executeBatch(items, { concurency: 2, signal }).catch((e) => e)
    expect(refused.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(refused.message).toMatch(/concurrency/)
    expect(await runRequests()).toHaveLength(2)
  })

  test('aborting mid-batch stops the items not yet started', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 300 })
    const ac = new AbortController()
    const items = Array.from({ length: 6 }, (_, i) => airtableItem(i + 1))
    const started = Date.now()
    const pending = client()
      .executeBatch(items, { concurrency: 1, signal: ac.signal })
      .then(
        (results) => ({ results }),
        (error) => ({ error }),
      )
    for (let i = 0; i < 200 && (await runRequests()).length === 0; i++) await sleep(10)
    ac.abort()
    const outcome = await pending
    expect(Date.now() - started).toBeLessThan(6 * 300)
    if (outcome.error) {
      expect(outcome.error.name).toBe('AbortError')
    } else {
      expect(outcome.results).toHaveLength(6)
      expect(outcome.results.some((r) => r.status === 'rejected' && r.reason.name === 'AbortError')).toBe(true)
    }
    await sleep(700)
    const sent = await runRequests()
    expect(sent.length).toBeGreaterThanOrEqual(1)
    expect(sent.length).toBeLessThan(6)
  })
})

test('module executeBatch uses the PIPEDREAM_* environment (child process)', async () => {
  const { execFileSync } = require('node:child_process')
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIPEDREAM_')))
  const items = [
    airtableItem(1),
    { config: { component_id: '../x', params: {} } },
    { config: { component_id: 'gmail-search-emails', params: { query: 'from:investor@company.com' }, store: { count: 'n' } } },
  ]
  const script = `const pd = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    pd.executeBatch(${JSON.stringify(items)}, { concurrency: 2 }).then(
      (rs) => process.stdout.write(JSON.stringify(rs.map((r) => r.status === 'fulfilled'
        ? { status: r.status, value: r.value }
        : { status: r.status, reason: { name: r.reason.name, code: r.reason.code, message: r.reason.message } }))),
      (e) => process.stdout.write(JSON.stringify({ thrown: { name: e.name, code: e.code, message: e.message } })))`
  const env = {
    ...base,
    PIPEDREAM_BASE_URL: emu.url,
    PIPEDREAM_PROJECT_ID: PROJECT_ID,
    PIPEDREAM_API_TOKEN: API_KEY,
    PIPEDREAM_EXTERNAL_USER_ID: USER,
  }
  const res = JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 20000 }))
  expect(res.thrown).toBeUndefined()
  expect(res.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
  expect(res[0].value.result.fields).toEqual(items[0].config.params.fields)
  expect(res[0].value.meta.token_source).toBe('env')
  expect(res[1].reason).toEqual(expect.objectContaining({ name: 'PipedreamError', code: 'PIPEDREAM_INVALID_ARGS' }))
  expect(res[2].value.stored).toEqual({ n: res[2].value.result.count })
  const runs = await emu.runs()
  expect(runs.map((r) => r.id).sort()).toEqual(['airtable-create-record', 'gmail-search-emails'])
  expect(runs.every((r) => r.external_user_id === USER)).toBe(true)
})
