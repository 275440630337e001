#!/usr/bin/env node
'use strict'
// pipedream-connect: try the package from a terminal. Discovery, one component's schema, a run,
// an external user's connected accounts, and a local emulator to point it all at.
//
// Configuration comes from the PIPEDREAM_* environment variables, read by the package's module
// functions (see the configuration table in docs/api.md). Tables for people by default, `--json`
// for scripts. Exit codes: 0 on success, 1 when a call failed (the error code is printed), 2 for
// misuse (an unknown command or flag, a missing argument, a value out of range). When the reader
// of stdout goes away early (`pipedream-connect search gmail | head -1`), the CLI stops quietly
// with exit code 0, as if the output had been read to the end (a failure keeps its 1 or 2).
//
// Node built-ins only: the package installs no runtime dependencies. The native addon is loaded
// only when a command runs, so `--help` works even where it cannot load.
const path = require('node:path')
const { parseArgs } = require('node:util')

const NAME = 'pipedream-connect'

class CliError extends Error {
  constructor(code, message, extra = {}) {
    super(message)
    this.code = code
    Object.assign(this, extra)
  }
}

/** Misuse of the command line: exit code 2. */
const usageError = (message) => new CliError('PIPEDREAM_INVALID_ARGS', message, { exitCode: 2, usage: true })

// ---------------------------------------------------------------------------------------------
// The package, loaded on first use

let pkg
function pd() {
  if (!pkg) {
    try {
      pkg = require('..')
    } catch (e) {
      throw new CliError((e && e.code) || 'PIPEDREAM_BINDING_NOT_FOUND', (e && e.message) || String(e))
    }
  }
  return pkg
}

// ---------------------------------------------------------------------------------------------
// Colours: only on a terminal, never with NO_COLOR or TERM=dumb; FORCE_COLOR (other than 0)
// turns them on for a pipe. Decided per stream.

function colorsFor(stream) {
  const env = process.env
  const on =
    !('NO_COLOR' in env) &&
    (('FORCE_COLOR' in env && env.FORCE_COLOR !== '0') || (Boolean(stream.isTTY) && env.TERM !== 'dumb'))
  const style = (open, close) => (on ? (s) => `\x1b[${open}m${s}\x1b[${close}m` : (s) => String(s))
  return {
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    cyan: style(36, 39),
  }
}
const c = colorsFor(process.stdout)
const ce = colorsFor(process.stderr)

// ---------------------------------------------------------------------------------------------
// Output

const out = (line = '') => process.stdout.write(`${line}\n`)
const err = (line = '') => process.stderr.write(`${line}\n`)

// A reader that stops early (`| head`) closes the pipe: the next write fails with EPIPE. Output
// cut short is not a failure of the command, so stop quietly with 0 (where coreutils would die of
// SIGPIPE) instead of an uncaught stack trace; a failure already reported keeps its exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code !== 'EPIPE') throw e
    // The emulator (if any) runs in this process and ends with it.
    process.exit(process.exitCode || 0)
  })
}

/** Control characters from server text would move the cursor or recolour the terminal. */
const printable = (s) => String(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')

/** Columns a character takes in a terminal: 0 for marks and joiners, 2 for wide (CJK, emoji). */
function charWidth(cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0
  if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2
  }
  return 1
}

function strWidth(s) {
  let w = 0
  for (const ch of s) w += charWidth(ch.codePointAt(0))
  return w
}

/** Word-wraps plain text to `width` columns; a word longer than a line is cut. */
function wrap(text, width) {
  const lines = []
  let line = ''
  let lineWidth = 0
  for (const word of text.split(' ')) {
    let w = word
    let ww = strWidth(w)
    if (lineWidth && lineWidth + 1 + ww <= width) {
      line += ` ${w}`
      lineWidth += 1 + ww
      continue
    }
    if (lineWidth) lines.push(line)
    while (ww > width) {
      let head = ''
      let hw = 0
      for (const ch of w) {
        const cw = charWidth(ch.codePointAt(0))
        if (hw + cw > width) break
        head += ch
        hw += cw
      }
      if (!head) break
      lines.push(head)
      w = w.slice(head.length)
      ww -= hw
    }
    line = w
    lineWidth = ww
  }
  lines.push(line)
  return lines
}

/** Terminal width to fit output to, or null when stdout is not a terminal (no wrapping). */
const terminalWidth = () => (process.stdout.isTTY ? process.stdout.columns || 80 : null)

/**
 * A table with box-drawing borders. A cell is a value or `[value, colour]`; colour is applied
 * after wrapping, so widths are measured on plain text. On a terminal the widest columns are
 * wrapped until the table fits; piped, every row stays on one line.
 */
function table(head, rows) {
  const cell = (v) => {
    const [value, colour] = Array.isArray(v) ? v : [v, null]
    const text = value === undefined || value === null ? '' : printable(String(value).replace(/\s/g, ' '))
    return { text, colour }
  }
  const header = head.map((h) => ({ text: h, colour: c.bold }))
  const body = rows.map((r) => r.map(cell))
  const widths = head.map((_, i) => Math.max(...[header, ...body].map((r) => strWidth(r[i].text))))
  const cols = terminalWidth()
  if (cols) {
    const room = cols - (3 * head.length + 1)
    const floor = widths.map((w, i) => Math.min(w, Math.max(strWidth(head[i]), 8)))
    let total = widths.reduce((a, b) => a + b, 0)
    while (total > room) {
      let widest = -1
      for (let i = 0; i < widths.length; i++) if (widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest])) widest = i
      if (widest < 0) break
      widths[widest]--
      total--
    }
  }
  const render = (r) => {
    const cells = r.map((x, i) => (cols ? wrap(x.text, widths[i]) : [x.text]))
    const height = Math.max(...cells.map((l) => l.length))
    const lines = []
    for (let j = 0; j < height; j++) {
      const parts = cells.map((l, i) => {
        const text = l[j] || ''
        const pad = ' '.repeat(Math.max(0, widths[i] - strWidth(text)))
        return `${text && r[i].colour ? r[i].colour(text) : text}${pad}`
      })
      lines.push(`│ ${parts.join(' │ ')} │`)
    }
    return lines
  }
  const rule = (l, m, r) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`
  const rendered = body.map(render)
  const separate = rendered.some((lines) => lines.length > 1)
  const lines = [rule('┌', '┬', '┐'), ...render(header), rule('├', '┼', '┤')]
  rendered.forEach((rowLines, i) => {
    if (separate && i > 0) lines.push(rule('├', '┼', '┤'))
    lines.push(...rowLines)
  })
  lines.push(rule('└', '┴', '┘'))
  return lines.join('\n')
}

/** A spinner on stderr for calls that take over 300 ms, and only when stderr is a terminal. */
async function withSpinner(label, promise) {
  if (!process.stderr.isTTY) return promise
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
  let i = 0
  let interval = null
  const delay = setTimeout(() => {
    interval = setInterval(() => {
      process.stderr.write(`\r${ce.cyan(frames[i++ % frames.length])} ${label}`)
    }, 80)
  }, 300)
  try {
    return await promise
  } finally {
    clearTimeout(delay)
    if (interval) {
      clearInterval(interval)
      process.stderr.write('\r\x1b[2K')
    }
  }
}

function truncate(s, n) {
  if (typeof s !== 'string') return s
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}

function printJson(value) {
  out(JSON.stringify(value, null, 2))
}

// ---------------------------------------------------------------------------------------------
// The package's hints name its LLM tools and JS functions (`pipedream_get_components`, `call
// getComponents`); printed by the CLI they name its commands and flags instead. Only human
// output is rewritten: `--json` prints the package's answers as they are.

const TOOLS = [
  // [LLM tool, JS function, CLI command (null: the CLI has none)]
  ['pipedream_search_services', 'searchServices', `${NAME} search <query>`],
  ['pipedream_get_components', 'getComponents', `${NAME} components <app>`],
  ['pipedream_get_component', 'getComponent', `${NAME} component <component_id>`],
  ['pipedream_configure_prop', 'configureProp', null],
]

function cliText(text, ctx = {}) {
  if (typeof text !== 'string') return text
  let s = printable(text)
  // "getComponents failed: …" and "searchServices expects { … }: …" prefixes name the function.
  s = s.replace(/\b(?:searchServices|getComponents|getComponent|configureProp) failed: /g, '')
  s = s.replace(/\b(?:searchServices|getComponents|getComponent|configureProp|executePipedreamConnect) expects (?:config |context )?\{[^}]*\}: /g, '')
  // Whole phrases first.
  s = s.replace(/\b(?:getComponents|pipedream_get_components) with type "(\w+)"/g, `\`${NAME} components <app> --type $1\``)
  s = s.replace(/\b(?:pipedream_get_components|getComponents) with an app_slug\b/g, `\`${NAME} components <app_slug>\``)
  s = s.replace(/\bin the pipedream_connect node's params\b/g, `in the --params of \`${NAME} run <component_id>\``)
  s = s.replace(/\bin a pipedream_connect node\b/g, `with \`${NAME} run <component_id>\``)
  s = s.replace(/\b([Pp])ass account_id\b/g, '$1ass --account <apn_id>')
  for (const [tool, fn, cmd] of TOOLS) {
    const name = cmd ? `\`${cmd}\`` : fn
    // "call searchServices (pipedream_search_services)" and the like: one name, not two.
    s = s.replace(new RegExp(`\\b(?:${fn} \\(${tool}\\)|${tool} \\(${fn}\\))`, 'g'), tool)
    if (cmd) {
      s = s.replace(new RegExp(`\\b([Cc])all (?:${tool}|${fn})\\b`, 'g'), (_, c0) => `${c0 === 'C' ? 'R' : 'r'}un ${name}`)
      s = s.replace(new RegExp(`\\bfrom ${fn}\\b`, 'g'), `from ${name}`)
    }
    s = s.replace(new RegExp(`\\b${tool}\\b`, 'g'), name)
  }
  if (ctx.component_id) s = s.replace(/<component_id>/g, ctx.component_id)
  if (ctx.app) s = s.replace(/<app>/g, ctx.app)
  return s
}

/** Discovery answers resolve with `error` + `message` instead of rejecting: make that a failure. */
function failIfError(res, opts) {
  if (res && res.error) {
    if (opts.json) printJson(res)
    throw new CliError(res.error, res.message, { printed: Boolean(opts.json) })
  }
}

// ---------------------------------------------------------------------------------------------
// Value parsers: a bad value is misuse (exit 2), and the message names the flag and what it takes.

function intArg(min, max) {
  return (value, flag) => {
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw usageError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`)
    }
    return n
  }
}

function oneOf(...allowed) {
  return (value, flag) => {
    if (!allowed.includes(value)) {
      throw usageError(`${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(value)}.`)
    }
    return value
  }
}

function jsonObjectArg(value, flag) {
  let parsed
  try {
    parsed = JSON.parse(value)
  } catch (e) {
    throw usageError(`${flag} is not valid JSON (${e.message}).`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`${flag} must be a JSON object, e.g. '{"query":"from:me"}'.`)
  }
  return parsed
}

// ---------------------------------------------------------------------------------------------
// Commands

async function cmdSearch(query, opts) {
  const args = { query }
  if (opts.limit !== undefined) args.limit = opts.limit
  const res = await withSpinner('Searching apps…', pd().searchServices(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  if (res.services.length) {
    out(
      table(
        ['app_slug', 'name', 'auth', 'categories', 'description'],
        res.services.map((s) => [[s.app_slug, c.cyan], s.name, s.auth_type || '', (s.categories || []).join(', '), s.description || '']),
      ),
    )
  }
  out(c.dim(cliText(res.message)))
}

function paramSummary(p) {
  let s = p.required ? p.name : `${p.name}?`
  s += `: ${p.type}`
  if (p.remote_options) s += ' (options)'
  return s
}

async function cmdComponents(app, opts) {
  const args = { app_slug: app }
  if (opts.query !== undefined) args.query = opts.query
  if (opts.type !== undefined) args.type = opts.type
  if (opts.limit !== undefined) args.limit = opts.limit
  const res = await withSpinner(`Listing ${app} components…`, pd().getComponents(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  if (res.components.length) {
    out(
      table(
        ['component_id', 'name', 'params (? = optional)'],
        res.components.map((x) => [[x.component_id, c.cyan], x.name || '', (x.parameters || []).map(paramSummary).join(', ')]),
      ),
    )
  }
  out(c.dim(cliText(res.message, { app })))
}

/** One row per param from the component's JSON Schema (`input_schema`). */
function schemaRows(schema) {
  const props = (schema && schema.properties) || {}
  const required = new Set((schema && schema.required) || [])
  return Object.entries(props).map(([name, p]) => {
    const notes = []
    if (p['x-remote-options']) notes.push('remote options (configureProp)')
    if (p['x-reload-props']) notes.push('reloads props')
    if (Array.isArray(p.enum)) notes.push(`one of: ${p.enum.map((v) => JSON.stringify(v)).join(', ')}`)
    if (p.minimum !== undefined || p.maximum !== undefined) notes.push(`range ${p.minimum ?? '…'}–${p.maximum ?? '…'}`)
    return {
      name,
      type: p['x-pipedream-type'] || (Array.isArray(p.type) ? p.type.join('|') : p.type) || 'any',
      required: required.has(name),
      default: p.default,
      description: p.description || p.title || '',
      remote_options: Boolean(p['x-remote-options']),
      notes: notes.join('; '),
    }
  })
}

async function cmdComponent(id, opts) {
  const args = { component_id: id }
  if (opts.version !== undefined) args.version = opts.version
  const res = await withSpinner(`Loading ${id}…`, pd().getComponent(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  out(`${c.bold(printable(res.name || res.component_id))} ${c.dim(`(${res.component_id}@${res.version || 'latest'}, ${res.component_type || 'action'})`)}`)
  if (res.description) out(printable(res.description))
  const facts = []
  if (res.app) facts.push(`app: ${res.app}`)
  facts.push(`needs a connected account: ${res.auth_required ? 'yes' : 'no'}`)
  const ann = res.annotations || {}
  if (ann.readOnlyHint) facts.push('read-only')
  if (ann.destructiveHint) facts.push(c.yellow('destructive'))
  out(c.dim(facts.join(' · ')))
  out()
  const rows = schemaRows(res.input_schema)
  if (rows.length) {
    out(
      table(
        ['param', 'type', 'required', 'default', 'description', 'values'],
        rows.map((r) => [
          [r.name, c.cyan],
          r.type,
          r.required ? ['yes', c.bold] : 'no',
          r.default === undefined ? '' : JSON.stringify(r.default),
          r.description,
          r.notes,
        ]),
      ),
    )
  } else {
    out('No params.')
  }
  const remote = rows.filter((r) => r.remote_options).map((r) => r.name)
  if (remote.length) out(c.dim(`Values for ${remote.join(', ')} come from remote options (configureProp, with the user's account).`))
  out(c.dim(cliText(res.message, { component_id: res.component_id || id, app: res.app })))
}

async function cmdRun(id, opts) {
  const config = { component_id: id, params: opts.params || {} }
  if (opts.version !== undefined) config.version = opts.version
  if (opts.account !== undefined) config.auth_config = { account_id: opts.account }
  if (opts.store !== undefined) config.store = opts.store
  if (opts.createRecords !== undefined) config.create_records = opts.createRecords
  const context = { workflowId: 'pipedream-connect-cli', alias: 'cli' }
  if (opts.user !== undefined) context.externalUserId = opts.user
  const res = await withSpinner(`Running ${id}…`, pd().executePipedreamConnect(config, context))
  if (opts.json) return printJson(res)
  const m = res.meta || {}
  const bits = [`${m.duration_ms} ms`, `${m.attempts} attempt${m.attempts === 1 ? '' : 's'}`, `token: ${m.token_source}`]
  if (m.account_id) bits.unshift(`account ${m.account_id}`)
  if (m.replayed) bits.push('replayed')
  out(`${c.green('✓')} ${c.bold(res.component_id)} ran ${c.dim(`(${bits.join(', ')})`)}`)
  if (res.summary) out(`${c.bold('Summary:')} ${printable(res.summary)}`)
  const stored = Object.entries(res.stored || {})
  if (stored.length) {
    out(c.bold('Stored variables:'))
    out(table(['variable', 'value'], stored.map(([k, v]) => [k, truncate(JSON.stringify(v), 200)])))
  }
  if (res.records && res.records.length) out(`${c.bold('Records:')} ${res.records.map((r) => r.id).join(', ')}`)
  for (const w of m.warnings || []) err(ce.yellow(`warning: ${cliText(w, { component_id: id })}`))
  out(c.bold('Result:'))
  out(JSON.stringify(res.result, null, 2))
}

// Connected accounts, through the addon: its auth, retries, rate limiter, refusal of
// redirects and redaction of server text apply here as everywhere. `env` is the environment to
// configure the client from (the emulator command passes its own).
async function listAccounts(env, app, user) {
  return envClient(env).listAccounts({ external_user_id: user, ...(app ? { app } : {}) })
}

/** A client configured from these environment variables. */
function envClient(env) {
  return newClient({
    baseUrl: env.PIPEDREAM_BASE_URL || undefined,
    projectId: env.PIPEDREAM_PROJECT_ID || undefined,
    environment: env.PIPEDREAM_PROJECT_ENVIRONMENT || undefined,
    clientId: env.PIPEDREAM_CLIENT_ID || undefined,
    clientSecret: env.PIPEDREAM_CLIENT_SECRET || undefined,
    token: env.PIPEDREAM_API_TOKEN || undefined,
    // A person is waiting: fail within seconds rather than after the library's full backoff.
    retry: { maxRetries: 2, maxDelayMs: 2000 },
  })
}

/** A client for these options; a bad setting is the CLI's configuration error. */
function newClient(options) {
  const { PipedreamClient } = pd()
  try {
    return new PipedreamClient(options)
  } catch (e) {
    throw new CliError('PIPEDREAM_INVALID_CONFIG', e.message)
  }
}

async function cmdAccounts(app, opts) {
  const user = opts.user || process.env.PIPEDREAM_EXTERNAL_USER_ID
  if (!user) throw usageError('Say whose accounts: --user <external_user_id> (or set PIPEDREAM_EXTERNAL_USER_ID).')
  const accounts = await withSpinner(`Listing ${app} accounts…`, listAccounts(process.env, app, user))
  if (opts.json) return printJson({ app, external_user_id: user, accounts })
  if (!accounts.length) {
    out(`No ${app} accounts are connected for ${user}. Connect one through a Connect Link (a run answers PIPEDREAM_ACCOUNT_MISSING with one).`)
    return
  }
  out(
    table(
      ['account_id', 'name', 'app', 'healthy', 'created'],
      accounts.map((a) => [
        [a.id, c.cyan],
        a.name || '',
        a.app || '',
        a.dead ? ['dead', c.red] : a.healthy ? ['yes', c.green] : ['no', c.yellow],
        a.created_at || '',
      ]),
    ),
  )
  const healthy = accounts.filter((a) => a.healthy && !a.dead)
  out(
    c.dim(
      healthy.length === 1
        ? `${accounts.length} account(s); runs use ${healthy[0].id} unless --account says otherwise.`
        : `${accounts.length} account(s), ${healthy.length} healthy; ${healthy.length > 1 ? 'runs need --account to choose one.' : 'none can be used for a run.'}`,
    ),
  )
}

// Offboarding cannot be undone: the user's connected accounts go with them. Confirmed by
// --yes, or on a terminal by typing the id back; a script without --yes is refused (exit 2).
async function cmdDeleteUser(user, opts) {
  // One client for both calls: one token request, one limiter.
  const client = envClient(process.env)
  const accounts = await withSpinner(`Listing ${user}'s accounts…`, client.listAccounts({ external_user_id: user }))
  if (!opts.yes) {
    // An account's app is optional in the API's schema: one without it names none here.
    const apps = [...new Set(accounts.map((a) => a.app).filter(Boolean))]
    const what = `Deleting ${user} removes ${accounts.length} connected account(s)${apps.length ? ` (${apps.join(', ')})` : ''}`
    if (!process.stdin.isTTY || opts.json) throw usageError(`${what} and cannot be undone; pass --yes to confirm.`)
    const typed = await ask(`${what} and cannot be undone. Type the external user id to confirm: `)
    if (typed !== user) {
      err('Not deleted: the id typed did not match.')
      process.exitCode = 1
      return
    }
  }
  await withSpinner(`Deleting ${user}…`, client.deleteUser(user))
  if (opts.json) return printJson({ external_user_id: user, deleted: true, accounts_removed: accounts.length })
  out(`Deleted external user ${user} and ${accounts.length} connected account(s).`)
}

/** One line read from the terminal. */
function ask(question) {
  const rl = require('node:readline').createInterface({ input: process.stdin, output: process.stderr })
  return new Promise((resolve) => rl.question(question, (answer) => (rl.close(), resolve(answer.trim()))))
}

async function cmdEmulator(opts) {
  const user = opts.user
  const seeds = opts.account && opts.account.length ? opts.account : ['gmail:Work Gmail', 'slack:Work Slack', 'google_sheets:Team Sheets']
  const accounts = seeds.map((seed) => {
    const [app, ...name] = seed.split(':')
    return { external_user_id: user, app, ...(name.length ? { name: name.join(':') } : {}) }
  })
  // In this process (linked into the addon): no binary to find, nothing to build.
  let emu
  try {
    emu = await pd().startEmulator({ port: opts.port, accounts })
  } catch (e) {
    throw new CliError('PIPEDREAM_EMULATOR_FAILED', `The emulator did not start: ${String((e && e.message) || e).split('\n')[0]}`)
  }
  const { url, clientOptions } = emu
  const env = {
    PIPEDREAM_BASE_URL: url,
    PIPEDREAM_CLIENT_ID: clientOptions.clientId,
    PIPEDREAM_CLIENT_SECRET: clientOptions.clientSecret,
    PIPEDREAM_PROJECT_ID: clientOptions.projectId,
    PIPEDREAM_EXTERNAL_USER_ID: user,
  }
  // The seeded accounts' ids, read back through the same API the `accounts` command uses.
  let seeded = []
  try {
    seeded = await listAccounts(env, undefined, user)
  } catch (e) {
    err(ce.yellow(`warning: could not list the seeded accounts: ${String(e.message).split('\n')[0]}`))
  }

  const stopped = new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => resolve(signal))
  })

  if (opts.json) {
    out(JSON.stringify({ url, pid: process.pid, env, accounts: seeded.map((a) => ({ id: a.id, app: a.app, name: a.name })) }))
  } else {
    err(`${ce.green('●')} Pipedream Connect emulator listening on ${ce.bold(url)} (pid ${process.pid})`)
    for (const a of seeded) err(`  seeded account ${ce.cyan(a.id)} ${a.app} "${a.name}" for ${user}`)
    err('Point the CLI (or the package) at it from another shell:')
    err()
    // The export lines alone go to stdout, so they can be captured or piped.
    out('unset PIPEDREAM_API_TOKEN')
    for (const [k, v] of Object.entries(env)) out(`export ${k}=${shellQuote(v)}`)
    err()
    err(ce.dim(`Then e.g. \`${NAME} search gmail\`. Ctrl-C stops the emulator.`))
  }
  // The server runs on the addon's threads, which do not keep Node alive by themselves.
  const keepAlive = setInterval(() => {}, 1 << 30)
  await stopped
  clearInterval(keepAlive)
  await emu.close()
}

function shellQuote(v) {
  return /^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${String(v).replace(/'/g, `'\\''`)}'`
}

// ---------------------------------------------------------------------------------------------
// Command line: each command's flags, parsed with util.parseArgs

const JSON_FLAG = { name: 'json', type: 'boolean', desc: 'print the raw result as JSON (for scripts)' }
const USER_FLAG = { name: 'user', short: 'u', arg: '<external_user_id>', desc: 'the external user (default PIPEDREAM_EXTERNAL_USER_ID)' }

const COMMANDS = {
  search: {
    args: ['query'],
    desc: 'find apps by name, slug or description (searchServices)',
    flags: [JSON_FLAG, { name: 'limit', short: 'l', arg: '<n>', desc: 'most apps to list, 1-100 (default 20)', parse: intArg(1, 100) }],
    run: cmdSearch,
  },
  components: {
    args: ['app'],
    desc: "list an app's actions or triggers, ranked by --query (getComponents)",
    flags: [
      JSON_FLAG,
      { name: 'query', short: 'q', arg: '<words>', desc: 'words to match in names, descriptions and keys' },
      { name: 'type', short: 't', arg: '<type>', desc: 'action or trigger (default action)', parse: oneOf('action', 'trigger') },
      { name: 'limit', short: 'l', arg: '<n>', desc: 'most components to list, 1-100 (default 50)', parse: intArg(1, 100) },
    ],
    run: cmdComponents,
  },
  component: {
    args: ['component_id'],
    desc: "show one component's params: type, required, default, remote options (getComponent)",
    flags: [JSON_FLAG, { name: 'version', arg: '<version>', desc: 'a specific version (default the latest)' }],
    run: cmdComponent,
  },
  run: {
    args: ['component_id'],
    desc: 'run an action once (executePipedreamConnect) and print its summary and result',
    flags: [
      JSON_FLAG,
      { name: 'params', short: 'p', arg: '<json>', desc: "the action's params as a JSON object", parse: jsonObjectArg },
      { name: 'account', short: 'a', arg: '<apn_id>', desc: "the connected account to use (default: the user's only healthy one)" },
      USER_FLAG,
      { name: 'version', arg: '<version>', desc: 'a specific component version' },
      { name: 'store', arg: '<json>', desc: 'result paths to variable names, e.g. \'{"count":"total"}\'', parse: jsonObjectArg },
      { name: 'create-records', arg: '<type>', desc: 'make records of this type from the result' },
    ],
    run: cmdRun,
  },
  accounts: {
    args: ['app'],
    desc: "list an external user's connected accounts for an app (Connect REST API)",
    flags: [JSON_FLAG, USER_FLAG],
    run: cmdAccounts,
  },
  'delete-user': {
    args: ['external_user_id'],
    desc: 'offboard an external user: delete them and every account they connected (deleteUser)',
    flags: [JSON_FLAG, { name: 'yes', short: 'y', type: 'boolean', desc: 'confirm without a prompt (needed when not on a terminal)' }],
    run: cmdDeleteUser,
  },
  emulator: {
    args: [],
    desc: 'start the local Connect API emulator and print the variables that point the CLI at it',
    flags: [
      JSON_FLAG,
      { name: 'port', arg: '<n>', desc: 'port to listen on, 0-65535 (default 0: a free one)', parse: intArg(0, 65535), default: 0 },
      { name: 'user', short: 'u', arg: '<external_user_id>', desc: 'the external user the seeded accounts belong to (default "cli-user")', default: 'cli-user' },
      { name: 'account', arg: '<app[:name]>', desc: 'seed a connected account (repeatable; default gmail, slack, google_sheets)', multiple: true },
    ],
    run: (opts) => cmdEmulator(opts),
  },
}

const HELP_FLAG = { name: 'help', short: 'h', type: 'boolean', desc: 'display help for command' }
const flagLabel = (f) => `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.arg ? ` ${f.arg}` : ''}`
const camel = (s) => s.replace(/-([a-z])/g, (_, ch) => ch.toUpperCase())
const usageLine = (name) => {
  const cmd = COMMANDS[name]
  return `${name} [options]${cmd.args.map((a) => ` <${a}>`).join('')}`
}

/** Two columns, the second wrapped (to the terminal on a TTY, else 80 columns). */
function helpList(items) {
  const width = Math.min(terminalWidth() || 80, 100)
  const left = Math.max(...items.map(([l]) => l.length)) + 2
  return items
    .map(([l, r]) => {
      const lines = wrap(r, Math.max(20, width - left - 2))
      return [`  ${l.padEnd(left)}${lines[0]}`, ...lines.slice(1).map((x) => `  ${' '.repeat(left)}${x}`)].join('\n')
    })
    .join('\n')
}

function wrapText(text) {
  const width = Math.min(terminalWidth() || 80, 100)
  return text
    .split('\n')
    .map((p) => wrap(p, width).join('\n'))
    .join('\n')
}

function mainHelp() {
  return [
    `Usage: ${NAME} [options] [command]`,
    '',
    wrapText('Explore and run Pipedream Connect components from a terminal.'),
    wrapText(
      'Configured by PIPEDREAM_BASE_URL, PIPEDREAM_PROJECT_ID, PIPEDREAM_CLIENT_ID + PIPEDREAM_CLIENT_SECRET ' +
        `(or PIPEDREAM_API_TOKEN), PIPEDREAM_EXTERNAL_USER_ID. \`${NAME} emulator\` starts a local API.`,
    ),
    '',
    'Options:',
    helpList([
      ['-V, --version', 'output the version number'],
      ['-h, --help', 'display help for command'],
    ]),
    '',
    'Commands:',
    helpList([...Object.keys(COMMANDS).map((n) => [usageLine(n), COMMANDS[n].desc]), ['help [command]', 'display help for command']]),
    '',
    wrapText(
      'Exit codes: 0 success (also when a reader such as head stops reading the output early), ' +
        '1 a failed call (its error code is printed), 2 misuse (unknown command or flag, missing argument, value out of range).',
    ),
  ].join('\n')
}

function commandHelp(name) {
  const cmd = COMMANDS[name]
  return [
    `Usage: ${NAME} ${usageLine(name)}`,
    '',
    wrapText(cmd.desc),
    '',
    'Options:',
    helpList([...cmd.flags, HELP_FLAG].map((f) => [flagLabel(f), f.desc])),
  ].join('\n')
}

/** A command's positionals and options from its argv; misuse throws a usage error. */
function parseCommand(name, argv) {
  const cmd = COMMANDS[name]
  const flags = [...cmd.flags, HELP_FLAG]
  const options = {}
  for (const f of flags) options[f.name] = { type: f.type || 'string', ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) }
  // Not strict: every token is checked here, so the messages name the flag and its command.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { help: true }
  const known = new Map(flags.map((f) => [f.name, f]))
  const isFlag = (v) => /^--?[A-Za-z]/.test(v) && flags.some((f) => v === `--${f.name}` || v.startsWith(`--${f.name}=`) || (f.short && v.startsWith(`-${f.short}`)))
  const opts = {}
  const positionals = []
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value)
    if (t.kind !== 'option') continue
    const f = known.get(t.name)
    if (!f) throw usageError(`unknown option '${t.rawName}' for ${name} (its options: ${flags.map((x) => `--${x.name}`).join(', ')}).`)
    const key = camel(f.name)
    if (f.type === 'boolean') {
      if (t.inlineValue) throw usageError(`option '--${f.name}' takes no value.`)
      opts[key] = true
      continue
    }
    if (t.value === undefined || (!t.inlineValue && isFlag(t.value))) {
      throw usageError(`option '${flagLabel(f)}' needs a value${f.desc ? `: ${f.desc}` : ''}.`)
    }
    const value = f.parse ? f.parse(t.value, `--${f.name}`) : t.value
    if (f.multiple) (opts[key] = opts[key] || []).push(value)
    else opts[key] = value
  }
  for (const f of flags) if (f.default !== undefined && opts[camel(f.name)] === undefined) opts[camel(f.name)] = f.default
  const wanted = cmd.args
  if (positionals.length < wanted.length) {
    throw usageError(`missing required argument <${wanted[positionals.length]}>: ${NAME} ${usageLine(name)}.`)
  }
  if (positionals.length > wanted.length) {
    const extra = positionals.slice(wanted.length).map((p) => JSON.stringify(p)).join(' ')
    throw usageError(
      `too many arguments for ${name}: ${extra} (it takes ${wanted.length ? wanted.map((a) => `<${a}>`).join(' ') : 'none'}` +
        `${wanted.length === 1 ? '; quote words that belong together' : ''}).`,
    )
  }
  for (let i = 0; i < wanted.length; i++) {
    if (!positionals[i].trim()) throw usageError(`<${wanted[i]}> must not be empty: ${NAME} ${usageLine(name)}.`)
  }
  return { positionals, opts }
}

/** Levenshtein distance, for "did you mean". */
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  }
  return d[a.length][b.length]
}

// ---------------------------------------------------------------------------------------------
// Wiring

function reportError(e, opts = {}) {
  const code = (e && e.code) || 'PIPEDREAM_CLI_ERROR'
  const message = e && e.message
  if (opts.json && !(e && e.printed)) {
    printJson({ error: code, message, ...(e && e.details ? { details: e.details } : {}), ...(e && e.maybe_executed ? { maybe_executed: true } : {}) })
  }
  const ctx = { component_id: opts.componentId, app: opts.app }
  const text = code === 'PIPEDREAM_AUTH_MISSING' ? authMissingText() : cliText(message, ctx)
  err(`${ce.red('error')} ${ce.bold(code)}: ${text}`)
  if (e && Array.isArray(e.details)) for (const d of e.details) err(`  - ${d.param}: ${cliText(d.problem, ctx)}`)
  if (e && e.maybe_executed) err(ce.yellow('  The run request was sent: the action may have run. Check before running it again.'))
  if (e && e.usage) err(ce.dim(`(see ${NAME} ${opts.command ? `${opts.command} ` : ''}--help)`))
  process.exitCode = (e && e.exitCode) || 1
}

/** The package's text for this code speaks of workflow nodes; the CLI is configured by env. */
function authMissingText() {
  return (
    'Pipedream authentication required. Set PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET (OAuth client ' +
    `credentials, recommended) or PIPEDREAM_API_TOKEN, with PIPEDREAM_PROJECT_ID; or start a local API with \`${NAME} emulator\`.`
  )
}

async function main(argv) {
  const [first, ...rest] = argv
  // --json anywhere before `--` asks for a JSON error body on stdout too.
  const end = argv.indexOf('--')
  const wantsJson = (end < 0 ? argv : argv.slice(0, end)).includes('--json')
  if (first === undefined) {
    err(mainHelp())
    process.exitCode = 2
    return
  }
  if (first === '-h' || first === '--help') return out(mainHelp())
  if (first === '-V' || first === '--version') return out(require('../package.json').version)
  if (first === 'help') {
    if (rest[0] === undefined) return out(mainHelp())
    if (COMMANDS[rest[0]]) return out(commandHelp(rest[0]))
  }
  const name = first === 'help' ? rest[0] : first
  const cmd = COMMANDS[name]
  let opts = { json: wantsJson, command: cmd ? name : undefined }
  try {
    if (!cmd) {
      if (name.startsWith('-')) throw usageError(`unknown option '${name}' (options go after the command, e.g. ${NAME} search gmail --json).`)
      const near = Object.keys(COMMANDS).filter((n) => distance(n, name) <= 2)
      throw usageError(`unknown command '${name}'${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; commands: ${Object.keys(COMMANDS).join(', ')}.`)
    }
    const parsed = parseCommand(name, rest)
    if (parsed.help) return out(commandHelp(name))
    opts = { ...parsed.opts, command: name }
    if (name === 'run' || name === 'component') opts.componentId = parsed.positionals[0]
    if (name === 'components' || name === 'accounts') opts.app = parsed.positionals[0]
    await cmd.run(...parsed.positionals, opts)
  } catch (e) {
    reportError(e, opts)
  }
}

main(process.argv.slice(2)).catch((e) => reportError(e))
