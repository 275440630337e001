'use strict'
// executePipedreamConnect: the pipedream_connect workflow node. Every test checks what reached
// the emulator (its request log and run journal), not only what the call returned.
const fs = require('node:fs')
const path = require('node:path')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, rejectionOf, CLIENT_ID, CLIENT_SECRET, PROJECT_ID, ROOT } = require('./helpers/emulator')

const components = JSON.parse(fs.readFileSync(path.join(ROOT, 'emulator', 'fixtures', 'components.json'), 'utf8'))
const fixture = (key) => components.find((c) => c.key === key).x_emulator

const API_KEY = 'exec-static-key-4e7b19'
const BAD_TOKEN = 'not-an-accepted-token-0c9d'
const USER = 'director-user-1'
const OTHER = 'director-user-2'
const SEEDED = [
  [USER, 'gmail', 'Investor Inbox'],
  [USER, 'airtable', 'Main Base'],
  [USER, 'google_sheets', 'Sheets'],
  [USER, 'stripe', 'Stripe Live'],
  [USER, 'twilio', 'Twilio'],
  [USER, 'postgresql', 'Warehouse'],
  [USER, 'notion', 'Wiki'],
  [OTHER, 'gmail', 'Other Inbox'],
]
const ENV_HAS = (name) => Boolean(process.env[name])

let emu
const accountOf = {} // `${user}:${app}` → apn_ id of the seeded account
beforeAll(async () => {
  emu = await startEmulator(['--api-key', API_KEY, ...SEEDED.flatMap(([u, a, n]) => ['--account', `${u}:${a}:${n}`])])
  for (const [user, app] of SEEDED) {
    const res = await fetch(`${emu.url}/v1/connect/${PROJECT_ID}/accounts?external_user_id=${user}&app=${app}`, {
      headers: { authorization: `Bearer ${API_KEY}`, 'x-pd-environment': 'production' },
    })
    const { data } = await res.json()
    expect(data).toHaveLength(1)
    accountOf[`${user}:${app}`] = data[0].id
  }
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({ baseUrl: emu.url, projectId: PROJECT_ID, token: API_KEY, externalUserId: USER, ...extra })

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const runRequests = () => emu.requests('/actions/run$')

/** Resolves with the rejection reason; fails the test if the promise resolves. */
/** A PipedreamError as the contract describes it (compared by name: the addon's realm is not Jest's). */
function expectPipedreamError(err, componentId, code) {
  expect(Object.prototype.toString.call(err)).toBe('[object Error]')
  expect(err.name).toBe('PipedreamError')
  expect(err.code).toBe(code)
  expect(typeof err.message).toBe('string')
  expect(err.message.startsWith(`Pipedream component '${componentId}' failed: `)).toBe(true)
  expect(err.message).not.toContain(API_KEY)
  expect(err.message).not.toContain(CLIENT_SECRET)
}

async function expectNoRun() {
  expect(await emu.runs()).toEqual([])
  expect(await runRequests()).toEqual([])
}

const GMAIL_EXAMPLE = {
  component_id: 'gmail-search-emails',
  params: { query: 'from:investor@company.com', maxResults: 20 },
  store: { emails: 'foundInvestorEmails', count: 'totalEmails' },
}

test('exports executePipedreamConnect as a module function and a client method', () => {
  expect(typeof pd.executePipedreamConnect).toBe('function')
  expect(typeof client().executePipedreamConnect).toBe('function')
})

describe('the plan’s Example 1: Gmail search → stored variables', () => {
  test('runs once with the configured props and the user’s gmail account, and stores the results', async () => {
    const res = await client().executePipedreamConnect(GMAIL_EXAMPLE, { workflowId: 'wf_1', alias: 'investorEmails' })
    const ret = fixture('gmail-search-emails').ret
    expect(res.component_id).toBe('gmail-search-emails')
    expect(res.result).toEqual(ret)
    expect(res.stored).toEqual({ foundInvestorEmails: ret.emails, totalEmails: ret.count })
    expect(res.summary).toBe(fixture('gmail-search-emails').summary.replace('{{props.query}}', 'from:investor@company.com'))
    expect(res.exports).toEqual(expect.objectContaining({ $summary: res.summary }))
    expect(res.records).toEqual([])
    expect(res.record_update).toBeUndefined()
    expect(res.meta).toEqual(
      expect.objectContaining({ attempts: 1, token_source: 'env', account_id: accountOf[`${USER}:gmail`], warnings: [] }),
    )
    expect(typeof res.meta.duration_ms).toBe('number')
    expect(res.meta.duration_ms).toBeGreaterThanOrEqual(0)
    expect(JSON.stringify(res)).not.toContain(API_KEY)

    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0]).toEqual(
      expect.objectContaining({ id: 'gmail-search-emails', external_user_id: USER, outcome: 'ok', dynamic_props_id: null }),
    )
    expect(runs[0].configured_props).toEqual({
      gmail: { authProvisionId: accountOf[`${USER}:gmail`] },
      query: 'from:investor@company.com',
      maxResults: 20,
    })
    expect(await runRequests()).toHaveLength(1)
  })

  test('config.version is the version that runs', async () => {
    const res = await client().executePipedreamConnect({ ...GMAIL_EXAMPLE, version: '0.0.4' })
    expect(res.result).toEqual(fixture('gmail-search-emails').ret)
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].version).toBe('0.0.4')
  })
})

describe('a run answer with odd fields', () => {
  test('is still the run that happened: its result, once, not a failure', async () => {
    const ret = { id: 'msg_1', ok: true }
    // After the run: the emulator ran it, then answered with observations that are no list
    // and a stash id that is no text (the SDK reads answers with skipValidation).
    await emu.fault({
      path: '/actions/run$',
      when: 'after',
      status: 200,
      body: { exports: { $summary: 'Sent' }, os: { note: 'not a list' }, ret, stash_id: 7 },
    })
    const res = await client().executePipedreamConnect(GMAIL_EXAMPLE)
    expect(res.error).toBeUndefined()
    expect(res.result).toEqual(ret)
    expect(res.summary).toBe('Sent')
    expect(await emu.runs()).toHaveLength(1)
  })

  // A real server writes JSON as its runtime does: keys in the order the action set them,
  // characters as they are, numbers as written. The emulator's own answers are trees it writes
  // again (keys sorted), so this one is given as text.
  const WRITTEN = String.raw`{"ret": {"z": 1, "a": "Zoë \u2713", "n": 12345678901234567890123, "nested": {"b": [1.50, "\/"], "a": null}},
    "exports": {"b": 1, "$summary": "first", "\u0024summary": "Sent \u2713"}, "os": []}`
  const { store: _, ...HANDS_ON } = GMAIL_EXAMPLE

  test('hands on the result and exports as the API wrote them: key order, characters, numbers; a repeated key counts last', async () => {
    await emu.fault({ path: '/actions/run$', when: 'after', status: 200, count: 2, body_text: WRITTEN })
    const res = await client().executePipedreamConnect(HANDS_ON)
    const { ret, exports } = JSON.parse(WRITTEN)
    expect(res.result).toEqual(ret)
    expect(Object.keys(res.result)).toEqual(['z', 'a', 'n', 'nested'])
    expect(Object.keys(res.result.nested)).toEqual(['b', 'a'])
    expect(res.exports).toEqual({ b: 1, $summary: 'Sent ✓' })
    expect(Object.keys(res.exports)).toEqual(['b', '$summary'])
    expect(res.summary).toBe('Sent ✓')
    // A node that reads the result reads the same values, and still hands on the text.
    const stored = await client().executePipedreamConnect({ ...GMAIL_EXAMPLE, store: { 'nested.b.1': 'slash', n: 'big', $summary: 'said' } })
    expect(stored.stored).toEqual({ slash: '/', big: 12345678901234567890123, said: 'Sent ✓' })
    expect(Object.keys(stored.result)).toEqual(['z', 'a', 'n', 'nested'])
    expect(await emu.runs()).toHaveLength(2)
  })

  test('a result a tree cannot hold is handed on; a node that reads it fails as maybe executed', async () => {
    await emu.fault({ path: '/actions/run$', when: 'after', status: 200, count: 2, body_text: '{"ret": {"n": 1e400}, "exports": {}}' })
    const res = await client().executePipedreamConnect(HANDS_ON)
    expect(res.result).toEqual({ n: Infinity })
    const err = await rejectionOf(client().executePipedreamConnect({ ...GMAIL_EXAMPLE, store: { n: 'n' } }))
    expect(err.code).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(err.maybe_executed).toBe(true)
    expect(err.message).toMatch(/return value could not be read/)
    expect(await emu.runs()).toHaveLength(2)
  })
})

describe('store', () => {
  test('maps result paths, $summary and $ to variable names', async () => {
    const res = await client().executePipedreamConnect({
      ...GMAIL_EXAMPLE,
      store: { emails: 'foundEmails', count: 'totalEmails', 'emails.0.id': 'firstId', $summary: 'summaryText', $: 'everything' },
    })
    const ret = res.result
    expect(ret).toEqual(fixture('gmail-search-emails').ret)
    expect(res.stored).toEqual({
      foundEmails: ret.emails,
      totalEmails: ret.count,
      firstId: ret.emails[0].id,
      summaryText: res.summary,
      everything: ret,
    })
    expect(typeof res.summary).toBe('string')
    expect(res.meta.warnings).toEqual([])
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a missing path stores null and adds a warning naming the path', async () => {
    const res = await client().executePipedreamConnect({
      ...GMAIL_EXAMPLE,
      store: { count: 'n', 'emails.9.id': 'tenthId', 'nothing.here': 'nope' },
    })
    expect(res.stored).toEqual({ n: res.result.count, tenthId: null, nope: null })
    expect(res.result.count).toBe(fixture('gmail-search-emails').ret.count)
    const warnings = res.meta.warnings
    expect(Array.isArray(warnings)).toBe(true)
    expect(warnings.some((w) => typeof w === 'string' && w.includes('emails.9.id'))).toBe(true)
    expect(warnings.some((w) => typeof w === 'string' && w.includes('nothing.here'))).toBe(true)
    expect(await emu.runs()).toHaveLength(1)
  })
})

describe('create_records', () => {
  const pad = (i) => String(i).padStart(3, '0')

  test('a type string makes records from the first array-valued field', async () => {
    const res = await client().executePipedreamConnect({ ...GMAIL_EXAMPLE, create_records: 'email' })
    const emails = res.result.emails
    expect(emails).toEqual(fixture('gmail-search-emails').ret.emails)
    expect(res.records).toEqual(emails.map((e, i) => ({ id: `email_${pad(i + 1)}`, type: 'email', fields: e })))
    expect(res.records.map((r) => r.id)).toEqual(['email_001', 'email_002', 'email_003'])
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a type string makes records from the result itself when it is an array', async () => {
    const res = await client().executePipedreamConnect({
      component_id: 'airtable-list-records',
      params: { base_id: 'appInvestors01', table_name: 'Investors' },
      create_records: 'contact',
    })
    expect(Array.isArray(res.result)).toBe(true)
    expect(res.result).toEqual(fixture('airtable-list-records').ret)
    expect(res.records).toEqual(res.result.map((item, i) => ({ id: `contact_${pad(i + 1)}`, type: 'contact', fields: item })))
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props).toEqual(
      expect.objectContaining({ airtable: { authProvisionId: accountOf[`${USER}:airtable`] }, base_id: 'appInvestors01' }),
    )
  })

  test('the object form picks the array by path and builds ids from {field} or {index}', async () => {
    const c = client()
    const byField = await c.executePipedreamConnect({
      ...GMAIL_EXAMPLE,
      create_records: { type: 'message', from: 'emails', id_pattern: 'msg_{id}' },
    })
    const emails = byField.result.emails
    expect(emails.length).toBeGreaterThan(1)
    expect(byField.records).toEqual(emails.map((e) => ({ id: `msg_${e.id}`, type: 'message', fields: e })))

    const byIndex = await c.executePipedreamConnect({
      ...GMAIL_EXAMPLE,
      create_records: { type: 'row', id_pattern: 'row-{index}' },
    })
    expect(byIndex.records).toEqual(byIndex.result.emails.map((e, i) => ({ id: `row-${pad(i + 1)}`, type: 'row', fields: e })))
    // Two executions, two runs: nothing was served from a cache.
    expect(await emu.runs()).toHaveLength(2)
  })
})

describe('store_to_record (the plan’s Example 2 node)', () => {
  const airtable = (fields, extra = {}) => ({
    component_id: 'airtable-create-record',
    params: { base_id: 'appInvestors01', table_name: 'Investors', fields },
    store_to_record: true,
    ...extra,
  })
  const investor = { Name: 'Ada Lovelace', Email: 'ada@analytical.example', Company: 'Analytical Engines' }

  test('yields record_update for the current record under the alias', async () => {
    const res = await client().executePipedreamConnect(airtable(investor), {
      alias: 'airtableRecord',
      currentRecord: { id: 'investor_001', type: 'investor', fields: { name: 'Ada Lovelace' } },
    })
    expect(res.result.fields).toEqual(investor)
    expect(res.record_update).toEqual({ record_id: 'investor_001', field: 'airtableRecord', value: res.result })
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props).toEqual(
      expect.objectContaining({
        airtable: { authProvisionId: accountOf[`${USER}:airtable`] },
        base_id: 'appInvestors01',
        table_name: 'Investors',
        fields: investor,
      }),
    )
  })

  test('config.as wins over the alias', async () => {
    const res = await client().executePipedreamConnect(airtable(investor, { as: 'crmRecord' }), {
      alias: 'airtableRecord',
      currentRecord: { id: 'investor_002' },
    })
    expect(res.record_update).toEqual({ record_id: 'investor_002', field: 'crmRecord', value: res.result })
    expect(await emu.runs()).toHaveLength(1)
  })

  test.each([
    ['no currentRecord', { alias: 'airtableRecord' }],
    ['a currentRecord without id', { alias: 'airtableRecord', currentRecord: { fields: { name: 'x' } } }],
  ])('%s is PIPEDREAM_INVALID_ARGS and nothing runs', async (_, context) => {
    const err = await rejectionOf(client().executePipedreamConnect(airtable(investor), context))
    expectPipedreamError(err, 'airtable-create-record', 'PIPEDREAM_INVALID_ARGS')
    await expectNoRun()
  })
})

describe('the Pipedream token chain', () => {
  const tokenRequests = () => emu.requests('^/v1/oauth/token$')

  async function expectAllWithApiKey() {
    const reqs = await emu.requests()
    expect(reqs.length).toBeGreaterThan(0)
    for (const r of reqs) {
      expect(r.status).toBe(200)
      expect(r.token_seq).toBeNull()
    }
    expect(await tokenRequests()).toHaveLength(0)
  }

  test('auth_config.token wins over the workflow variable, the option and client credentials', async () => {
    const c = client({ token: BAD_TOKEN, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    const res = await c.executePipedreamConnect(
      { ...GMAIL_EXAMPLE, auth_config: { token: API_KEY } },
      { variables: { pipedream_token: BAD_TOKEN } },
    )
    expect(res.meta.token_source).toBe('auth_config')
    expect(JSON.stringify(res)).not.toContain(API_KEY)
    await expectAllWithApiKey()
    expect(await emu.runs()).toHaveLength(1)
  })

  test('context.variables.pipedream_token wins over the option and client credentials', async () => {
    const c = client({ token: BAD_TOKEN, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    const res = await c.executePipedreamConnect(GMAIL_EXAMPLE, { variables: { pipedream_token: API_KEY } })
    expect(res.meta.token_source).toBe('workflow_variable')
    expect(JSON.stringify(res)).not.toContain(API_KEY)
    await expectAllWithApiKey()
    expect(await emu.runs()).toHaveLength(1)
  })

  test('the token option wins over client credentials', async () => {
    const c = client({ token: API_KEY, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    const res = await c.executePipedreamConnect(GMAIL_EXAMPLE)
    expect(res.meta.token_source).toBe('env')
    await expectAllWithApiKey()
    expect(await emu.runs()).toHaveLength(1)
  })

  test('client credentials are the last resort', async () => {
    if (ENV_HAS('PIPEDREAM_API_TOKEN')) return
    const c = client({ token: undefined, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    const res = await c.executePipedreamConnect(GMAIL_EXAMPLE)
    expect(res.meta.token_source).toBe('oauth')
    expect(await tokenRequests()).toHaveLength(1)
    const [run] = await runRequests()
    expect(run.status).toBe(200)
    expect(typeof run.token_seq).toBe('number')
    expect(await emu.runs()).toHaveLength(1)
  })

  test('no token anywhere is PIPEDREAM_AUTH_MISSING naming the three ways, before any request', async () => {
    if (['PIPEDREAM_API_TOKEN', 'PIPEDREAM_CLIENT_ID', 'PIPEDREAM_CLIENT_SECRET'].some(ENV_HAS)) return
    const err = await rejectionOf(client({ token: undefined }).executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_AUTH_MISSING')
    expect(err.message).toContain('PIPEDREAM_API_TOKEN')
    expect(err.message).toContain('pipedream_token')
    expect(err.message).toContain('auth_config')
    expect(await emu.requests()).toEqual([])
    expect(await emu.runs()).toEqual([])
  })

  test('PIPEDREAM_DISABLED before any request', async () => {
    const err = await rejectionOf(client({ enabled: false }).executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_DISABLED')
    expect(await emu.requests()).toEqual([])
  })
})

describe('the module function uses the PIPEDREAM_* environment', () => {
  // Jest's process.env is a copy native code cannot see: run Director's way, in a child Node.
  function runNode(code, env) {
    const { execFileSync } = require('node:child_process')
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIPEDREAM_')))
    const script = `const pd = require(${JSON.stringify(path.resolve(__dirname, '..'))});
      const out = (v) => process.stdout.write(JSON.stringify(v));
      const errOut = (e) => out({ thrown: { name: e.name, code: e.code, message: e.message, status: e.status } });
      (async () => { ${code} })().catch(errOut)`
    return JSON.parse(
      execFileSync(process.execPath, ['-e', script], { env: { ...base, ...env }, encoding: 'utf8', timeout: 20000 }),
    )
  }
  const baseEnv = () => ({ PIPEDREAM_BASE_URL: emu.url, PIPEDREAM_PROJECT_ID: PROJECT_ID, PIPEDREAM_EXTERNAL_USER_ID: USER })
  const call = `out(await pd.executePipedreamConnect(${JSON.stringify(GMAIL_EXAMPLE)}))`

  test('PIPEDREAM_API_TOKEN → token_source env', async () => {
    const res = runNode(call, { ...baseEnv(), PIPEDREAM_API_TOKEN: API_KEY })
    expect(res.thrown).toBeUndefined()
    expect(res.meta.token_source).toBe('env')
    expect(res.stored.totalEmails).toBe(res.result.count)
    expect(res.result).toEqual(fixture('gmail-search-emails').ret)
    expect(JSON.stringify(res)).not.toContain(API_KEY)
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].external_user_id).toBe(USER)
    expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(0)
  })

  test('PIPEDREAM_CLIENT_ID/SECRET → token_source oauth', async () => {
    const res = runNode(call, { ...baseEnv(), PIPEDREAM_CLIENT_ID: CLIENT_ID, PIPEDREAM_CLIENT_SECRET: CLIENT_SECRET })
    expect(res.thrown).toBeUndefined()
    expect(res.meta.token_source).toBe('oauth')
    expect(await emu.requests('^/v1/oauth/token$')).toHaveLength(1)
    expect(await emu.runs()).toHaveLength(1)
  })

  test('nothing set → PIPEDREAM_AUTH_MISSING, no request', async () => {
    const res = runNode(call, baseEnv())
    expect(res.thrown).toEqual(
      expect.objectContaining({ name: 'PipedreamError', code: 'PIPEDREAM_AUTH_MISSING' }),
    )
    expect(res.thrown.message.startsWith("Pipedream component 'gmail-search-emails' failed: ")).toBe(true)
    for (const word of ['PIPEDREAM_API_TOKEN', 'pipedream_token', 'auth_config']) expect(res.thrown.message).toContain(word)
    expect(await emu.requests()).toEqual([])
  })
})

describe('connected accounts', () => {
  test('auth_config.account_id is used as the app prop', async () => {
    const apn = accountOf[`${USER}:gmail`]
    const res = await client().executePipedreamConnect({ ...GMAIL_EXAMPLE, auth_config: { account_id: apn } })
    expect(res.result).toEqual(fixture('gmail-search-emails').ret)
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props.gmail).toEqual({ authProvisionId: apn })
  })

  test('auth_config.service_auth.authProvisionId is used as the app prop', async () => {
    // Two accounts: a lookup could not choose, so only the given id can make this run.
    await emu.addAccount({ external_user_id: USER, app: 'gmail', name: 'Second Inbox' })
    const apn = accountOf[`${USER}:gmail`]
    const res = await client().executePipedreamConnect({ ...GMAIL_EXAMPLE, auth_config: { service_auth: { authProvisionId: apn } } })
    expect(res.component_id).toBe('gmail-search-emails')
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props.gmail).toEqual({ authProvisionId: apn })
  })

  test('the one healthy account of the user is used; an unhealthy one is ignored', async () => {
    const user = 'user-mixed-accounts'
    await emu.addAccount({ external_user_id: user, app: 'gmail', name: 'Expired', healthy: false })
    const good = await emu.addAccount({ external_user_id: user, app: 'gmail', name: 'Current' })
    const res = await client({ externalUserId: user }).executePipedreamConnect(GMAIL_EXAMPLE)
    expect(res.meta.account_id).toBe(good.id)
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].external_user_id).toBe(user)
    expect(runs[0].configured_props.gmail).toEqual({ authProvisionId: good.id })
    const lookups = await emu.requests(`/v1/connect/${PROJECT_ID}/accounts$`)
    expect(lookups.length).toBeGreaterThan(0)
    expect(lookups[0].query).toContain(`external_user_id=${user}`)
  })

  test('the external user: auth_config.external_user_id → context.externalUserId → option', async () => {
    const c = client({ externalUserId: USER })
    const byOption = await c.executePipedreamConnect(GMAIL_EXAMPLE)
    const byContext = await c.executePipedreamConnect(GMAIL_EXAMPLE, { externalUserId: OTHER })
    const byConfig = await c.executePipedreamConnect(
      { ...GMAIL_EXAMPLE, auth_config: { external_user_id: USER } },
      { externalUserId: OTHER },
    )
    expect(byOption.meta.account_id).toBe(accountOf[`${USER}:gmail`])
    expect(byContext.meta.account_id).toBe(accountOf[`${OTHER}:gmail`])
    expect(byConfig.meta.account_id).toBe(accountOf[`${USER}:gmail`])
    const runs = await emu.runs()
    expect(runs.map((r) => r.external_user_id)).toEqual([USER, OTHER, USER])
    expect(runs.map((r) => r.configured_props.gmail.authProvisionId)).toEqual([
      accountOf[`${USER}:gmail`],
      accountOf[`${OTHER}:gmail`],
      accountOf[`${USER}:gmail`],
    ])
  })

  test('no account: PIPEDREAM_ACCOUNT_MISSING with a Connect Link, nothing runs', async () => {
    const user = 'user-without-accounts'
    const err = await rejectionOf(client({ externalUserId: user }).executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_ACCOUNT_MISSING')
    expect(err.message).toMatch(
      /https:\/\/pipedream\.com\/_static\/connect\.html\?token=ctok_[A-Za-z0-9]+&connectLink=true&app=gmail/,
    )
    // The link came from the Connect tokens endpoint.
    expect((await emu.requests(`/v1/connect/${PROJECT_ID}/tokens$`)).length).toBeGreaterThan(0)
    // And it is a field, for Director's UI: no parsing of the message.
    expect(err.app).toBe('gmail')
    expect(err.message).toContain(err.connect_link_url)
    expect(new URL(err.connect_link_url).searchParams.get('app')).toBe('gmail')
    await expectNoRun()
  })

  test('several accounts: PIPEDREAM_ACCOUNT_AMBIGUOUS listing ids and names, nothing runs', async () => {
    const user = 'user-with-two-inboxes'
    const a = await emu.addAccount({ external_user_id: user, app: 'gmail', name: 'Personal Inbox' })
    const b = await emu.addAccount({ external_user_id: user, app: 'gmail', name: 'Work Inbox' })
    const err = await rejectionOf(client({ externalUserId: user }).executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_ACCOUNT_AMBIGUOUS')
    for (const s of [a.id, b.id, 'Personal Inbox', 'Work Inbox']) expect(err.message).toContain(s)
    expect(err.app).toBe('gmail')
    expect(err.accounts).toEqual([
      { id: a.id, name: 'Personal Inbox', healthy: true },
      { id: b.id, name: 'Work Inbox', healthy: true },
    ])
    await expectNoRun()
  })

  test('an external user id given blank is refused, never taken for the default user', async () => {
    const c = client()
    for (const [config, context] of [
      [{ ...GMAIL_EXAMPLE, auth_config: { external_user_id: '' } }, undefined],
      [{ ...GMAIL_EXAMPLE, auth_config: { external_user_id: ' \t' } }, undefined],
      [GMAIL_EXAMPLE, { externalUserId: '  ' }],
      // Invisible: JS's trim() drops a byte-order mark, so a caller took this for blank too.
      [{ ...GMAIL_EXAMPLE, auth_config: { external_user_id: '\ufeff\u200b' } }, undefined],
    ]) {
      const err = await rejectionOf(c.executePipedreamConnect(config, context))
      expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_INVALID_ARGS')
      expect(err.message).toMatch(/`(external_user_id|externalUserId)` is empty: give the Director user's id, or leave it out/)
    }
    for (const call of [
      () => c.listAccounts({ external_user_id: '' }),
      () => c.proxyRequest({ app: 'gmail', method: 'GET', url: '/gmail/v1/users/me/profile', external_user_id: ' ' }),
      () => c.configureProp({ component_id: 'gmail-search-emails', prop_name: 'labels', external_user_id: '' }),
    ]) {
      const answer = await call().catch((e) => e)
      expect(answer.code ?? answer.error).toBe('PIPEDREAM_INVALID_ARGS')
    }
    // Nothing reached the API for any of them (the token request aside).
    expect((await emu.requests()).filter((r) => !r.path.startsWith('/v1/oauth/'))).toHaveLength(0)
    await expectNoRun()
  })

  test('a field a call does not take is refused, never left out: a misspelled one would act as another user', async () => {
    const c = client()
    const refusals = [
      // The node config is closed (the node schema: additionalProperties false).
      [() => c.executePipedreamConnect({ ...GMAIL_EXAMPLE, stor: { $: 'x' } }), /unknown field `stor`; the fields are component_id, version, auth_config, params, store/],
      // auth_config is open, but a field of its own spelled otherwise is not.
      [() => c.executePipedreamConnect({ ...GMAIL_EXAMPLE, auth_config: { externalUserId: 'bob' } }), /`externalUserId` is not a field: did you mean `external_user_id`\?/],
      [() => c.listAccounts({ externalUserId: 'bob' }), /did you mean `external_user_id`/],
      [() => c.proxyRequest({ app: 'gmail', method: 'GET', url: '/gmail/v1/users/me/profile', accountId: 'apn_x' }), /did you mean `account_id`/],
      [() => c.createConnectToken({ external_user_id: 'bob', successRedirectUri: 'https://x.example' }), /did you mean `success_redirect_uri`/],
      [() => c.getComponents({ app_slug: 'gmail', q: 'send' }), /unknown field `q`; the fields are app_slug, type, query, limit/],
      // A bad value is named as the call has it, not as the node's auth_config it becomes.
      [() => c.proxyRequest({ app: 'gmail', method: 'GET', url: '/gmail/v1/users/me/profile', token: 'a b' }), /proxyRequest expects [^:]*: `token` is not a usable token/],
      [() => c.deployTrigger({ component_id: 'github-new-issue', token: 'a b' }), /deployTrigger expects [^:]*: `token` is not a usable token/],
    ]
    for (const [call, message] of refusals) {
      const answer = await call().catch((e) => e)
      expect(answer.code ?? answer.error).toBe('PIPEDREAM_INVALID_ARGS')
      expect(answer.message).toMatch(message)
    }
    expect((await emu.requests()).filter((r) => !r.path.startsWith('/v1/oauth/'))).toHaveLength(0)
    await expectNoRun()
    // An open object still takes fields it does not read.
    const res = await c.executePipedreamConnect({ ...GMAIL_EXAMPLE, auth_config: { note: 'x' } }, { workflowId: 'w', other: 1 })
    expect(res.component_id).toBe('gmail-search-emails')
    expect(await emu.runs()).toHaveLength(1)
  })

  test('a context field the engine reads, spelled otherwise, is refused: it would run as the default user', async () => {
    const c = client()
    const ac = new AbortController()
    class Context {
      constructor(fields) {
        Object.assign(this, fields)
      }
    }
    const refusals = [
      // Plain contexts are handed over as JSON; a class instance and a proxy are walked.
      [{ external_user_id: OTHER }, /`external_user_id` is not a field: did you mean `externalUserId`\?/],
      [new Context({ externalUserID: OTHER }), /`externalUserID` is not a field: did you mean `externalUserId`\?/],
      [new Proxy({ 'idempotency-key': 'k1' }, {}), /`idempotency-key` is not a field: did you mean `idempotencyKey`\?/],
      [{ Signal: ac.signal }, /`Signal` is not a field: did you mean `signal`\?/],
      [{ current_record: { id: 'r1' } }, /did you mean `currentRecord`/],
    ]
    for (const [context, message] of refusals) {
      const err = await rejectionOf(c.executePipedreamConnect(GMAIL_EXAMPLE, context))
      expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_INVALID_ARGS')
      expect(err.message).toMatch(message)
    }
    // A batch item's context likewise, as that item's failure only.
    const outcomes = await c.executeBatch([{ config: GMAIL_EXAMPLE, context: { externaluserid: OTHER } }, { config: GMAIL_EXAMPLE }])
    expect(outcomes[0].status).toBe('rejected')
    expect(outcomes[0].reason.message).toMatch(/`externaluserid` is not a field: did you mean `externalUserId`\?/)
    expect(outcomes[1].status).toBe('fulfilled')
    // Only the batch's good item ran, as the default user.
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].external_user_id).toBe(USER)
  })

  test('no external user anywhere is PIPEDREAM_INVALID_ARGS, nothing runs', async () => {
    if (ENV_HAS('PIPEDREAM_EXTERNAL_USER_ID')) return
    const err = await rejectionOf(client({ externalUserId: undefined }).executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_INVALID_ARGS')
    await expectNoRun()
  })

  test("an app without auth (helper_functions) has an app prop but takes no account: it runs, and no Connect Link is made", async () => {
    const c = client()
    const res = await c.executePipedreamConnect({ component_id: 'helper_functions-random-integer', params: { min: 1, max: 3 } })
    expect(res.meta.account_id).toBeUndefined()
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    // The app prop (helperFunctions) is left unset, as Pipedream's own form leaves it.
    expect(runs[0].configured_props).toEqual({ min: 1, max: 3 })
    expect(await emu.requests('/tokens$')).toHaveLength(0)
    // Discovery says so too; an app with auth still takes an account.
    const one = await c.getComponent({ component_id: 'helper_functions-random-integer' })
    expect(one.auth_required).toBe(false)
    expect(one.message).toMatch(/No account needed\./)
    const listed = await c.getComponents({ app_slug: 'helper_functions' })
    expect(listed.components.map((x) => x.auth_required)).toEqual(listed.components.map(() => false))
    expect((await c.getComponent({ component_id: 'slack-send-message' })).auth_required).toBe(true)
    // A user without an account for an app that has auth still gets the link.
    const missing = await rejectionOf(c.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text: 'x' } }, { externalUserId: 'nobody-here' }))
    expect(missing.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
  })

  test('an action without an app prop runs without an account', async () => {
    const params = { iso8601: '2024-05-14T17:30:00Z' }
    const res = await client().executePipedreamConnect({
      component_id: 'helper_functions-format-iso8601-datetime',
      params,
      store: { $: 'formatted' },
    })
    const fx = fixture('helper_functions-format-iso8601-datetime')
    expect(res.result).toEqual(fx.ret)
    expect(res.stored).toEqual({ formatted: fx.ret })
    expect(res.summary).toBe(fx.summary.replace('{{props.iso8601}}', params.iso8601))
    expect(res.meta.account_id).toBeUndefined()
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props).toEqual(expect.objectContaining(params))
    for (const v of Object.values(runs[0].configured_props)) {
      expect(v && typeof v === 'object' && 'authProvisionId' in v).toBe(false)
    }
  })
})

describe('validation before any run request', () => {
  test.each([
    ['a missing required param', 'gmail-search-emails', { maxResults: 5 }, { query: null }],
    ['an unknown param, with a suggestion (and the required one it replaced)', 'gmail-search-emails', { quer: 'from:a@b.c' }, { quer: 'query', query: null }],
    ['an unknown param close to an optional one', 'gmail-search-emails', { query: 'x', maxResult: 5 }, { maxResult: 'maxResults' }],
    ['text that is no number for an integer', 'stripe-create-payment-intent', { amount: 'ten dollars', currency: 'usd' }, { amount: 'whole number' }],
    ['a fraction as text for an integer', 'stripe-create-payment-intent', { amount: '1000.5', currency: 'usd' }, { amount: 'whole number' }],
    ['an empty text for a required param', 'gmail-search-emails', { query: '' }, { query: 'got an empty string' }],
    ['a hidden prop', 'hubspot-create-or-update-contact', { email: 'a@b.co', objectType: 'company' }, { objectType: 'is not a parameter: it is hidden' }],
    ['a disabled prop', 'salesforce_rest_api-create-lead', { LastName: 'Lovelace', Company: 'Acme', sobjectType: 'Account' }, { sobjectType: 'is not a parameter: it is disabled' }],
    ['an alert', 'twilio-make-phone-call', { from: '+14155550132', to: '+15558675310', text: 'hi', trialAlert: 'x' }, { trialAlert: 'is not a parameter: it is an alert' }],
    ['a value outside the static options', 'stripe-create-payment-intent', { amount: 1000, currency: 'jpy' }, { currency: null }],
    ['an integer below its minimum', 'stripe-create-payment-intent', { amount: 10, currency: 'usd' }, { amount: null }],
    [
      'several problems, one entry each',
      'stripe-create-payment-intent',
      { amount: 10, currency: 'jpy', descripton: 'x' },
      { amount: null, currency: null, descripton: 'description' },
    ],
  ])('%s → PIPEDREAM_INVALID_PARAMS with details', async (_, componentId, params, expected) => {
    const err = await rejectionOf(client().executePipedreamConnect({ component_id: componentId, params }))
    expectPipedreamError(err, componentId, 'PIPEDREAM_INVALID_PARAMS')
    expect(Array.isArray(err.details)).toBe(true)
    expect(err.details.map((d) => d.param).sort()).toEqual(Object.keys(expected).sort())
    for (const d of err.details) {
      expect(typeof d.problem).toBe('string')
      expect(d.problem.length).toBeGreaterThan(0)
      if (expected[d.param]) expect(d.problem).toContain(expected[d.param])
    }
    await expectNoRun()
  })

  test('text a template gave is read as the prop type and sent so; null is "not set"', async () => {
    // Director's templates ("{{amount}}") give text; Pipedream's own form sends an integer
    // field's text as a number too.
    await client().executePipedreamConnect({ component_id: 'stripe-create-payment-intent', params: { amount: '1000', currency: 'usd' } })
    await client().executePipedreamConnect({ component_id: 'gmail-search-emails', params: { query: 'from:a@b.co', maxResults: null } })
    const [stripe, gmail] = await emu.runs()
    expect(stripe.configured_props.amount).toBe(1000)
    const maxResults = components.find((c) => c.key === 'gmail-search-emails').configurable_props.find((p) => p.name === 'maxResults')
    expect(gmail.configured_props.maxResults).toEqual(maxResults.default)
  })

  test('params of props a reload adds are read as their types too; the others stay as sent', async () => {
    const parent = '8e2c7a4f-1b3d-4e5f-9a8b-7c6d5e4f3a2b'
    await client().executePipedreamConnect({
      component_id: 'notion-create-page-from-database',
      params: { parent, Name: 'Launch', Tags: '["urgent", "q3"]' },
    })
    const [run] = await emu.runs()
    expect(run.outcome).toBe('ok')
    expect(run.configured_props.Tags).toEqual(['urgent', 'q3'])
    // `parent` is withLabel: wrapped when sent, and not undone by the reading after the reload.
    expect(run.configured_props.parent).toEqual({ __lv: { label: parent, value: parent } })
  })

  test('an sql query given as text is sent as the object Pipedream\'s own form sends', async () => {
    await client().executePipedreamConnect({ component_id: 'postgresql-execute-custom-query', params: { sql: 'SELECT 1' } })
    const [run] = await emu.runs()
    expect(run.configured_props.sql).toEqual({ app: 'postgresql', query: 'SELECT 1', params: [] })
  })

  test.each(['../x', 'Gmail Search'])('component_id %j is PIPEDREAM_INVALID_ARGS with no request at all', async (id) => {
    const err = await rejectionOf(client().executePipedreamConnect({ component_id: id, params: { query: 'x' } }))
    expectPipedreamError(err, id, 'PIPEDREAM_INVALID_ARGS')
    expect(await emu.requests()).toEqual([])
    expect(await emu.runs()).toEqual([])
  })

  test('the same params pass once corrected', async () => {
    // The validator is not just refusing everything for stripe: a valid call runs.
    const params = { amount: 1099, currency: 'eur', description: 'Seed round fee' }
    const res = await client().executePipedreamConnect({ component_id: 'stripe-create-payment-intent', params })
    expect(res.result).toEqual(expect.objectContaining({ amount: 1099, currency: 'eur', description: 'Seed round fee' }))
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].configured_props).toEqual(expect.objectContaining(params))
  })
})

test('props with reloadProps: reloads first, then runs with the dynamic_props_id and dynamic params', async () => {
  const params = { sheetId: '1RKPvqw4VaeiBnvUO5uvBF67LieeJJriJuVEYzzPcMqT', worksheetId: 'Sheet1', myColumnData: ['Ada', 'ada@example.com'] }
  const res = await client().executePipedreamConnect({ component_id: 'google_sheets-add-single-row', params })
  expect(res.result.spreadsheetId).toBe(params.sheetId)
  const runs = await emu.runs()
  expect(runs).toHaveLength(1)
  expect(runs[0].dynamic_props_id).toMatch(/^dyp_/)
  expect(runs[0].outcome).toBe('ok')
  expect(runs[0].configured_props).toEqual(
    expect.objectContaining({ ...params, google_sheets: { authProvisionId: accountOf[`${USER}:google_sheets`] } }),
  )
  const reloads = await emu.requests('/(components|actions)/props$')
  const [run] = await runRequests()
  expect(reloads.length).toBeGreaterThan(0)
  expect(reloads[0].seq).toBeLessThan(run.seq)
})

describe('failures', () => {
  test('an os error inside the action is PIPEDREAM_ACTION_FAILED with its message; run once', async () => {
    const fx = fixture('twilio-make-phone-call')
    const err = await rejectionOf(
      client().executePipedreamConnect({
        component_id: 'twilio-make-phone-call',
        params: { from: '+14155550132', to: '+15558675310', text: 'Your round closes Friday.' },
      }),
    )
    expectPipedreamError(err, 'twilio-make-phone-call', 'PIPEDREAM_ACTION_FAILED')
    expect(err.message).toContain(fx.error.message)
    expect(err.message).toContain(fx.error.name)
    expect(err.action_error).toEqual({ name: fx.error.name, message: fx.error.message })
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].outcome).toBe('error')
    expect(await runRequests()).toHaveLength(1)
  })

  test("an action's error message is cut to 2,000 characters, saying how much was left out", async () => {
    // An axios error's message can carry the whole response it got.
    const dump = `Request failed with status code 400: ${JSON.stringify({ data: 'x'.repeat(60000) })}`
    const body = { exports: {}, os: [{ ts: 1, k: 'error', err: { name: 'AxiosError'.repeat(20), message: dump } }], ret: null }
    await emu.fault({ path: '/actions/run$', status: 200, body, count: 1 })
    const err = await rejectionOf(client().executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_ACTION_FAILED')
    const rest = dump.length - 2000
    expect(err.action_error.message).toBe(`${dump.slice(0, 2000)}… (${rest} more characters; the run's logs in Pipedream have all of it)`)
    expect(err.action_error.name).toBe(`${'AxiosError'.repeat(10)}…`)
    expect(err.message).toContain(err.action_error.message)
    expect(err.message.length).toBeLessThan(2400)
    expect(await runRequests()).toHaveLength(1)
  })

  test('a param value that makes the emulated action fail is PIPEDREAM_ACTION_FAILED', async () => {
    const err = await rejectionOf(
      client().executePipedreamConnect({ component_id: 'gmail-search-emails', params: { query: '__emulator_fail__' } }),
    )
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_ACTION_FAILED')
    expect(err.message).toContain('Emulated failure')
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0].outcome).toBe('error')
  })

  test('a 403 on the run is PIPEDREAM_FORBIDDEN with status 403', async () => {
    await emu.fault({ path: '/actions/run$', status: 403, body: { error: 'project is not allowed to run actions' } })
    const err = await rejectionOf(client().executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_FORBIDDEN')
    expect(err.status).toBe(403)
    expect(await runRequests()).toHaveLength(1)
    expect(await emu.runs()).toEqual([])
  })

  test('a run that may have happened (500 after the action ran) is not sent again', async () => {
    await emu.fault({ path: '/actions/run$', status: 500, when: 'after', count: 1 })
    const err = await rejectionOf(client().executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_SERVER_ERROR')
    expect(err.status).toBe(500)
    expect(await emu.runs()).toHaveLength(1)
    expect(await runRequests()).toHaveLength(1)
  })

  test('a 429 with Retry-After is PIPEDREAM_RATE_LIMITED with status and retryAfterMs; nothing runs', async () => {
    await emu.fault({ path: `/v1/connect/${PROJECT_ID}/accounts$`, retry_after: 2 })
    const err = await rejectionOf(client().executePipedreamConnect(GMAIL_EXAMPLE))
    expectPipedreamError(err, 'gmail-search-emails', 'PIPEDREAM_RATE_LIMITED')
    expect(err.status).toBe(429)
    expect(typeof err.retryAfterMs).toBe('number')
    expect(err.retryAfterMs).toBeGreaterThanOrEqual(1000)
    expect(err.retryAfterMs).toBeLessThanOrEqual(3000)
    expect(err.retry_after_ms).toBe(err.retryAfterMs)
    expect((await emu.requests(`/v1/connect/${PROJECT_ID}/accounts$`)).every((r) => r.status === 429)).toBe(true)
    await expectNoRun()
  })
})

describe('logger', () => {
  const MARKER = 'MARKER-7f3a'

  test('receives events for executions and discovery, with names and ids but no secret or param value', async () => {
    const events = []
    const c = client({ token: undefined, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, logger: (e) => events.push(e) })
    const ok = await c.executePipedreamConnect(
      { component_id: 'gmail-search-emails', params: { query: MARKER, maxResults: 7 }, auth_config: { token: API_KEY } },
      { alias: 'markerSearch' },
    )
    expect(ok.meta.token_source).toBe('auth_config')
    await rejectionOf(
      c.executePipedreamConnect({
        component_id: 'twilio-make-phone-call',
        params: { from: '+14155550132', to: '+15558675310', text: MARKER },
      }),
    )
    for (let i = 0; i < 40 && events.length === 0; i++) await sleep(50)
    await sleep(200)
    const afterExecutions = events.length
    expect(afterExecutions).toBeGreaterThan(0)

    const disc = await c.getComponent({ component_id: 'slack-send-message' })
    expect(disc.error).toBeUndefined()
    for (let i = 0; i < 40 && events.length === afterExecutions; i++) await sleep(50)
    expect(events.length).toBeGreaterThan(afterExecutions)

    for (const e of events) expect(e !== null && typeof e === 'object').toBe(true)
    const all = JSON.stringify(events)
    expect(all).toContain('gmail-search-emails')
    expect(all).toContain('twilio-make-phone-call')
    expect(all).toContain('maxResults')
    expect(all).toContain('query')
    expect(all).not.toContain(MARKER)
    expect(all).not.toContain(API_KEY)
    expect(all).not.toContain(CLIENT_SECRET)
    // Both executions really ran.
    expect((await emu.runs()).map((r) => r.id)).toEqual(['gmail-search-emails', 'twilio-make-phone-call'])
  })

  test("a call's events reach the logger before its promise settles", async () => {
    // Other clients in this process made calls first: the order must not depend on that.
    await client().getComponent({ component_id: 'gmail-search-emails' })
    const events = []
    const c = client({ logger: (e) => events.push(e) })
    for (let i = 0; i < 3; i++) {
      await c.executePipedreamConnect(GMAIL_EXAMPLE)
      // Checked the moment the promise settles, with no wait.
      expect(events.filter((e) => e.type === 'execution')).toHaveLength(i + 1)
    }
    const before = events.filter((e) => e.type === 'discovery').length
    await c.getComponent({ component_id: 'slack-send-message' })
    expect(events.filter((e) => e.type === 'discovery').length).toBeGreaterThan(before)
    expect(await emu.runs()).toHaveLength(3)
  })

  test('a logger does not keep Node alive', async () => {
    const { execFileSync } = require('node:child_process')
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIPEDREAM_')))
    const script = `const pd = require(${JSON.stringify(path.resolve(__dirname, '..'))});
      const events = [];
      const c = new pd.PipedreamClient({ baseUrl: ${JSON.stringify(emu.url)}, projectId: ${JSON.stringify(PROJECT_ID)},
        token: ${JSON.stringify(API_KEY)}, externalUserId: ${JSON.stringify(USER)}, logger: (e) => events.push(e) });
      c.executePipedreamConnect(${JSON.stringify(GMAIL_EXAMPLE)})
        .then((r) => setTimeout(() => process.stdout.write(JSON.stringify({ ok: r.component_id, events: events.length })), 300),
              (e) => process.stdout.write(JSON.stringify({ error: e.code })))`
    const started = Date.now()
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: base, encoding: 'utf8', timeout: 15000 }))
    expect(out).toEqual({ ok: 'gmail-search-emails', events: expect.any(Number) })
    expect(out.events).toBeGreaterThan(0)
    expect(Date.now() - started).toBeLessThan(10000)
    expect(await emu.runs()).toHaveLength(1)
  })
})

describe('abort', () => {
  test('an already aborted signal rejects with AbortError and nothing runs', async () => {
    const ac = new AbortController()
    ac.abort()
    const err = await rejectionOf(client().executePipedreamConnect(GMAIL_EXAMPLE, { signal: ac.signal }))
    expect(err.name).toBe('AbortError')
    expect(err.code).toBe('ABORT_ERR')
    await expectNoRun()
  })

  test('aborting mid-run rejects at once, well before the run would answer', async () => {
    await emu.fault({ path: '/actions/run$', delay_ms: 2000 })
    const c = client()
    const ac = new AbortController()
    const started = Date.now()
    const pending = c.executePipedreamConnect(GMAIL_EXAMPLE, { signal: ac.signal })
    // Abort once the run request has reached the emulator (it is held there for 2 s).
    for (let i = 0; i < 100 && (await runRequests()).length === 0; i++) await sleep(10)
    expect(await runRequests()).toHaveLength(1)
    const abortedAt = Date.now()
    ac.abort()
    const err = await rejectionOf(pending)
    const settled = Date.now()
    expect(err.name).toBe('AbortError')
    expect(err.code).toBe('ABORT_ERR')
    expect(settled - abortedAt).toBeLessThan(1000)
    expect(settled - started).toBeLessThan(1900)
    // Let the held request finish before the next test resets the emulator.
    await sleep(Math.max(0, 2300 - (Date.now() - started)))
  })
})
