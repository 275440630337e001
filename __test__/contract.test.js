'use strict'
// Contract test of the Connect API emulator against the OFFICIAL SDK's schema.
//
// Proves: every endpoint the emulator serves (emulator/src/routes/mod.rs: oauth token, apps
// list/retrieve, components|actions|triggers list/retrieve/configure/props, actions run,
// accounts list/retrieve/delete/deleteByApp, users list/deleteExternalUser, tokens
// create/validate), driven through @pipedream/sdk 3.1.6 itself, answers bodies
// that the SDK's own Fern serializers accept in STRICT mode (unknown keys, union members and
// enum values refused, validation on); error bodies (400, 401, 404, 429) fit `ErrorResponse`.
// A failure prints each serializer error path once, with a count and the request it came from:
// that is an emulator fidelity bug (or, where the reference notes show the real API has the
// field, an SDK schema gap). The test walks whatever the catalog holds (every app, every
// component, every remote-options prop, every reload prop, every action), so fixtures added
// later are covered without editing it. CONTRACT_CATALOG=DIR runs it against DIR/apps.json +
// DIR/components.json (the emulator's --catalog) instead of the catalog built into the binary,
// e.g. CONTRACT_CATALOG=emulator/fixtures to check fixture edits before the emulator is rebuilt.
const { PipedreamClient, PipedreamError } = require('@pipedream/sdk')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID } = require('./helpers/emulator')
const { strictProblems, summarize, captureFetch } = require('./helpers/sdk-strict')

const USER = 'contract-user'
const NO_RETRY = { maxRetries: 0 }
let emu
let pd
let wire
const accountOf = {} // app slug -> apn_… of USER
let components = [] // every component, as the list endpoint sent it

/**
 * An app's `connect` block ({ proxy_enabled, allowed_domains, base_proxy_target_url }) is in the
 * docs' app objects (pipedream.com/docs/connect/webhooks, the app-retrieve example) but not in
 * SDK 3.1.6's App schema, which parses it only as a passthrough key. Like `created_at` below, it
 * is the SDK lagging the API: checked here on its own, with its types, and removed from every
 * app object before the strict parse. Returns the problems found.
 */
function documentedConnect(value, path = 'response', problems = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => documentedConnect(v, `${path}.${i}`, problems))
  } else if (value && typeof value === 'object') {
    if (typeof value.name_slug === 'string' && 'connect' in value) {
      const c = value.connect
      const keys = c && typeof c === 'object' ? Object.keys(c).sort().join(',') : String(c)
      if (keys !== 'allowed_domains,base_proxy_target_url,proxy_enabled') problems.push(`${path}.connect: keys ${keys}`)
      else {
        if (typeof c.proxy_enabled !== 'boolean') problems.push(`${path}.connect.proxy_enabled: not a boolean`)
        if (c.allowed_domains !== null && !(Array.isArray(c.allowed_domains) && c.allowed_domains.every((d) => typeof d === 'string'))) {
          problems.push(`${path}.connect.allowed_domains: not null or strings`)
        }
        if (c.base_proxy_target_url !== null && typeof c.base_proxy_target_url !== 'string') {
          problems.push(`${path}.connect.base_proxy_target_url: not null or a string`)
        }
      }
      delete value.connect
    }
    for (const [k, v] of Object.entries(value)) documentedConnect(v, `${path}.${k}`, problems)
  }
  return problems
}

/** Fails with every strict-parse problem of `exchanges` against `serialization[schema]`. */
function expectConforms(schema, exchanges, status = 200) {
  expect(exchanges.length).toBeGreaterThan(0)
  const problems = []
  for (const x of exchanges) {
    const at = `${x.method} ${x.path}${x.query} -> ${x.status}`
    if (x.status !== status) problems.push({ at, line: `status ${x.status}, expected ${status}` })
    const body = structuredClone(x.body)
    for (const line of documentedConnect(body)) problems.push({ at, line })
    for (const line of strictProblems(schema, body)) problems.push({ at, line })
  }
  if (problems.length) {
    throw new Error(`${schema}: the SDK's strict parser rejects ${exchanges.length} emulator answer(s)\n${summarize(problems)}`)
  }
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool(items, n, fn) {
  const out = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker))
  return out
}

/** Runs `call` (which must fail) and returns the wire exchange of the error. */
async function failing(call, pathRe) {
  const before = wire.log.length
  await expect(call()).rejects.toBeInstanceOf(PipedreamError)
  const x = wire.log.slice(before).filter((e) => pathRe.test(e.path))
  expect(x).toHaveLength(1)
  return x
}

const kindClient = (c) => (c.component_type === 'trigger' ? pd.triggers : pd.actions)
const appProp = (c) => (c.configurable_props || []).find((p) => p.type === 'app')
/** The app prop filled with USER's account, as the real API requires for remote options / runs. */
function withAccount(c, props = {}) {
  const app = appProp(c)
  return app && accountOf[app.app] ? { ...props, [app.name]: { authProvisionId: accountOf[app.app] } } : props
}

beforeAll(async () => {
  wire = captureFetch()
  const catalog = process.env.CONTRACT_CATALOG ? ['--catalog', require('node:path').resolve(process.env.CONTRACT_CATALOG)] : []
  emu = await startEmulator(['--account', `${USER}:slack:Work`, '--account', 'someone-else:github', ...catalog])
  pd = new PipedreamClient({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    projectId: PROJECT_ID,
    projectEnvironment: 'production',
    baseUrl: emu.url,
  })
  // Every component, through the SDK's own pager; then an account of USER for every app.
  for await (const _ of await pd.components.list({ limit: 100 }));
  // Kept in their wire form (snake_case keys), not the SDK's camelCased objects.
  components = wire.find(/\/components$/, 'GET').flatMap((x) => x.body.data)
  // Apps without auth (helper_functions, data_stores) have no account to connect.
  const noAuth = new Set(require('../emulator/fixtures/apps.json').filter((a) => a.auth_type === 'none').map((a) => a.name_slug))
  const slugs = [...new Set(components.map((c) => appProp(c)?.app).filter((s) => s && !noAuth.has(s)))]
  accountOf.slack = (await pd.accounts.list({ externalUserId: USER, app: 'slack' })).data[0].id
  for (const slug of slugs.filter((s) => !accountOf[s])) {
    accountOf[slug] = (await emu.addAccount({ external_user_id: USER, app: slug, name: `${slug} account` })).id
  }
  wire.clear()
}, 60000)

afterAll(async () => {
  wire.restore()
  if (emu) await emu.stop()
})
beforeEach(() => wire.clear())
afterEach(() => emu.clearFaults())

test('the strict harness has teeth: an unknown prop key, a null where a string belongs, a bad enum fail', () => {
  const component = { key: 'a-b', name: 'B', version: '0.0.1', configurable_props: [{ name: 'x', type: 'string', extra: 1 }] }
  expect(strictProblems('GetComponentResponse', { data: component })).toEqual(['response.data.configurable_props.0.extra: Unexpected key "extra"'])
  expect(strictProblems('PageInfo', { end_cursor: 5 })).toEqual(['response.end_cursor: Expected string. Received 5.'])
  expect(strictProblems('AppScopeProfilesItem', { name: 'owner', scopes: [] })).toHaveLength(1)
  expect(strictProblems('ErrorResponse', { error: 'x', code: 'c', details: { a: 1 } })).toEqual([])
})

describe('auth', () => {
  // The docs' token answer has `created_at` (reference §1, pipedream.com/docs/rest-api/api-reference/
  // oauth/get-a-new-access-token); SDK 3.1.6's CreateOAuthTokenResponse has no such key. That
  // one key is the SDK schema lagging the real API: it is checked on its own (a number of
  // seconds), and the rest of the body strictly.
  test('POST /v1/oauth/token (oauthTokens.create) fits CreateOAuthTokenResponse (+ the documented created_at)', async () => {
    const tok = await pd.oauthTokens.create({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    expect(typeof tok.accessToken).toBe('string')
    const exchanges = wire.find(/^\/v1\/oauth\/token$/, 'POST')
    for (const x of exchanges) {
      if ('created_at' in x.body) expect(Number.isInteger(x.body.created_at)).toBe(true)
    }
    expectConforms(
      'CreateOAuthTokenResponse',
      exchanges.map((x) => {
        const { created_at: _documented, ...rest } = x.body
        return { ...x, body: rest }
      }),
    )
  })

  test('bad client secret: 401 body fits ErrorResponse', async () => {
    const x = await failing(() => pd.oauthTokens.create({ clientId: CLIENT_ID, clientSecret: 'wrong' }, NO_RETRY), /oauth\/token$/)
    expectConforms('ErrorResponse', x, 401)
  })

  test('bad bearer on a Connect route: 401 body fits ErrorResponse', async () => {
    const bad = new PipedreamClient({ projectId: PROJECT_ID, projectEnvironment: 'production', baseUrl: emu.url, tokenProvider: { getToken: async () => 'not-a-token' } })
    const x = await failing(() => bad.accounts.list({}, NO_RETRY), /\/accounts$/)
    expectConforms('ErrorResponse', x, 401)
  })
})

describe('apps', () => {
  test('GET /v1/connect/apps, paged to the last page, fits ListAppsResponse', async () => {
    const items = []
    for await (const app of await pd.apps.list({ limit: 7 })) items.push(app)
    const pages = wire.find(/^\/v1\/connect\/apps$/, 'GET')
    expectConforms('ListAppsResponse', pages)
    const first = pages[0].body.page_info
    expect(items).toHaveLength(first.total_count)
    expect(new Set(items.map((a) => a.nameSlug)).size).toBe(items.length)
    expect(pages.at(-1).body.page_info.end_cursor ?? null).toBeNull()
  })

  test('GET /v1/connect/apps with q / sort / has_actions fits ListAppsResponse', async () => {
    await pd.apps.list({ q: 'google', sortKey: 'name', sortDirection: 'desc', hasActions: true, limit: 3 })
    expectConforms('ListAppsResponse', wire.find(/^\/v1\/connect\/apps$/, 'GET'))
  })

  test('GET /v1/connect/apps/{id} for every app (by slug and by id) fits GetAppResponse', async () => {
    const apps = []
    for await (const app of await pd.apps.list({ limit: 100 })) apps.push(app)
    await pool(apps, 8, (a) => pd.apps.retrieve(a.nameSlug))
    await pd.apps.retrieve(apps[0].id)
    const answers = wire.find(/^\/v1\/connect\/apps\/[^/]+$/, 'GET')
    // Every app says what its proxy allows (the documented shape is checked in expectConforms).
    expect(answers.filter((x) => !('connect' in x.body.data)).map((x) => x.path)).toEqual([])
    expectConforms('GetAppResponse', answers)
  })

  test('unknown app: 404 body fits ErrorResponse', async () => {
    expectConforms('ErrorResponse', await failing(() => pd.apps.retrieve('no-such-app-xyz', NO_RETRY), /apps\/no-such/), 404)
  })
})

describe('components', () => {
  test('list /components, /actions, /triggers, paged to the end, fit GetComponentsResponse', async () => {
    const count = async (pager) => {
      let n = 0
      for await (const _ of await pager) n++
      return n
    }
    const all = await count(pd.components.list({ limit: 37 }))
    const actions = await count(pd.actions.list({ limit: 50 }))
    const triggers = await count(pd.triggers.list({ limit: 50 }))
    await pd.components.list({ app: 'slack', componentType: 'trigger', registry: 'public' })
    await pd.actions.list({ app: 'gmail', q: 'email' })
    expect(all).toBe(components.length)
    expect(actions + triggers).toBe(all)
    const pages = wire.find(/^\/v1\/connect\/proj_\w+\/(components|actions|triggers)$/, 'GET')
    for (const p of pages.filter((x) => x.query.includes('limit=37'))) expect(p.body.data.length).toBeLessThanOrEqual(37)
    expect(pages.filter((x) => x.query.includes('limit=37')).at(-1).body.page_info.end_cursor ?? null).toBeNull()
    expectConforms('GetComponentsResponse', pages)
  })

  test('retrieve every component (components/ and actions|triggers/) fits GetComponentResponse', async () => {
    await pool(components, 8, async (c) => {
      await pd.components.retrieve(c.key)
      await kindClient(c).retrieve(c.key, { version: c.version })
    })
    expectConforms('GetComponentResponse', wire.find(/^\/v1\/connect\/proj_\w+\/(components|actions|triggers)\/[^/]+$/, 'GET'))
  })

  test('unknown component: 404 body fits ErrorResponse', async () => {
    const x = await failing(() => pd.actions.retrieve('no-such-component', {}, NO_RETRY), /no-such-component$/)
    expectConforms('ErrorResponse', x, 404)
  })
})

describe('configure (remote options)', () => {
  // Paged as Pipedream's own client (packages/connect-react) pages: `page` and the previous
  // `context`, while pages bring values not seen before. The context itself need not turn null
  // (slack's ends with `cursor: ""`, gitlab's with `{nextPage: null}`; page-based methods never
  // have one), so it is not the stop signal.
  test('every remoteOptions prop of every component, paged while new values arrive, fits ConfigurePropResponse', async () => {
    const targets = components.flatMap((c) => (c.configurable_props || []).filter((p) => p.remoteOptions).map((p) => [c, p]))
    expect(targets.length).toBeGreaterThan(0)
    const stuck = []
    await pool(targets, 8, async ([c, p]) => {
      let context
      const seen = new Set()
      for (let page = 0; page < 25; page++) {
        const res = await kindClient(c).configureProp({
          id: c.key,
          externalUserId: USER,
          propName: p.name,
          configuredProps: withAccount(c),
          ...(page ? { page } : {}),
          ...(page && context != null ? { prevContext: context } : {}),
        })
        context = res.context
        const values = [...(res.options || []).map((o) => JSON.stringify(o && typeof o === 'object' && 'value' in o ? o.value : o)), ...(res.stringOptions || [])]
        const fresh = values.filter((v) => !seen.has(v))
        for (const v of fresh) seen.add(v)
        if (!fresh.length) return
      }
      stuck.push(`${c.key}.${p.name}`)
    })
    expect(stuck).toEqual([]) // paging must end
    expectConforms('ConfigurePropResponse', wire.find(/\/(components|actions|triggers)\/configure$/, 'POST'))
  })

  test('configure through /components with a query, and of a prop without remote options', async () => {
    const c = components.find((x) => x.key === 'slack-send-message') || components.find((x) => (x.configurable_props || []).some((p) => p.remoteOptions))
    const remote = c.configurable_props.find((p) => p.remoteOptions)
    const plain = c.configurable_props.find((p) => !p.remoteOptions && p.type === 'string')
    await pd.components.configureProp({ id: c.key, externalUserId: USER, propName: remote.name, configuredProps: withAccount(c), query: 'gen' })
    if (plain) await pd.components.configureProp({ id: c.key, externalUserId: USER, propName: plain.name, configuredProps: withAccount(c) })
    expectConforms('ConfigurePropResponse', wire.find(/\/configure$/, 'POST'))
  })

  test('unknown prop: 400 body fits ErrorResponse', async () => {
    const c = components[0]
    const x = await failing(() => kindClient(c).configureProp({ id: c.key, externalUserId: USER, propName: 'noSuchProp' }, NO_RETRY), /configure$/)
    expectConforms('ErrorResponse', x, 400)
  })
})

describe('reload (props)', () => {
  const reloading = () => components.filter((c) => (c.configurable_props || []).some((p) => p.reloadProps))

  test('every component with reloadProps, before and after its reload prop is set, fits ReloadPropsResponse', async () => {
    expect(reloading().length).toBeGreaterThan(0)
    await pool(reloading(), 4, async (c) => {
      const client = kindClient(c)
      await client.reloadProps({ id: c.key, externalUserId: USER, configuredProps: withAccount(c) })
      const props = {}
      for (const p of c.configurable_props.filter((x) => x.reloadProps)) {
        const opts = p.remoteOptions
          ? await client.configureProp({ id: c.key, externalUserId: USER, propName: p.name, configuredProps: withAccount(c, props) })
          : {}
        const first = (opts.options || [])[0] ?? (opts.stringOptions || [])[0]
        props[p.name] = first && typeof first === 'object' ? (first.value ?? first.lv?.value) : (first ?? 'x')
      }
      const res = await client.reloadProps({ id: c.key, externalUserId: USER, configuredProps: withAccount(c, props) })
      // After a reload, configure works against the dynamic props (docs: "Configure dynamic props").
      const dyn = (res.dynamicProps?.configurableProps || []).find((p) => p.remoteOptions)
      if (dyn) {
        await client.configureProp({ id: c.key, externalUserId: USER, propName: dyn.name, configuredProps: withAccount(c, props), dynamicPropsId: res.dynamicProps.id })
      }
    })
    expectConforms('ReloadPropsResponse', wire.find(/\/(components|actions|triggers)\/props$/, 'POST'))
    expectConforms('ConfigurePropResponse', wire.find(/\/configure$/, 'POST'))
  })

  test('unknown dynamic_props_id: 400 body fits ErrorResponse', async () => {
    const c = reloading()[0]
    const x = await failing(
      () => kindClient(c).reloadProps({ id: c.key, externalUserId: USER, dynamicPropsId: 'dyp_nonexistent' }, NO_RETRY),
      /\/props$/,
    )
    expectConforms('ErrorResponse', x, 400)
  })
})

describe('actions run', () => {
  const example = async (key) => (await emu.control('GET', `components/${encodeURIComponent(key)}/example`)).data.params

  test('every action, run with its example params and an account, fits RunActionResponse', async () => {
    const actions = components.filter((c) => c.component_type === 'action')
    await pool(actions, 8, async (c) => {
      const params = await example(c.key)
      await pd.actions.run({ id: c.key, externalUserId: USER, configuredProps: withAccount(c, params) })
    })
    const runs = wire.find(/\/actions\/run$/, 'POST')
    expect(runs).toHaveLength(actions.length)
    expectConforms('RunActionResponse', runs)
  })

  test('runs that fail inside the action (os error observation), a stash run, and a reload-then-run fit RunActionResponse', async () => {
    const slack = components.find((c) => c.key === 'slack-send-message')
    const params = await example(slack.key)
    const failed = await pd.actions.run({ id: slack.key, externalUserId: USER, configuredProps: withAccount(slack, { ...params, text: '__emulator_fail__' }) })
    expect(failed.os.some((o) => o.k === 'error')).toBe(true)
    await pd.actions.run({ id: slack.key, externalUserId: USER, configuredProps: params }) // no account: AccountError
    await pd.actions.run({ id: slack.key, externalUserId: USER, configuredProps: withAccount(slack, params), stashId: 'NEW' })
    const fixtureError = components.find((c) => c.key === 'twilio-make-phone-call') // x_emulator.error in the fixture
    if (fixtureError) await pd.actions.run({ id: fixtureError.key, externalUserId: USER, configuredProps: withAccount(fixtureError, await example(fixtureError.key)) })
    const dyn = components.find((c) => c.component_type === 'action' && c.configurable_props.some((p) => p.reloadProps))
    if (dyn) {
      const p = await example(dyn.key)
      const r = await pd.actions.reloadProps({ id: dyn.key, externalUserId: USER, configuredProps: withAccount(dyn, p) })
      await pd.actions.run({ id: dyn.key, externalUserId: USER, configuredProps: withAccount(dyn, p), dynamicPropsId: r.dynamicProps?.id })
    }
    expectConforms('RunActionResponse', wire.find(/\/actions\/run$/, 'POST'))
  })

  test('account of another user: 404 body fits ErrorResponse', async () => {
    const gh = components.find((c) => c.component_type === 'action' && appProp(c)?.app === 'github')
    const theirs = (await pd.accounts.list({ externalUserId: 'someone-else', app: 'github' })).data[0].id
    const run = () => pd.actions.run({ id: gh.key, externalUserId: USER, configuredProps: { [appProp(gh).name]: { authProvisionId: theirs } } }, NO_RETRY)
    expectConforms('ErrorResponse', await failing(run, /actions\/run$/), 404)
  })

  test('429 from the fault API: body fits ErrorResponse and TooManyRequestsErrorBody', async () => {
    await emu.fault({ path: '/actions/run$', status: 429, retry_after: 1, count: 1 })
    const slack = components.find((c) => c.key === 'slack-send-message')
    const x = await failing(() => pd.actions.run({ id: slack.key, externalUserId: USER, configuredProps: {} }, NO_RETRY), /actions\/run$/)
    expectConforms('ErrorResponse', x, 429)
    expectConforms('TooManyRequestsErrorBody', x, 429)
  })

  test('429 on a list endpoint (SDK TooManyRequestsError) fits ErrorResponse', async () => {
    await emu.fault({ path: '/actions$', status: 429, retry_after: 1, count: 1 })
    const x = await failing(() => pd.actions.list({ app: 'slack' }, NO_RETRY), /\/actions$/)
    expectConforms('ErrorResponse', x, 429)
  })
})

describe('accounts and tokens', () => {
  test('GET /accounts, paged to the end, with and without credentials, fits ListAccountsResponse', async () => {
    await emu.addAccount({ external_user_id: USER, app: 'gmail', name: 'Broken', healthy: false })
    await emu.addAccount({ external_user_id: USER, app: 'gmail', name: 'Dead', dead: true })
    const ids = []
    for await (const a of await pd.accounts.list({ externalUserId: USER, limit: 4 })) ids.push(a.id)
    expect(new Set(ids).size).toBe(ids.length)
    await pd.accounts.list({ externalUserId: USER, app: 'slack', includeCredentials: true })
    await pd.accounts.list({ limit: 100 })
    const pages = wire.find(/\/accounts$/, 'GET')
    expect(pages.filter((p) => p.query.includes('limit=4')).at(-1).body.page_info.end_cursor ?? null).toBeNull()
    expectConforms('ListAccountsResponse', pages)
  })

  test('POST /tokens, plain and with every option, fits CreateTokenResponse', async () => {
    await pd.tokens.create({ externalUserId: USER })
    const t = await pd.tokens.create({
      externalUserId: USER,
      appId: 'slack',
      allowedOrigins: ['https://app.example.com'],
      successRedirectUri: 'https://app.example.com/ok',
      errorRedirectUri: 'https://app.example.com/err',
      webhookUri: 'https://app.example.com/hook',
      expiresIn: 600,
    })
    expect(t.token).toMatch(/^ctok_[0-9a-f]{32}$/)
    expectConforms('CreateTokenResponse', wire.find(/\/tokens$/, 'POST'))
  })

  test('bad expires_in: 400 body fits ErrorResponse', async () => {
    const x = await failing(() => pd.tokens.create({ externalUserId: USER, expiresIn: 999999 }, NO_RETRY), /\/tokens$/)
    expectConforms('ErrorResponse', x, 400)
  })
})

describe('accounts by id, external users, token validation', () => {
  /** The one exchange of `method` on a path matching `re`, which must be a 204 with no body. */
  const expectNoContent = (re, method) => {
    const x = wire.find(re, method)
    expect(x).toHaveLength(1)
    expect([x[0].status, x[0].body]).toEqual([204, ''])
  }

  test('GET /accounts/{id} (accounts.retrieve), with and without credentials, fits Account (bare, no data envelope)', async () => {
    const a = await pd.accounts.retrieve(accountOf.slack)
    expect(a.id).toBe(accountOf.slack)
    expect(a.externalId).toBe(USER)
    const c = await pd.accounts.retrieve(accountOf.slack, { includeCredentials: true })
    expect(typeof c.credentials.oauthAccessToken).toBe('string')
    const other = (await pd.accounts.list({ externalUserId: 'someone-else' })).data[0].id
    await pd.accounts.retrieve(other, { includeCredentials: false })
    const got = wire.find(/\/accounts\/apn_\w+$/, 'GET')
    expect(got).toHaveLength(3)
    expect('credentials' in got[0].body).toBe(false)
    expectConforms('Account', got)
  })

  test('unknown account: retrieve and delete answer 404 bodies that fit ErrorResponse', async () => {
    const r = await failing(() => pd.accounts.retrieve('apn_nosuch', {}, NO_RETRY), /apn_nosuch$/)
    const d = await failing(() => pd.accounts.delete('apn_nosuch', NO_RETRY), /apn_nosuch$/)
    expectConforms('ErrorResponse', [...r, ...d], 404)
    expect(r[0].body).toEqual({ error: 'account apn_nosuch not found', code: 'not_found' })
  })

  test('DELETE /accounts/{id} (accounts.delete): 204 without a body, then the account is gone', async () => {
    const { id } = await emu.addAccount({ external_user_id: 'contract-doomed', app: 'slack' })
    expect(await pd.accounts.delete(id)).toBeUndefined()
    expectNoContent(new RegExp(`/accounts/${id}$`), 'DELETE')
    const x = await failing(() => pd.accounts.retrieve(id, {}, NO_RETRY), new RegExp(`${id}$`))
    expectConforms('ErrorResponse', x, 404)
  })

  test('DELETE /apps/{app}/accounts (accounts.deleteByApp): 204, every user of the app loses it; unknown app 404', async () => {
    const apps = []
    for await (const a of await pd.apps.list({ limit: 100 })) apps.push(a)
    // An app USER's other tests do not need, so nothing else in this file loses its account.
    const spare = apps.find((a) => !accountOf[a.nameSlug])
    expect(spare).toBeDefined()
    await emu.addAccount({ external_user_id: 'contract-a', app: spare.nameSlug })
    await emu.addAccount({ external_user_id: 'contract-b', app: spare.nameSlug })
    expect((await pd.accounts.list({ app: spare.nameSlug })).data).toHaveLength(2)
    wire.clear()
    await pd.accounts.deleteByApp(spare.id)
    expectNoContent(/\/apps\/[^/]+\/accounts$/, 'DELETE')
    expect((await pd.accounts.list({ app: spare.nameSlug })).data).toHaveLength(0)
    expect((await pd.accounts.list({ externalUserId: USER, app: 'slack' })).data).toHaveLength(1)
    const x = await failing(() => pd.accounts.deleteByApp('no-such-app-xyz', NO_RETRY), /no-such-app-xyz\/accounts$/)
    expectConforms('ErrorResponse', x, 404)
  })

  test('GET /users (users.list), paged to the end and with q, fits GetUsersResponse', async () => {
    const users = []
    for await (const u of await pd.users.list({ limit: 1 })) users.push(u)
    expect(users.map((u) => u.externalId)).toEqual(expect.arrayContaining([USER, 'someone-else']))
    expect(new Set(users.map((u) => u.id)).size).toBe(users.length)
    for (const u of users) expect(u.id).toMatch(/^exu_[A-Za-z0-9]+$/)
    const found = await pd.users.list({ q: 'CONTRACT-USER' })
    expect(found.data.map((u) => u.externalId)).toEqual([USER])
    await pd.users.list({ q: 'nobody-has-this', limit: 5 })
    const pages = wire.find(/\/users$/, 'GET')
    expect(pages.filter((p) => p.query.includes('limit=1')).at(-1).body.page_info.end_cursor ?? null).toBeNull()
    expectConforms('GetUsersResponse', pages)
  })

  test('DELETE /users/{id} (users.deleteExternalUser): 204 and the accounts go; unknown user 404 fits ErrorResponse', async () => {
    await emu.addAccount({ external_user_id: 'contract-leaver', app: 'slack' })
    await emu.addAccount({ external_user_id: 'contract-leaver', app: 'github' })
    expect(await pd.users.deleteExternalUser('contract-leaver')).toBeUndefined()
    expectNoContent(/\/users\/contract-leaver$/, 'DELETE')
    expect((await pd.accounts.list({ externalUserId: 'contract-leaver' })).data).toHaveLength(0)
    const x = await failing(() => pd.users.deleteExternalUser('contract-leaver', NO_RETRY), /\/users\/contract-leaver$/)
    expectConforms('ErrorResponse', x, 404)
  })

  test('GET /tokens/{ctok}/validate (tokens.validate): valid, with every query param, unknown, spent all fit ValidateTokenResponse', async () => {
    const t = await pd.tokens.create({
      externalUserId: USER,
      appId: 'slack',
      oauthAppId: 'oa_contract',
      successRedirectUri: 'https://app.example.com/ok',
      errorRedirectUri: 'https://app.example.com/err',
      allowedOrigins: ['https://app.example.com'],
      scope: 'connect:*',
      allowProgressiveScopes: true,
      expiresIn: 900,
    })
    const ok = await pd.tokens.validate(t.token)
    expect(ok).toMatchObject({ success: true, projectId: PROJECT_ID, projectEnvironment: 'production', successRedirectUri: 'https://app.example.com/ok' })
    expect(ok.app.nameSlug).toBe('slack')
    const q = await pd.tokens.validate(t.token, { appId: 'slack', accountId: accountOf.slack, oauthAppId: 'oa_contract', appOverrideId: 'ao_contract' })
    expect(q).toMatchObject({ success: true, appOverrideId: 'ao_contract', appOverrideFieldNames: [] })
    expect(await pd.tokens.validate(t.token, { appId: 'github' })).toMatchObject({ success: false })
    expect(await pd.tokens.validate('ctok_00000000000000000000000000000000')).toMatchObject({ success: false })
    // The user finishes the Connect Link: the token is spent, the new account retrieves.
    const done = await emu.control('POST', 'connect', { token: t.token, name: 'Second Slack' })
    const spent = await pd.tokens.validate(t.token)
    expect(spent.success).toBe(false)
    expect(spent.error).toMatch(/already been used/)
    const x = wire.find(/^\/v1\/connect\/tokens\/[^/]+\/validate$/, 'GET')
    expect(x).toHaveLength(5)
    expectConforms('ValidateTokenResponse', x)
    const account = await pd.accounts.retrieve(done.data.account.id)
    expect(account).toMatchObject({ externalId: USER, name: 'Second Slack' })
    expectConforms('Account', wire.find(/\/accounts\/apn_\w+$/, 'GET'))
    await pd.accounts.delete(account.id) // USER keeps exactly one slack account
  })

  test('connection webhook: /__emulator/connect POSTs CONNECTION_SUCCESS / CONNECTION_ERROR to webhook_uri (no credentials)', async () => {
    const http = require('node:http')
    const got = []
    const server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (c) => (body += c))
      req.on('end', () => {
        got.push(JSON.parse(body))
        res.writeHead(got.length === 1 ? 500 : 204).end() // the first delivery is retried once
      })
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    try {
      const webhookUri = `http://127.0.0.1:${server.address().port}/pd`
      const bad = await pd.tokens.create({ externalUserId: 'contract-hook', webhookUri })
      await emu.control('POST', 'connect', { token: bad.token, app: 'github', fail: true, error: 'denied' })
      const good = await pd.tokens.create({ externalUserId: 'contract-hook', webhookUri, appId: 'github' })
      const { data } = await emu.control('POST', 'connect', { token: good.token })
      expect(got.map((p) => p.event)).toEqual(['CONNECTION_ERROR', 'CONNECTION_ERROR', 'CONNECTION_SUCCESS'])
      expect(got[0]).toMatchObject({ connect_token: bad.token, environment: 'production', error: 'denied' })
      const ok = got[2]
      expect(ok).toMatchObject({ connect_token: good.token, environment: 'production', account: { id: data.account.id, external_id: 'contract-hook' } })
      expect(typeof ok.connect_session_id).toBe('number')
      expect('credentials' in ok.account).toBe(false)
      // The account part is an Account, plus the app's documented `connect` block.
      const { connect, ...app } = ok.account.app
      expect(Object.keys(connect).sort()).toEqual(['allowed_domains', 'base_proxy_target_url', 'proxy_enabled'])
      expect(strictProblems('Account', { ...ok.account, app })).toEqual([])
      const log = (await emu.control('GET', 'webhooks')).data
      expect(log.map((d) => [d.event, d.status, d.attempts.length])).toEqual([
        ['CONNECTION_ERROR', 204, 2],
        ['CONNECTION_SUCCESS', 204, 1],
      ])
      expect(log[1].url).toBe(webhookUri)
      await pd.users.deleteExternalUser('contract-hook')
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})
