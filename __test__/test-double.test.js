'use strict'
// startEmulator: the emulator linked into the addon, as Director's own tests would use it. A
// workflow runs against it, the server's journal shows what happened, faults apply, and close
// really stops the server. No emulator binary and no Rust toolchain are involved.
const { PipedreamClient, startEmulator } = require('..')

const USER = 'director-user'
const SEND = { component_id: 'slack-send-message', params: { conversation: 'C1', text: 'hi from a workflow' } }

test('a workflow runs against the in-process emulator; its journal shows the one run', async () => {
  const emu = await startEmulator({ accounts: [{ external_user_id: USER, app: 'slack', name: 'Work Slack' }] })
  try {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const pd = new PipedreamClient({ ...emu.clientOptions, externalUserId: USER })
    const { services } = await pd.searchServices({ query: 'slack' })
    expect(services.map((s) => s.app_slug)).toContain('slack')
    const res = await pd.executePipedreamConnect(SEND)
    expect(res.result).toBeDefined()
    const runs = await emu.runs()
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({ id: 'slack-send-message', external_user_id: USER, outcome: 'ok' })
    expect(runs[0].configured_props.text).toBe('hi from a workflow')
    // The node found the seeded account by itself: one accounts request, one run.
    expect((await emu.requests('/accounts$')).length).toBe(1)
    await emu.reset()
    expect(await emu.runs()).toEqual([])
  } finally {
    await emu.close()
  }
})

test('a proxy node goes through the emulator to its echo upstream, under the user account', async () => {
  const emu = await startEmulator({ accounts: [{ external_user_id: USER, app: 'github' }] })
  try {
    const pd = new PipedreamClient({ ...emu.clientOptions, externalUserId: USER })
    const res = await pd.executePipedreamConnect({ proxy: { app: 'github', method: 'GET', url: '/user/repos?per_page=5' } })
    const [account] = await pd.listAccounts({ external_user_id: USER })
    expect(res.result).toMatchObject({ method: 'GET', url: 'https://api.github.com/user/repos?per_page=5', authorized_as: account.id })
    expect(await emu.proxyRequests()).toEqual([
      expect.objectContaining({ method: 'GET', target_url: 'https://api.github.com/user/repos?per_page=5', account_id: account.id, status: 200 }),
    ])
    expect(await emu.runs()).toEqual([])
  } finally {
    await emu.close()
  }
})

test('a trigger deployed against the test double delivers signed events that verify', async () => {
  const http = require('node:http')
  const got = []
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      got.push({ body: Buffer.concat(chunks), headers: req.headers, path: req.url })
      res.writeHead(204).end()
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const emu = await startEmulator({ accounts: [{ external_user_id: USER, app: 'github' }] })
  try {
    const pd = new PipedreamClient({ ...emu.clientOptions, externalUserId: USER })
    const secret = 'a-director-secret-of-some-length'
    const webhook_url = pd.triggerWebhookUrl(`http://127.0.0.1:${server.address().port}/hooks`, { id: 'wf_1', secret })
    const t = await pd.deployTrigger({ component_id: 'github-new-issue', params: { repoFullname: 'acme/api' }, webhook_url, emit_on_deploy: false })
    expect((await emu.triggers()).map((x) => x.id)).toEqual([t.id])
    await emu.emitTrigger(t.id, { payload: { title: 'Broken build' } })
    expect(got).toHaveLength(1)
    const event = pd.verifyTriggerWebhook({ rawBody: got[0].body, headers: got[0].headers, signingKey: t.webhook_signing_key, path: got[0].path, pathSecret: secret })
    expect(event).toMatchObject({ route_id: 'wf_1', payload: { title: 'Broken build' } })
    expect((await emu.triggerDeliveries()).map((d) => d.status)).toEqual([204])
  } finally {
    await emu.close()
    server.close()
  }
})

test('faults given at start apply; a user without an account gets the Connect Link to show', async () => {
  const emu = await startEmulator({
    projectId: 'proj_double',
    faults: [{ path: '^/v1/connect/apps$', status: 503, count: 1 }],
  })
  try {
    const pd = new PipedreamClient({ ...emu.clientOptions, externalUserId: 'nobody', retry: { minDelayMs: 10 } })
    expect((await pd.searchServices({ query: 'slack' })).error).toBeUndefined()
    expect((await emu.requests('^/v1/connect/apps$')).map((r) => r.status)).toEqual([503, 200])
    await expect(pd.executePipedreamConnect(SEND)).rejects.toMatchObject({
      code: 'PIPEDREAM_ACCOUNT_MISSING',
      app: 'slack',
      connect_link_url: expect.stringContaining('&app=slack'),
    })
    expect(await emu.runs()).toEqual([])
  } finally {
    await emu.close()
  }
})

test('close stops the server: the port refuses connections and control calls throw', async () => {
  const emu = await startEmulator()
  await emu.close()
  await expect(fetch(`${emu.url}/__emulator/health`)).rejects.toThrow()
  await expect(emu.runs()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' })
  await emu.close()
})

test('close also drops the connections a client keeps alive: nothing is answered after it', async () => {
  const emu = await startEmulator({ accounts: [{ external_user_id: USER, app: 'slack' }] })
  const c = new PipedreamClient({ ...emu.clientOptions, externalUserId: USER, retry: { maxRetries: 0 } })
  await c.executePipedreamConnect(SEND)
  await emu.close()
  const after = await c.executePipedreamConnect(SEND).catch((e) => e)
  expect(after.code).toBe('PIPEDREAM_NETWORK')
  expect((await c.listAccounts().catch((e) => e)).code).toBe('PIPEDREAM_NETWORK')
})

test('control calls with what cannot be sent are coded TypeErrors', async () => {
  const emu = await startEmulator()
  const cycle = {}
  cycle.self = cycle
  const throwing = { get path() { throw undefined } } // eslint-disable-line no-throw-literal
  for (const rules of [{ path: 1n }, cycle, throwing]) {
    await expect(emu.fault(rules)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  }
  await expect(emu.requests('\ud800')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
  await expect(emu.emitTrigger('\ud800')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
  await emu.close()
  await expect(startEmulator({ faults: { path: 1n } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' })
})

test('bad options are TypeErrors that name the option', async () => {
  await expect(startEmulator({ acounts: [] })).rejects.toMatchObject({ name: 'TypeError', message: expect.stringMatching(/unknown option `acounts`/) })
  await expect(startEmulator({ accounts: [{ app: 'slack' }] })).rejects.toThrow(/accounts\[0\]/)
  await expect(startEmulator({ accounts: [{ external_user_id: 'u', app: 'no-such-app' }] })).rejects.toMatchObject({
    code: 'PIPEDREAM_EMULATOR_FAILED',
    message: expect.stringMatching(/unknown app/),
  })
  await expect(startEmulator({ projectId: 'nope' })).rejects.toThrow(/proj_/)
  await expect(startEmulator('x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' })
  await expect(startEmulator({ faults: [{ path: '(' }] })).rejects.toThrow(/bad path regex/)
})

// The README's Jest example, run as it is written (its require of the package mapped to this
// checkout); scripts/install-test.js runs it again from an installed tarball.
describe("the README's workflow test", () => {
  const { readmeWorkflowTest } = require('../scripts/install-test')
  const block = readmeWorkflowTest()
  const load = (name) => (name === '@director/pipedream-connect' ? require('..') : require(name))
  new Function('require', block)(load)
})
