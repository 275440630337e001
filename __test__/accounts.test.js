'use strict'
// Accounts, users and Connect tokens: what Director needs to let users connect, see and remove
// their accounts. Each call is checked where it takes effect, in the emulator.
const { PipedreamClient } = require('..')
const { startEmulator, rejectionOf, PROJECT_ID } = require('./helpers/emulator')

const USER = 'accounts-user-1'
const OTHER = 'accounts-user-2'
let emu
beforeAll(async () => {
  emu = await startEmulator()
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    retry: { maxRetries: 0 },
    ...extra,
  })

describe('accounts', () => {
  test('getAccount answers the summary, credentials only when asked for', async () => {
    const added = await emu.addAccount({ external_user_id: USER, app: 'slack', name: 'Work Slack' })
    const c = client()
    const account = await c.getAccount(added.id)
    expect(account).toEqual(
      expect.objectContaining({ id: added.id, name: 'Work Slack', app: 'slack', healthy: true, dead: false }),
    )
    expect(account.credentials).toBeUndefined()
    const withCredentials = await c.getAccount(added.id, { include_credentials: true })
    expect(typeof withCredentials.credentials).toBe('object')
    const listed = await c.listAccounts({ external_user_id: USER, include_credentials: true })
    expect(listed.map((a) => typeof a.credentials)).toEqual(['object'])
    expect((await c.listAccounts({ external_user_id: USER }))[0].credentials).toBeUndefined()
    const requests = await emu.requests(`/accounts/${added.id}$`)
    expect(requests.map((r) => /include_credentials=true/.test(r.query || ''))).toEqual([false, true])
  })

  test('an account answer with credentials that cannot be read is refused without quoting them', async () => {
    const added = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client()
    const secret = 'xoxb-visible-account-credential-42'
    const account = { id: 7, name: 'Work Slack', app: { name_slug: 'slack' }, credentials: { oauth_access_token: secret } }
    for (const [path, body, call] of [
      [`/accounts/${added.id}$`, { data: account }, () => c.getAccount(added.id, { include_credentials: true })],
      ['/accounts$', { data: [account], page_info: { count: 1 } }, () => c.listAccounts({ external_user_id: USER, include_credentials: true })],
    ]) {
      await emu.fault({ path, method: 'GET', status: 200, body, count: 1 })
      const e = await rejectionOf(call())
      expect(e.code).toBe('PIPEDREAM_BAD_RESPONSE')
      expect(e.message).toMatch(/not quoted, as it holds credentials/)
      expect(JSON.stringify({ ...e, message: e.message, stack: e.stack })).not.toContain(secret)
    }
  })

  test('an unknown or malformed account id is a coded rejection', async () => {
    const c = client()
    const missing = await rejectionOf(c.getAccount('apn_doesnotexist'))
    expect(missing.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(missing.message).toMatch(/account/)
    const malformed = await rejectionOf(c.getAccount('../accounts'))
    expect(malformed.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(await emu.requests('/accounts/')).toHaveLength(1)
  })

  test('deleteAccount disconnects it, and a second delete is not an error', async () => {
    const added = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client()
    expect(await c.deleteAccount(added.id)).toBeNull()
    expect(await c.listAccounts({ external_user_id: USER })).toEqual([])
    expect(await c.deleteAccount(added.id)).toBeNull()
    expect((await emu.requests(`/accounts/${added.id}$`)).map((r) => r.method)).toEqual(['DELETE', 'DELETE'])
  })

  test('a delete under a project that does not exist is an error, not "already gone"', async () => {
    const added = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const wrong = client({ projectId: 'proj_wrong1' })
    const calls = [
      () => wrong.deleteAccount(added.id),
      () => wrong.deleteAccountsForApp('slack'),
      () => wrong.deleteUser(USER),
      () => wrong.deleteDeployedTrigger({ id: 'dc_abc123', external_user_id: USER }),
    ]
    for (const call of calls) {
      const e = await rejectionOf(call())
      expect(e.code).toBe('PIPEDREAM_NOT_FOUND')
      expect(e.message).toMatch(/project proj_wrong1 was not found .*check projectId/)
    }
    expect(await emu.requests('/proj_wrong1/')).toHaveLength(calls.length)
    expect(await client().listAccounts({ external_user_id: USER })).toHaveLength(1)
  })

  test("an empty 404 or a gateway's HTML 404 is not the API saying it is gone: the delete is an error", async () => {
    const added = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client()
    for (const fault of [{ status: 404, malformed: 'empty' }, { status: 404, malformed: 'html' }]) {
      await emu.fault({ path: `/accounts/${added.id}$`, method: 'DELETE', count: 1, ...fault })
      const e = await rejectionOf(c.deleteAccount(added.id))
      expect(e.code).toBe('PIPEDREAM_NOT_FOUND')
    }
    expect(await c.listAccounts({ external_user_id: USER })).toHaveLength(1)
  })

  test('a 404 naming an account in the project points at the account, not at projectId', async () => {
    const c = client()
    await emu.fault({ path: '/accounts/apn_gone1$', status: 404, body: { error: `account apn_gone1 not found in project ${PROJECT_ID}` }, count: 1 })
    const e = await rejectionOf(c.getAccount('apn_gone1'))
    expect(e.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(e.message).toMatch(/the account was not found .*listAccounts/)
    expect(e.message).not.toMatch(/check projectId/)
  })

  test('a management call is bounded by deadlineMs, as discovery calls and executions are', async () => {
    await emu.fault({ path: '/accounts$', delay_ms: 5000, count: 1 })
    const c = client({ deadlineMs: 400, timeoutMs: 10000 })
    const started = Date.now()
    const e = await rejectionOf(c.listAccounts({ external_user_id: USER }))
    expect(e.code).toBe('PIPEDREAM_TIMEOUT')
    expect(e.message).toMatch(/400 ms/)
    expect(Date.now() - started).toBeLessThan(4000)
    expect(await emu.requests('/accounts$')).toHaveLength(1)
  })

  test('deleteAccountsForApp removes that app for every user, and only that app', async () => {
    await emu.addAccount({ external_user_id: USER, app: 'slack' })
    await emu.addAccount({ external_user_id: OTHER, app: 'slack' })
    const gmail = await emu.addAccount({ external_user_id: USER, app: 'gmail' })
    const c = client()
    expect(await c.deleteAccountsForApp('slack')).toBeNull()
    expect((await c.listAccounts()).map((a) => a.id)).toEqual([gmail.id])
  })

  test('a run after its account was deleted resolves the account again', async () => {
    const first = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client({ externalUserId: USER })
    const send = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi' } }
    expect((await c.executePipedreamConnect(send)).meta.account_id).toBe(first.id)
    await c.deleteAccount(first.id)
    const second = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    // The resolution cached for the first account was dropped with it.
    expect((await c.executePipedreamConnect(send)).meta.account_id).toBe(second.id)
  })

  // Disconnected in Pipedream's own UI: no call of ours, no webhook. The refused run ran nothing,
  // so the call looks the user's accounts up again before answering.
  const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi' } }
  const runAccounts = async () =>
    (await emu.runs()).map((r) => [r.outcome, r.configured_props.slack && r.configured_props.slack.authProvisionId])

  test('an account removed outside this client: the refused call itself answers ACCOUNT_MISSING', async () => {
    const first = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client({ externalUserId: USER })
    expect((await c.executePipedreamConnect(SEND)).meta.account_id).toBe(first.id)
    await emu.control('DELETE', 'accounts')
    // A server may refuse the stale account with a 400 as well as a 404.
    await emu.fault({ path: '/actions/run$', status: 400, body: { error: `Account ${first.id} not found for this external user` }, count: 1 })
    const missing = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(missing.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(missing.maybe_executed).toBeUndefined()
    expect(missing.connect_link_url).toMatch(/app=slack/)
    expect((await emu.requests('/actions/run$')).map((r) => r.status)).toEqual([200, 400])
    // And the next call does not send the dead account again.
    expect((await rejectionOf(c.executePipedreamConnect(SEND))).code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(await emu.requests('/actions/run$')).toHaveLength(2)
  })

  test('an account replaced outside this client: the refused run is sent again, once, with the new one', async () => {
    const first = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client({ externalUserId: USER })
    await c.executePipedreamConnect(SEND)
    await emu.control('DELETE', 'accounts')
    const second = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const res = await c.executePipedreamConnect(SEND)
    expect(res.meta.account_id).toBe(second.id)
    expect(res.meta.attempts).toBe(2)
    // The emulator refuses the unknown account with a 404 and runs nothing for it.
    expect(await runAccounts()).toEqual([
      ['ok', first.id],
      ['error', first.id],
      ['ok', second.id],
    ])
  })

  test('a component with reloadProps is reloaded with the new account before it is sent again', async () => {
    await emu.addAccount({ external_user_id: USER, app: 'google_sheets' })
    const c = client({ externalUserId: USER })
    const params = { sheetId: '1RKPvqw4VaeiBnvUO5uvBF67LieeJJriJuVEYzzPcMqT', worksheetId: 'Sheet1', myColumnData: ['Ada'] }
    const send = { component_id: 'google_sheets-add-single-row', params }
    await c.executePipedreamConnect(send)
    await emu.control('DELETE', 'accounts')
    const fresh = await emu.addAccount({ external_user_id: USER, app: 'google_sheets' })
    const reloadsBefore = (await emu.requests('/props$')).length
    const res = await c.executePipedreamConnect(send)
    expect(res.meta.account_id).toBe(fresh.id)
    // One reload for the refused run, one for the new account.
    expect((await emu.requests('/props$')).length).toBe(reloadsBefore + 2)
    const runs = await emu.runs()
    expect(runs.map((r) => r.outcome)).toEqual(['ok', 'error', 'ok'])
    expect(runs[2].dynamic_props_id).toBe(res.meta.dynamic_props_id)
    expect(runs[2].configured_props.google_sheets).toEqual({ authProvisionId: fresh.id })
  })

  test('a run refused with the account still there answers the refusal and is not sent again', async () => {
    const first = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client({ externalUserId: USER })
    await c.executePipedreamConnect(SEND)
    const listed = (await emu.requests('/accounts$')).length
    await emu.fault({ path: '/actions/run$', status: 400, body: { error: 'text is too long' }, count: 1 })
    const refused = await rejectionOf(c.executePipedreamConnect(SEND))
    expect(refused.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(refused.message).toContain('text is too long')
    expect((await emu.requests('/actions/run$')).map((r) => r.status)).toEqual([200, 400])
    // One fresh look at the accounts, which found the same one.
    expect((await emu.requests('/accounts$')).length).toBe(listed + 1)
    expect((await c.executePipedreamConnect(SEND)).meta.account_id).toBe(first.id)
  })

  test('an explicit account_id that was removed is not swapped for another', async () => {
    const first = await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client({ externalUserId: USER })
    await emu.control('DELETE', 'accounts')
    await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const refused = await rejectionOf(c.executePipedreamConnect({ ...SEND, auth_config: { account_id: first.id } }))
    expect(refused.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(await runAccounts()).toEqual([['error', first.id]])
  })
})

describe('users', () => {
  test('listUsers lists the users with accounts, q narrows them, deleteUser offboards one', async () => {
    await emu.addAccount({ external_user_id: USER, app: 'slack' })
    await emu.addAccount({ external_user_id: USER, app: 'gmail' })
    await emu.addAccount({ external_user_id: OTHER, app: 'slack' })
    const c = client()
    const users = await c.listUsers()
    expect(users.map((u) => u.external_id).sort()).toEqual([USER, OTHER].sort())
    expect((await c.listUsers({ q: 'user-2' })).map((u) => u.external_id)).toEqual([OTHER])
    expect(await c.deleteUser(USER)).toBeNull()
    expect(await c.listAccounts({ external_user_id: USER })).toEqual([])
    expect((await c.listAccounts({ external_user_id: OTHER })).length).toBe(1)
    // Gone already: not an error.
    expect(await c.deleteUser(USER)).toBeNull()
  })

  test('an external user id with path characters stays one path segment', async () => {
    const odd = 'team/a b?c#d'
    await emu.addAccount({ external_user_id: odd, app: 'slack' })
    const c = client()
    expect(await c.deleteUser(odd)).toBeNull()
    const [req] = await emu.requests('/users/')
    expect(req.path).toBe(`/v1/connect/${PROJECT_ID}/users/team%2Fa%20b%3Fc%23d`)
    expect(await c.listAccounts({ external_user_id: odd })).toEqual([])
  })

  test('an external user id of "." or ".." is a user, not a step up the path', async () => {
    const c = client()
    for (const dots of ['.', '..']) {
      await emu.addAccount({ external_user_id: dots, app: 'slack' })
      expect(await c.deleteUser(dots)).toBeNull()
      expect(await c.listAccounts({ external_user_id: dots })).toEqual([])
    }
    const paths = (await emu.requests('/users/')).map((r) => r.path)
    expect(paths).toEqual([`/v1/connect/${PROJECT_ID}/users/%2E`, `/v1/connect/${PROJECT_ID}/users/%2E%2E`])
  })
})

describe('lists larger than a call gathers', () => {
  // Made in one control request: 100,001 external users `bulk-0` … `bulk-100000`, one GitHub
  // account each, past both caps (10,000 accounts, 100,000 users).
  const bulk = (count) => emu.control('POST', 'accounts', { external_user_id: 'bulk', app: 'github', count })

  test('listAccounts and listUsers refuse a list past their cap instead of answering its first part', async () => {
    expect(await bulk(100_001)).toEqual({ created: 100_001 })
    await emu.addAccount({ external_user_id: USER, app: 'slack' })
    const c = client()

    const accounts = await rejectionOf(c.listAccounts())
    expect(accounts.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(accounts.message).toMatch(/more than 10000 connected accounts match.*pass external_user_id or app/)
    const users = await rejectionOf(c.listUsers())
    expect(users.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(users.message).toMatch(/more than 100000 external users match.*pass q/)
    // The first page's total said so: no walk through the pages before refusing.
    expect(await emu.requests('/accounts$')).toHaveLength(1)
    expect(await emu.requests('/users$')).toHaveLength(1)

    // Narrowed, the same calls answer.
    expect((await c.listAccounts({ app: 'slack' })).map((a) => a.id)).toHaveLength(1)
    const some = await c.listUsers({ q: 'bulk-9999' })
    expect(some.map((u) => u.external_id).sort()).toEqual(['bulk-9999', ...Array.from({ length: 10 }, (_, i) => `bulk-9999${i}`)].sort())
  })

  test('a list of exactly the cap is answered whole, every page of it', async () => {
    await bulk(10_000)
    const listed = await client().listAccounts()
    expect(listed).toHaveLength(10_000)
    expect(new Set(listed.map((a) => a.id)).size).toBe(10_000)
    expect(await emu.requests('/accounts$')).toHaveLength(100)
  })
})

describe('Connect tokens', () => {
  test('createConnectToken sends the options and appends &app= to the link', async () => {
    const c = client()
    const token = await c.createConnectToken({
      external_user_id: USER,
      app: 'slack',
      success_redirect_uri: 'https://director.example/ok',
      error_redirect_uri: 'https://director.example/err',
      webhook_uri: 'https://director.example/hooks/pipedream',
      allowed_origins: ['https://director.example'],
      expires_in: 600,
    })
    expect(token.token).toMatch(/^ctok_/)
    expect(typeof token.expires_at).toBe('string')
    expect(new URL(token.connect_link_url).searchParams.get('app')).toBe('slack')
    const valid = await c.validateConnectToken(token.token, { app: 'slack' })
    expect(valid.valid).toBe(true)
    expect(valid.reason).toBeUndefined()
    expect(valid.error).toBeUndefined()
    expect(valid.success_redirect_uri).toBe('https://director.example/ok')
    const other = await c.validateConnectToken(token.token, { app: 'gmail' })
    expect(other.valid).toBe(false)
    expect(typeof other.reason).toBe('string')
    expect(other.error).toBeUndefined()
  })

  test('a server that quotes the Connect token back does not get it into the error', async () => {
    const c = client()
    const { token } = await c.createConnectToken({ external_user_id: USER })
    await emu.fault({ path: '/validate$', status: 400, body: { error: `token ${token} is not valid here` }, count: 1 })
    const e = await c.validateConnectToken(token).catch((e) => e)
    expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(e.message).toMatch(/token \[redacted\] is not valid here/)
    expect(JSON.stringify({ ...e, message: e.message, stack: e.stack })).not.toContain(token)
  })

  test('bad options are refused before anything is sent', async () => {
    const c = client()
    for (const args of [
      {},
      { external_user_id: USER, expires_in: 14401 },
      { external_user_id: USER, success_redirect_uri: 'javascript:alert(1)' },
      { external_user_id: USER, allowed_origins: 'https://x' },
      { external_user_id: USER, app: '../x' },
    ]) {
      expect((await rejectionOf(c.createConnectToken(args))).code).toBe('PIPEDREAM_INVALID_ARGS')
    }
    expect(await emu.requests('/tokens')).toHaveLength(0)
  })

  test('the per-user token budget is applied: when spent, a coded refusal without a request', async () => {
    const c = client({ rateLimit: { tokens: { requests: 2, perMs: 60000 } } })
    await c.createConnectToken({ external_user_id: 'budget-user' })
    await c.createConnectToken({ external_user_id: 'budget-user' })
    const e = await rejectionOf(c.createConnectToken({ external_user_id: 'budget-user' }))
    expect(e.code).toBe('PIPEDREAM_RATE_LIMITED')
    expect(e.retryAfterMs).toBeGreaterThan(0)
    expect(e.retry_after_ms).toBe(e.retryAfterMs)
    // Another user has a budget of their own.
    await c.createConnectToken({ external_user_id: 'another-user' })
    expect(await emu.requests('/tokens$')).toHaveLength(3)
  })
})

test('a misconfigured environment rejects the module functions with the configuration error', async () => {
  const pd = require('..')
  const saved = process.env.PIPEDREAM_PROJECT_ID
  process.env.PIPEDREAM_PROJECT_ID = 'not-a-project'
  try {
    for (const call of [() => pd.getAccount('apn_x'), () => pd.listUsers(), () => pd.createConnectToken({ external_user_id: 'u' })]) {
      expect((await rejectionOf(call())).code).toBe('PIPEDREAM_INVALID_CONFIG')
    }
  } finally {
    if (saved === undefined) delete process.env.PIPEDREAM_PROJECT_ID
    else process.env.PIPEDREAM_PROJECT_ID = saved
  }
})

describe('connection webhooks', () => {
  const http = require('node:http')
  let receiver
  let received = []
  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) })
        res.end('ok')
      })
    })
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
  })
  afterAll(() => new Promise((r) => receiver.close(r)))
  beforeEach(() => {
    received = []
  })
  const hookUrl = () => `http://127.0.0.1:${receiver.address().port}/hooks/pipedream`

  test('ACCOUNT_MISSING, the user connects, the webhook is read, and the next run finds the account', async () => {
    const c = client({ externalUserId: 'hook-user' })
    const send = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi' } }
    const missing = await rejectionOf(c.executePipedreamConnect(send))
    expect(missing.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    const { token } = await c.createConnectToken({ external_user_id: 'hook-user', app: 'slack', webhook_uri: hookUrl() })
    await emu.control('POST', 'connect', { token, app: 'slack', name: 'Team Slack' })
    expect(received).toHaveLength(1)
    const event = c.parseConnectionWebhook(received[0].body, received[0].headers)
    expect(event.event).toBe('CONNECTION_SUCCESS')
    expect(event.account).toEqual(expect.objectContaining({ external_user_id: 'hook-user', app: 'slack', name: 'Team Slack' }))
    expect(event.account.credentials).toBeUndefined()
    // The same body as text reads the same.
    expect(c.parseConnectionWebhook(received[0].body.toString('utf8'))).toEqual(event)
    const res = await c.executePipedreamConnect(send)
    expect(res.meta.account_id).toBe(event.account.id)
    expect((await emu.runs()).length).toBe(1)
  })

  test('a failed connection reads as CONNECTION_ERROR', async () => {
    const c = client()
    const { token } = await c.createConnectToken({ external_user_id: 'hook-user-2', webhook_uri: hookUrl() })
    await emu.control('POST', 'connect', { token, app: 'slack', fail: true, error: 'user closed the window' })
    const event = c.parseConnectionWebhook(received[0].body)
    expect(event).toEqual(expect.objectContaining({ event: 'CONNECTION_ERROR', reason: 'user closed the window' }))
    expect(event.error).toBeUndefined()
    expect(c.parseConnectionWebhook(new Uint8Array(received[0].body))).toEqual(event)
  })

  test('a body that is not a connection event is a coded error', () => {
    const c = client()
    for (const body of ['not json', '{"event":"SOMETHING_ELSE"}', '{"event":"CONNECTION_SUCCESS"}', 42, 'x'.repeat(2 * 1024 * 1024)]) {
      let thrown
      try {
        c.parseConnectionWebhook(body)
      } catch (e) {
        thrown = e
      }
      expect({ body: String(body).slice(0, 40), code: thrown && thrown.code }).toEqual({ body: String(body).slice(0, 40), code: 'PIPEDREAM_INVALID_ARGS' })
      expect(thrown.message.length).toBeLessThan(500)
    }
  })
})
