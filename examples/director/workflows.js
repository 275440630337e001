'use strict'
// The integration plan's three "Usage Patterns & Examples" workflows, as data NodeExecutor runs.
// Adapted to run against the emulator (or a real project):
// - the plan's `auth_config: { token: '{{gmail_token}}' }` lines are dropped: the Pipedream
//   token comes from the client (token / OAuth client credentials) or from a `context` node
//   setting `pipedream_token` (see `withPipedreamToken`), and the Gmail / Airtable / Clearbit
//   credentials are the external user's connected accounts, which Connect holds;
// - browser_action / browser_ai_extract nodes (out of scope) are replaced by `fixture_records`
//   nodes holding what the extraction would have produced.

/** Example 1: Gmail search with stored variables, then a node that reads them. */
const gmailSearch = [
  {
    type: 'pipedream_connect',
    alias: 'search_investor_emails',
    description: 'Search Gmail for emails from investors',
    config: {
      component_id: 'gmail-search-emails',
      params: { query: 'from:investor@company.com', maxResults: 20 },
      store: { emails: 'foundInvestorEmails', count: 'totalEmails' },
    },
  },
  // Step 4 of the plan: later nodes read {{search_investor_emails.foundInvestorEmails}} etc.
  {
    type: 'context',
    alias: 'report',
    config: {
      variables: {
        emailCount: '{{search_investor_emails.totalEmails}}',
        firstSubject: '{{search_investor_emails.foundInvestorEmails.0.subject}}',
        reportLine: 'Found {{totalEmails}} investor emails; first from {{foundInvestorEmails.0.from}}',
      },
    },
  },
]

/** The investors a browser_ai_extract node would have pulled from a page (Example 2). */
const INVESTORS = [
  { name: 'Ada Lovelace', email: 'ada@analytical.vc', company: 'Analytical Ventures' },
  { name: 'Grace Hopper', email: 'grace@cobol.capital', company: 'COBOL Capital' },
  { name: 'Katherine Johnson', email: 'katherine@orbit.fund', company: 'Orbit Fund' },
]

/** Example 2: extracted investors → iterate → Airtable create per investor. */
const investorsToAirtable = [
  {
    type: 'fixture_records', // stands in for the plan's browser_ai_extract 'extract_investor_data'
    alias: 'extract_investor_data',
    config: { records: INVESTORS, create_records: 'investor' },
  },
  {
    type: 'iterate',
    alias: 'save_to_airtable',
    config: { records: 'investor_*', body: ['create_airtable_record'] },
  },
  {
    type: 'pipedream_connect',
    alias: 'create_airtable_record',
    config: {
      component_id: 'airtable-create-record',
      params: {
        base_id: 'appXXXXXXXXXXXXXX',
        table_name: 'Investors',
        fields: {
          Name: '{{current.fields.name}}',
          Email: '{{current.fields.email}}',
          Company: '{{current.fields.company}}',
        },
      },
    },
  },
]

/** The leads a browser_action + browser_ai_extract pair would have pulled from the CRM (Example 3). */
const LEADS = [
  { name: 'Alan Turing', email: 'alan@bletchley.example' },
  { name: 'Margaret Hamilton', email: 'margaret@apollo.example' },
]

/** Example 3: CRM leads → Clearbit enrich → Airtable save, per lead. */
const crmLeadsEnrichment = [
  {
    type: 'fixture_records', // stands in for the plan's browser_action 'navigate_to_crm' + browser_ai_extract 'extract_leads'
    alias: 'extract_leads',
    config: { records: LEADS, create_records: 'lead' },
  },
  {
    type: 'iterate',
    alias: 'enrich_leads',
    config: { records: 'lead_*', body: ['enrich_via_api', 'save_to_database'] },
  },
  {
    type: 'pipedream_connect',
    alias: 'enrich_via_api',
    config: {
      component_id: 'clearbit-enrich-person',
      params: { email: '{{current.fields.email}}' },
    },
  },
  {
    type: 'pipedream_connect',
    alias: 'save_to_database',
    config: {
      component_id: 'airtable-create-record',
      params: {
        base_id: 'appXXXXXXXXXXXXXX',
        table_name: 'Enriched_Leads',
        fields: {
          Email: '{{current.fields.email}}',
          Company: '{{enrich_via_api.company.name}}',
          Industry: '{{enrich_via_api.company.category.industry}}',
          // Not in the plan: shows that each save reads the enrichment of its own lead.
          Enriched_Email: '{{enrich_via_api.person.email}}',
        },
      },
    },
  },
]

/** The workflow with a first `context` node that gives its pipedream_connect nodes a Pipedream token. */
function withPipedreamToken(workflow, token) {
  return [{ type: 'context', alias: 'credentials', config: { variables: { pipedream_token: token } } }, ...workflow]
}

module.exports = { gmailSearch, investorsToAirtable, crmLeadsEnrichment, INVESTORS, LEADS, withPipedreamToken }
