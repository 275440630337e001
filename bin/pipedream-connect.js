#!/usr/bin/env node
'use strict'
// pipedream-connect: try the package from a terminal. Discovery, one component's schema, a run,
// an external user's connected accounts, and a local emulator to point it all at.
//
// Configuration comes from the PIPEDREAM_* environment variables, read by the package's module
// functions (see the README's configuration table). Tables for people by default, `--json` for
// scripts; exit code 0 on success, 1 when the call failed (the error code is printed), 2 for a
// usage error.
const { spawn } = require('node:child_process')
const path = require('node:path')
const { Command, InvalidArgumentError } = require('commander')
const Table = require('cli-table3')
const picocolors = require('picocolors')
const pd = require('..')

const ROOT = path.resolve(__dirname, '..')

// Colours only on a terminal. picocolors' own detection also turns them on when `CI` is set,
// even with stdout piped, so the decision is made here per stream.
const colorsFor = (stream) =>
  picocolors.createColors(
    !('NO_COLOR' in process.env) &&
      (('FORCE_COLOR' in process.env && process.env.FORCE_COLOR !== '0') ||
        (Boolean(stream.isTTY) && process.env.TERM !== 'dumb')),
  )
const c = colorsFor(process.stdout)
const ce = colorsFor(process.stderr)

class CliError extends Error {
  constructor(code, message, extra = {}) {
    super(message)
    this.code = code
    Object.assign(this, extra)
  }
}

// ---------------------------------------------------------------------------------------------
// Output helpers

const out = (line = '') => process.stdout.write(`${line}\n`)
const err = (line = '') => process.stderr.write(`${line}\n`)

function table(head, rows, colWidths) {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    // cli-table3 colours the header and border itself (through @colors/colors, which has its own
    // TTY detection); leave colouring to `c` so piped output stays plain.
    style: { head: [], border: [], compact: false },
    wordWrap: true,
    wrapOnWordBoundary: true,
    ...(colWidths ? { colWidths } : {}),
  })
  for (const r of rows) t.push(r.map((v) => (v === undefined || v === null ? '' : String(v))))
  return t.toString()
}

/** Width for a free-text column: what the terminal has left, or a fixed 60 when piped. */
function textWidth(used) {
  const cols = process.stdout.isTTY ? process.stdout.columns || 100 : 140
  return Math.max(30, Math.min(80, cols - used))
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

/** Discovery answers resolve with `error` + `message` instead of rejecting: make that a failure. */
function failIfError(res, opts) {
  if (res && res.error) {
    if (opts.json) printJson(res)
    throw new CliError(res.error, res.message, { printed: Boolean(opts.json) })
  }
}

// ---------------------------------------------------------------------------------------------
// Argument parsers

function intArg(name) {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number.`)
    return n
  }
}

function jsonObjectArg(name) {
  return (value) => {
    let parsed
    try {
      parsed = JSON.parse(value)
    } catch (e) {
      throw new InvalidArgumentError(`${name} is not valid JSON (${e.message}).`)
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"query":"from:me"}'.`)
    }
    return parsed
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

async function cmdSearch(query, opts) {
  const args = { query }
  if (opts.limit !== undefined) args.limit = opts.limit
  const res = await withSpinner('Searching apps…', pd.searchServices(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  if (res.services.length) {
    out(
      table(
        ['app_slug', 'name', 'auth', 'categories', 'description'],
        res.services.map((s) => [
          c.cyan(s.app_slug),
          s.name,
          s.auth_type || '',
          (s.categories || []).join(', '),
          s.description || '',
        ]),
        [null, null, null, null, textWidth(70)],
      ),
    )
  }
  out(c.dim(res.message))
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
  const res = await withSpinner(`Listing ${app} components…`, pd.getComponents(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  if (res.components.length) {
    out(
      table(
        ['component_id', 'name', 'params (? = optional)'],
        res.components.map((x) => [c.cyan(x.component_id), x.name || '', (x.parameters || []).map(paramSummary).join(', ')]),
        [null, null, textWidth(60)],
      ),
    )
  }
  out(c.dim(res.message))
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
  const res = await withSpinner(`Loading ${id}…`, pd.getComponent(args))
  failIfError(res, opts)
  if (opts.json) return printJson(res)
  out(`${c.bold(res.name || res.component_id)} ${c.dim(`(${res.component_id}@${res.version || 'latest'}, ${res.component_type || 'action'})`)}`)
  if (res.description) out(res.description)
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
          c.cyan(r.name),
          r.type,
          r.required ? c.bold('yes') : 'no',
          r.default === undefined ? '' : JSON.stringify(r.default),
          r.description,
          r.notes,
        ]),
        [null, null, null, null, textWidth(90), null],
      ),
    )
  } else {
    out('No params.')
  }
  const remote = rows.filter((r) => r.remote_options).map((r) => r.name)
  if (remote.length) out(c.dim(`Values for ${remote.join(', ')} come from remote options (configureProp, with the user's account).`))
  out(c.dim(res.message))
}

async function cmdRun(id, opts) {
  const config = { component_id: id, params: opts.params || {} }
  if (opts.version !== undefined) config.version = opts.version
  if (opts.account !== undefined) config.auth_config = { account_id: opts.account }
  if (opts.store !== undefined) config.store = opts.store
  if (opts.createRecords !== undefined) config.create_records = opts.createRecords
  const context = { workflowId: 'pipedream-connect-cli', alias: 'cli' }
  if (opts.user !== undefined) context.externalUserId = opts.user
  const res = await withSpinner(`Running ${id}…`, pd.executePipedreamConnect(config, context))
  if (opts.json) return printJson(res)
  const m = res.meta || {}
  const bits = [`${m.duration_ms} ms`, `${m.attempts} attempt${m.attempts === 1 ? '' : 's'}`, `token: ${m.token_source}`]
  if (m.account_id) bits.unshift(`account ${m.account_id}`)
  if (m.replayed) bits.push('replayed')
  out(`${c.green('✓')} ${c.bold(res.component_id)} ran ${c.dim(`(${bits.join(', ')})`)}`)
  if (res.summary) out(`${c.bold('Summary:')} ${res.summary}`)
  const stored = Object.entries(res.stored || {})
  if (stored.length) {
    out(c.bold('Stored variables:'))
    out(table(['variable', 'value'], stored.map(([k, v]) => [k, truncate(JSON.stringify(v), 200)]), [null, textWidth(30)]))
  }
  if (res.records && res.records.length) out(`${c.bold('Records:')} ${res.records.map((r) => r.id).join(', ')}`)
  for (const w of m.warnings || []) err(ce.yellow(`warning: ${w}`))
  out(c.bold('Result:'))
  out(JSON.stringify(res.result, null, 2))
}

// Connected accounts, through the addon: its auth, retries, rate limiter, refusal of
// redirects and redaction of server text apply here as everywhere. `env` is the environment to
// configure the client from (the emulator command passes its own).
async function listAccounts(env, app, user) {
  const client = newClient({
    baseUrl: env.PIPEDREAM_BASE_URL || undefined,
    projectId: env.PIPEDREAM_PROJECT_ID || undefined,
    environment: env.PIPEDREAM_PROJECT_ENVIRONMENT || undefined,
    clientId: env.PIPEDREAM_CLIENT_ID || undefined,
    clientSecret: env.PIPEDREAM_CLIENT_SECRET || undefined,
    token: env.PIPEDREAM_API_TOKEN || undefined,
    // A person is waiting: fail within seconds rather than after the library's full backoff.
    retry: { maxRetries: 2, maxDelayMs: 2000 },
  })
  return client.listAccounts({ external_user_id: user, ...(app ? { app } : {}) })
}

/** A client for these options; a bad setting is the CLI's configuration error. */
function newClient(options) {
  try {
    return new pd.PipedreamClient(options)
  } catch (e) {
    throw new CliError('PIPEDREAM_INVALID_CONFIG', e.message)
  }
}

async function cmdAccounts(app, opts) {
  const user = opts.user || process.env.PIPEDREAM_EXTERNAL_USER_ID
  if (!user) throw new CliError('PIPEDREAM_INVALID_ARGS', 'Say whose accounts: --user <external_user_id> (or set PIPEDREAM_EXTERNAL_USER_ID).', { exitCode: 2 })
  const accounts = await withSpinner(`Listing ${app} accounts…`, listAccounts(process.env, app, user))
  if (opts.json) return printJson({ app, external_user_id: user, accounts })
  if (!accounts.length) {
    out(`No ${app} accounts are connected for ${user}. Connect one through a Connect Link (a run or configureProp answers PIPEDREAM_ACCOUNT_MISSING with one).`)
    return
  }
  out(
    table(
      ['account_id', 'name', 'app', 'healthy', 'created'],
      accounts.map((a) => [
        c.cyan(a.id),
        a.name || '',
        a.app || '',
        a.dead ? c.red('dead') : a.healthy ? c.green('yes') : c.yellow('no'),
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

const EMULATOR_DEFAULTS = { clientId: 'emulator-client', clientSecret: 'emulator-secret', projectId: 'proj_emulator' }

async function cmdEmulator(opts) {
  const bin =
    opts.bin ||
    process.env.PIPEDREAM_EMULATOR_BIN ||
    path.join(ROOT, 'target', 'debug', process.platform === 'win32' ? 'pipedream-emulator.exe' : 'pipedream-emulator')
  const user = opts.user
  const seeds = opts.account && opts.account.length ? opts.account : ['gmail:Work Gmail', 'slack:Work Slack', 'google_sheets:Team Sheets']
  const args = ['--port', String(opts.port)]
  for (const s of seeds) args.push('--account', `${user}:${s}`)
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] })

  const url = await new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new CliError('PIPEDREAM_EMULATOR_FAILED', 'The emulator did not start within 15 s.'))
    }, 15000)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(new CliError('PIPEDREAM_EMULATOR_FAILED', `Cannot start ${bin}: ${e.message}. Build it with \`npm run build:emulator\` or set PIPEDREAM_EMULATOR_BIN.`))
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new CliError('PIPEDREAM_EMULATOR_FAILED', `The emulator exited with ${code} before listening.`))
    })
    child.stdout.on('data', (d) => {
      buf += d
      const m = buf.match(/listening on (http:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        child.stdout.removeAllListeners('data')
        child.stdout.resume()
        resolve(m[1])
      }
    })
  })

  const env = {
    PIPEDREAM_BASE_URL: url,
    PIPEDREAM_CLIENT_ID: EMULATOR_DEFAULTS.clientId,
    PIPEDREAM_CLIENT_SECRET: EMULATOR_DEFAULTS.clientSecret,
    PIPEDREAM_PROJECT_ID: EMULATOR_DEFAULTS.projectId,
    PIPEDREAM_EXTERNAL_USER_ID: user,
  }
  // The seeded accounts' ids, read back through the same API the `accounts` command uses.
  let accounts = []
  try {
    accounts = await listAccounts(env, undefined, user)
  } catch (e) {
    err(ce.yellow(`warning: could not list the seeded accounts: ${e.message}`))
  }

  const stop = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    process.exitCode = signal === 'SIGINT' ? 0 : process.exitCode
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGHUP', () => stop('SIGHUP'))

  if (opts.json) {
    out(JSON.stringify({ url, pid: child.pid, env, accounts: accounts.map((a) => ({ id: a.id, app: a.app, name: a.name })) }))
  } else {
    err(`${ce.green('●')} Pipedream Connect emulator listening on ${ce.bold(url)} (pid ${child.pid})`)
    for (const a of accounts) err(`  seeded account ${ce.cyan(a.id)} ${a.app} "${a.name}" for ${user}`)
    err('Point the CLI (or the package) at it from another shell:')
    err()
    // The export lines alone go to stdout, so they can be captured or piped.
    out('unset PIPEDREAM_API_TOKEN')
    for (const [k, v] of Object.entries(env)) out(`export ${k}=${shellQuote(v)}`)
    err()
    err(ce.dim('Then e.g. `pipedream-connect search gmail`. Ctrl-C stops the emulator.'))
  }

  const code = await new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  if (code.code !== 0 && code.signal !== 'SIGTERM' && process.exitCode === undefined) {
    throw new CliError('PIPEDREAM_EMULATOR_FAILED', `The emulator exited with ${code.code ?? code.signal}.`)
  }
}

function shellQuote(v) {
  return /^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${String(v).replace(/'/g, `'\\''`)}'`
}

// ---------------------------------------------------------------------------------------------
// Wiring

function reportError(e, opts = {}) {
  const code = (e && e.code) || 'PIPEDREAM_CLI_ERROR'
  if (opts.json && !e.printed) {
    printJson({ error: code, message: e && e.message, ...(e && e.details ? { details: e.details } : {}), ...(e && e.maybe_executed ? { maybe_executed: true } : {}) })
  }
  err(`${ce.red('error')} ${ce.bold(code)}: ${e && e.message}`)
  if (e && Array.isArray(e.details)) for (const d of e.details) err(`  - ${d.param}: ${d.problem}`)
  if (e && e.maybe_executed) err(ce.yellow('  The run request was sent: the action may have run. Check before running it again.'))
  process.exitCode = (e && e.exitCode) || 1
}

function action(fn) {
  return async (...args) => {
    const cmd = args[args.length - 1]
    const opts = cmd.opts()
    try {
      await fn(...args.slice(0, -2), opts)
    } catch (e) {
      reportError(e, opts)
    }
  }
}

function buildProgram() {
  const program = new Command()
  program
    .name('pipedream-connect')
    .description(
      'Explore and run Pipedream Connect components from a terminal.\n' +
        'Configured by PIPEDREAM_BASE_URL, PIPEDREAM_PROJECT_ID, PIPEDREAM_CLIENT_ID + PIPEDREAM_CLIENT_SECRET\n' +
        '(or PIPEDREAM_API_TOKEN), PIPEDREAM_EXTERNAL_USER_ID. `pipedream-connect emulator` starts a local API.',
    )
    .version(require('../package.json').version)
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      // commander's own usage errors carry the same kind of code as the package's.
      outputError: (s, write) => write(ce.red(s.replace(/^error: /, 'error PIPEDREAM_INVALID_ARGS: '))),
    })
    // Usage errors exit 2 (1 is a failed call); --help and --version exit 0.
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))

  const sub = (name, desc) =>
    program
      .command(name)
      .description(desc)
      .option('--json', 'print the raw result as JSON (for scripts)')
      .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
      .showHelpAfterError('(add --help for usage)')

  sub('search <query>', 'find apps by name, slug or description (searchServices)')
    .option('-l, --limit <n>', 'most apps to list, 1-100 (default 20)', intArg('--limit'))
    .action(action(cmdSearch))

  sub('components <app>', "list an app's actions or triggers, ranked by --query (getComponents)")
    .option('-q, --query <words>', 'words to match in names, descriptions and keys')
    .option('-t, --type <type>', 'action or trigger (default action)')
    .option('-l, --limit <n>', 'most components to list, 1-100 (default 50)', intArg('--limit'))
    .action(action(cmdComponents))

  sub('component <component_id>', "show one component's params: type, required, default, remote options (getComponent)")
    .option('--version <version>', 'a specific version (default the latest)')
    .action(action(cmdComponent))

  sub('run <component_id>', 'run an action once (executePipedreamConnect) and print its summary and result')
    .option('-p, --params <json>', "the action's params as a JSON object", jsonObjectArg('--params'))
    .option('-a, --account <apn_id>', 'the connected account to use (default: the user\'s only healthy one)')
    .option('-u, --user <external_user_id>', 'the external user (default PIPEDREAM_EXTERNAL_USER_ID)')
    .option('--version <version>', 'a specific component version')
    .option('--store <json>', 'result paths to variable names, e.g. \'{"count":"total"}\'', jsonObjectArg('--store'))
    .option('--create-records <type>', 'make records of this type from the result')
    .action(action(cmdRun))

  sub('accounts <app>', "list an external user's connected accounts for an app (Connect REST API)")
    .option('-u, --user <external_user_id>', 'the external user (default PIPEDREAM_EXTERNAL_USER_ID)')
    .action(action(cmdAccounts))

  sub('emulator', 'start the local Connect API emulator and print the variables that point the CLI at it')
    .option('--port <n>', 'port to listen on (0 picks a free one)', intArg('--port'), 0)
    .option('-u, --user <external_user_id>', 'the external user the seeded accounts belong to', 'cli-user')
    .option('--account <app[:name]>', 'seed a connected account (repeatable; default gmail, slack, google_sheets)', (v, prev) => [...(prev || []), v])
    .option('--bin <path>', 'the emulator binary (default PIPEDREAM_EMULATOR_BIN or target/debug/pipedream-emulator)')
    .action(async (cmdOpts, cmd) => {
      try {
        await cmdEmulator(cmd.opts())
      } catch (e) {
        reportError(e, cmd.opts())
      }
    })

  return program
}

buildProgram()
  .parseAsync(process.argv)
  .catch((e) => reportError(e))
