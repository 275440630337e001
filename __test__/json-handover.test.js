'use strict'
// index.js reads a plain node (executePipedreamConnect's config and context, each of
// executeBatch's items) itself and hands it over as JSON text; anything else goes to the native
// walk. Each case runs twice: as given, and behind a Proxy, which always takes the walk. The
// outcomes and what reached the emulator must be the same, and the JSON path must have been
// taken exactly when the node is plain.
const { PipedreamClient } = require('..')
const binding = require('../binding.js')
const { startEmulator, PROJECT_ID } = require('./helpers/emulator')

const API_KEY = 'handover-static-key-5e1f'
const USER = 'director-user-1'
const proto = binding.PipedreamClient.prototype

let emu
beforeAll(async () => {
  emu = await startEmulator(['--api-key', API_KEY, '--account', `${USER}:airtable:Main Base`])
})
afterAll(() => emu.stop())

const client = () => new PipedreamClient({ baseUrl: emu.url, projectId: PROJECT_ID, token: API_KEY, externalUserId: USER })

/** An Example 2 item: create an Airtable record for investor `n`. */
function airtableItem(n) {
  const fields = { Name: `Investor ${n}`, Email: `investor${n}@fund.example` }
  return {
    config: { component_id: 'airtable-create-record', params: { base_id: 'appInvestors01', table_name: 'Investors', fields }, store_to_record: true, as: 'airtableRecord' },
    context: { workflowId: 'wf_example2', alias: 'airtable', currentRecord: { id: `investor_${n}`, type: 'investor' } },
  }
}

/** An item whose `fields` get `extra` (assigned, so getters must be defined on the result). */
function withFields(extra, n = 1) {
  const item = airtableItem(n)
  Object.assign(item.config.params.fields, extra)
  return item
}
const nested = (levels) => {
  let v = 'core'
  for (let i = 0; i < levels; i++) v = [v]
  return v
}

const summary = (e) => ({ name: e.name, code: e.code, message: e.message })
/** An answer without its timing, which differs from run to run. */
const answer = (v) => ({ ...v, meta: { ...v.meta, duration_ms: undefined } })
const settled = (r) => (r.status === 'fulfilled' ? { status: r.status, value: answer(r.value) } : { status: r.status, reason: summary(r.reason) })

/** Runs `call(client)` on a fresh client, counting which native entry took it. */
async function viaEntry(call) {
  await emu.reset()
  const counts = { json: 0, walk: 0 }
  const entries = [['executePipedreamConnect', 'walk'], ['__executeBatchJson', 'json'], ['executeBatch', 'walk'], ['__bound', null]]
  const originals = entries.map(([name]) => proto[name])
  entries.forEach(([name, kind], i) => {
    proto[name] = function (...args) {
      if (kind) counts[kind]++
      const made = originals[i].apply(this, args)
      if (kind) return made
      // The single node's JSON path is a function bound to the client.
      const { executeJson } = made
      return { ...made, executeJson: (...a) => (counts.json++, executeJson(...a)) }
    }
  })
  try {
    // A client each: an idempotency key would answer another case's run.
    const outcome = await call(client()).then(
      (value) => ({ value }),
      (error) => ({ error: summary(error) }),
    )
    return { outcome, counts, runs: (await emu.runs()).map((r) => r.configured_props) }
  } finally {
    entries.forEach(([name], i) => {
      proto[name] = originals[i]
    })
  }
}

const single = (item) => viaEntry((c) => c.executePipedreamConnect(item.config, item.context).then(answer))
const batch = (items) => viaEntry((c) => c.executeBatch(items).then((rs) => rs.map(settled)))
const behindProxy = (item) => ({ config: new Proxy(item.config, {}), context: item.context })

// [case, item, takes the JSON path]
const cases = [
  ['plain values', () => withFields({ Note: 'ünïcode 🚀 "quoted" \\ \n\t\u0001', Score: 0.1 + 0.2, Tiny: 5e-324, Neg: -0, Max: 2 ** 53 - 1, Flag: false, Nothing: null, List: [1, 'two', [3], { four: 4 }, null] }), true],
  ['an array with holes and undefined items', () => withFields({ List: [1, , undefined, 4] }), true], // eslint-disable-line no-sparse-arrays
  ['an undefined field, left out', () => withFields({ Gone: undefined }), true],
  ['a null-prototype object', () => withFields({ Bag: Object.assign(Object.create(null), { a: 1 }) }), true],
  ['a context with 1,000 records in variables', () => ({ ...airtableItem(2), context: { ...airtableItem(2).context, idempotencyKey: 'k-2', variables: { pipedream_token: undefined, rows: Array.from({ length: 1000 }, (_, i) => ({ i })) } } }), true],
  ['nested 61 levels below fields (the deepest the walk takes)', () => withFields({ Deep: nested(61) }), true],
  ['nested 62 levels below fields (refused)', () => withFields({ Deep: nested(62) }), false],
  ['a Date', () => withFields({ When: new Date(Date.UTC(2026, 10, 30, 12, 0, 0)) }), false],
  ['an invalid Date', () => withFields({ When: new Date(NaN) }), false],
  ['NaN', () => withFields({ Score: NaN }), false],
  ['an integer past 2^53', () => withFields({ Id: 2 ** 53 + 2 }), false],
  ['a BigInt', () => withFields({ Id: 10n }), false],
  ['a function', () => withFields({ Fn() {} }), false],
  ['a Buffer', () => withFields({ Bytes: Buffer.from('abc') }), false],
  ['a lone surrogate', () => withFields({ Name: 'bad \ud800 text' }), false],
  ['an own __proto__ key', () => withFields({ Bag: JSON.parse('{"__proto__": {"a": 1}, "b": 2}') }), false],
  ['a Map', () => withFields({ Bag: new Map([['a', 1]]) }), false],
  ['an array longer than the walk counts', () => withFields({ List: Object.assign([], { length: 1_000_001 }) }), false],
  [
    'a getter that throws',
    () => {
      const item = airtableItem(1)
      Object.defineProperty(item.config.params.fields, 'Boom', { enumerable: true, get() { throw new Error('boom') } })
      return item
    },
    false,
  ],
  // In the record's id, which is picked from the context but not sent: a body that size would
  // meet the emulator's body limit, which answers 413 or resets mid-write, either way.
  ['more text than one handover copies (6M characters)', () => ({ ...airtableItem(4), context: { currentRecord: { id: 'r'.repeat(6_000_000) } } }), false],
  ['a context that is an array', () => ({ ...airtableItem(3), context: [1, 2] }), false],
  ['variables that are an array', () => ({ ...airtableItem(3), context: { variables: [] } }), false],
]

describe.each([
  ['executePipedreamConnect', (item) => single(item), (item) => single(behindProxy(item))],
  ['executeBatch', (item) => batch([item]), (item) => batch([{ ...item, config: new Proxy(item.config, {}) }])],
])('%s', (_, direct, walked) => {
  test.each(cases)('%s: the same outcome and the same runs on both paths', async (_, make, plain) => {
    const byJs = await direct(make())
    const byWalk = await walked(make())
    expect(byWalk.counts).toEqual({ json: 0, walk: 1 })
    expect(byJs.counts).toEqual(plain ? { json: 1, walk: 0 } : { json: 0, walk: 1 })
    expect(byJs.outcome).toEqual(byWalk.outcome)
    expect(byJs.runs).toEqual(byWalk.runs)
  })
})

test('what each path sends: the deepest nesting, a Date as ISO text, a lone surrogate replaced', async () => {
  const ok = await batch([withFields({ Deep: nested(61) })])
  expect(ok.outcome.value[0].value.result.fields.Deep).toEqual(nested(61))
  const deep = await batch([withFields({ Deep: nested(62) })])
  // Refused as that item only: the batch itself resolves.
  expect(deep.outcome.value[0].status).toBe('rejected')
  expect(deep.outcome.value[0].reason).toEqual(expect.objectContaining({ code: 'PIPEDREAM_INVALID_ARGS', message: expect.stringContaining('items[0].config.params.fields.Deep') }))
  expect(deep.runs).toEqual([])
  const surrogate = await single(withFields({ Name: 'bad \ud800 text' }))
  expect(surrogate.runs[0].fields.Name).toBe('bad \ufffd text')
  const date = await single(withFields({ When: new Date(Date.UTC(2026, 10, 30, 12)) }))
  expect(date.runs[0].fields.When).toBe('2026-11-30T12:00:00.000Z')
})

test('a getter is read once, and a toJSON on Object.prototype changes nothing', async () => {
  let reads = 0
  const item = airtableItem(1)
  Object.defineProperty(item.config.params.fields, 'Counted', { enumerable: true, get: () => `read ${++reads}` })
  const plain = await single(item)
  expect(plain.counts.json).toBe(1)
  expect(reads).toBe(1)
  expect(plain.runs[0].fields.Counted).toBe('read 1')

  Object.defineProperty(Object.prototype, 'toJSON', { value: () => 'hijacked', configurable: true, writable: true })
  let hijacked
  try {
    hijacked = await batch([withFields({ Name: 'kept' })])
  } finally {
    delete Object.prototype.toJSON
  }
  expect(hijacked.counts).toEqual({ json: 0, walk: 1 })
  expect(hijacked.runs[0].fields.Name).toBe('kept')
})

test('an aborted signal in the context of a plain node: rejected, nothing sent', async () => {
  const ac = new AbortController()
  ac.abort()
  const item = airtableItem(1)
  const { outcome, counts, runs } = await viaEntry((c) => c.executePipedreamConnect(item.config, { ...item.context, signal: ac.signal }))
  expect(counts).toEqual({ json: 1, walk: 0 })
  expect(outcome.error).toEqual(expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR' }))
  expect(runs).toEqual([])
})

test('a batch whose items together hold more text than one handover copies takes the walk', async () => {
  const items = (chars) => Array.from({ length: 10 }, (_, i) => withFields({ Note: 'x'.repeat(chars) }, i + 1))
  const under = await batch(items(100_000))
  expect(under.counts).toEqual({ json: 1, walk: 0 })
  const over = await batch(items(600_000))
  expect(over.counts).toEqual({ json: 0, walk: 1 })
  for (const { outcome, runs } of [under, over]) {
    expect(outcome.value.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'))
    expect(runs).toHaveLength(10)
  }
  expect(over.runs[0].fields.Note).toHaveLength(600_000)
})

test('more items than one batch takes: refused by the walk, nothing sent', async () => {
  const item = airtableItem(1)
  const { outcome, counts, runs } = await batch(Array.from({ length: 100_001 }, () => item))
  expect(counts).toEqual({ json: 0, walk: 1 })
  expect(outcome.error).toEqual(expect.objectContaining({ code: 'PIPEDREAM_INVALID_ARGS', message: expect.stringContaining('at most 100000') }))
  expect(runs).toEqual([])
})
