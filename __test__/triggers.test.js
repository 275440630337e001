'use strict'
// Deployed triggers: deploy for a user (checked like a node), manage them, and receive their
// events safely. The emulator keeps deployed triggers per user and, on a control call, POSTs
// signed events to their webhook URLs (retrying non-2xx answers); its journals say what was
// deployed and delivered. Receiving runs through a real node:http server.
const http = require('node:http')
const crypto = require('node:crypto')
const pd = require('..')
const { PipedreamClient } = pd
const { startEmulator, rejectionOf } = require('./helpers/emulator')

const USER = 'trigger-user'
const DEPLOY = '/triggers/deploy$'
const GITHUB = { component_id: 'github-new-issue', params: { repoFullname: 'acme/api' } }
let emu
let hook // a node:http server that records deliveries and answers what `answer` says
let deliveries = []
let answer = () => 200
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:github`, '--account', `${USER}:gmail`])
  hook = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const d = { path: req.url, headers: req.headers, body: Buffer.concat(chunks) }
      deliveries.push(d)
      res.writeHead(answer(d)).end()
    })
  })
  await new Promise((r) => hook.listen(0, '127.0.0.1', r))
})
afterAll(async () => {
  await emu.stop()
  await new Promise((r) => hook.close(r))
})
beforeEach(async () => {
  await emu.reset()
  deliveries = []
  answer = () => 200
})

const hookUrl = (path = '/hooks/pipedream') => `http://127.0.0.1:${hook.address().port}${path}`
const client = (extra = {}) =>
  new PipedreamClient({
    ...emu.clientOptions,
    externalUserId: USER,
    retry: { minDelayMs: 10, maxDelayMs: 50, maxRetries: 2 },
    ...extra,
  })
const emit = async (id, body = {}) => (await emu.control('POST', `triggers/${id}/emit`, body)).data

test('listDeployedTriggers refuses a user with more triggers than it gathers, rather than answer the first 10,000', async () => {
  const c = client({ rateLimit: { enabled: false } })
  let left = 10_001
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (left-- > 0) await c.deployTrigger({ ...GITHUB, emit_on_deploy: false })
    }),
  )
  const e = await rejectionOf(c.listDeployedTriggers())
  expect(e.code).toBe('PIPEDREAM_INVALID_ARGS')
  expect(e.message).toMatch(/more than 10000 deployed triggers.*getDeployedTrigger/)
  // The first page's total said so: no walk through the pages before refusing.
  expect(await emu.requests('/deployed-triggers$')).toHaveLength(1)
}, 120_000)

describe('deployTrigger', () => {
  test('an account replaced outside this client: the refused deploy is sent again with the new one', async () => {
    const c = client()
    const first = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl(), emit_on_deploy: false })
    const [old] = await c.listAccounts({ external_user_id: USER, app: 'github' })
    expect(first.meta.account_id).toBe(old.id)
    await emu.control('DELETE', 'accounts')
    const fresh = await emu.addAccount({ external_user_id: USER, app: 'github' })
    const second = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl(), emit_on_deploy: false })
    expect(second.meta.account_id).toBe(fresh.id)
    expect((await emu.requests(DEPLOY)).map((r) => r.status)).toEqual([200, 404, 200])
    expect((await c.listDeployedTriggers()).map((t) => t.id).sort()).toEqual([first.id, second.id].sort())
  })

  test('resolves the account, sends the documented body once, answers the trigger and its signing key', async () => {
    const c = client()
    const deployed = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl(), emit_on_deploy: false })
    expect(deployed).toEqual(
      expect.objectContaining({ component_id: 'github-new-issue', active: true, webhook_signing_key: expect.any(String) }),
    )
    expect(deployed.id).toMatch(/^dc_/)
    const [account] = await c.listAccounts({ external_user_id: USER, app: 'github' })
    expect(deployed.meta.account_id).toBe(account.id)
    expect(deployed.configured_props.github).toEqual({ authProvisionId: account.id })
    const sent = await emu.requests(DEPLOY)
    expect(sent).toHaveLength(1)
    expect(deliveries).toEqual([])
  })

  test('params are checked before anything is sent; an action is not a trigger', async () => {
    const c = client()
    const missing = await rejectionOf(c.deployTrigger({ component_id: 'github-new-issue', params: {} }))
    expect(missing.code).toBe('PIPEDREAM_INVALID_PARAMS')
    expect(missing.details.map((d) => d.param)).toContain('repoFullname')
    const action = await rejectionOf(c.deployTrigger({ component_id: 'slack-send-message', params: {} }))
    expect(action.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(action.message).toMatch(/not a trigger/)
    const badUrl = await rejectionOf(c.deployTrigger({ ...GITHUB, webhook_url: 'ftp://x' }))
    expect(badUrl.code).toBe('PIPEDREAM_INVALID_ARGS')
    // A misspelled field would deploy a trigger that delivers nowhere.
    const typo = await rejectionOf(c.deployTrigger({ ...GITHUB, webhookUrl: hookUrl() }))
    expect(typo.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(typo.message).toMatch(/webhookUrl/)
    expect(await emu.requests(DEPLOY)).toEqual([])
  })

  test('a definition that does not say its type (component_type is optional) is not refused here', async () => {
    const c = client({ cache: { ttlMs: 0 } })
    const def = await c.getComponent({ component_id: 'github-new-issue' })
    const untyped = { key: def.component_id, name: def.name, version: def.version, configurable_props: def.configurable_props }
    const path = '/components/github-new-issue$'
    await emu.fault({ path, method: 'GET', status: 200, body: { data: untyped }, count: 1 })
    const deployed = await c.deployTrigger({ ...GITHUB, emit_on_deploy: false })
    expect(deployed.component_id).toBe('github-new-issue')
    expect(await emu.requests(DEPLOY)).toHaveLength(1)
    // Run as an action, the same untyped trigger goes to the API, which refuses it.
    await emu.fault({ path, method: 'GET', status: 200, body: { data: untyped }, count: 1 })
    const ran = await rejectionOf(c.executePipedreamConnect(GITHUB))
    expect(ran.code).toBe('PIPEDREAM_INVALID_ARGS')
    expect(ran.message).toMatch(/Pipedream API error 400/)
    expect(await emu.requests('/actions/run$')).toHaveLength(1)
  })

  test('a user with no account gets PIPEDREAM_ACCOUNT_MISSING with the Connect Link', async () => {
    const e = await rejectionOf(client().deployTrigger({ ...GITHUB, external_user_id: 'nobody' }))
    expect(e.code).toBe('PIPEDREAM_ACCOUNT_MISSING')
    expect(e.connect_link_url).toMatch(/app=github/)
    expect(await emu.requests(DEPLOY)).toEqual([])
  })

  test('a deploy that times out after sending is maybe_executed, never re-sent; listing reconciles', async () => {
    await emu.fault({ path: DEPLOY, when: 'after', stall_body_ms: 1500, count: 1 })
    const c = client({ timeoutMs: 300 })
    const e = await rejectionOf(c.deployTrigger({ ...GITHUB, emit_on_deploy: false }))
    expect(e.code).toBe('PIPEDREAM_TIMEOUT')
    expect(e.maybe_executed).toBe(true)
    expect(await emu.requests(DEPLOY)).toHaveLength(1)
    // The README's reconciliation: the trigger exists, so it is not deployed again.
    const listed = await client().listDeployedTriggers({ external_user_id: USER })
    expect(listed.map((t) => t.component_id)).toEqual(['github-new-issue'])
  })

  test('an idempotencyKey answers a retried deploy with the first one', async () => {
    const c = client()
    const first = await c.deployTrigger({ ...GITHUB, emit_on_deploy: false }, { idempotencyKey: 'enable-wf-1' })
    const again = await c.deployTrigger({ ...GITHUB, emit_on_deploy: false }, { idempotencyKey: 'enable-wf-1' })
    expect(again.id).toBe(first.id)
    expect(again.meta.replayed).toBe(true)
    expect(await emu.requests(DEPLOY)).toHaveLength(1)
  })
})

describe('managing deployed triggers', () => {
  test('list, get, pause, resume, rename, reconfigure, events, delete', async () => {
    const c = client()
    const t = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl(), emit_on_deploy: false })
    expect((await c.listDeployedTriggers()).map((x) => x.id)).toEqual([t.id])
    expect(await c.listDeployedTriggers({ external_user_id: 'someone-else' })).toEqual([])
    expect((await c.getDeployedTrigger({ id: t.id })).active).toBe(true)

    const paused = await c.updateDeployedTrigger({ id: t.id, active: false })
    expect(paused.active).toBe(false)
    const whilePaused = await emit(t.id)
    expect(deliveries).toHaveLength(0)
    expect(whilePaused.events || []).toHaveLength(0)
    await c.updateDeployedTrigger({ id: t.id, active: true, name: 'Issues of acme/api' })

    // New params replace the old ones; the account is kept.
    const changed = await c.updateDeployedTrigger({ id: t.id, params: { repoFullname: 'acme/web' } })
    expect(changed.name).toBe('Issues of acme/api')
    expect(changed.configured_props.repoFullname).toBe('acme/web')
    expect(changed.configured_props.github).toEqual(t.configured_props.github)

    await emit(t.id, { count: 2 })
    const events = await c.listTriggerEvents({ id: t.id, n: 5 })
    expect(events).toHaveLength(2)
    expect(events[0].ts_ms).toBeGreaterThanOrEqual(events[1].ts_ms)
    expect(events[0]).toEqual(expect.objectContaining({ id: expect.any(String), payload: expect.any(Object) }))

    await c.deleteDeployedTrigger({ id: t.id })
    await c.deleteDeployedTrigger({ id: t.id }) // already gone: not an error
    expect(await c.listDeployedTriggers()).toEqual([])
    const gone = await rejectionOf(c.getDeployedTrigger({ id: t.id }))
    expect(gone.code).toBe('PIPEDREAM_NOT_FOUND')
  })

  test('webhooks: list, replace, regenerate the signing key', async () => {
    const c = client()
    const t = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl('/a'), emit_on_deploy: false })
    const listed = await c.listTriggerWebhooks({ id: t.id })
    expect(listed.webhook_urls).toEqual([hookUrl('/a')])
    const [webhook] = listed.webhooks
    const set = await c.setTriggerWebhooks({ id: t.id, webhook_urls: [hookUrl('/a'), hookUrl('/b')] })
    expect(set.webhook_urls).toEqual([hookUrl('/a'), hookUrl('/b')])
    expect(set.webhooks.find((w) => w.url === hookUrl('/a')).id).toBe(webhook.id)
    const key = await c.regenerateTriggerSigningKey({ id: t.id, webhook_id: webhook.id })
    expect(key.signing_key).not.toBe(t.webhook_signing_key)
    // The trigger is there and the webhook is not: the message names the webhook.
    const unknown = await rejectionOf(c.regenerateTriggerSigningKey({ id: t.id, webhook_id: 'wh_missing1' }))
    expect(unknown.code).toBe('PIPEDREAM_NOT_FOUND')
    expect(unknown.message).toMatch(/no webhook wh_missing1 of a deployed trigger dc_/)
    for (const bad of [{ id: t.id }, { id: t.id, webhook_urls: 'x' }, { id: t.id, webhook_urls: ['ftp://x'] }]) {
      expect((await rejectionOf(c.setTriggerWebhooks(bad))).code).toBe('PIPEDREAM_INVALID_ARGS')
    }
  })

  test('webhook answers without what they promise are refused, and their keys never quoted', async () => {
    const c = client()
    const t = await c.deployTrigger({ ...GITHUB, webhook_url: hookUrl('/a'), emit_on_deploy: false })
    const [webhook] = (await c.listTriggerWebhooks({ id: t.id })).webhooks
    const webhooks = '/webhooks$'
    // Read as an empty list, these told a reconciling caller the trigger delivered nowhere.
    for (const body of [{}, [], { webhook_urls: [hookUrl('/a')], webhooks: [null] }]) {
      await emu.fault({ path: webhooks, method: 'GET', status: 200, body, count: 1 })
      expect((await rejectionOf(c.listTriggerWebhooks({ id: t.id }))).code).toBe('PIPEDREAM_BAD_RESPONSE')
    }
    // The old key stops verifying: an answer without the new one is no answer.
    const regenerate = '/regenerate_signing_key$'
    for (const body of [{ data: {} }, { data: null }, { data: { signing_key: 123 } }]) {
      await emu.fault({ path: regenerate, status: 200, body, count: 1 })
      expect((await rejectionOf(c.regenerateTriggerSigningKey({ id: t.id, webhook_id: webhook.id }))).code).toBe('PIPEDREAM_BAD_RESPONSE')
    }
    // An answer holding a key that cannot be read is not quoted.
    const key = 'whsec-visible-signing-key-123'
    await emu.fault({ path: webhooks, method: 'GET', status: 200, body: { webhook_urls: [hookUrl('/a')], webhooks: [{ id: 5, url: hookUrl('/a'), signing_key: key }] }, count: 1 })
    const unread = await rejectionOf(c.listTriggerWebhooks({ id: t.id }))
    expect(unread.code).toBe('PIPEDREAM_BAD_RESPONSE')
    expect(JSON.stringify({ ...unread, message: unread.message })).not.toContain(key)
  })
})

describe('verifyTriggerWebhook', () => {
  const SECRET = crypto.randomBytes(24).toString('hex')

  async function deployedWithHook(c, route = 'wf_1') {
    const url = pd.triggerWebhookUrl(hookUrl('/hooks/pipedream'), { id: route, secret: SECRET })
    const t = await c.deployTrigger({ ...GITHUB, webhook_url: url, emit_on_deploy: false })
    return t
  }
  const verify = (d, signingKey, extra = {}) =>
    pd.verifyTriggerWebhook({ rawBody: d.body, headers: d.headers, signingKey, path: d.path, pathSecret: SECRET, ...extra })
  const codeOf = (fn) => {
    try {
      fn()
    } catch (e) {
      return e.code
    }
    return 'ok'
  }

  test('a real delivery verifies: the event, its route and a stable id; a replay is refused', async () => {
    const c = client()
    const t = await deployedWithHook(c)
    const { events } = await emit(t.id)
    expect(deliveries).toHaveLength(1)
    const event = verify(deliveries[0], t.webhook_signing_key)
    expect(event.route_id).toBe('wf_1')
    expect(event.payload).toEqual(events[0].e)
    expect(event.id).toMatch(/.+/)
    expect(Math.abs(event.signed_at_ms - Date.now())).toBeLessThan(60_000)
    expect(codeOf(() => verify(deliveries[0], t.webhook_signing_key))).toBe('PIPEDREAM_WEBHOOK_REPLAY')
  })

  test('a retried delivery (after a 500) has the same event id, so it starts nothing twice', async () => {
    const c = client()
    const t = await deployedWithHook(c, 'wf_retry')
    answer = () => (deliveries.length === 1 ? 500 : 200)
    await emit(t.id)
    expect(deliveries).toHaveLength(2)
    expect(deliveries[1].body.equals(deliveries[0].body)).toBe(true)
    const first = verify(deliveries[0], t.webhook_signing_key)
    expect(codeOf(() => verify(deliveries[1], t.webhook_signing_key))).toBe('PIPEDREAM_WEBHOOK_REPLAY')
    expect(first.route_id).toBe('wf_retry')
  })

  test.each([
    ['a bad signature', { bad_signature: true }, 'PIPEDREAM_WEBHOOK_SIGNATURE'],
    ['no signature', { no_signature: true }, 'PIPEDREAM_WEBHOOK_SIGNATURE'],
    ['a stale signature', { stale_secs: 3600 }, 'PIPEDREAM_WEBHOOK_STALE'],
  ])('%s is refused', async (_, faults, code) => {
    const c = client()
    const t = await deployedWithHook(c, `wf_${code.toLowerCase()}`)
    await emit(t.id, { faults })
    expect(codeOf(() => verify(deliveries[0], t.webhook_signing_key))).toBe(code)
  })

  test('a WHATWG Headers (fetch, a Next.js route handler) verifies as the plain record does', async () => {
    const c = client()
    const t = await deployedWithHook(c, 'wf_headers')
    await emit(t.id)
    const d = deliveries[0]
    const headers = new Headers(Object.entries(d.headers).filter(([, v]) => typeof v === 'string'))
    const args = { rawBody: d.body, headers, signingKey: t.webhook_signing_key, path: d.path, pathSecret: SECRET }
    expect(pd.verifyTriggerWebhook(args).route_id).toBe('wf_headers')
    // The method too, and a bad signature in one is still refused.
    headers.set('x-pd-signature', 't=1,v1=00')
    expect(codeOf(() => c.verifyTriggerWebhook({ ...args, dedupe: false }))).toBe('PIPEDREAM_WEBHOOK_SIGNATURE')
  })

  test('a replayed delivery (the same bytes again) is refused after the first', async () => {
    const c = client()
    const t = await deployedWithHook(c, 'wf_replay')
    await emit(t.id, { faults: { replay: true } })
    expect(deliveries).toHaveLength(2)
    expect(codeOf(() => verify(deliveries[0], t.webhook_signing_key))).toBe('ok')
    expect(codeOf(() => verify(deliveries[1], t.webhook_signing_key))).toBe('PIPEDREAM_WEBHOOK_REPLAY')
  })

  test('a wrong path token, a regenerated key and bad arguments are coded errors', async () => {
    const c = client()
    const t = await deployedWithHook(c, 'wf_path')
    await emit(t.id)
    const d = deliveries[0]
    expect(codeOf(() => verify({ ...d, path: d.path.replace('wf_path', 'wf_other') }, t.webhook_signing_key))).toBe(
      'PIPEDREAM_WEBHOOK_SIGNATURE',
    )
    expect(codeOf(() => verify(d, t.webhook_signing_key, { pathSecret: 'another-secret-0123456789' }))).toBe('PIPEDREAM_WEBHOOK_SIGNATURE')
    expect(codeOf(() => verify(d, 'not-the-key'))).toBe('PIPEDREAM_WEBHOOK_SIGNATURE')
    for (const args of [
      null,
      {},
      { rawBody: 5, signingKey: 'k' },
      { rawBody: '{}', signingKey: 'k', toleranceMs: -1 },
      { rawBody: '{}', signingKey: 'k', toleranceMs: 3_600_000 },
    ]) {
      expect(codeOf(() => pd.verifyTriggerWebhook(args))).toBe('PIPEDREAM_INVALID_ARGS')
    }
    // No secret in any message.
    try {
      verify({ ...d, path: '/x/y' }, t.webhook_signing_key)
    } catch (e) {
      expect(e.message).not.toContain(t.webhook_signing_key)
      expect(e.message).not.toContain(SECRET)
    }
  })

  test('triggerWebhookUrl refuses a bad base, id or short secret', () => {
    for (const [base, opts] of [
      ['not a url', { id: 'a', secret: SECRET }],
      ['https://d.example', { id: 'a/b', secret: SECRET }],
      ['https://d.example', { id: 'a', secret: 'short' }],
      ['https://d.example/h#frag', { id: 'a', secret: SECRET }],
    ]) {
      expect(codeOf(() => pd.triggerWebhookUrl(base, opts))).toBe('PIPEDREAM_INVALID_ARGS')
    }
    expect(pd.triggerWebhookUrl('https://d.example/hooks/', { id: 'wf', secret: SECRET })).toMatch(/^https:\/\/d\.example\/hooks\/wf\/[0-9a-f]{32}$/)
  })
})
