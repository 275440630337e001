'use strict'
// Docs replay: OUR client against answers shaped like Pipedream's own documentation examples.
//
// Proves that @director/pipedream-connect reads the real API's documented shapes, which the
// emulator does not (yet) produce, and that what it sends fits the real API:
//   - configure answered with `"context": null` (page-based options): keep paging while new
//     values arrive, de-duplicate, stop when a page brings nothing new (reference §8);
//   - reload answered without `dynamicProps`, the error only in `observations` (§8);
//   - list items without `configurable_props` (DOCS-V2 components.mdx "List the available
//     components": items are only {name, version, key});
//   - a last page whose `end_cursor` is not null, followed by an empty page (§2.1, DOCS-V2
//     `GET /v1/connect/apps?q=gitlab` example);
//   - error bodies `{error, code, details}` (SDK3 serialization/types/ErrorResponse.js, §8);
//   - a `connect_link_url` without `app`, which the caller must extend with `&app={appSlug}`
//     (docs-v2/pages/connect/managed-auth/connect-link.mdx, §8);
//   - request bodies: absent `prev_context` / `query` omitted, not null; `dynamic_props_id`
//     sent to configure after a reload (DOCS-V2 components.mdx "Configure dynamic props").
// Several of these fail against today's client: they are the bugs being fixed. They are left
// as plain tests on purpose. The server is a loopback node:http server inside this file; it
// records every request (method, path, query, body) for the assertions on what we sent.
const http = require('node:http')
const { PipedreamClient } = require('..')

const PROJECT = 'proj_abc123'
const P = `/v1/connect/${PROJECT}`
let server
let baseUrl
let seen = [] // every request: { method, path, query, body }
let answer = () => undefined // (request) => [status, body] | undefined (then 404)

// ---- Bodies copied or adapted from docs-v2/pages/connect/components.mdx (PipedreamHQ/pipedream) ----

// "Find the app you want to use": GET /v1/connect/apps?q=gitlab. Note end_cursor is set
// although count == total_count.
const GITLAB = {
  id: 'app_1Z2hw1',
  name_slug: 'gitlab',
  name: 'GitLab',
  auth_type: 'oauth',
  description: 'GitLab is the most comprehensive AI-powered DevSecOps Platform.',
  img_src: 'https://assets.pipedream.net/s.v0/app_1Z2hw1/logo/orig',
  custom_fields_json: '[{"name":"base_api_url","label":"Base API URL","default":"gitlab.com","optional":null}]',
  categories: ['Developer Tools'],
}
const APPS_GITLAB = {
  page_info: { total_count: 1, count: 1, start_cursor: 'Z2l0bGFi', end_cursor: 'Z2l0bGFi' },
  data: [GITLAB],
}

// "Retrieve the component's definition": GET /v1/connect/components/gitlab-list-commits.
const LIST_COMMITS = {
  name: 'List Commits',
  version: '0.0.3',
  key: 'gitlab-list-commits',
  configurable_props: [
    { name: 'gitlab', type: 'app', app: 'gitlab' },
    { name: 'projectId', type: 'integer', label: 'Project ID', description: 'The project ID, as displayed in the main project page', remoteOptions: true },
    { name: 'refName', type: 'string', label: 'Branch Name', description: 'The name of the branch', remoteOptions: true, optional: true },
    { name: 'max', type: 'integer', label: 'Max Results', description: 'Max number of results to return. Default value is `100`', optional: true, default: 100 },
  ],
}
// Two more gitlab actions of the docs' list, with definitions in the same style.
const SEARCH_ISSUES = {
  name: 'Search Issues',
  version: '0.0.1',
  key: 'gitlab-search-issues',
  configurable_props: [
    { name: 'gitlab', type: 'app', app: 'gitlab' },
    { name: 'projectId', type: 'integer', label: 'Project ID', remoteOptions: true },
    { name: 'search', type: 'string', label: 'Search', description: 'Search issues against their title and description' },
  ],
}
const CREATE_BRANCH = {
  name: 'Create Branch',
  version: '0.0.1',
  key: 'gitlab-create-branch',
  configurable_props: [
    { name: 'gitlab', type: 'app', app: 'gitlab' },
    { name: 'projectId', type: 'integer', label: 'Project ID', remoteOptions: true },
    { name: 'branch', type: 'string', label: 'Branch Name' },
    { name: 'ref', type: 'string', label: 'Ref', remoteOptions: true },
  ],
}
const DEFINITIONS = [LIST_COMMITS, SEARCH_ISSUES, CREATE_BRANCH]

// "Configure the component": the answer for gitlab-list-commits / projectId, verbatim
// (`context: null`, `stringOptions: null`, and the `timings` older answers carry).
const PROJECT_OPTIONS = [
  { label: 'jverce/foo-massive-10231-1', value: 45672541 },
  { label: 'jverce/foo-massive-10231', value: 45672514 },
  { label: 'jverce/foo-massive-14999-2', value: 45672407 },
  { label: 'jverce/foo-massive-14999-1', value: 45672382 },
  { label: 'jverce/foo-massive-14999', value: 45672215 },
  { label: 'jverce/gitlab-development-kit', value: 21220953 },
  { label: 'jverce/gitlab', value: 21208123 },
]
const configureAnswer = (options) => ({
  observations: [],
  context: null,
  options,
  errors: [],
  timings: { api_to_sidekiq: 1734043172355.1042, sidekiq_done: 1734043173461.6406, lambda_done: 1734043173455 },
  stringOptions: null,
})

// "Configure dynamic props": google_sheets-add-single-row, its definition and the reload answer.
const SHEETS_PROPS = [
  { name: 'googleSheets', type: 'app', app: 'google_sheets' },
  { name: 'drive', type: 'string', label: 'Drive', optional: true, default: 'My Drive', remoteOptions: true },
  { name: 'sheetId', type: 'string', label: 'Spreadsheet', description: 'The Spreadsheet ID', useQuery: true, remoteOptions: true, reloadProps: true },
  { name: 'worksheetId', type: 'string[]', label: 'Worksheet(s)', remoteOptions: true, reloadProps: true },
  { name: 'hasHeaders', type: 'boolean', label: 'Does the first row of the sheet have headers?', reloadProps: true },
]
const ADD_SINGLE_ROW = { name: 'Add Single Row', version: '2.1.9', key: 'google_sheets-add-single-row', configurable_props: SHEETS_PROPS }
const SHEET_ID = '1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg'
const RELOAD_OK = {
  observations: [],
  errors: [],
  dynamicProps: {
    id: 'dyp_6xUyVgQ',
    configurableProps: [...SHEETS_PROPS, { name: 'myColumnData', type: 'string[]', label: 'Values', description: 'Provide a value for each cell of the row.' }],
  },
}
// §8: a reload may answer with no dynamicProps and the failure only as an error observation.
const RELOAD_ERROR = {
  observations: [
    {
      ts: 1734043173455,
      k: 'error',
      err: { name: 'Error', message: `Unable to find spreadsheet ${SHEET_ID}: Requested entity was not found.` },
    },
  ],
}

// Accounts of the external user (SDK3 Account; ids in the docs' apn_ style).
const account = (app, id) => ({
  id,
  name: `${app.name} account`,
  external_id: 'u1',
  healthy: true,
  dead: false,
  app,
  created_at: '2024-12-12T18:39:32.000Z',
  updated_at: '2024-12-12T18:39:32.000Z',
})
const SHEETS_APP = { ...GITLAB, id: 'app_168hvn', name_slug: 'google_sheets', name: 'Google Sheets', categories: ['Productivity'] }
const page = (data) => ({ page_info: { count: data.length, total_count: data.length, start_cursor: null, end_cursor: null }, data })

/** Answers every request a discovery or execute call makes before the part a test is about. */
function common(r) {
  const def = [...DEFINITIONS, ADD_SINGLE_ROW].find((d) => r.path.endsWith(`/${d.key}`))
  if (r.method === 'GET' && def) return [200, { data: def }]
  if (r.method === 'GET' && r.path === '/v1/connect/apps/gitlab') return [200, { data: GITLAB }]
  if (r.method === 'GET' && r.path === '/v1/connect/apps/google_sheets') return [200, { data: SHEETS_APP }]
  if (r.method === 'GET' && r.path === `${P}/accounts`) {
    const app = r.query.app
    if (app === 'gitlab') return [200, page([account(GITLAB, 'apn_oOhaBlD')])]
    if (app === 'google_sheets') return [200, page([account(SHEETS_APP, 'apn_V1hMoE7')])]
    return [200, page([])]
  }
  return undefined
}

const configures = () => seen.filter((r) => r.method === 'POST' && /\/(components|actions)\/configure$/.test(r.path))
const client = (extra = {}) =>
  new PipedreamClient({ baseUrl, projectId: PROJECT, token: 'some-token', externalUserId: 'u1', cache: { ttlMs: 0 }, ...extra })

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = ''
    req.on('data', (c) => (text += c))
    req.on('end', () => {
      const url = new URL(req.url, 'http://x')
      let body
      try {
        body = text ? JSON.parse(text) : undefined
      } catch {
        body = text
      }
      const r = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body }
      seen.push(r)
      const [status, out] = answer(r) || common(r) || [404, { error: `not in the docs replay: ${req.method} ${url.pathname}` }]
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(out))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${server.address().port}`
})
afterAll(() => {
  // The client keeps its connections alive; close them, or close() waits for them.
  server.closeAllConnections()
  return new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  seen = []
  answer = () => undefined
})

describe('configure with "context": null (page-based options)', () => {
  // Page 0: the docs answer. Page 1: two new projects and one repeat. Page 2: only repeats.
  // Page 3 would bring a new value, so a client that does not stop at page 2 is caught.
  const NEW = [
    { label: 'jverce/alpha', value: 11111111 },
    { label: 'jverce/beta', value: 22222222 },
  ]
  const PAGES = [PROJECT_OPTIONS, [...NEW, PROJECT_OPTIONS[0]], [PROJECT_OPTIONS[1], NEW[0]], [{ label: 'jverce/too-far', value: 99 }]]
  const serve = (r) => (/\/configure$/.test(r.path) ? [200, configureAnswer(PAGES[r.body.page ?? 0] || [])] : undefined)

  test('returns the options, keeps paging while new values arrive, de-duplicates, stops on a page with nothing new', async () => {
    answer = serve
    // With the default cache each page is fetched once; without one, page n walks from page 0.
    const pd = client({ cache: { ttlMs: 300000 } })
    const got = []
    let res = await pd.configureProp({ component_id: 'gitlab-list-commits', prop_name: 'projectId' })
    expect(res.error).toBeUndefined()
    expect(res.options.slice(0, 7)).toEqual(PROJECT_OPTIONS)
    got.push(...res.options)
    for (let calls = 1; res.next_page != null && calls < 10; calls++) {
      res = await pd.configureProp({ component_id: 'gitlab-list-commits', prop_name: 'projectId', page: res.next_page })
      expect(res.error).toBeUndefined()
      got.push(...res.options)
    }
    const values = got.map((o) => o.value)
    expect(values).toHaveLength(new Set(values).size) // each value once
    expect(new Set(values)).toEqual(new Set([...PROJECT_OPTIONS, ...NEW].map((o) => o.value)))
    expect(configures().map((r) => r.body.page ?? 0)).toEqual([0, 1, 2])
  })

  test('the configure body omits absent prev_context and query (not null) and carries the account', async () => {
    answer = serve
    await client().configureProp({ component_id: 'gitlab-list-commits', prop_name: 'projectId' })
    const [sent] = configures()
    expect(sent.body).toMatchObject({
      id: 'gitlab-list-commits',
      external_user_id: 'u1',
      prop_name: 'projectId',
      configured_props: { gitlab: { authProvisionId: 'apn_oOhaBlD' } },
    })
    expect(sent.body).not.toHaveProperty('prev_context')
    expect(sent.body).not.toHaveProperty('query')
  })
})

describe('reload', () => {
  test('an answer without dynamicProps, its error only in observations, is reported as that error', async () => {
    answer = (r) => (/\/props$/.test(r.path) ? [200, RELOAD_ERROR] : undefined)
    const res = await client().reloadProps({ component_id: 'google_sheets-add-single-row', params: { sheetId: SHEET_ID } })
    expect(res.error).not.toBe('PIPEDREAM_BAD_RESPONSE')
    expect(res.message).not.toMatch(/Props reloaded/)
    expect(res.dynamic_props_id ?? null).toBeNull()
    expect(`${res.message} ${(res.errors || []).join(' ')}`).toContain('Requested entity was not found')
  })

  test('after a reload, configure sends the dynamic_props_id the reload returned', async () => {
    answer = (r) => {
      if (/\/props$/.test(r.path)) return [200, RELOAD_OK]
      if (/\/configure$/.test(r.path)) return [200, { observations: [], context: null, options: null, stringOptions: ['Sheet1', 'Sheet2'], errors: [] }]
      return undefined
    }
    const pd = client()
    const reloaded = await pd.reloadProps({ component_id: 'google_sheets-add-single-row', params: { sheetId: SHEET_ID } })
    expect(reloaded.dynamic_props_id).toBe('dyp_6xUyVgQ')
    const res = await pd.configureProp({ component_id: 'google_sheets-add-single-row', prop_name: 'worksheetId', params: { sheetId: SHEET_ID } })
    expect(res.options.map((o) => o.value)).toEqual(['Sheet1', 'Sheet2'])
    expect(configures()).toHaveLength(1)
    expect(configures()[0].body.dynamic_props_id).toBe('dyp_6xUyVgQ')
  })
})

describe('lists', () => {
  // "List the available components for the app": items carry only name, version and key, and
  // the last page still has an end_cursor; the page after it is empty.
  const item = ({ name, version, key }) => ({ name, version, key })
  const ACTIONS = {
    undefined: { page_info: { total_count: 3, count: 2, start_cursor: 'c2NfbHlpRThkQQ', end_cursor: 'c2NfQjVpTkJBTA' }, data: DEFINITIONS.slice(0, 2).map(item) },
    c2NfQjVpTkJBTA: { page_info: { total_count: 3, count: 1, start_cursor: 'c2NfQjVpTkJBTA', end_cursor: 'c2NfWjJhUzBR' }, data: [item(CREATE_BRANCH)] },
    c2NfWjJhUzBR: { page_info: { total_count: 3, count: 0, start_cursor: 'c2NfWjJhUzBR', end_cursor: 'c2NfZW5k' }, data: [] },
  }
  const listing = (r) => /\/(actions|components)$/.test(r.path) && r.method === 'GET'
  const serveList = (r) => (listing(r) ? (ACTIONS[r.query.after] ? [200, ACTIONS[r.query.after]] : [500, { error: 'paged past the end' }]) : undefined)

  test('getComponents lists actions whose list items have no configurable_props, with their real parameters', async () => {
    answer = serveList
    const res = await client().getComponents({ app_slug: 'gitlab' })
    expect(res.error).toBeUndefined()
    expect(res.components.map((c) => c.component_id).sort()).toEqual(DEFINITIONS.map((d) => d.key).sort())
    const commits = res.components.find((c) => c.component_id === 'gitlab-list-commits')
    // The props come from retrieving each component; the list alone would say "no params, no account".
    expect(commits.auth_required).toBe(true)
    expect(commits.parameters.map((p) => p.name)).toEqual(['projectId', 'refName', 'max'])
    for (const c of res.components) expect(c.auth_required).toBe(true)
  })

  test('components: a last page with a non-null end_cursor, then an empty page, ends the listing with every item once', async () => {
    answer = serveList
    const res = await client().getComponents({ app_slug: 'gitlab' })
    expect(res.total_found).toBe(3)
    const ids = res.components.map((c) => c.component_id)
    expect(ids).toHaveLength(new Set(ids).size)
    expect(ids).toHaveLength(3)
    expect(seen.filter(listing).map((r) => r.query.after)).not.toContain('c2NfZW5k')
  })

  test('apps: the docs q=gitlab answer (end_cursor set, count == total_count) then an empty page', async () => {
    answer = (r) => {
      if (r.path !== '/v1/connect/apps') return undefined
      if (!r.query.after) return [200, APPS_GITLAB]
      if (r.query.after === 'Z2l0bGFi') return [200, { page_info: { total_count: 1, count: 0, start_cursor: 'Z2l0bGFi', end_cursor: 'Z2l0bGFi' }, data: [] }]
      return [500, { error: 'paged past the end' }]
    }
    const res = await client().searchServices({ query: 'gitlab' })
    expect(res.error).toBeUndefined()
    expect(res.services.map((s) => s.app_slug)).toEqual(['gitlab'])
    expect(res.total_found).toBe(1)
    expect(seen.filter((r) => r.path === '/v1/connect/apps').length).toBeLessThanOrEqual(2)
  })
})

describe('errors', () => {
  // SDK3 ErrorResponse: { error, code?, details? }.
  const BODY = {
    error: 'Invalid configured props',
    code: 'invalid_configured_props',
    details: { prop: 'projectId', reason: 'Project 45672999 was not found or you do not have access' },
  }

  test('a run answered 400 {error, code, details} rejects with the code and the details kept', async () => {
    answer = (r) => (/\/actions\/run$/.test(r.path) ? [400, BODY] : undefined)
    const err = await client()
      .executePipedreamConnect({ component_id: 'gitlab-list-commits', params: { projectId: 45672999 } })
      .then(() => null, (e) => e)
    expect(err).not.toBeNull()
    expect(err.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(err.status).toBe(400)
    expect(err.message).toContain('Invalid configured props')
    expect(err.message).toContain('invalid_configured_props')
    expect(JSON.stringify([err.message, err.details])).toContain('was not found or you do not have access')
  })

  test('a discovery call answered 404 {error, code, details} keeps the code and details in its answer', async () => {
    answer = (r) =>
      /\/components\/gitlab-nope$/.test(r.path) || /\/actions\/gitlab-nope$/.test(r.path)
        ? [404, { error: 'Component not found', code: 'component_not_found', details: { key: 'gitlab-nope' } }]
        : undefined
    const res = await client().getComponent({ component_id: 'gitlab-nope' })
    expect(res.error).toBe('PIPEDREAM_NOT_FOUND')
    expect(res.message).toContain('component_not_found')
    expect(JSON.stringify(res)).toContain('gitlab-nope')
  })
})

describe('Connect Link', () => {
  test('the missing-account error carries connect_link_url with &app=<slug> appended', async () => {
    // POST /v1/connect/{project}/tokens, as documented: the link has no app parameter.
    const LINK = 'https://pipedream.com/_static/connect.html?token=ctok_4b4dce0a16ad4972577086e3fd806360&connectLink=true'
    answer = (r) => {
      if (r.method === 'GET' && r.path === `${P}/accounts`) return [200, page([])]
      if (r.method === 'POST' && r.path === `${P}/tokens`) {
        return [200, { token: 'ctok_4b4dce0a16ad4972577086e3fd806360', expires_at: '2025-10-22T08:30:45.172+00:00', connect_link_url: LINK }]
      }
      return undefined
    }
    const err = await client()
      .executePipedreamConnect({ component_id: 'gitlab-list-commits', params: { projectId: 45672541 } })
      .then(() => null, (e) => e)
    expect(err && err.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(seen.some((r) => r.method === 'POST' && r.path === `${P}/tokens`)).toBe(true)
    expect(seen.some((r) => /\/actions\/run$/.test(r.path))).toBe(false)
    expect(err.message).toContain(`${LINK}&app=gitlab`)
  })
})
