'use strict'
// directorPrompt and nodeSchema: what Director's planner is given besides the tools.
const Ajv2020 = require('ajv/dist/2020')
const pd = require('..')

const validate = new Ajv2020({ strict: false, allErrors: true }).compile(pd.nodeSchema)

// The integration plan's own pipedream_connect nodes (Examples 1-3), as written there, plus
// the fields this package adds.
const planNodes = [
  {
    type: 'pipedream_connect',
    alias: 'search_investor_emails',
    description: 'Search Gmail for emails from investors',
    config: {
      component_id: 'gmail-search-emails',
      auth_config: { token: '{{gmail_token}}' },
      params: { query: 'from:investor@company.com', maxResults: 20 },
      store: { emails: 'foundInvestorEmails', count: 'totalEmails' },
    },
  },
  {
    type: 'pipedream_connect',
    alias: 'create_airtable_record',
    config: {
      component_id: 'airtable-create-record',
      auth_config: { token: '{{airtable_token}}' },
      params: { base_id: 'appXXXXXXXXXXXXXX', table_name: 'Investors', fields: { Name: '{{current.fields.name}}' } },
    },
  },
  {
    type: 'pipedream_connect',
    alias: 'enrich_via_api',
    config: { component_id: 'clearbit-enrich-person', params: { email: '{{current.fields.email}}' } },
  },
  {
    type: 'pipedream_connect',
    alias: 'save_lead',
    config: {
      component_id: 'airtable-create-record',
      version: '0.2.4',
      auth_config: { account_id: 'apn_abc123', external_user_id: 'user-42' },
      create_records: { type: 'row', from: 'records', id_pattern: 'row_{index}' },
      store_to_record: true,
      as: 'airtable',
    },
  },
]

test('nodeSchema accepts the plan nodes and the added fields', () => {
  for (const node of planNodes) {
    if (!validate(node)) throw new Error(`${node.alias}: ${JSON.stringify(validate.errors)}`)
  }
})

test('every pipedream_connect node of the three example workflows fits nodeSchema', () => {
  const workflows = require('../examples/director/workflows')
  const nodes = ['gmailSearch', 'investorsToAirtable', 'crmLeadsEnrichment']
    .flatMap((name) => workflows[name])
    .filter((node) => node.type === 'pipedream_connect')
  expect(nodes.length).toBeGreaterThanOrEqual(4)
  for (const node of nodes) {
    if (!validate(node)) throw new Error(`${node.alias}: ${JSON.stringify(validate.errors)}`)
  }
})

test('nodeSchema refuses malformed nodes', () => {
  const good = planNodes[0]
  const broken = [
    { ...good, alias: 'Search-Emails' },
    { ...good, type: 'browser_action' },
    { ...good, config: { ...good.config, component_id: '../x' } },
    { ...good, config: { ...good.config, unknown_field: 1 } },
    { ...good, config: { ...good.config, auth_config: { account_id: 'acct_1' } } },
    { ...good, config: { ...good.config, store: { emails: 5 } } },
    { type: 'pipedream_connect', alias: 'x', config: {} },
  ]
  for (const node of broken) expect(validate(node)).toBe(false)
})

test('directorPrompt teaches the real tools and the account rules', () => {
  const p = pd.directorPrompt
  for (const tool of pd.toolDefinitions().map((t) => t.function.name)) expect(p).toContain(tool)
  expect(p).toMatch(/input_schema/)
  expect(p).toMatch(/x-remote-options/)
  expect(p).toMatch(/PIPEDREAM_ACCOUNT_MISSING/)
  expect(p).toMatch(/PIPEDREAM_ACCOUNT_AMBIGUOUS/)
  expect(p).toMatch(/maybe_executed/)
  expect(p).toMatch(/browser/i)
})
