'use strict'
// examples/director: the integration plan's three example workflows run end to end through a
// Director-shaped NodeExecutor with a real PipedreamClient against the emulator; the variables,
// the records and the emulator's run journal are checked. DirectorService's tool dispatch too.
const fs = require('node:fs')
const path = require('node:path')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, PROJECT_ID, ROOT } = require('./helpers/emulator')
const { NodeExecutor, globToRegExp } = require('../examples/director/nodeExecutor')
const { DirectorService, toolDefinitions } = require('../examples/director/directorService')
const workflows = require('../examples/director/workflows')

const components = JSON.parse(fs.readFileSync(path.join(ROOT, 'emulator', 'fixtures', 'components.json'), 'utf8'))
const fixture = (key) => components.find((c) => c.key === key).x_emulator

const API_KEY = 'director-static-key-7a3e50'
const USER = 'director-user-1'
const SEEDED = [
  [USER, 'gmail', 'Investor Inbox'],
  [USER, 'airtable', 'Main Base'],
  [USER, 'clearbit', 'Clearbit'],
]

let emu
const accountOf = {} // app → apn_ id of USER's seeded account
beforeAll(async () => {
  emu = await startEmulator(['--api-key', API_KEY, ...SEEDED.flatMap(([u, a, n]) => ['--account', `${u}:${a}:${n}`])])
  for (const [user, app] of SEEDED) {
    const res = await fetch(`${emu.url}/v1/connect/${PROJECT_ID}/accounts?external_user_id=${user}&app=${app}`, {
      headers: { authorization: `Bearer ${API_KEY}`, 'x-pd-environment': 'production' },
    })
    const { data } = await res.json()
    expect(data).toHaveLength(1)
    accountOf[app] = data[0].id
  }
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) => new PipedreamClient({ baseUrl: emu.url, projectId: PROJECT_ID, token: API_KEY, ...extra })
const runRequests = () => emu.requests('/actions/run$')
const pad = (i) => String(i).padStart(3, '0')
const ENV_HAS_CREDENTIALS = ['PIPEDREAM_API_TOKEN', 'PIPEDREAM_CLIENT_ID', 'PIPEDREAM_CLIENT_SECRET'].some((k) => process.env[k])

/** The fixture's `ret` with `{{props.NAME}}` filled as the emulator does (a whole-string placeholder keeps the type). */
function expectedRet(key, props) {
  const fill = (v) => {
    if (typeof v === 'string') {
      const whole = v.match(/^\{\{props\.(\w+)\}\}$/)
      if (whole) return props[whole[1]]
      return v.replace(/\{\{props\.(\w+)\}\}/g, (_, n) => String(props[n]))
    }
    if (Array.isArray(v)) return v.map(fill)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
    return v
  }
  return fill(fixture(key).ret)
}

describe('Example 1: Gmail search with stored variables', () => {
  const ret = fixture('gmail-search-emails').ret
  const expectedVariables = {
    search_investor_emails: { foundInvestorEmails: ret.emails, totalEmails: ret.count, result: ret },
    foundInvestorEmails: ret.emails,
    totalEmails: ret.count,
    emailCount: ret.count, // a whole-string template keeps the number
    firstSubject: ret.emails[0].subject,
    reportLine: `Found ${ret.count} investor emails; first from ${ret.emails[0].from}`,
  }

  async function expectOneGmailRun() {
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0]).toEqual(expect.objectContaining({ id: 'gmail-search-emails', external_user_id: USER, outcome: 'ok' }))
    expect(runs[0].configured_props).toEqual({
      gmail: { authProvisionId: accountOf.gmail },
      query: 'from:investor@company.com',
      maxResults: 20,
    })
    expect(await runRequests()).toHaveLength(1)
  }

  test('discovery through DirectorService, then the workflow: variables from the run, one run in the journal', async () => {
    const c = client()
    const director = new DirectorService({ client: c })
    const services = await director.handleToolCall('pipedream_search_services', { query: 'gmail' }, 'wf_example1')
    expect(services.error).toBeUndefined()
    expect(services.services.map((s) => s.app_slug)).toContain('gmail')
    const comps = await director.handleToolCall('pipedream_get_components', { app_slug: 'gmail' }, 'wf_example1')
    expect(comps.error).toBeUndefined()
    expect(comps.components.map((x) => x.component_id)).toContain('gmail-search-emails')

    const out = await new NodeExecutor({ client: c }).executeWorkflow(workflows.gmailSearch, {
      workflowId: 'wf_example1',
      externalUserId: USER,
    })
    expect(out.variables).toEqual(expectedVariables)
    expect(out.records).toEqual([])
    expect(out.warnings).toEqual([])
    await expectOneGmailRun()
  })

  test('the Pipedream token can come from a context node (pipedream_token)', async () => {
    const noToken = new PipedreamClient({ baseUrl: emu.url, projectId: PROJECT_ID })
    if (!ENV_HAS_CREDENTIALS) {
      // Without the context node this client has no token: nothing runs.
      const err = await new NodeExecutor({ client: noToken })
        .executeWorkflow(workflows.gmailSearch, { workflowId: 'wf_example1', externalUserId: USER })
        .then(
          () => null,
          (e) => e,
        )
      expect(err).not.toBeNull()
      expect(err.code).toBe('PIPEDREAM_AUTH_MISSING')
      expect(await emu.runs()).toEqual([])
    }
    const out = await new NodeExecutor({ client: noToken }).executeWorkflow(
      workflows.withPipedreamToken(workflows.gmailSearch, API_KEY),
      { workflowId: 'wf_example1', externalUserId: USER },
    )
    expect(out.variables).toEqual({ pipedream_token: API_KEY, ...expectedVariables })
    expect(out.warnings).toEqual([])
    await expectOneGmailRun()
  })
})

describe('Example 2: extracted investors → iterate → Airtable create per investor', () => {
  test('one run per investor with that investor’s fields, through one executeBatch', async () => {
    const c = client()
    const batchSpy = jest.spyOn(c, 'executeBatch')
    const singleSpy = jest.spyOn(c, 'executePipedreamConnect')
    const out = await new NodeExecutor({ client: c }).executeWorkflow(workflows.investorsToAirtable, {
      workflowId: 'wf_example2',
      externalUserId: USER,
    })

    const { INVESTORS } = workflows
    const ids = INVESTORS.map((_, i) => `investor_${pad(i + 1)}`)
    expect(out.records).toEqual(INVESTORS.map((fields, i) => ({ id: ids[i], type: 'investor', fields })))
    const fieldsOf = (inv) => ({ Name: inv.name, Email: inv.email, Company: inv.company })
    const last = INVESTORS[INVESTORS.length - 1]
    expect(out.variables).toEqual({
      // The alias namespace holds the latest iteration's result (the last investor).
      create_airtable_record: { result: expectedRet('airtable-create-record', { fields: fieldsOf(last) }) },
      save_to_airtable: { count: INVESTORS.length, record_ids: ids },
    })
    expect(out.warnings).toEqual([])

    // The single-node body ran as one batch of three items, not as single calls.
    expect(batchSpy).toHaveBeenCalledTimes(1)
    expect(batchSpy.mock.calls[0][0]).toHaveLength(INVESTORS.length)
    expect(singleSpy).not.toHaveBeenCalled()

    const runs = await emu.runs()
    expect(runs).toHaveLength(INVESTORS.length)
    for (const run of runs) {
      expect(run).toEqual(expect.objectContaining({ id: 'airtable-create-record', external_user_id: USER, outcome: 'ok' }))
    }
    // Exactly one run per investor (the batch may send them in any order), each with exactly its props.
    const byEmail = (a, b) => a.fields.Email.localeCompare(b.fields.Email)
    expect(runs.map((r) => r.configured_props).sort(byEmail)).toEqual(
      INVESTORS.map((inv) => ({
        airtable: { authProvisionId: accountOf.airtable },
        base_id: 'appXXXXXXXXXXXXXX',
        table_name: 'Investors',
        fields: fieldsOf(inv),
        // Left out of the node, sent with its default, as Pipedream's own client does.
        typecast: false,
      })).sort(byEmail),
    )
    expect(await runRequests()).toHaveLength(INVESTORS.length)
  })
  test('a failing investor fails the iterate with that record named; the others still ran once each', async () => {
    const bad = { ...workflows.INVESTORS[1], email: '__emulator_fail__' }
    const failing = workflows.investorsToAirtable.map((n) =>
      n.type === 'fixture_records' ? { ...n, config: { ...n.config, records: [workflows.INVESTORS[0], bad, workflows.INVESTORS[2]] } } : n,
    )
    const err = await new NodeExecutor({ client: client() })
      .executeWorkflow(failing, { workflowId: 'wf_example2', externalUserId: USER })
      .then(
        () => null,
        (e) => e,
      )
    expect(err).not.toBeNull()
    expect(err.message).toContain("iterate 'save_to_airtable': 1 of 3 records failed: investor_002: ")
    expect(err.failures.map((f) => [f.record_id, f.reason.code])).toEqual([['investor_002', 'PIPEDREAM_ACTION_FAILED']])
    const runs = await emu.runs()
    expect(runs).toHaveLength(3)
    expect(runs.map((r) => [r.configured_props.fields.Email, r.outcome]).sort()).toEqual(
      [
        [workflows.INVESTORS[0].email, 'ok'],
        ['__emulator_fail__', 'error'],
        [workflows.INVESTORS[2].email, 'ok'],
      ].sort(),
    )
  })
})

describe('Example 3: CRM leads → Clearbit enrich → Airtable save', () => {
  test('per lead, in order: enrich with its email, then save with what its enrichment returned', async () => {
    const c = client()
    const out = await new NodeExecutor({ client: c }).executeWorkflow(workflows.crmLeadsEnrichment, {
      workflowId: 'wf_example3',
      externalUserId: USER,
    })

    const { LEADS } = workflows
    const ids = LEADS.map((_, i) => `lead_${pad(i + 1)}`)
    expect(out.records).toEqual(LEADS.map((fields, i) => ({ id: ids[i], type: 'lead', fields })))
    const enrichmentOf = (lead) => expectedRet('clearbit-enrich-person', { email: lead.email })
    const savedFieldsOf = (lead) => {
      const e = enrichmentOf(lead)
      return {
        Email: lead.email,
        Company: e.company.name,
        Industry: e.company.category.industry,
        Enriched_Email: e.person.email,
      }
    }
    const last = LEADS[LEADS.length - 1]
    expect(out.variables).toEqual({
      enrich_via_api: { result: enrichmentOf(last) },
      save_to_database: { result: expectedRet('airtable-create-record', { fields: savedFieldsOf(last) }) },
      enrich_leads: { count: LEADS.length, record_ids: ids },
    })
    expect(out.warnings).toEqual([])

    // The journal: enrich(lead 1), save(lead 1), enrich(lead 2), save(lead 2), nothing else.
    const runs = await emu.runs()
    expect(runs.map((r) => [r.id, r.outcome, r.external_user_id])).toEqual(
      LEADS.flatMap(() => [
        ['clearbit-enrich-person', 'ok', USER],
        ['airtable-create-record', 'ok', USER],
      ]),
    )
    LEADS.forEach((lead, i) => {
      expect(runs[2 * i].configured_props).toEqual({ clearbit: { authProvisionId: accountOf.clearbit }, email: lead.email })
      expect(runs[2 * i + 1].configured_props).toEqual({
        airtable: { authProvisionId: accountOf.airtable },
        base_id: 'appXXXXXXXXXXXXXX',
        table_name: 'Enriched_Leads',
        fields: savedFieldsOf(lead),
        typecast: false,
      })
    })
    expect(savedFieldsOf(LEADS[0]).Company).toBe(fixture('clearbit-enrich-person').ret.company.name)
    expect(await runRequests()).toHaveLength(2 * LEADS.length)
  })

  test('a failing save stops the workflow at that lead: later leads are not enriched', async () => {
    const failing = workflows.crmLeadsEnrichment.map((n) =>
      n.alias === 'save_to_database'
        ? { ...n, config: { ...n.config, params: { ...n.config.params, table_name: '__emulator_fail__' } } }
        : n,
    )
    const err = await new NodeExecutor({ client: client() })
      .executeWorkflow(failing, { workflowId: 'wf_example3', externalUserId: USER })
      .then(
        () => null,
        (e) => e,
      )
    expect(err).not.toBeNull()
    expect(err.name).toBe('PipedreamError')
    expect(err.code).toBe('PIPEDREAM_ACTION_FAILED')
    const runs = await emu.runs()
    expect(runs.map((r) => [r.id, r.outcome])).toEqual([
      ['clearbit-enrich-person', 'ok'],
      ['airtable-create-record', 'error'],
    ])
  })
})

describe('NodeExecutor templates and selectors', () => {
  test('whole-string templates keep the type, embedded ones are stringified, unresolved ones are empty with a warning', async () => {
    const executor = new NodeExecutor({ client: client() })
    const out = await executor.executeWorkflow(
      [
        { type: 'context', alias: 'setup', config: { variables: { n: 3, obj: { a: [1, 2] }, flag: false, nil: null } } },
        {
          type: 'context',
          alias: 'derived',
          config: {
            variables: {
              n2: '{{n}}',
              obj2: '{{ obj }}',
              deep: '{{obj.a.1}}',
              flag2: '{{flag}}',
              nil2: '{{nil}}',
              text: 'n={{n}} obj={{obj}} flag={{flag}} nil={{nil}}',
              missing: '{{nope.x}}',
              embeddedMissing: 'a{{nope}}b',
              nested: ['{{n}}', { k: '{{obj.a}}' }],
              noCurrent: '{{current.fields.x}}',
            },
          },
        },
      ],
      { workflowId: 'wf_templates' },
    )
    expect(out.variables).toEqual({
      n: 3,
      obj: { a: [1, 2] },
      flag: false,
      nil: null,
      n2: 3,
      obj2: { a: [1, 2] },
      deep: 2,
      flag2: false,
      nil2: null,
      text: 'n=3 obj={"a":[1,2]} flag=false nil=null',
      missing: '',
      embeddedMissing: 'ab',
      nested: [3, { k: [1, 2] }],
      noCurrent: '',
    })
    expect(out.warnings).toEqual([
      'derived: unresolved template {{nope.x}}',
      'derived: unresolved template {{nope}}',
      'derived: unresolved template {{current.fields.x}}',
    ])
    expect(await emu.runs()).toEqual([])
  })

  test('iterate selects records by glob on id; body nodes do not run at top level', async () => {
    expect(globToRegExp('lead_*').test('lead_001')).toBe(true)
    expect(globToRegExp('lead_*').test('investor_001')).toBe(false)
    expect(globToRegExp('lead_00?').test('lead_010')).toBe(false)
    expect(globToRegExp('a.b*').test('axb1')).toBe(false)

    // Investors and leads side by side: iterating 'lead_*' enriches the leads only, once each.
    const nodes = [
      workflows.investorsToAirtable[0],
      ...workflows.crmLeadsEnrichment.filter((n) => n.alias !== 'save_to_database'),
    ].map((n) => (n.type === 'iterate' ? { ...n, config: { ...n.config, body: ['enrich_via_api'] } } : n))
    const out = await new NodeExecutor({ client: client() }).executeWorkflow(nodes, {
      workflowId: 'wf_glob',
      externalUserId: USER,
    })
    expect(out.records.map((r) => r.id)).toEqual(['investor_001', 'investor_002', 'investor_003', 'lead_001', 'lead_002'])
    const runs = await emu.runs()
    // The iterate body runs the items concurrently, so the journal's order is not the records' order.
    const byEmail = (a, b) => a[1].localeCompare(b[1])
    expect(runs.map((r) => [r.id, r.configured_props.email]).sort(byEmail)).toEqual(
      workflows.LEADS.map((l) => ['clearbit-enrich-person', l.email]).sort(byEmail),
    )
  })
})

describe('DirectorService', () => {
  test('exports the package tool list, with the plan’s two tools', () => {
    expect(toolDefinitions).toEqual(pd.toolDefinitions())
    const names = toolDefinitions.map((t) => t.function.name)
    expect(names).toEqual(expect.arrayContaining(['pipedream_search_services', 'pipedream_get_components']))
  })

  test('pipedream_search_services and pipedream_get_components answer as the package does, from the API', async () => {
    const c = client()
    const director = new DirectorService({ client: c })
    const search = await director.handleToolCall('pipedream_search_services', { query: 'airtable', limit: null }, 'wf_1')
    expect(search.error).toBeUndefined()
    // The catalog has two Airtable apps: OAuth and API key (the one the emulator's components use).
    expect(search.services.map((s) => [s.app_slug, s.name])).toEqual(
      expect.arrayContaining([
        ['airtable_oauth', 'Airtable'],
        ['airtable', 'Airtable (API Key)'],
      ]),
    )
    expect(search.total_found).toBe(search.services.length)
    expect(await emu.requests('/v1/connect/apps')).not.toHaveLength(0)

    const comps = await director.handleToolCall(
      'pipedream_get_components',
      { app_slug: 'clearbit', query: 'enrich person', limit: null, type: null },
      'wf_1',
    )
    expect(comps.error).toBeUndefined()
    expect(comps.app_slug).toBe('clearbit')
    expect(comps.components[0].component_id).toBe('clearbit-enrich-person')
    expect(comps.components[0].parameters.map((p) => p.name)).toEqual(['email'])
    expect(await emu.requests('/v1/connect/proj_[^/]+/(components|actions)$')).not.toHaveLength(0)

    // The same answer as calling the package directly (now from its cache).
    expect(await c.handleToolCall('pipedream_get_components', { app_slug: 'clearbit', query: 'enrich person' })).toEqual({
      ...comps,
      cached: true,
    })
    expect(await emu.runs()).toEqual([])
  })

  test('an unknown app answers with the package’s error, not a throw', async () => {
    const res = await new DirectorService({ client: client() }).handleToolCall(
      'pipedream_get_components',
      { app_slug: 'no_such_app_zz' },
      'wf_1',
    )
    expect(res.error).toBe('PIPEDREAM_NOT_FOUND')
    expect(res.components).toEqual([])
  })

  test('any other tool falls through to the stub and sends nothing', async () => {
    const res = await new DirectorService({ client: client() }).handleToolCall('dom_search', { query: 'x' }, 'wf_1')
    expect(res.error).toBe('NOT_A_PIPEDREAM_TOOL')
    expect(res.message).toContain('"dom_search" is not a Pipedream tool')
    expect(await emu.requests()).toEqual([])
  })
})

describe('a user connects an account in the middle of a workflow (examples/director/accountLoop.js)', () => {
  const http = require('node:http')
  const { AccountLoop } = require('../examples/director/accountLoop')

  test('the run pauses at the node with a Connect Link; the webhook resumes it and that node runs once', async () => {
    let loop
    let handled
    const webhookHandled = new Promise((resolve) => (handled = resolve))
    // Director's webhook route: the raw body and headers go to the loop.
    const server = http.createServer((req, res) => {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', async () => {
        try {
          const runs = await loop.handleConnectionWebhook(Buffer.concat(chunks), req.headers)
          res.writeHead(200).end()
          handled(runs)
        } catch (e) {
          res.writeHead(400).end(String(e && e.code))
          handled(e)
        }
      })
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      loop = new AccountLoop({ client: client(), webhookUri: `http://127.0.0.1:${server.address().port}/webhooks/pipedream` })
      // USER has Gmail connected, not Slack.
      const nodes = [
        { type: 'pipedream_connect', alias: 'find', config: { component_id: 'gmail-search-emails', params: { query: 'from:ceo' }, store: { count: 'found' } } },
        {
          type: 'pipedream_connect',
          alias: 'notify',
          config: { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'Found {{found}} emails' }, store: { ts: 'postedAt' } },
        },
      ]
      const run = await loop.start(nodes, { workflowId: 'wf-connect', externalUserId: USER })
      expect(run.status).toBe('paused')
      expect(run.waiting.app).toBe('slack')
      expect(run.waiting.connect_link_url).toMatch(/[?&]app=slack(&|$)/)
      expect((await emu.runs()).map((r) => r.id)).toEqual(['gmail-search-emails'])

      // The user finishes the Connect Link; the emulator creates the account and posts the webhook.
      await emu.control('POST', 'connect', { token: run.waiting.token, name: 'Team Slack' })
      const touched = await webhookHandled
      expect(touched).toEqual([run])
      expect(run.status).toBe('completed')
      const journal = await emu.runs()
      // Gmail did not run again; Slack ran once, with the variable the first node stored.
      expect(journal.map((r) => r.id)).toEqual(['gmail-search-emails', 'slack-send-message'])
      expect(journal[1].configured_props.text).toBe(`Found ${run.result.variables.found} emails`)
      expect(run.result.variables.postedAt).toBeDefined()
      const deliveries = (await emu.control('GET', 'webhooks')).data
      expect(deliveries.map((d) => [d.event, d.ok])).toEqual([['CONNECTION_SUCCESS', true]])
    } finally {
      server.close()
    }
  })
})

describe('a workflow started by a trigger (examples/director/triggerLoop.js)', () => {
  const http = require('node:http')
  const { TriggerLoop } = require('../examples/director/triggerLoop')
  const OWNER = 'trigger-owner'
  const nodes = [
    {
      type: 'pipedream_trigger',
      alias: 'new_issue',
      config: { component_id: 'github-new-issue', params: { repoFullname: 'acme/api' }, emit_on_deploy: false },
    },
    {
      type: 'pipedream_connect',
      alias: 'notify',
      config: { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'New issue: {{new_issue.title}}' } },
    },
  ]

  test('deploy, receive, verify, run once per event (even when redelivered), refuse forgeries, pause and delete', async () => {
    await emu.addAccount({ external_user_id: OWNER, app: 'github' })
    await emu.addAccount({ external_user_id: OWNER, app: 'slack' })
    // The schema Director's planner is given accepts the workflow.
    const validate = new (require('ajv/dist/2020'))({ strict: false }).compile(pd.nodeSchema)
    for (const node of nodes) expect(validate(node)).toBe(true)

    const oauth = new PipedreamClient(emu.clientOptions)
    let loop
    const server = http.createServer((req, res) => loop.handler()(req, res))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      loop = new TriggerLoop({
        client: oauth,
        baseUrl: `http://127.0.0.1:${server.address().port}/hooks/pipedream`,
        pathSecret: require('node:crypto').randomBytes(24).toString('hex'),
      })
      const trigger = await loop.enable({ id: 'wf_issues', nodes, externalUserId: OWNER })
      expect(trigger.webhook_signing_key).toEqual(expect.any(String))
      const emit = async (body) => (await emu.control('POST', `triggers/${trigger.id}/emit`, body)).data

      // An event, delivered twice (a replay): one run, with the event's data.
      await emit({ payload: { title: 'Login fails', number: 7 }, faults: { replay: true } })
      expect(loop.runs.map((r) => [r.workflowId, r.status])).toEqual([['wf_issues', 'completed']])
      const slack = (await emu.runs()).filter((r) => r.id === 'slack-send-message')
      expect(slack.map((r) => r.configured_props.text)).toEqual(['New issue: Login fails'])

      // A forged delivery is answered 401 and starts nothing.
      await emit({ payload: { title: 'Forged', number: 8 }, faults: { bad_signature: true } })
      expect(loop.runs).toHaveLength(1)
      const forged = (await emu.control('GET', 'trigger-deliveries')).data.at(-1)
      expect(forged.attempts.map((a) => a.status)).toContain(401)

      // Paused: nothing is delivered; resumed: it is again.
      await loop.pause('wf_issues')
      await emit({ payload: { title: 'While paused', number: 9 } })
      expect(loop.runs).toHaveLength(1)
      await loop.resume('wf_issues')
      await emit({ payload: { title: 'After resume', number: 10 } })
      expect(loop.runs.map((r) => r.result && r.result.variables.new_issue && r.result.variables.new_issue.title)).toEqual([
        'Login fails',
        'After resume',
      ])

      await loop.disable('wf_issues')
      expect(await oauth.listDeployedTriggers({ external_user_id: OWNER })).toEqual([])
    } finally {
      server.close()
    }
  })
})
