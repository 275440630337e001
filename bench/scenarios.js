'use strict'
// What is measured. Each scenario gives, per side, a function that makes `n` calls and answers
// a sample from `timed`; run.js interleaves the sides over rounds and turns samples into rows.
const { pool, timed, timedRuns, shuffle } = require('./measure')
const { wrk } = require('./ceiling')

const SEND = { component_id: 'slack-send-message', app: 'slack', params: { conversation: 'C1', text: 'bench' } }

/**
 * Distinct (query, limit) keys that every side finds apps for: phrases of the catalog's names
 * and slugs that start at a word and end in a word or in a prefix (3 letters or more) of one.
 * The API's `q` matches a substring of a name or slug, which these are; ours ranks words and
 * word prefixes, which these are too. Lowercased, because ours treats case variants as one
 * search. Then the same queries with limit 19, 18, … 1, then 21 … 100 when more keys are
 * needed. Shuffled with a fixed seed, so answer sizes are mixed and every run sends the same
 * sequence. `exclude` is the cache-hit scenario's search, which must stay out of the misses.
 */
function missKeys(apps, count, exclude) {
  const queries = new Set()
  for (const app of apps) {
    for (const text of [app.name, app.name_slug]) {
      const words = text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)
      for (let i = 0; i < words.length; i++) {
        for (let j = i; j < words.length; j++) {
          const head = words.slice(i, j).join(' ')
          for (let len = 3; len <= words[j].length; len++) {
            const q = `${head ? `${head} ` : ''}${words[j].slice(0, len)}`
            // A phrase of the name as written (the API matches the text, not the words).
            if (text.toLowerCase().includes(q)) queries.add(q)
          }
        }
      }
    }
  }
  const list = shuffle([...queries].sort(), 7)
  const keys = []
  const limits = [...Array.from({ length: 20 }, (_, i) => 20 - i), ...Array.from({ length: 80 }, (_, i) => 21 + i)]
  for (const limit of limits) {
    if (keys.length === count) break
    for (const q of list) {
      if (keys.length === count) break
      if (q !== exclude.query.toLowerCase() || limit !== exclude.limit) keys.push([q, limit])
    }
  }
  if (keys.length < count) throw new Error(`the catalog yields only ${keys.length} distinct searches; ${count} needed`)
  return keys
}

/** Hands each side the same keys in the same order; a side never sees a key twice. */
function keyCursor(keys) {
  let i = 0
  return () => {
    if (i === keys.length) throw new Error('out of distinct search keys: raise the key count in run.js')
    return keys[i++]
  }
}

/** `make()`, then, every `every` calls, a turn of the event loop (a macrotask, not a microtask). */
async function turnEvery(every, i, make) {
  await make()
  if (i % every === every - 1) await new Promise((resolve) => setImmediate(resolve))
}

// The shortest sample outside --quick: every row but the search misses (each call a distinct key,
// so exactly `n` calls) repeats its `n` calls until a sample has lasted this long.
const SAMPLE_MS = 1000

// Time every side gets to warm up before its samples: JS sides need their JIT warm (after a few
// hundred calls undici ran at about a third of its steady-state speed), ours its pools.
const WARM_MS = 2000

/**
 * Warms `side` up: `sc.warm` calls, repeated until WARM_MS has passed, except where each call
 * needs a distinct search key (those scenarios have a larger `warm` instead).
 */
async function warmUp(sc, side, quick) {
  const t0 = Date.now()
  do await sc.sides[side](sc.warm)
  while (!quick && !sc.distinctKeys && Date.now() - t0 < WARM_MS)
}

/** An app's actions in one page: undici's getComponents asks for this first page, and wrk's ceiling repeats it. */
function actionsList(projectId, appSlug) {
  return `/v1/connect/${projectId}/actions?app=${appSlug}&limit=100`
}

/** The run every side's execute sends, as the plan's body holds it: what wrk and transport-floor post. */
function runBody(user, account) {
  return JSON.stringify({
    id: SEND.component_id,
    external_user_id: user,
    configured_props: { ...SEND.params, slack: { authProvisionId: account } },
  })
}

function runPath(projectId) {
  return `/v1/connect/${projectId}/actions/run`
}

function must(ok, what) {
  if (!ok) throw new Error(`bad answer: ${what}`)
}

/**
 * `ctx`: { quick, baseUrl, projectId, bearer, user, account, app: { slug, actions }, keys, hit,
 * parsed: { ours, undici } (the JSON texts of a getComponents miss), wrkSeconds, hasWrk,
 * clients }. `clients` (bench/clients.js) makes each client on first use, so a process that
 * runs one side alone never constructs the others.
 */
function scenarios(ctx) {
  const { app, account, clients: c } = ctx
  const size = (full, quick) => (ctx.quick ? quick : full)
  const minMs = ctx.quick ? 0 : SAMPLE_MS
  const calls = (concurrency, fn) => (n) => timedRuns(n, minMs, (k) => pool(k, concurrency, fn))
  const exactly = (concurrency, fn) => (n) => timed(n, () => pool(n, concurrency, fn))
  const headers = { authorization: `Bearer ${ctx.bearer}`, 'x-pd-environment': 'production' }
  const ceiling = (spec) =>
    ctx.hasWrk
      ? { label: 'wrk', run: () => wrk({ ...spec, baseUrl: ctx.baseUrl, headers, threads: 2, seconds: ctx.wrkSeconds }) }
      : null

  const searchPath = ([q, limit]) => `/v1/connect/apps?q=${encodeURIComponent(q)}&limit=${limit}`
  const searchPaths = ctx.keys.slice(0, 5000).map(searchPath)
  const cursors = Object.fromEntries(['ours', 'undici', 'plan-js', 'sdk'].map((s) => [s, keyCursor(ctx.keys)]))
  // The JS sides answer the plan's shape from the same request, so one check serves them all.
  const jsSearch = (side, client, concurrency) =>
    exactly(concurrency, async () => {
      const [query, limit] = cursors[side]()
      must((await client().searchServices({ query, limit })).services.length > 0, `${side} searchServices ${query}`)
    })
  const searchMiss = (concurrency) => ({
    ours: exactly(concurrency, async () => {
      const [query, limit] = cursors.ours()
      const res = await c.ours.searchServices({ query, limit })
      const ok = !res.error && !res.cached && res.services.length > 0
      must(ok, `ours searchServices ${query}: ${res.error || 'cached or empty'}`)
    }),
    undici: jsSearch('undici', () => c.undici, concurrency),
    'plan-js': jsSearch('plan-js', () => c.plan, concurrency),
    sdk: jsSearch('sdk', () => c.sdk, concurrency),
  })

  const jsComponents = (side, client, concurrency) =>
    calls(concurrency, async () => {
      const res = await client().getComponents({ app_slug: app.slug })
      must(res.total_found === app.actions, `${side} getComponents`)
    })
  const components = (concurrency) => ({
    ours: calls(concurrency, async () => {
      const res = await c.oursUncached.getComponents({ app_slug: app.slug, limit: 100 })
      const ok = !res.error && !res.cached && res.total_found === app.actions
      must(ok, `ours getComponents: ${res.error || res.total_found}`)
    }),
    undici: jsComponents('undici', () => c.undiciUncached, concurrency),
    'plan-js': jsComponents('plan-js', () => c.planUncached, concurrency),
    sdk: jsComponents('sdk', () => c.sdk, concurrency),
  })

  // What Director hands the LLM as a tool result's content. Ours answers the tool call as text;
  // a JS client builds the plan's answer and JSON.stringify's it (the plan's answer carries the
  // raw props, about 44 KB for github, where ours is the compact 22.7 KB list).
  const componentsText = (concurrency) => ({
    ours: calls(concurrency, async () => {
      const text = await c.oursUncached.handleToolCallText('pipedream_get_components', { app_slug: app.slug, limit: 100 })
      const ok = text.endsWith('"cached":false}') && text.includes(`"total_found":${app.actions},`, text.length - 2000)
      must(ok, `ours getComponents text: ${text.slice(0, 300)}`)
    }),
    undici: calls(concurrency, async () => {
      const res = await c.undiciUncached.getComponents({ app_slug: app.slug })
      must(JSON.stringify(res).length > 0 && res.total_found === app.actions, 'undici getComponents text')
    }),
  })

  // Every side runs with the account named, as the plan's node config carries it, so every side
  // sends the run request alone; the ours-only row below has ours look the account up.
  const oursSend = { component_id: SEND.component_id, auth_config: { account_id: account }, params: SEND.params }
  const otherSend = { ...SEND, account_id: account }
  const jsExecute = (side, client, concurrency) =>
    calls(concurrency, async () => {
      must((await client().execute(otherSend)).ret, `${side} execute`)
    })
  const execute = (concurrency) => ({
    ours: calls(concurrency, async () => {
      must((await c.ours.executePipedreamConnect(oursSend)).result, 'ours execute')
    }),
    undici: jsExecute('undici', () => c.undici, concurrency),
    'plan-js': jsExecute('plan-js', () => c.plan, concurrency),
    sdk: jsExecute('sdk', () => c.sdk, concurrency),
  })
  // 1,000 records of a dozen fields each, as an iterate step leaves them (about 230 KB).
  const bigVariables = {
    investors: Array.from({ length: 1000 }, (_, i) => ({
      id: `investor_${i}`,
      name: `Investor ${i}`,
      email: `investor${i}@example.com`,
      company: `Company ${i % 97}`,
      notes: 'x'.repeat(80),
      tags: ['seed', 'series-a', `t${i % 7}`],
      score: i % 100,
      active: i % 3 !== 0,
      address: { city: 'Paris', zip: String(75000 + (i % 20)) },
    })),
  }
  const body = runBody(ctx.user, account)
  const runCeiling = (connections) =>
    ceiling({ path: runPath(ctx.projectId), method: 'POST', body, connections })

  const batch = (client, item) => async (n) => {
    const list = Array.from({ length: n }, () => item)
    return timedRuns(n, minMs, async () => {
      const out = await client().executeBatch(list, { concurrency: 64 })
      const ok = out.filter((o) => o.status === 'fulfilled').length
      const failure = out.find((o) => o.status !== 'fulfilled')?.reason
      must(ok === n, `${ok} of ${n} batch items fulfilled; first failure: ${failure}`)
    })
  }

  const { args: hitArgs, json: hitJson } = ctx.hit
  const hitKey = `${hitArgs.query}:${hitArgs.limit}`
  const jsCache = new Map([[hitKey, { json: hitJson, timestamp: Date.now() }]])
  // What a JS cache that hands out a fresh object per call costs: the lookup, the TTL check and
  // a JSON.parse of the same answer ours keeps, behind an await like every other side.
  const mapParse = async () => {
    const e = jsCache.get(hitKey)
    if (e && Date.now() - e.timestamp < 300000) return JSON.parse(e.json)
    throw new Error('js cache miss')
  }

  const vs = (side, op, x) => ({ vs: side, op, x })
  // Issue 14's targets against undici, the client a strong Node engineer would pick, beside
  // issue 7's against the plan's fetch code and the SDK.
  const fastC64 = [vs('undici', '>=', 1.5), vs('plan-js', '>=', 3), vs('sdk', '>=', 3)]
  const fastC1 = [vs('undici', '>=', 1), vs('plan-js', '>=', 1.5)]
  const lessCpu = { main: [vs('undici', '<=', 1 / 3)], process: [vs('undici', '<=', 1)] }
  const appNote = `${app.slug}, ${app.actions} actions`
  const kb = (text) => `${(Buffer.byteLength(text) / 1024).toFixed(1)} KB`

  return [
    {
      name: 'searchServices, cache miss (c=1)',
      unit: 'calls/s',
      n: size(1000, 20),
      warm: size(1000, 5),
      sides: searchMiss(1),
      distinctKeys: true,
      ceiling: ceiling({ paths: searchPaths, connections: 1 }),
      cpu: true,
      targets: fastC1,
      cpuTargets: lessCpu,
    },
    {
      name: 'searchServices, cache miss (c=64)',
      unit: 'calls/s',
      n: size(3000, 200),
      warm: size(3000, 64),
      sides: searchMiss(64),
      distinctKeys: true,
      ceiling: ceiling({ paths: searchPaths, connections: 64 }),
      cpu: true,
      targets: [...fastC64, vs('ceiling', '>=', 0.5)],
      cpuTargets: lessCpu,
    },
    {
      name: `searchServices, cache hit (c=1, ${hitArgs.query}: ${ctx.hit.services} services)`,
      unit: 'µs/call',
      n: size(20000, 1000),
      warm: size(5000, 100),
      sides: {
        ours: calls(1, () => c.ours.searchServices(hitArgs)),
        'plan-js': calls(1, () => c.plan.searchServices(hitArgs)),
      },
      ceiling: { label: 'Map + JSON.parse', run: () => calls(1, mapParse)(ctx.quick ? 1000 : 20000) },
      targets: [vs('ceiling', '<=', 1.2)],
    },
    {
      name: `getComponents, cache miss (c=1, ${appNote})`,
      unit: 'calls/s',
      n: size(300, 10),
      warm: size(100, 3),
      sides: components(1),
      ceiling: ceiling({ path: actionsList(ctx.projectId, app.slug), connections: 1 }),
      cpu: true,
      targets: fastC1,
      cpuTargets: lessCpu,
    },
    {
      name: `getComponents, cache miss (c=64, ${appNote})`,
      unit: 'calls/s',
      n: size(600, 64),
      warm: size(256, 64),
      sides: components(64),
      ceiling: ceiling({ path: actionsList(ctx.projectId, app.slug), connections: 64 }),
      cpu: true,
      targets: fastC64,
      cpuTargets: lessCpu,
    },
    {
      name: `getComponents as a tool result's text (c=1, ${appNote}; undici: JSON.stringify of its answer)`,
      unit: 'calls/s',
      n: size(300, 10),
      warm: size(100, 3),
      sides: componentsText(1),
      ceiling: null,
      cpu: true,
      targets: [vs('undici', '>=', 1)],
      cpuTargets: lessCpu,
    },
    {
      name: `getComponents as a tool result's text (c=64, ${appNote}; undici: JSON.stringify of its answer)`,
      unit: 'calls/s',
      n: size(600, 64),
      warm: size(256, 64),
      sides: componentsText(64),
      ceiling: null,
      cpu: true,
      targets: [vs('undici', '>=', 1.5)],
      cpuTargets: lessCpu,
    },
    {
      // Where the JS thread's ⅓ target on getComponents meets V8: what JSON.parse alone costs
      // for the text each side's JS thread must turn into objects on a miss, and nothing else.
      name: `getComponents' JSON.parse alone (ours: its ${kb(ctx.parsed.ours)} answer; undici: the ${kb(ctx.parsed.undici)} list it is sent)`,
      unit: 'µs/call',
      n: size(5000, 100),
      warm: size(1000, 10),
      sides: {
        ours: calls(1, () => JSON.parse(ctx.parsed.ours)),
        undici: calls(1, () => JSON.parse(ctx.parsed.undici)),
      },
      ceiling: null,
      targets: [],
    },
    {
      name: 'executePipedreamConnect (c=1)',
      unit: 'calls/s',
      n: size(1000, 20),
      warm: size(500, 5),
      sides: execute(1),
      ceiling: runCeiling(1),
      cpu: true,
      targets: fastC1,
      cpuTargets: lessCpu,
    },
    {
      name: 'executePipedreamConnect (c=64)',
      unit: 'calls/s',
      n: size(5000, 200),
      warm: size(2000, 64),
      sides: execute(64),
      ceiling: runCeiling(64),
      cpu: true,
      targets: [...fastC64, vs('ceiling', '>=', 0.5)],
      cpuTargets: lessCpu,
    },
    {
      // Director keeps earlier nodes' results in `variables`; only `pipedream_token` is read
      // from it, so the JS-thread cost must not grow with it (target: within 1.2x of empty).
      name: 'executePipedreamConnect (c=1), variables of 1,000 earlier records',
      unit: 'calls/s',
      n: size(1000, 20),
      warm: size(500, 5),
      sides: {
        ours: calls(1, async () => {
          must((await c.ours.executePipedreamConnect(oursSend, { variables: bigVariables })).result, 'ours execute')
        }),
        'ours, empty variables': calls(1, async () => {
          must((await c.ours.executePipedreamConnect(oursSend, { variables: {} })).result, 'ours execute')
        }),
      },
      ceiling: null,
      cpu: true,
      targets: [],
      cpuTargets: { main: [vs('ours, empty variables', '<=', 1.2)] },
    },
    {
      name: 'executePipedreamConnect (c=64), account looked up each call',
      unit: 'calls/s',
      n: size(5000, 200),
      warm: size(2000, 64),
      sides: {
        ours: calls(64, async () => {
          const config = { component_id: SEND.component_id, params: SEND.params }
          must((await c.ours.executePipedreamConnect(config)).result, 'ours execute')
        }),
      },
      ceiling: null,
      cpu: true,
      targets: [],
    },
    // Issue 18: what asking Redis costs a call. Both sides keep the limiter on with budgets they
    // never reach, so every run asks it once and never waits: one in this process, one through
    // the GCRA script in Redis (`run.js --redis` starts a redis-server of its own).
    ...(ctx.redisUrl
      ? [
          {
            name: 'executePipedreamConnect (c=64), rate limiter in Redis (store.redis)',
            unit: 'calls/s',
            n: size(5000, 200),
            warm: size(2000, 64),
            sides: {
              ours: calls(64, async () => {
                must((await c.oursRedisLimited.executePipedreamConnect(oursSend)).result, 'ours execute, Redis limiter')
              }),
              'ours, local limiter': calls(64, async () => {
                must((await c.oursLimited.executePipedreamConnect(oursSend)).result, 'ours execute, local limiter')
              }),
            },
            ceiling: null,
            reference: 'ours, local limiter',
            cpu: true,
            // Issue 18: within 1.3× of the local limiter's calls/s (1 ÷ 1.3 = 0.769).
            targets: [vs('ours, local limiter', '>=', 0.77)],
          },
        ]
      : []),
    {
      // What a process that makes a client per tenant or per worker pays for each. Ours is
      // measured with a warm process (its first client also starts the runtime). Every 100
      // clients the loop gives the event loop a turn: Node runs an addon object's finalizer
      // only between turns, and a loop that never yields kept every client it made (15 KB
      // each), so the sample measured a growing heap, 62 µs a client after a second of it.
      name: 'new client (constructor, no call)',
      unit: 'µs/call',
      n: size(2000, 20),
      warm: size(200, 5),
      sides: {
        ours: calls(1, (i) => turnEvery(100, i, () => must(c.fresh('ours'), 'ours constructor'))),
        undici: calls(1, (i) => turnEvery(100, i, () => c.fresh('undici').close())),
      },
      ceiling: null,
      targets: [],
    },
    {
      name: `executeBatch, ${size(1000, 100)} items (concurrency 64)`,
      unit: 'items/s',
      n: size(2000, 100),
      warm: size(1000, 64),
      sides: {
        ours: batch(() => c.ours, { config: oursSend }),
        undici: batch(() => c.undici, otherSend),
        'plan-js': batch(() => c.plan, otherSend),
        sdk: batch(() => c.sdk, otherSend),
      },
      ceiling: runCeiling(64),
      cpu: true,
      targets: fastC64,
      cpuTargets: lessCpu,
    },
  ]
}

module.exports = { scenarios, missKeys, warmUp, actionsList, runBody, runPath }
