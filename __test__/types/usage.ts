// The README's usage, compiled with `tsc --strict` (see ../typescript.test.js): every line here
// must type-check, and each `@ts-expect-error` below must be an error, so a type that is too
// loose (a misuse that compiles) fails the build as surely as one that is too strict.
import {
  PipedreamClient,
  searchServices,
  executePipedreamConnect,
  toolDefinitions,
  handleToolCall,
  proxyRequest,
  downloadStashedFile,
  deployTrigger,
  listDeployedTriggers,
  verifyTriggerWebhook,
  triggerWebhookUrl,
  type BatchOutcome,
  type DeployedTrigger,
  type DeployedTriggerResult,
  type TriggerDelivery,
  type TriggerEvent,
  type ExecuteConfig,
  type ExecuteResult,
  type ProxyResponse,
  type StashedFile,
  type PipedreamError,
  type PipedreamErrorCode,
  type LogEvent,
  type Emulator,
  errorCodes,
  startEmulator,
} from '../..'
import type { IncomingMessage, ServerResponse } from 'node:http'

export async function discovery(): Promise<void> {
  const res = await searchServices({ query: 'gmail', limit: 5 })
  if (res.error !== undefined) {
    const code: PipedreamErrorCode = res.error
    console.log(code, res.message)
    return
  }
  for (const s of res.services) console.log(s.app_slug, s.name, s.auth_type ?? 'none')
  const tools = toolDefinitions()
  console.log(tools.map((t) => t.function.name))
  console.log(toolDefinitions({ format: 'anthropic' }).map((t) => t.input_schema))
  console.log(toolDefinitions({ format: 'mcp' }).map((t) => t.inputSchema))
  const answer = await handleToolCall('pipedream_search_services', { query: 'crm' })
  console.log(answer.message)
}

export async function node(pd: PipedreamClient): Promise<ExecuteResult | null> {
  try {
    const res = await pd.executePipedreamConnect(
      { component_id: 'gmail-send-email', params: { to: 'a@b.c' }, store: { id: 'messageId' } },
      { workflowId: 'wf', idempotencyKey: 'k1', variables: { pipedream_token: 't' } },
    )
    console.log(res.meta.attempts, res.stored, res.records.length)
    return res
  } catch (e) {
    const err = e as PipedreamError
    if (err.code === 'PIPEDREAM_INVALID_PARAMS') for (const d of err.details ?? []) console.log(d.param, d.problem)
    if (err.code === 'PIPEDREAM_RATE_LIMITED') console.log(err.retryAfterMs)
    if (err.maybe_executed) console.log('check before retrying')
    if (err.code === 'PIPEDREAM_ACCOUNT_MISSING') console.log(err.app, err.connect_link_url ?? 'no link')
    if (err.code === 'PIPEDREAM_ACCOUNT_AMBIGUOUS') for (const a of err.accounts ?? []) console.log(a.id, a.name, a.healthy)
    if (err.code === 'PIPEDREAM_ACTION_FAILED') console.log(err.action_error?.name, err.action_error?.message)
    return null
  }
}

export async function batch(pd: PipedreamClient): Promise<void> {
  const outcomes: BatchOutcome[] = await pd.executeBatch([{ config: { component_id: 'x-y' } }], { concurrency: 2 })
  for (const o of outcomes) {
    if (o.status === 'fulfilled') console.log(o.value.component_id)
    else console.log(o.reason.code, o.reason.message)
  }
}

/** An endpoint no action covers, through Connect's proxy, with the answer's fields narrowed. */
export async function proxy(pd: PipedreamClient): Promise<string | null> {
  try {
    const res: ProxyResponse = await pd.proxyRequest(
      { app: 'slack', method: 'GET', url: '/api/users.list?limit=10', headers: { accept: 'application/json' }, max_bytes: 65536 },
      { idempotencyKey: 'users-1', signal: AbortSignal.timeout(10_000) },
    )
    const status: number = res.status
    const type: string | undefined = res.headers['content-type']
    console.log(status, type, res.truncated, res.url, res.account_id, res.meta.attempts, res.meta.replayed)
    switch (res.body_encoding) {
      case 'json':
        return JSON.stringify(res.body)
      case 'text':
        return res.body as string
      case 'base64':
        return Buffer.from(res.body as string, 'base64').toString('utf8')
    }
  } catch (e) {
    const err = e as PipedreamError
    if (err.code === 'PIPEDREAM_PROXY_REFUSED') console.log('not sent:', err.message)
    else if (err.status !== undefined) console.log(`the app answered ${err.status}`)
    if (err.maybe_executed) console.log('the write may have happened')
    return null
  }
}

/** The module function, on the default client: a write, the app named by the account. */
export async function proxyWrite(): Promise<'json' | 'text' | 'base64'> {
  const sent = await proxyRequest({ account_id: 'apn_abc', method: 'POST', url: '/api/chat.postMessage', body: { channel: 'C1', text: 'hi' } })
  return sent.body_encoding
}

/** A proxy node and a node that keeps the files its action writes in File Stash. */
export async function proxyAndStashNodes(pd: PipedreamClient): Promise<number> {
  const post: ExecuteConfig = {
    proxy: { app: 'slack', method: 'POST', url: '/api/chat.postMessage', body: { channel: 'C1', text: 'hi' } },
    store: { ts: 'messageTs', 'message.text': 'sentText' },
  }
  const posted = await pd.executePipedreamConnect(post, { workflowId: 'wf', alias: 'post_message' })
  console.log(posted.result, posted.exports.status, posted.stored.messageTs)

  const stashed = await pd.executePipedreamConnect({ component_id: 'google_drive-download-file', params: { fileId: 'f1' }, stash: true })
  const stashId: string | null | undefined = stashed.stash_id
  let bytes = 0
  for (const f of stashed.files ?? []) {
    console.log(f.path ?? '(no path)', f.url, new Date(f.url_expires_at_ms))
    if (f.s3_key == null) continue
    const file: StashedFile = await downloadStashedFile(f.s3_key)
    // @ts-expect-error data is null when the API answered a presigned URL instead
    const unchecked: Buffer = file.data
    console.log(unchecked)
    if (file.data === null) {
      const link: string | null | undefined = file.url
      console.log(link, file.url_expires_at_ms)
      continue
    }
    const data: Buffer = file.data
    console.log(file.s3_key, file.content_type ?? 'unknown type', file.size, data.subarray(0, 4).toString('hex'))
    bytes += data.byteLength
  }
  // Reuse the same stash in a later node.
  if (stashId) await pd.executePipedreamConnect({ component_id: 'google_drive-upload-file', stash: stashId })
  return bytes
}

/**
 * Enabling an event-driven workflow: its trigger deployed with a URL of Director's, once (a
 * retried enable replays the first deploy), and the webhook's signing key kept. The key is
 * absent without a `webhook_url` or for a client without OAuth credentials: narrowed here.
 */
export async function enableTrigger(pd: PipedreamClient, pathSecret: string): Promise<string | null> {
  const webhook_url: string = triggerWebhookUrl('https://director.example.com/hooks/pipedream', { id: 'wf_1', secret: pathSecret })
  try {
    const deployed: DeployedTriggerResult = await pd.deployTrigger(
      { component_id: 'gmail-new-email-received', params: { q: 'from:investor' }, external_user_id: 'user-42', webhook_url, emit_on_deploy: false },
      { idempotencyKey: 'enable:wf_1', signal: AbortSignal.timeout(30_000) },
    )
    console.log(deployed.id, deployed.active, deployed.component_id ?? '?', deployed.meta.account_id, deployed.meta.replayed)
    if (deployed.webhook_signing_key === undefined) return null // no key: deliveries cannot be verified
    const signingKey: string = deployed.webhook_signing_key
    return signingKey
  } catch (e) {
    const err = e as PipedreamError
    if (err.code === 'PIPEDREAM_INVALID_PARAMS') for (const d of err.details ?? []) console.log(d.param, d.problem)
    if (err.code === 'PIPEDREAM_ACCOUNT_MISSING') console.log(err.app, err.connect_link_url ?? 'no link')
    if (err.maybe_executed) {
      // The deploy may have happened: look before deploying again.
      const mine: DeployedTrigger[] = await listDeployedTriggers({ external_user_id: 'user-42' })
      const existing = mine.find((t) => t.component_id === 'gmail-new-email-received')
      if (existing) console.log('already deployed:', existing.id, existing.created_at_ms ?? 'unknown time')
    }
    return null
  }
}

/** The management calls, with what they answer. */
export async function manageTrigger(pd: PipedreamClient, id: string): Promise<number> {
  const one: DeployedTrigger = await pd.getDeployedTrigger({ id, external_user_id: 'user-42' })
  const paused: DeployedTrigger = await pd.updateDeployedTrigger({ id, active: false })
  await pd.updateDeployedTrigger({ id, active: true, name: 'Investor mail', params: { q: 'from:vc' } })
  const events: TriggerEvent[] = await pd.listTriggerEvents({ id, n: 5 })
  for (const ev of events) console.log(ev.id ?? '(no id)', ev.ts_ms ?? 0, ev.summary ?? '', ev.payload)
  const hooks = await pd.setTriggerWebhooks({ id, webhook_urls: ['https://director.example.com/hooks/pipedream/wf_1/0123'] })
  const urls: string[] = hooks.webhook_urls
  const first = (await pd.listTriggerWebhooks({ id })).webhooks?.[0]
  if (first) {
    const fresh = await pd.regenerateTriggerSigningKey({ id, webhook_id: first.id })
    const key: string = fresh.signing_key
    console.log(key.length, first.signing_key_set)
  }
  await pd.deleteDeployedTrigger({ id, ignore_hook_errors: true })
  const module: DeployedTriggerResult = await deployTrigger({ component_id: 'github-new-issue', params: { repoFullname: 'acme/api' } })
  console.log(one.configured_props, paused.active, module.id)
  return urls.length + events.length
}

/**
 * A node:http handler for the URLs `triggerWebhookUrl` makes: the raw body verified (path
 * token, signature, age, replay) and each code answered as the docs say.
 */
export function triggerHandler(signingKeyOf: (routeId: string) => string | undefined, pathSecret: string, start: (event: TriggerDelivery) => Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const routeId = (req.url ?? '').split('?')[0].split('/').slice(-2)[0] ?? ''
      const signingKey = signingKeyOf(routeId)
      if (signingKey === undefined) return void res.writeHead(404).end()
      let event: TriggerDelivery
      try {
        event = verifyTriggerWebhook({ rawBody: Buffer.concat(chunks), headers: req.headers, signingKey, path: req.url, pathSecret })
      } catch (e) {
        const code: PipedreamErrorCode = (e as PipedreamError).code
        switch (code) {
          case 'PIPEDREAM_WEBHOOK_REPLAY':
            return void res.writeHead(200).end() // handled before: start nothing
          case 'PIPEDREAM_WEBHOOK_SIGNATURE':
          case 'PIPEDREAM_WEBHOOK_STALE':
            return void res.writeHead(401).end()
          default:
            return void res.writeHead(400).end()
        }
      }
      const route: string | null | undefined = event.route_id
      console.log(event.id, route, new Date(event.signed_at_ms))
      start(event).then(
        () => res.writeHead(200).end(),
        () => res.writeHead(500).end(),
      )
    })
  }
}

/** A string body verifies too; without `path` and `pathSecret` the URL's token is not checked. */
export function verifyString(rawBody: string, signature: string, signingKey: string): TriggerDelivery {
  return verifyTriggerWebhook({ rawBody, headers: { 'x-pd-signature': signature }, signingKey, toleranceMs: 60_000, dedupe: false })
}

export function codes(): readonly PipedreamErrorCode[] {
  return errorCodes
}

export function client(): PipedreamClient {
  return new PipedreamClient({
    projectId: 'proj_abc',
    clientId: 'id',
    clientSecret: 'secret',
    retry: { maxRetries: 2 },
    logger: (event: LogEvent) => console.log(event.type, event.outcome),
  })
}

/** The logger forms: a function, `console`, any `{ debug, info, warn, error }` object, a level. */
export function loggers(): PipedreamClient[] {
  const pino = { debug: (o: object) => o, info: (o: object) => o, warn: (o: object) => o, error: (o: object) => o }
  return [
    new PipedreamClient({ token: 't', logger: console, logLevel: 'warn' }),
    new PipedreamClient({ token: 't', logger: pino, logLevel: 'debug' }),
    new PipedreamClient({ token: 't', logger: { error: (e: unknown) => console.error(e) } }),
  ]
}

/** A test against the emulator the package ships, with the structured error fields. */
export async function testDouble(): Promise<number> {
  const emu: Emulator = await startEmulator({ accounts: [{ external_user_id: 'u', app: 'slack' }], faults: { path: '^/v1/connect/apps$', status: 503, count: 1 } })
  const pd = new PipedreamClient({ ...emu.clientOptions, externalUserId: 'other' })
  try {
    await pd.executePipedreamConnect({ component_id: 'slack-send-message', params: { conversation: 'C1', text: 'x' } })
  } catch (e) {
    const err = e as PipedreamError
    if (err.code === 'PIPEDREAM_ACCOUNT_MISSING') console.log(err.app, err.connect_link_url)
    if (err.code === 'PIPEDREAM_RATE_LIMITED') console.log(err.retry_after_ms)
  }
  const runs = await emu.runs()
  await emu.close()
  return runs.filter((r) => r.outcome === 'ok').length
}

export async function misuse(pd: PipedreamClient): Promise<void> {
  const res = await searchServices({ query: 'x' })
  // @ts-expect-error a mistyped code is not a PipedreamErrorCode
  if (res.error === 'PIPEDREAM_NOT_FUOND') return
  // @ts-expect-error a failed answer has no `cached`: narrow on `error` first
  console.log(res.cached)
  if (res.error === undefined) console.log(res.cached, res.stale)
  const [o] = await pd.executeBatch([])
  // @ts-expect-error a rejected outcome has no value
  if (o.status === 'rejected') console.log(o.value)
  // @ts-expect-error a fulfilled outcome has no reason
  if (o.status === 'fulfilled') console.log(o.reason)
  // @ts-expect-error a proxy request's method is one of six
  await executePipedreamConnect({ proxy: { app: 'slack', method: 'TRACE', url: '/x' } })
  // @ts-expect-error a proxy request needs its url
  await pd.proxyRequest({ app: 'slack', method: 'GET' })
  // @ts-expect-error `stash` is true or a stash_id
  await executePipedreamConnect({ component_id: 'x-y', stash: 1 })
  // @ts-expect-error a stashed file's data is a Buffer, not a string
  const text: string = (await pd.downloadStashedFile('k')).data
  // @ts-expect-error PIPEDREAM_PROXY_REFUSED is a code; a misspelling is not
  const refused: PipedreamErrorCode = 'PIPEDREAM_PROXY_REFUSE'
  console.log(text, refused)
  // @ts-expect-error an emulator account needs its app
  await startEmulator({ accounts: [{ external_user_id: 'u' }] })
  // @ts-expect-error logLevel is one of four levels
  new PipedreamClient({ token: 't', logLevel: 'verbose' })
  // @ts-expect-error options are checked
  new PipedreamClient({ projectId: 5 })
  const e = {} as PipedreamError
  // @ts-expect-error an Anthropic tool has no `function`
  console.log(toolDefinitions({ format: 'anthropic' })[0].function)
  // @ts-expect-error a code is one of the documented ones
  const bad: PipedreamErrorCode = 'SOMETHING_ELSE'
  console.log(e, bad)
  const deployed = await pd.deployTrigger({ component_id: 'github-new-issue' })
  // @ts-expect-error the signing key may be absent (no webhook_url, or no OAuth): narrow first
  const key: string = deployed.webhook_signing_key
  // @ts-expect-error a deploy names its trigger
  await pd.deployTrigger({ params: { repoFullname: 'acme/api' } })
  // @ts-expect-error emit_on_deploy is a boolean
  await deployTrigger({ component_id: 'github-new-issue', emit_on_deploy: 'no' })
  // @ts-expect-error verifyTriggerWebhook takes the body as received, not parsed JSON
  verifyTriggerWebhook({ rawBody: { id: 1 }, headers: {}, signingKey: key })
  // @ts-expect-error verifyTriggerWebhook needs the webhook's signing key
  verifyTriggerWebhook({ rawBody: '{}', headers: {} })
  // @ts-expect-error triggerWebhookUrl needs the secret its token is made from
  triggerWebhookUrl('https://director.example.com/hooks/pipedream', { id: 'wf_1' })
  // @ts-expect-error a deployed trigger is named by its id
  await pd.getDeployedTrigger({ external_user_id: 'user-42' })
  // @ts-expect-error setTriggerWebhooks replaces the list, so it needs one
  await pd.setTriggerWebhooks({ id: deployed.id })
  // @ts-expect-error the webhook codes are spelled as documented
  const misspelled: PipedreamErrorCode = 'PIPEDREAM_WEBHOOK_REPLAYED'
  console.log(misspelled)
}
