'use strict'
// The `pipedream-connect` CLI (bin/pipedream-connect.js), run as a real child process against the
// emulator: every command, --json, --help, exit codes, and plain output when not on a terminal.
const { execFile, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startEmulator, CLIENT_ID, CLIENT_SECRET, PROJECT_ID, ROOT } = require('./helpers/emulator')

const BIN = path.join(ROOT, 'bin', 'pipedream-connect.js')
const USER = 'cli-test-user'
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[/

let emu
beforeAll(async () => {
  emu = await startEmulator(['--account', `${USER}:gmail:Work Gmail`, '--account', `${USER}:slack:Work Slack`])
})
afterAll(() => emu.stop())
beforeEach(() => emu.reset())

/** The environment without any PIPEDREAM_* or colour variable of the machine running the tests. */
function cleanEnv() {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PIPEDREAM_') || k === 'FORCE_COLOR' || k === 'NO_COLOR') continue
    env[k] = v
  }
  return env
}

function emuEnv(extra = {}) {
  return {
    ...cleanEnv(),
    PIPEDREAM_BASE_URL: emu.url,
    PIPEDREAM_CLIENT_ID: CLIENT_ID,
    PIPEDREAM_CLIENT_SECRET: CLIENT_SECRET,
    PIPEDREAM_PROJECT_ID: PROJECT_ID,
    PIPEDREAM_EXTERNAL_USER_ID: USER,
    ...extra,
  }
}

/** Runs the bin; resolves with { code, stdout, stderr } whatever the exit code. */
function cli(args, env = emuEnv()) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 20000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr })
    })
  })
}

const runsOf = async (id) => (await emu.runs()).filter((r) => r.id === id)

describe('search', () => {
  test('prints a table with the matching app and the message', async () => {
    const r = await cli(['search', 'gmail'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/│ gmail\s+│ Gmail/)
    expect(r.stdout).toMatch(/app_slug/)
    expect(r.stdout).toMatch(/Found 1 service matching "gmail"/)
    expect(r.stderr).toBe('')
  })

  test('--json prints the result with services', async () => {
    const r = await cli(['search', 'gmail', '--json', '--limit', '3'])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(Array.isArray(res.services)).toBe(true)
    expect(res.services.map((s) => s.app_slug)).toContain('gmail')
    expect(res.services.length).toBeLessThanOrEqual(3)
    expect(res.error).toBeUndefined()
  })

  test('an out-of-range limit is misuse (exit 2), with a JSON error body under --json', async () => {
    const r = await cli(['search', 'gmail', '--limit', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error PIPEDREAM_INVALID_ARGS: --limit must be a whole number from 1 to 100, got "0"/m)
    const json = await cli(['search', 'gmail', '--limit', '0', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({ error: 'PIPEDREAM_INVALID_ARGS', message: expect.stringMatching(/--limit .*1 to 100/) })
  })
})

describe('components', () => {
  test("lists an app's actions", async () => {
    const r = await cli(['components', 'gmail'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/gmail-search-emails/)
    expect(r.stdout).toMatch(/gmail-find-email/)
    expect(r.stdout).toMatch(/Found \d+ Gmail actions/)
  })

  test('--query ranks by words; --json gives the components', async () => {
    const r = await cli(['components', 'gmail', '--query', 'search emails', '--limit', '2', '--json'])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(res.app_slug).toBe('gmail')
    expect(res.components.length).toBeLessThanOrEqual(2)
    expect(res.components[0].component_id).toBe('gmail-search-emails')
    const table = await cli(['components', 'gmail', '-q', 'search emails', '-l', '2'])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/gmail-search-emails\s+│ Search Emails\s+│ query: string, maxResults\?: integer/)
  })

  test('triggers with --type', async () => {
    const r = await cli(['components', 'slack', '--type', 'trigger', '--json'])
    expect(r.code).toBe(0)
    const ids = JSON.parse(r.stdout).components.map((x) => x.component_id)
    expect(ids).toContain('slack-new-message-in-channels')
    expect(ids).not.toContain('slack-send-message')
  })

  test('an unknown app exits non-zero with PIPEDREAM_NOT_FOUND', async () => {
    const r = await cli(['components', 'no_such_app'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error PIPEDREAM_NOT_FOUND: .*`pipedream-connect search <query>`/m)
    expect(r.stdout).toBe('')
  })

  test('piped, a table keeps one line per row (no wrapping)', async () => {
    const json = JSON.parse((await cli(['components', 'gmail', '--json'])).stdout)
    const r = await cli(['components', 'gmail'])
    expect(r.code).toBe(0)
    const rows = r.stdout.split('\n').filter((l) => /^│ gmail-/.test(l))
    expect(rows).toHaveLength(json.components.length)
    for (const x of json.components) expect(rows.some((l) => l.startsWith(`│ ${x.component_id} `) && l.endsWith(' │'))).toBe(true)
    // One rule under the header and none between rows: nothing wrapped onto a second line.
    expect(r.stdout.split('\n').filter((l) => l.startsWith('├'))).toHaveLength(1)
  })
})

describe('component', () => {
  test('shows the params: name, type, required, default, remote options', async () => {
    const r = await cli(['component', 'gmail-search-emails'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Search Emails \(gmail-search-emails@/)
    expect(r.stdout).toMatch(/│ query\s+│ string\s+│ yes\s+│/)
    expect(r.stdout).toMatch(/│ maxResults\s+│ integer\s+│ no\s+│ 20\s+│/)
    expect(r.stdout).toMatch(/│ labelIds\s+│ string\[\]\s+│ no\s+│.*remote options/)
    expect(r.stdout).toMatch(/Values for labelIds come from remote options/)
  })

  test('--json is the getComponent result with input_schema', async () => {
    const r = await cli(['component', 'gmail-search-emails', '--json'])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(res.component_id).toBe('gmail-search-emails')
    expect(res.input_schema.required).toEqual(['query'])
  })

  test('an unknown component fails with PIPEDREAM_NOT_FOUND', async () => {
    const r = await cli(['component', 'gmail-no-such-action'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/PIPEDREAM_NOT_FOUND/)
  })
})

describe('run', () => {
  test('runs the action once with the params and prints summary and result', async () => {
    const r = await cli(['run', 'gmail-search-emails', '--params', '{"query":"from:investor@company.com","maxResults":5}'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/✓ gmail-search-emails ran \(account apn_\w+/)
    expect(r.stdout).toMatch(/Summary: Found \d+ emails/)
    expect(r.stdout).toMatch(/Result:\n\{/)
    const runs = await runsOf('gmail-search-emails')
    expect(runs).toHaveLength(1)
    expect(runs[0].outcome).toBe('ok')
    expect(runs[0].external_user_id).toBe(USER)
    expect(runs[0].configured_props).toMatchObject({ query: 'from:investor@company.com', maxResults: 5 })
  })

  test('--json prints the ExecuteResult; --store fills stored; --user and --account are used', async () => {
    const r = await cli(['run', 'gmail-search-emails', '--params', '{"query":"invoice"}', '--store', '{"count":"total"}', '--json'])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(res.component_id).toBe('gmail-search-emails')
    expect(res.result).toEqual(expect.objectContaining({ emails: expect.any(Array) }))
    expect(res.stored.total).toBe(res.result.count)
    expect(res.meta.account_id).toMatch(/^apn_/)

    const other = await emu.addAccount({ external_user_id: 'someone-else', app: 'gmail', name: 'Other' })
    const viaUser = await cli(['run', 'gmail-search-emails', '--params', '{"query":"a"}', '--user', 'someone-else', '--json'])
    expect(viaUser.code).toBe(0)
    expect(JSON.parse(viaUser.stdout).meta.account_id).toBe(other.id)
    const viaAccount = await cli(['run', 'gmail-search-emails', '-p', '{"query":"b"}', '--account', res.meta.account_id, '--json'])
    expect(viaAccount.code).toBe(0)
    expect(JSON.parse(viaAccount.stdout).meta.account_id).toBe(res.meta.account_id)
    const runs = await runsOf('gmail-search-emails')
    expect(runs.map((x) => x.external_user_id)).toEqual([USER, 'someone-else', USER])
  })

  test('bad params exit non-zero with PIPEDREAM_INVALID_PARAMS and nothing runs', async () => {
    const r = await cli(['run', 'gmail-search-emails', '--params', '{"qury":"x"}'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error PIPEDREAM_INVALID_PARAMS: /m)
    expect(r.stderr).toMatch(/- qury: is not a parameter of this component \(did you mean "query"\?\)/)
    expect(r.stderr).toMatch(/- query: is required/)
    const json = await cli(['run', 'gmail-search-emails', '--params', '{"qury":"x"}', '--json'])
    expect(json.code).toBe(1)
    const body = JSON.parse(json.stdout)
    expect(body.error).toBe('PIPEDREAM_INVALID_PARAMS')
    expect(body.details.map((d) => d.param).sort()).toEqual(['query', 'qury'])
    expect(await runsOf('gmail-search-emails')).toHaveLength(0)
  })

  test('--params that is not a JSON object is a usage error (exit 2) and nothing runs', async () => {
    for (const bad of ['{bad', '[1]']) {
      const r = await cli(['run', 'gmail-search-emails', '--params', bad])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/error PIPEDREAM_INVALID_ARGS: .*--params/)
    }
    expect(await emu.runs()).toHaveLength(0)
  })

  test('no account for the user is PIPEDREAM_ACCOUNT_MISSING', async () => {
    const r = await cli(['run', 'gmail-search-emails', '--params', '{"query":"x"}', '--user', 'nobody-here'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/PIPEDREAM_ACCOUNT_MISSING/)
    expect(await emu.runs()).toHaveLength(0)
  })
})

describe('delete-user', () => {
  test('refuses without --yes when not on a terminal, deletes with it; the emulator shows the effect', async () => {
    await emu.addAccount({ external_user_id: 'leaving-user', app: 'gmail' })
    await emu.addAccount({ external_user_id: 'leaving-user', app: 'slack' })
    await emu.addAccount({ external_user_id: 'staying-user', app: 'slack' })
    const refused = await cli(['delete-user', 'leaving-user'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/PIPEDREAM_INVALID_ARGS: Deleting leaving-user removes 2 connected account\(s\) \(gmail, slack\).*--yes/)
    expect(await emu.requests('/users/')).toHaveLength(0)
    const jsonRefused = await cli(['delete-user', 'leaving-user', '--json'])
    expect(jsonRefused.code).toBe(2)
    expect(JSON.parse(jsonRefused.stdout).error).toBe('PIPEDREAM_INVALID_ARGS')

    const r = await cli(['delete-user', 'leaving-user', '--yes', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ external_user_id: 'leaving-user', deleted: true, accounts_removed: 2 })
    // One OAuth token per CLI run, the listing and the delete sharing one client.
    expect(await emu.requests('/v1/oauth/token$')).toHaveLength(3)
    const deletes = (await emu.requests('/users/')).filter((q) => q.method === 'DELETE')
    expect(deletes.map((q) => q.path)).toEqual([`/v1/connect/${PROJECT_ID}/users/leaving-user`])
    const left = JSON.parse((await cli(['accounts', 'slack', '--user', 'leaving-user', '--json'])).stdout)
    expect(left.accounts).toEqual([])
    const other = JSON.parse((await cli(['accounts', 'slack', '--user', 'staying-user', '--json'])).stdout)
    expect(other.accounts).toHaveLength(1)
    const plain = await cli(['delete-user', 'staying-user', '-y'])
    expect(plain.code).toBe(0)
    expect(plain.stdout).toMatch(/Deleted external user staying-user and 1 connected account\(s\)\./)
  })

  test('an account without its app (optional in the API) is counted, and no blank app is named', async () => {
    const when = '2026-01-01T00:00:00Z'
    const account = (id, app) => ({ id, external_id: 'odd-user', healthy: true, dead: false, created_at: when, updated_at: when, ...app })
    const data = [account('apn_noApp1'), account('apn_gmail1', { app: { name_slug: 'gmail', name: 'Gmail' } })]
    const page_info = { count: 2, total_count: 2, start_cursor: null, end_cursor: null }
    await emu.fault({ path: '/accounts$', method: 'GET', status: 200, body: { data, page_info }, count: 1 })
    const refused = await cli(['delete-user', 'odd-user'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/Deleting odd-user removes 2 connected account\(s\) \(gmail\) and cannot be undone/)
  })

  // A real terminal through util-linux `script`: the CLI sees a TTY and asks for the id back.
  function onTerminal(args, answer) {
    return new Promise((resolve) => {
      const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: emuEnv(), cwd: ROOT })
      let output = ''
      let answered = false
      child.stdout.on('data', (d) => {
        output += d
        if (!answered && output.includes('Type the external user id to confirm')) {
          answered = true
          child.stdin.write(`${answer}\r`)
        }
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, output })))
    })
  }

  test('on a terminal, only the id typed back deletes', async () => {
    await emu.addAccount({ external_user_id: 'tty-user', app: 'gmail' })
    const wrong = await onTerminal(['delete-user', 'tty-user'], 'tty-usr')
    expect(wrong.output).toMatch(/removes 1 connected account\(s\) \(gmail\)/)
    expect(wrong.output).toMatch(/Not deleted/)
    expect(wrong.code).toBe(1)
    expect((await emu.requests('/users/')).filter((q) => q.method === 'DELETE')).toHaveLength(0)
    const right = await onTerminal(['delete-user', 'tty-user'], 'tty-user')
    expect(right.output).toMatch(/Deleted external user tty-user and 1 connected account\(s\)/)
    expect(right.code).toBe(0)
    expect((await emu.requests('/users/')).filter((q) => q.method === 'DELETE')).toHaveLength(1)
  })

  test('needs the user id', async () => {
    const r = await cli(['delete-user', '--yes'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/missing required argument <external_user_id>/)
  })
})

describe('accounts', () => {
  test("lists the user's connected accounts for an app", async () => {
    const added = await emu.addAccount({ external_user_id: 'acct-user', app: 'gmail', name: 'Personal Gmail' })
    const r = await cli(['accounts', 'gmail', '--user', 'acct-user'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(added.id)
    expect(r.stdout).toMatch(/Personal Gmail\s+│ gmail\s+│ yes/)
    const json = await cli(['accounts', 'gmail', '--user', 'acct-user', '--json'])
    expect(JSON.parse(json.stdout).accounts.map((a) => a.id)).toEqual([added.id])
  })

  test('the seeded account is the one a run uses; other apps and users are left out', async () => {
    const run = JSON.parse((await cli(['run', 'gmail-search-emails', '-p', '{"query":"x"}', '--json'])).stdout)
    const r = await cli(['accounts', 'gmail', '--json'])
    expect(r.code).toBe(0)
    const res = JSON.parse(r.stdout)
    expect(res.external_user_id).toBe(USER)
    expect(res.accounts.map((a) => a.id)).toEqual([run.meta.account_id])
    const none = await cli(['accounts', 'gmail', '--user', 'nobody-here'])
    expect(none.code).toBe(0)
    expect(none.stdout).toMatch(/No gmail accounts are connected for nobody-here/)
  })

  test('works with a static PIPEDREAM_API_TOKEN too', async () => {
    const keyed = await startEmulator(['--api-key', 'cli-static-key-123', '--account', 'k:slack'])
    try {
      const env = { ...cleanEnv(), PIPEDREAM_BASE_URL: keyed.url, PIPEDREAM_PROJECT_ID: PROJECT_ID, PIPEDREAM_API_TOKEN: 'cli-static-key-123' }
      const r = await cli(['accounts', 'slack', '--user', 'k', '--json'], env)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).accounts).toHaveLength(1)
      expect((await keyed.requests('/v1/oauth/token')).length).toBe(0)
    } finally {
      await keyed.stop()
    }
  })

  test('failures carry a code: no user, wrong secret, no credentials', async () => {
    const noUser = await cli(['accounts', 'gmail'], emuEnv({ PIPEDREAM_EXTERNAL_USER_ID: '' }))
    expect(noUser.code).toBe(2)
    expect(noUser.stderr).toMatch(/PIPEDREAM_INVALID_ARGS: .*--user/)
    const badSecret = await cli(['accounts', 'gmail'], emuEnv({ PIPEDREAM_CLIENT_SECRET: 'wrong-secret-value' }))
    expect(badSecret.code).toBe(1)
    expect(badSecret.stderr).toMatch(/PIPEDREAM_UNAUTHORIZED/)
    expect(badSecret.stderr).not.toContain('wrong-secret-value')
    const env = emuEnv()
    delete env.PIPEDREAM_CLIENT_SECRET
    const noCreds = await cli(['accounts', 'gmail'], env)
    expect(noCreds.code).toBe(1)
    expect(noCreds.stderr).toMatch(/PIPEDREAM_INVALID_CONFIG: .*clientSecret/)
    delete env.PIPEDREAM_CLIENT_ID
    const none = await cli(['accounts', 'gmail'], env)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/PIPEDREAM_AUTH_MISSING/)
  })

  test('an error body that echoes the secret is not printed, and a redirect is not followed', async () => {
    const { closedPortUrl } = require('./helpers/emulator')
    await emu.fault({ path: '/accounts$', status: 400, body: { error: `bad secret ${emuEnv().PIPEDREAM_CLIENT_SECRET}` }, count: 1 })
    const echoed = await cli(['accounts', 'gmail', '--user', 'acct-user'])
    expect(echoed.code).toBe(1)
    expect(echoed.stderr).toMatch(/PIPEDREAM_INVALID_ARGS/)
    expect(echoed.stdout + echoed.stderr).not.toContain(emuEnv().PIPEDREAM_CLIENT_SECRET)
    const target = await closedPortUrl()
    await emu.fault({ path: '^/v1/oauth/token$', redirect: `${target}/steal`, count: 1 })
    const redirected = await cli(['accounts', 'gmail', '--user', 'acct-user'])
    expect(redirected.code).toBe(1)
    expect(redirected.stderr).toMatch(/PIPEDREAM_UNEXPECTED_REDIRECT/)
    expect(redirected.stdout + redirected.stderr).not.toContain(emuEnv().PIPEDREAM_CLIENT_SECRET)
  })
})

describe('emulator', () => {
  test('starts an emulator, prints the exports that point the CLI at it, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--user', 'demo-user'], {
      env: cleanEnv(),
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no export lines within 15 s: ${stdout} ${stderr}`)), 15000)
        child.stdout.on('data', (d) => {
          stdout += d
          if (/PIPEDREAM_EXTERNAL_USER_ID=/.test(stdout)) {
            clearTimeout(timer)
            resolve()
          }
        })
        exited.then(() => reject(new Error(`exited early: ${stderr}`)))
      })
      expect(stdout).toMatch(/^unset PIPEDREAM_API_TOKEN$/m)
      const exported = {}
      for (const m of stdout.matchAll(/^export (PIPEDREAM_\w+)=(\S+)$/gm)) exported[m[1]] = m[2]
      expect(Object.keys(exported).sort()).toEqual([
        'PIPEDREAM_BASE_URL', 'PIPEDREAM_CLIENT_ID', 'PIPEDREAM_CLIENT_SECRET', 'PIPEDREAM_EXTERNAL_USER_ID', 'PIPEDREAM_PROJECT_ID',
      ])
      expect(exported.PIPEDREAM_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(exported.PIPEDREAM_EXTERNAL_USER_ID).toBe('demo-user')
      expect(stderr).toMatch(/seeded account apn_\w+ gmail/)

      const env = { ...cleanEnv(), ...exported }
      const search = await cli(['search', 'slack', '--json'], env)
      expect(search.code).toBe(0)
      expect(JSON.parse(search.stdout).services.map((s) => s.app_slug)).toContain('slack')
      const accounts = await cli(['accounts', 'gmail', '--json'], env)
      expect(JSON.parse(accounts.stdout).accounts).toHaveLength(1)
      const run = await cli(['run', 'gmail-search-emails', '-p', '{"query":"x"}', '--json'], env)
      expect(run.code).toBe(0)

      child.kill('SIGTERM')
      await exited
      // The emulator it started has stopped with it.
      await expect(fetch(`${exported.PIPEDREAM_BASE_URL}/__emulator/health`)).rejects.toThrow()
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  })

  test('an emulator that cannot start fails with a code and says why', async () => {
    const r = await cli(['emulator', '--account', 'no-such-app'], cleanEnv())
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/PIPEDREAM_EMULATOR_FAILED: The emulator did not start: .*unknown app "no-such-app"/)
  })
})

describe('help, usage and exit codes', () => {
  test.each([
    ['search', /Usage: pipedream-connect search \[options\] <query>[\s\S]*--json[\s\S]*--limit/],
    ['components', /Usage: pipedream-connect components \[options\] <app>[\s\S]*--query[\s\S]*--type/],
    ['component', /Usage: pipedream-connect component \[options\] <component_id>/],
    ['run', /Usage: pipedream-connect run \[options\] <component_id>[\s\S]*--params[\s\S]*--account[\s\S]*--user/],
    ['accounts', /Usage: pipedream-connect accounts \[options\] <app>[\s\S]*--user/],
    ['emulator', /Usage: pipedream-connect emulator \[options\][\s\S]*--port/],
  ])('%s --help', async (name, pattern) => {
    const r = await cli([name, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(pattern)
  })

  test('top-level --help lists every command; no command is a usage error', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const name of ['search', 'components', 'component', 'run', 'accounts', 'emulator']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
    }
    const none = await cli([])
    expect(none.code).not.toBe(0)
  })

  test('unknown commands, missing arguments and bad numbers exit 2', async () => {
    for (const args of [['bogus'], ['search'], ['components'], ['search', 'gmail', '--limit', 'many'], ['search', 'gmail', '--nope']]) {
      const r = await cli(args)
      expect([args, r.code]).toEqual([args, 2])
      expect(r.stderr).toMatch(/error PIPEDREAM_INVALID_ARGS: /)
    }
  })

  test('a closed port is PIPEDREAM_NETWORK for accounts (short retries there)', async () => {
    // Discovery gives the same code, but only after the package's retries with backoff (about
    // 30 s with the defaults), too slow for this suite.
    const { closedPortUrl } = require('./helpers/emulator')
    const env = emuEnv({ PIPEDREAM_BASE_URL: await closedPortUrl() })
    const a = await cli(['accounts', 'gmail'], env)
    expect(a.code).toBe(1)
    expect(a.stderr).toMatch(/PIPEDREAM_NETWORK/)
  })
})

describe('misuse exits 2, naming the flag and what it accepts', () => {
  test.each([
    [['search', 'gmail', '--limit', '0'], /--limit must be a whole number from 1 to 100, got "0"/],
    [['search', 'gmail', '--limit', '101'], /--limit must be a whole number from 1 to 100, got "101"/],
    [['search', 'gmail', '-l', 'abc'], /--limit must be a whole number from 1 to 100, got "abc"/],
    [['search', 'gmail', '--limit=1.5'], /--limit must be a whole number from 1 to 100, got "1.5"/],
    [['search', 'gmail', '--limit'], /option '-l, --limit <n>' needs a value/],
    [['search', 'gmail', '--limit', '--json'], /option '-l, --limit <n>' needs a value/],
    [['components', 'gmail', '--limit', '0'], /--limit must be a whole number from 1 to 100/],
    [['components', 'gmail', '--type', 'actions'], /--type must be action or trigger, got "actions"/],
    [['emulator', '--port', '70000'], /--port must be a whole number from 0 to 65535, got "70000"/],
    [['emulator', '--port', '-1'], /--port must be a whole number from 0 to 65535, got "-1"/],
    [['search', 'gmail', '--nope'], /unknown option '--nope' for search/],
    [['search', 'gmail', '--json=yes'], /option '--json' takes no value/],
    [['search', 'gmail', 'slack'], /too many arguments for search/],
    [['search', ''], /<query> must not be empty/],
    [['run'], /missing required argument <component_id>/],
    [['serch', 'gmail'], /unknown command 'serch' \(did you mean search\?\)/],
    [['--json'], /unknown option '--json'/],
  ])('%j', async (args, message) => {
    const r = await cli(args)
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/^error PIPEDREAM_INVALID_ARGS: /)])
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/--help/)
    // Refused before any call.
    expect(await emu.requests()).toHaveLength(0)
  })
})

describe('a reader that stops early (EPIPE)', () => {
  const QUIET = (stderr) => expect([stderr, /EPIPE|\n\s+at /.test(stderr)]).toEqual([stderr, false])

  test('stdout closed before the first write: exit 0, no stack trace', async () => {
    for (const args of [['search', 'gmail', '--json'], ['component', 'gmail-search-emails'], ['--help']]) {
      const child = spawn(process.execPath, [BIN, ...args], { env: emuEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout.destroy()
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const code = await new Promise((resolve) => child.once('close', resolve))
      expect([args, code]).toEqual([args, 0])
      QUIET(stderr)
    }
  })

  test('`| head -c 5` and `| true` in a shell: the CLI itself exits 0, quietly', async () => {
    for (const [args, reader, expected] of [
      ['search gmail --json', 'head -c 5', '{\n  "'],
      ['component gmail-search-emails', 'head -c 6', 'Search'],
      ['components gmail', 'true', ''],
    ]) {
      const script = `node ${JSON.stringify(BIN)} ${args} | ${reader}; s=("\${PIPESTATUS[@]}"); echo; echo "cli=\${s[0]} reader=\${s[1]}"`
      const r = await new Promise((resolve) => {
        execFile('bash', ['-c', script], { env: emuEnv(), cwd: ROOT, timeout: 20000 }, (error, stdout, stderr) =>
          resolve({ code: error ? error.code : 0, stdout, stderr }),
        )
      })
      expect([args, r.code]).toEqual([args, 0])
      expect(r.stdout).toBe(`${expected}\ncli=0 reader=0\n`)
      QUIET(r.stderr)
    }
  })

  test('a failure cut short keeps its exit code', async () => {
    const child = spawn(process.execPath, [BIN, 'components', 'no_such_app', '--json'], { env: emuEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    expect(await new Promise((resolve) => child.once('close', resolve))).toBe(1)
    expect(stderr).toMatch(/^error PIPEDREAM_NOT_FOUND: /m)
    QUIET(stderr)
  })
})

describe('help without the native binary', () => {
  // A copy of the CLI beside an index.js that fails to load the way the real one does when no
  // binary fits this platform.
  let dir
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-nobinding-'))
    fs.mkdirSync(path.join(dir, 'bin'))
    fs.copyFileSync(BIN, path.join(dir, 'bin', 'pipedream-connect.js'))
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'))
    fs.writeFileSync(
      path.join(dir, 'index.js'),
      "const e = new Error('@director/pipedream-connect could not load its native binary for test-os (fake).')\n" +
        "e.code = 'PIPEDREAM_BINDING_NOT_FOUND'\nthrow e\n",
    )
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  const broken = (args) =>
    new Promise((resolve) => {
      execFile(process.execPath, [path.join(dir, 'bin', 'pipedream-connect.js'), ...args], { env: emuEnv(), cwd: dir, timeout: 20000 }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code : 0, stdout, stderr }),
      )
    })

  test('--help, <command> --help, help <command> and --version still work', async () => {
    const top = await broken(['--help'])
    expect([top.code, top.stderr]).toEqual([0, ''])
    expect(top.stdout).toMatch(/^Usage: pipedream-connect \[options\] \[command\]/)
    expect(top.stdout).toMatch(/^  search /m)
    for (const args of [['search', '--help'], ['help', 'search']]) {
      const r = await broken(args)
      expect([args, r.code]).toEqual([args, 0])
      expect(r.stdout).toMatch(/^Usage: pipedream-connect search \[options\] <query>/)
    }
    const version = await broken(['--version'])
    expect(version.stdout.trim()).toBe(require('../package.json').version)
  })

  test('no arguments prints the usage (exit 2); misuse is still exit 2', async () => {
    const none = await broken([])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^Usage: pipedream-connect \[options\] \[command\]/)
    const misuse = await broken(['search', 'gmail', '--limit', '0'])
    expect(misuse.code).toBe(2)
    expect(misuse.stderr).toMatch(/--limit must be a whole number from 1 to 100/)
  })

  test('a command prints the load error with its code and exits 1', async () => {
    for (const args of [['search', 'gmail'], ['accounts', 'gmail'], ['run', 'gmail-search-emails', '--json']]) {
      const r = await broken(args)
      expect([args, r.code]).toEqual([args, 1])
      expect(r.stderr).toMatch(/^error PIPEDREAM_BINDING_NOT_FOUND: @director\/pipedream-connect could not load its native binary for test-os/m)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(JSON.parse((await broken(['search', 'gmail', '--json'])).stdout).error).toBe('PIPEDREAM_BINDING_NOT_FOUND')
  })
})

describe('hints speak in CLI commands and flags', () => {
  const TOOL_NAMES = /pipedream_(search_services|get_components|get_component|configure_prop)\b|\bcall (searchServices|getComponents|getComponent)\b/

  test('error hints name the CLI command instead of the LLM tool or JS function', async () => {
    const r = await cli(['components', 'no_such_app'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/run `pipedream-connect search <query>`/)
    expect(r.stderr).not.toMatch(TOOL_NAMES)
    const c = await cli(['component', 'gmail-no-such-action'])
    expect(c.stderr).toMatch(/`pipedream-connect components <app>`/)
    expect(c.stderr).not.toMatch(TOOL_NAMES)
    const missing = await cli(['run', 'gmail-search-emails', '-p', '{"query":"x"}', '--user', 'nobody-here'])
    expect(missing.stderr).toMatch(/PIPEDREAM_ACCOUNT_MISSING: .*--account <apn_id>/)
    expect(missing.stderr).not.toMatch(/pass account_id/)
  })

  test('the messages under tables too; --json keeps the package answer as it is', async () => {
    const search = await cli(['search', 'gmail'])
    expect(search.stdout).toMatch(/`pipedream-connect components <app_slug>`/)
    const comps = await cli(['components', 'gmail'])
    expect(comps.stdout).toMatch(/`pipedream-connect component <component_id>`/)
    const one = await cli(['component', 'gmail-search-emails'])
    expect(one.stdout).toMatch(/`pipedream-connect run gmail-search-emails`/)
    for (const r of [search, comps, one]) expect(r.stdout).not.toMatch(TOOL_NAMES)
    const json = JSON.parse((await cli(['search', 'gmail', '--json'])).stdout)
    expect(json.message).not.toMatch(/pipedream-connect /)
  })

  test('missing credentials name the environment variables, not workflow nodes', async () => {
    const env = emuEnv()
    delete env.PIPEDREAM_CLIENT_ID
    delete env.PIPEDREAM_CLIENT_SECRET
    const r = await cli(['accounts', 'gmail'], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error PIPEDREAM_AUTH_MISSING: .*PIPEDREAM_CLIENT_ID and PIPEDREAM_CLIENT_SECRET/m)
    expect(r.stderr).not.toMatch(/context node|auth_config/)
  })
})

describe('colours', () => {
  test('no ANSI codes when stdout and stderr are not terminals, even with CI set', async () => {
    const env = emuEnv({ CI: 'true', TERM: 'xterm-256color' })
    for (const args of [
      ['search', 'gmail'],
      ['component', 'gmail-search-emails'],
      ['run', 'gmail-search-emails', '-p', '{"query":"x"}'],
      ['run', 'gmail-search-emails', '-p', '{"qury":"x"}'],
      ['accounts', 'gmail'],
      ['bogus'],
    ]) {
      const r = await cli(args, env)
      expect([args, ANSI.test(r.stdout), ANSI.test(r.stderr)]).toEqual([args, false, false])
    }
  })

  test('FORCE_COLOR turns them on (so the check above means something)', async () => {
    const r = await cli(['search', 'gmail'], emuEnv({ FORCE_COLOR: '1' }))
    expect(r.code).toBe(0)
    expect(ANSI.test(r.stdout)).toBe(true)
  })
})
