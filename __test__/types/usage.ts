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
  type BatchOutcome,
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
    const data: Buffer = file.data
    console.log(file.s3_key, file.content_type ?? 'unknown type', file.size, data.subarray(0, 4).toString('hex'))
    bytes += data.byteLength
  }
  // Reuse the same stash in a later node.
  if (stashId) await pd.executePipedreamConnect({ component_id: 'google_drive-upload-file', stash: stashId })
  return bytes
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
}
