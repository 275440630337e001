'use strict'
// getComponents, getComponent, configureProp, reloadProps and the tool-call surface, against
// the emulator's built-in catalog (43 apps, 254 components).
const fs = require('node:fs')
const path = require('node:path')
const Ajv2020 = require('ajv/dist/2020')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID, ROOT } = require('./helpers/emulator')

const catalog = {
  apps: JSON.parse(fs.readFileSync(path.join(ROOT, 'emulator', 'fixtures', 'apps.json'), 'utf8')),
  components: JSON.parse(fs.readFileSync(path.join(ROOT, 'emulator', 'fixtures', 'components.json'), 'utf8')),
}
const USER = 'director-user-1'

let emu
beforeAll(async () => {
  // Ten per page: github's 42 actions take five pages.
  emu = await startEmulator(['--max-page-size', '10', '--account', `${USER}:slack:Work Slack`, '--account', `${USER}:google_sheets`, '--account', `${USER}:discord`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    ...extra,
  })
const listRequests = () => emu.requests(`^/v1/connect/${PROJECT_ID}/(actions|triggers)$`)

describe('getComponents', () => {
  test("after a search, the app's name comes from the cached catalog: no request for the app", async () => {
    const c = client()
    const alone = await client().getComponents({ app_slug: 'github' })
    expect((await emu.requests('^/v1/connect/apps/github$')).length).toBe(1)
    await emu.reset()
    await c.searchServices({ query: 'github' })
    const res = await c.getComponents({ app_slug: 'github' })
    expect(res.service_name).toBe(alone.service_name)
    expect(res.components).toEqual(alone.components)
    expect(await emu.requests('^/v1/connect/apps/github$')).toEqual([])
    expect((await listRequests()).length).toBeGreaterThan(0)
    // An app the catalog does not have still gets the request (and its clear not-found).
    const missing = await c.getComponents({ app_slug: 'no-such-app' })
    expect(missing.error).toBe('PIPEDREAM_NOT_FOUND')
    expect((await emu.requests('^/v1/connect/apps/no-such-app$')).length).toBe(1)
  })

  test("the app's record read for a list is the one getComponent and a run read next: one request", async () => {
    const c = client()
    const listed = await c.getComponents({ app_slug: 'helper_functions' })
    expect(listed.components.length).toBeGreaterThan(0)
    // The next step an LLM takes: one action's schema, which asks whether its app takes an account.
    const one = await c.getComponent({ component_id: 'helper_functions-random-integer' })
    expect(one.auth_required).toBe(false)
    await c.executePipedreamConnect({ component_id: 'helper_functions-random-integer', params: { min: 1, max: 2 } })
    expect(await emu.runs()).toHaveLength(1)
    expect(await emu.requests('^/v1/connect/apps/helper_functions$')).toHaveLength(1)
  })

  test('the message counts in the singular and says when the list is cut', async () => {
    const only = await client().getComponents({ app_slug: 'helper_functions', query: 'random integer' })
    expect(only.total_found).toBe(1)
    expect(only.message).toMatch(/^Found 1 Helper Functions action\. /)
    const cut = await client().getComponents({ app_slug: 'github', query: 'issue', limit: 1 })
    expect(cut.message).toMatch(new RegExp(`^Found ${cut.total_found} GitHub actions \\(showing 1 of ${cut.total_found}; `))
  })

  test('fetches every page of an app and answers in the plan shape', async () => {
    const res = await client().getComponents({ app_slug: 'github' })
    expect(res.error).toBeUndefined()
    expect(res.app_slug).toBe('github')
    expect(res.service_name).toBe('GitHub')
    const expected = catalog.components.filter((c) => c.component_type === 'action' && c.key.startsWith('github-'))
    expect(expected.length).toBeGreaterThan(40)
    expect(res.total_found).toBe(expected.length)
    expect(res.components).toHaveLength(expected.length)
    expect(new Set(res.components.map((c) => c.component_id))).toEqual(new Set(expected.map((c) => c.key)))
    expect(res.message).toMatch(/^Found \d+ GitHub actions\. Use a component_id in a pipedream_connect node/)

    const reqs = await listRequests()
    expect(reqs).toHaveLength(Math.ceil(expected.length / 10))
    expect(reqs[0].query).toMatch(/app=github/)
    expect(reqs.slice(1).every((r) => /after=/.test(r.query))).toBe(true)

    const c = res.components.find((x) => x.component_id === 'github-create-issue')
    expect(Object.keys(c).sort()).toEqual(['app', 'auth_required', 'component_id', 'description', 'name', 'parameters', 'version'])
    expect(c.auth_required).toBe(true)
    expect(c.app).toBe('github')
    expect(c.parameters.some((p) => p.type === 'app')).toBe(false)
    for (const p of c.parameters) {
      expect(typeof p.name).toBe('string')
      expect(typeof p.type).toBe('string')
      expect(typeof p.required).toBe('boolean')
    }
  })

  test('ranks by words in name, description and key, which the server q misses', async () => {
    // The real API's q matches a key substring only: "create issue" finds nothing there.
    const token = (await (await fetch(`${emu.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    })).json()).access_token
    const direct = await (await fetch(`${emu.url}/v1/connect/${PROJECT_ID}/actions?app=jira&q=create%20issue`, {
      headers: { authorization: `Bearer ${token}`, 'x-pd-environment': 'production' },
    })).json()
    expect(direct.data).toHaveLength(0)

    const res = await client().getComponents({ app_slug: 'jira', query: 'create issue' })
    expect(res.components[0].component_id).toBe('jira-create-issue')
    expect(res.total_found).toBeLessThan(catalog.components.filter((c) => c.key.startsWith('jira-')).length + 1)
    const emails = await client().getComponents({ app_slug: 'gmail', query: 'emails' })
    expect(emails.components.map((c) => c.component_id)).toEqual(expect.arrayContaining(['gmail-search-emails']))
    const none = await client().getComponents({ app_slug: 'gmail', query: 'zeppelin' })
    expect(none.components).toEqual([])
    expect(none.message).toMatch(/No Gmail actions match "zeppelin"/)
  })

  test("a word no action has is read as the word meant, and the answer says so: a synonym, words run together, a slip of the keys", async () => {
    const c = client()
    const first = async (app_slug, query) => {
      const res = await c.getComponents({ app_slug, query })
      return [res.components[0]?.component_id, res.message]
    }
    expect(await first('slack', 'edit a message')).toEqual(['slack-update-message', expect.stringContaining('Read "edit" as "update", since no actions have those words.')])
    expect((await first('slack', 'remove a message'))[0]).toBe('slack-delete-message')
    expect(await first('github', 'merge pullrequest')).toEqual(['github-merge-pull-request', expect.stringContaining('"pullrequest" as "pull request"')])
    expect((await first('notion', 'retreive page'))[0]).toBe('notion-retrieve-page')
    // A word an action has is taken as it is, though a synonym would find another; nothing
    // is said.
    const [found, message] = await first('slack', 'find message')
    expect(found).toBe('slack-find-message')
    expect(message).not.toMatch(/Read /)
    // A word a letter from another is a word, not a slip ("slick" is no "slack"), and words
    // that no action writes together are not split.
    for (const [app_slug, query] of [['slack', 'zeppelin'], ['slack', 'slick'], ['gmail', 'drift'], ['github', 'requestpull']]) {
      expect((await c.getComponents({ app_slug, query })).components).toEqual([])
    }
  })

  test('one fetch per app serves every query, limit and type', async () => {
    const c = client()
    const first = await c.getComponents({ app_slug: 'slack' })
    expect(first.cached).toBe(false)
    const before = (await listRequests()).length
    const ranked = await c.getComponents({ app_slug: 'slack', query: 'send message', limit: 2 })
    expect(ranked.cached).toBe(true)
    expect(ranked.components.length).toBeLessThanOrEqual(2)
    expect(ranked.total_found).toBeGreaterThanOrEqual(ranked.components.length)
    expect((await listRequests()).length).toBe(before)

    const triggers = await c.getComponents({ app_slug: 'slack', type: 'trigger' })
    expect(triggers.components.length).toBeGreaterThan(0)
    expect((await emu.requests(`/triggers$`)).length).toBeGreaterThan(0)
    expect(triggers.components.every((t) => !t.component_id.includes('send'))).toBe(true)
  })

  test('an unknown app is PIPEDREAM_NOT_FOUND with a hint to search first', async () => {
    const res = await client().getComponents({ app_slug: 'no_such_app' })
    expect(res.error).toBe('PIPEDREAM_NOT_FOUND')
    expect(res.components).toEqual([])
    expect(res.message).toMatch(/no app with the slug "no_such_app".*searchServices/)
  })

  test('bad arguments resolve with PIPEDREAM_INVALID_ARGS before any request', async () => {
    const c = client()
    for (const [args, pattern] of [
      [{}, /`app_slug` must be a non-empty string/],
      [{ app_slug: '../accounts' }, /not a valid id/],
      [{ app_slug: 'gmail', type: 'webhook' }, /`type` must be one of "action", "trigger"/],
      [{ app_slug: 'gmail', limit: 0 }, /`limit` must be a whole number from 1 to 100/],
    ]) {
      const res = await c.getComponents(args)
      expect(res.error).toBe('PIPEDREAM_INVALID_ARGS')
      expect(res.message).toMatch(pattern)
    }
    expect(await emu.requests()).toHaveLength(0)
  })

  test('without a project id it says how to set one', async () => {
    const res = await client({ projectId: undefined }).getComponents({ app_slug: 'gmail' })
    if (process.env.PIPEDREAM_PROJECT_ID) return // the environment supplies one
    expect(res.error).toBe('PIPEDREAM_INVALID_CONFIG')
    expect(res.message).toMatch(/PIPEDREAM_PROJECT_ID/)
  })
})

describe('getComponent', () => {
  test('returns the definition, annotations and a JSON Schema for params', async () => {
    const c = client()
    const res = await c.getComponent({ component_id: 'gmail-search-emails' })
    expect(res.error).toBeUndefined()
    expect(res.app).toBe('gmail')
    expect(res.auth_required).toBe(true)
    expect(res.annotations).toMatchObject({ readOnlyHint: true })
    const schema = res.input_schema
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(schema.required).toEqual(['query'])
    expect(schema.properties.maxResults).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 20 })
    // Chosen through configureProp: a list, or the list in one {__lv: [...]} (as Pipedream's own
    // multi-select sends it).
    expect(schema.properties.labelIds['x-remote-options']).toBe(true)
    expect(schema.properties.labelIds.anyOf[0]).toEqual({ type: 'array', items: { type: 'string' } })
    expect(schema.properties.labelIds.anyOf[1].properties.__lv.type).toBe('array')
    // A required text typed in is not empty.
    expect(schema.properties.query.minLength).toBe(1)
    expect(schema.properties.gmail).toBeUndefined()
    expect(res.configurable_props.find((p) => p.name === 'gmail').type).toBe('app')
    expect(res.message).toMatch(/Required: query\..*labelIds from pipedream_configure_prop/)

    const again = await c.getComponent({ component_id: 'gmail-search-emails' })
    expect(again.cached).toBe(true)
    expect(await emu.requests('/components/gmail-search-emails$')).toHaveLength(1)
  })

  test('marks reload props, and an unknown component is NOT_FOUND', async () => {
    const res = await client().getComponent({ component_id: 'google_sheets-add-single-row' })
    expect(res.input_schema.properties.sheetId['x-reload-props']).toBe(true)
    expect(res.input_schema.additionalProperties).toBe(true)
    expect(res.message).toMatch(/call reloadProps/)
    const missing = await client().getComponent({ component_id: 'gmail-teleport' })
    expect(missing.error).toBe('PIPEDREAM_NOT_FOUND')
    expect(missing.message).toMatch(/no component "gmail-teleport".*getComponents/)
  })

  test("every action's schema accepts the emulator's own example params and refuses broken ones", async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true })
    ajv.addKeyword('x-remote-options').addKeyword('x-reload-props').addKeyword('x-pipedream-type').addKeyword('x-options')
    const c = client()
    const seenTypes = new Set()
    const actions = catalog.components.filter((x) => x.component_type === 'action')
    for (const action of actions) {
      const res = await c.getComponent({ component_id: action.key })
      expect(res.error).toBeUndefined()
      const validate = ajv.compile(res.input_schema)
      const { data } = await emu.control('GET', `components/${action.key}/example`)
      if (!validate(data.params)) {
        throw new Error(`${action.key}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(data.params)}`)
      }
      for (const p of Object.values(res.input_schema.properties)) seenTypes.add(p['x-pipedream-type'])
      for (const name of res.input_schema.required) {
        const broken = { ...data.params }
        delete broken[name]
        expect(validate(broken)).toBe(false)
      }
      const typed = Object.entries(res.input_schema.properties).find(([, s]) => s.type === 'integer')
      if (typed) expect(validate({ ...data.params, [typed[0]]: 'not a number' })).toBe(false)
    }
    // Every user-facing prop type of the catalog went through the conversion.
    for (const t of ['string', 'string[]', 'integer', 'integer[]', 'boolean', 'object', 'any', '$.airtable.baseId']) {
      expect(seenTypes).toContain(t)
    }
  })
})

describe('definitions read as the official SDK reads them (skipValidation)', () => {
  // Component authors write props in JavaScript; the SDK parses responses with
  // `skipValidation: true`, so one loosely typed field must not make an app unreadable.
  const odd = {
    key: 'slack-odd',
    name: 'Odd',
    version: '0.0.1',
    component_type: 'action',
    description: 'Typed loosely',
    configurable_props: [
      { name: 'slack', type: 'app', app: 'slack' },
      { name: 'count', type: 'integer', label: 5, min: '1', optional: 'true' },
      { name: 'mode', type: 'string', options: { a: 1 }, description: null },
      'not a prop',
      { label: 'no name' },
      { name: 'text', type: 'string', label: 'Text' },
    ],
  }
  const good = { key: 'slack-good', name: 'Good', version: '1.0.0', component_type: 'action', configurable_props: [{ name: 'text', type: 'string' }] }
  const page = (data) => ({ data, page_info: { count: data.length, total_count: data.length, start_cursor: null, end_cursor: null } })

  test('one loosely typed component leaves the rest of the list, and its own readable props, usable', async () => {
    await emu.fault({ path: `^/v1/connect/${PROJECT_ID}/actions$`, method: 'GET', status: 200, body: page([odd, { name: 'No key' }, good]) })
    const res = await client().getComponents({ app_slug: 'slack' })
    expect(res.error).toBeUndefined()
    expect(res.components.map((c) => c.component_id)).toEqual(['slack-odd', 'slack-good'])
    const params = res.components[0].parameters
    expect(params.map((p) => p.name)).toEqual(['count', 'mode', 'text'])
    expect(params.find((p) => p.name === 'count').required).toBe(false)
    expect(params.find((p) => p.name === 'text').required).toBe(true)

    // Nothing but keyless items is a broken answer, not an app without actions.
    await emu.clearFaults()
    await emu.fault({ path: `^/v1/connect/${PROJECT_ID}/actions$`, method: 'GET', status: 200, body: page([{ name: 'No key' }]) })
    const broken = await client().getComponents({ app_slug: 'slack' })
    expect(broken.error).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(broken.message).toMatch(/none of the 1 components the API listed has a key/)
  })

  test('getComponent answers a loosely typed definition with a schema of what it could read', async () => {
    await emu.fault({ path: '/components/slack-odd$', method: 'GET', status: 200, body: { data: odd } })
    const res = await client().getComponent({ component_id: 'slack-odd' })
    expect(res.error).toBeUndefined()
    expect(res.input_schema.properties.count).toMatchObject({ type: 'integer', minimum: 1 })
    expect(res.input_schema.required).toEqual(['mode', 'text'])
    expect(res.configurable_props).toEqual(odd.configurable_props)
  })

  test("remote options from the component's own code: a null is left out, a number kept", async () => {
    await emu.fault({
      path: '/components/configure$',
      method: 'POST',
      status: 200,
      body: { stringOptions: ['#general', null, 42], context: null, observations: [], errors: [] },
    })
    const res = await client().configureProp({ component_id: 'slack-send-message', prop_name: 'conversation' })
    expect(res.error).toBeUndefined()
    expect(res.options).toEqual([
      { label: '#general', value: '#general' },
      { label: '42', value: 42 },
    ])
  })
})

describe('configureProp and reloadProps', () => {
  test('a Discord channel picker loads its choices through configure, as Pipedream\'s own form does', async () => {
    const res = await client().configureProp({ component_id: 'discord-send-message', prop_name: 'channel' })
    expect(res.error).toBeUndefined()
    const sent = await emu.requests('/components/configure$')
    expect(sent).toHaveLength(1)
  })

  test('pages through remote options with the API context', async () => {
    const c = client()
    const pages = []
    let page = 0
    while (page !== null) {
      const res = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'conversation', page })
      expect(res.error).toBeUndefined()
      pages.push(res.options)
      page = res.next_page
    }
    // Slack's context never turns null (its last page ends with an empty cursor), so paging
    // ends on the first page that brings nothing new, as in Pipedream's own client.
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5, 0])
    const values = pages.flat().map((o) => o.value)
    expect(new Set(values).size).toBe(25)
    expect(pages[0][0]).toEqual({ label: expect.stringMatching(/^#/), value: expect.any(String) })
    // The account was looked up once for the user and app, then reused from configured props.
    const accounts = await emu.requests(`/v1/connect/${PROJECT_ID}/accounts$`)
    expect(accounts[0].query).toMatch(/external_user_id=director-user-1/)
    expect(accounts[0].query).toMatch(/app=slack/)
    expect(await emu.requests('/components/configure$')).toHaveLength(4)

    // Page 2 on its own walks from the cached earlier pages.
    const direct = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'conversation', page: 2 })
    expect(direct.options).toEqual(pages[2])
    expect(await emu.requests('/components/configure$')).toHaveLength(4)
  })

  test('string options, query filtering and props without remote options', async () => {
    const c = client()
    const ws = await c.configureProp({ component_id: 'google_sheets-add-single-row', prop_name: 'worksheetId', params: { sheetId: 'abc' } })
    expect(ws.error).toBeUndefined()
    expect(ws.options.length).toBeGreaterThan(0)
    for (const o of ws.options) expect(o.label).toBe(o.value)

    const filtered = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'conversation', query: 'eng' })
    expect(filtered.options.length).toBeGreaterThan(0)
    expect(filtered.options.every((o) => o.label.includes('eng'))).toBe(true)

    const plain = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'text' })
    expect(plain.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(plain.message).toMatch(/has no remote options; fill it directly/)
    const unknown = await c.configureProp({ component_id: 'slack-send-message', prop_name: 'channel_name' })
    expect(unknown.message).toMatch(/has no prop "channel_name"; its props are: .*conversation/)
  })

  test('no connected account: PIPEDREAM_ACCOUNT_MISSING with a Connect Link; several: AMBIGUOUS', async () => {
    const c = client()
    const missing = await c.configureProp({ component_id: 'gmail-search-emails', prop_name: 'labelIds' })
    expect(missing.error).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(missing.message).toMatch(/No connected gmail account for external user "director-user-1"/)
    expect(missing.message).toMatch(/https:\/\/pipedream\.com\/_static\/connect\.html\?token=ctok_[0-9a-f]+&connectLink=true&app=gmail/)
    expect(missing.app).toBe('gmail')
    expect(missing.message).toContain(missing.connect_link_url)
    expect(await emu.requests('/components/configure$')).toHaveLength(0)

    await emu.addAccount({ external_user_id: USER, app: 'gmail', name: 'Personal' })
    await emu.addAccount({ external_user_id: USER, app: 'gmail', name: 'Work' })
    const several = await c.configureProp({ component_id: 'gmail-search-emails', prop_name: 'labelIds' })
    expect(several.error).toBe('PIPEDREAM_ACCOUNT_AMBIGUOUS')
    expect(several.message).toMatch(/has 2 connected gmail accounts \(apn_\w+ "Personal", apn_\w+ "Work"\)\. Pass account_id/)

    expect(several.accounts.map((a) => a.name)).toEqual(['Personal', 'Work'])
    const [first] = several.message.match(/apn_\w+/)
    const chosen = await c.configureProp({ component_id: 'gmail-search-emails', prop_name: 'labelIds', account_id: first })
    expect(chosen.error).toBeUndefined()
    expect(chosen.options.length).toBeGreaterThan(0)
  })

  test('needs an external user when the client has none', async () => {
    const res = await client({ externalUserId: undefined }).configureProp({ component_id: 'slack-send-message', prop_name: 'conversation' })
    if (process.env.PIPEDREAM_EXTERNAL_USER_ID) return
    expect(res.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(res.message).toMatch(/needs external_user_id/)
  })

  test('reloadProps returns the added props, a new schema and the dynamic_props_id', async () => {
    const c = client()
    const res = await c.reloadProps({ component_id: 'google_sheets-add-single-row', params: { sheetId: 'sheet-1', worksheetId: 'Sheet1' } })
    expect(res.error).toBeUndefined()
    expect(res.errors).toEqual([])
    expect(res.dynamic_props_id).toMatch(/^dyp_/)
    expect(res.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['myColumnData', 'hasHeaders']))
    expect(res.input_schema.required).toEqual(expect.arrayContaining(['myColumnData']))
    expect(res.message).toContain(res.dynamic_props_id)

    const early = await c.reloadProps({ component_id: 'google_sheets-add-single-row', params: {} })
    expect(early.errors.length).toBeGreaterThan(0)
    expect(early.message).toMatch(/could not be reloaded/)
  })
})

describe('cache semantics', () => {
  test('stale-if-error: an expired answer is served, marked, when the refresh fails', async () => {
    const c = client({ cache: { ttlMs: 150, staleMs: 60000 } })
    const fresh = await c.getComponents({ app_slug: 'notion' })
    await new Promise((r) => setTimeout(r, 250))
    await emu.fault({ path: `/actions$`, status: 503 })
    const stale = await c.getComponents({ app_slug: 'notion' })
    expect(stale.error).toBeUndefined()
    expect(stale.stale).toBe(true)
    expect(stale.cached).toBe(true)
    expect(stale.components).toEqual(fresh.components)
    expect(stale.message).toMatch(/may be out of date/)

    // A permanent error is not hidden behind old data.
    await emu.clearFaults()
    await emu.fault({ path: `/apps/notion$`, status: 404 })
    const gone = await c.getComponents({ app_slug: 'notion' })
    expect(gone.error).toBe('PIPEDREAM_NOT_FOUND')
  })

  test('stale-if-error also covers searchServices and getComponent, and not past staleMs', async () => {
    const c = client({ cache: { ttlMs: 100, staleMs: 300 }, retry: { maxRetries: 0 } })
    await c.searchServices({ query: 'gmail' })
    await c.getComponent({ component_id: 'gmail-send-email' })
    await new Promise((r) => setTimeout(r, 150))
    await emu.fault({ path: '.', reset: true })
    expect((await c.searchServices({ query: 'gmail' })).stale).toBe(true)
    expect((await c.getComponent({ component_id: 'gmail-send-email' })).stale).toBe(true)
    await new Promise((r) => setTimeout(r, 350))
    expect((await c.searchServices({ query: 'gmail' })).error).toBe('PIPEDREAM_NETWORK')
  })

  test('clearCache empties every discovery cache', async () => {
    const c = client()
    await c.getComponents({ app_slug: 'trello' })
    c.clearCache()
    expect((await c.getComponents({ app_slug: 'trello' })).cached).toBe(false)
  })
})

describe('context budget', () => {
  test('every app: getComponents under 24 KB, searchServices under 4 KB, text cut cleanly', async () => {
    const c = client()
    for (const app of catalog.apps) {
      const comps = await c.getComponents({ app_slug: app.name_slug })
      expect(comps.error).toBeUndefined()
      expect(Buffer.byteLength(JSON.stringify(comps))).toBeLessThan(24 * 1024)
      const search = await c.searchServices({ query: app.name })
      expect(search.services.map((s) => s.app_slug)).toContain(app.name_slug)
      expect(Buffer.byteLength(JSON.stringify(search))).toBeLessThan(4 * 1024)
      for (const s of search.services) expect(s.description.length).toBeLessThanOrEqual(100)
      for (const comp of comps.components) {
        expect(comp.description).not.toContain('\uFFFD')
        expect(comp.description).not.toMatch(/\[See the documentation\]/)
      }
    }
    // A long non-ASCII description is cut with an ellipsis.
    const openai = await c.getComponents({ app_slug: 'openai' })
    const chat = openai.components.find((x) => x.component_id === 'openai-chat')
    expect(chat.description.endsWith('…')).toBe(true)
    expect(chat.description.length).toBeLessThanOrEqual(160)
  })
})

describe('tool definitions and handleToolCall', () => {
  test('toolDefinitions are strict function tools', () => {
    const names = pd.toolDefinitions().map((t) => t.function.name)
    expect(names).toEqual([
      'pipedream_search_services',
      'pipedream_get_components',
      'pipedream_get_component',
      'pipedream_configure_prop',
      'pipedream_proxy_request',
    ])
    const ajv = new Ajv2020({ strict: false })
    for (const t of pd.toolDefinitions()) {
      expect(t.type).toBe('function')
      expect(t.function.strict).toBe(true)
      const params = t.function.parameters
      expect(params.additionalProperties).toBe(false)
      expect([...params.required].sort()).toEqual(Object.keys(params.properties).sort())
      expect(() => ajv.compile(params)).not.toThrow()
    }
  })

  test("toolDefinitions in Anthropic's and MCP's formats carry the same schemas", () => {
    const openai = pd.toolDefinitions()
    const anthropic = pd.toolDefinitions({ format: 'anthropic' })
    const mcp = pd.toolDefinitions({ format: 'mcp' })
    expect(pd.toolDefinitions({ format: 'openai' })).toEqual(openai)
    expect(anthropic.map((t) => Object.keys(t).sort())).toEqual(openai.map(() => ['description', 'input_schema', 'name']))
    expect(mcp.map((t) => Object.keys(t).sort())).toEqual(openai.map(() => ['annotations', 'description', 'inputSchema', 'name']))
    openai.forEach((t, i) => {
      expect(anthropic[i]).toEqual({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })
      expect(mcp[i].inputSchema).toEqual(t.function.parameters)
      // Discovery only reads; the proxy can write to the user's account.
      expect(mcp[i].annotations.readOnlyHint).toBe(t.function.name !== 'pipedream_proxy_request')
    })
    // A fresh array each call: a caller's edits do not leak into the next.
    openai.pop()
    expect(pd.toolDefinitions()).toHaveLength(mcp.length)
    for (const bad of [{ format: 'gemini' }, { format: 5 }]) {
      let thrown
      try {
        pd.toolDefinitions(bad)
      } catch (e) {
        thrown = e
      }
      expect([thrown && thrown.name, thrown && thrown.code]).toEqual(['TypeError', 'ERR_INVALID_ARG_VALUE'])
    }
  })

  test('each tool call is answered by its function, with strict-mode nulls accepted', async () => {
    const c = client()
    const search = await c.handleToolCall('pipedream_search_services', { query: 'gmail', limit: null })
    expect(search.services[0].app_slug).toBe('gmail')
    const comps = await c.handleToolCall('pipedream_get_components', { app_slug: 'gmail', query: null, type: null, limit: null })
    expect(comps.components.length).toBeGreaterThan(0)
    const one = await c.handleToolCall('pipedream_get_component', { component_id: 'gmail-send-email', version: null })
    expect(one.input_schema.type).toBe('object')
    const opts = await c.handleToolCall('pipedream_configure_prop', {
      component_id: 'slack-send-message',
      prop_name: 'conversation',
      params: '{"text": "hello"}',
      external_user_id: null,
      query: null,
      page: null,
    })
    expect(opts.options).toHaveLength(10)
  })

  test('arguments given as the JSON text an LLM SDK hands over are read as the object', async () => {
    const c = client()
    // OpenAI's tool calls carry `arguments` as a string.
    const search = await c.handleToolCall('pipedream_search_services', JSON.stringify({ query: 'gmail', limit: 3 }))
    expect(search.error).toBeUndefined()
    expect(search.services[0].app_slug).toBe('gmail')
    expect(search.services.length).toBeLessThanOrEqual(3)
    const one = await c.handleToolCall('pipedream_get_component', '{"component_id": "gmail-send-email", "version": null}')
    expect(one.component_id).toBe('gmail-send-email')
    // Text that is not an object is still refused, with the call's shape.
    const bad = await c.handleToolCall('pipedream_get_component', '"gmail-send-email"')
    expect(bad.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(bad.message).toMatch(/takes an object, or the JSON text of one.*its JSON text is a string/)
    // Cut-off or broken JSON says so, with where, and never echoes the text.
    const broken = await c.handleToolCall('pipedream_get_component', '{"component_id": "gmail-sen')
    expect(broken.error).toBe('PIPEDREAM_INVALID_ARGS')
    expect(broken.message).toMatch(/its text is not valid JSON \(.*line 1 column \d+\)/)
    expect(broken.message).not.toContain('gmail-sen')
  })

  test("handleToolCallText answers with the text JSON.stringify makes of handleToolCall's answer", async () => {
    const calls = [
      ['pipedream_search_services', { query: 'gmail', limit: null }],
      // github's long descriptions are cut with an ellipsis: text beyond ASCII.
      ['pipedream_get_components', { app_slug: 'github', query: null, type: null, limit: null }],
      ['pipedream_get_component', '{"component_id": "gmail-send-email", "version": null}'],
      ['pipedream_configure_prop', { component_id: 'slack-send-message', prop_name: 'conversation', params: null, external_user_id: null, query: null, page: null }],
      ['pipedream_get_component', { component_id: 'no-such-component', version: null }],
      ['pipedream_get_components', { app_slug: '../etc' }],
      ['pipedream_launch_rocket', {}],
    ]
    const [asText, asObject] = [client(), client()]
    for (const [name, args] of calls) {
      const before = (await emu.requests()).length
      const text = await asText.handleToolCallText(name, args)
      expect(typeof text).toBe('string')
      const sent = (await emu.requests()).length - before
      const object = await asObject.handleToolCall(name, args)
      expect([name, text]).toEqual([name, JSON.stringify(object)])
      // Each side asked the API alike: the text is no answer of a cache the object missed.
      expect((await emu.requests()).length - before).toBe(2 * sent)
    }
    const comps = await asText.handleToolCallText('pipedream_get_components', { app_slug: 'github' })
    expect(comps).toContain('…')
    expect(comps).not.toMatch(/\\u[0-9a-f]{4}/)
    // A cache hit, answered without a request, as text too.
    const before = (await emu.requests()).length
    const hit = await asText.handleToolCallText('pipedream_get_components', { app_slug: 'github', query: null, type: null, limit: null })
    expect(JSON.parse(hit).cached).toBe(true)
    expect(hit).toBe(JSON.stringify(await asText.handleToolCall('pipedream_get_components', { app_slug: 'github', query: null, type: null, limit: null })))
    expect(await emu.requests()).toHaveLength(before)
  })

  test('handleToolCallText with an aborted signal rejects as handleToolCall does', async () => {
    const c = client()
    const early = new AbortController()
    early.abort()
    await expect(c.handleToolCallText('pipedream_search_services', { query: 'gmail' }, { signal: early.signal })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    await emu.fault({ path: '^/v1/connect/apps$', delay_ms: 2000 })
    const late = new AbortController()
    const pending = c.handleToolCallText('pipedream_search_services', { query: 'gmail' }, { signal: late.signal })
    setTimeout(() => late.abort(), 50)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
  })

  test('an unknown tool or bad name is an answer, not a throw', async () => {
    const res = await client().handleToolCall('pipedream_launch_rocket', {})
    expect(res).toEqual({ error: 'PIPEDREAM_UNKNOWN_TOOL', message: expect.stringMatching(/Unknown tool "pipedream_launch_rocket".*pipedream_search_services/) })
    const weird = await client().handleToolCall(42, null)
    expect(weird.error).toBe('PIPEDREAM_UNKNOWN_TOOL')
    expect(await emu.requests()).toHaveLength(0)
  })
})
