'use strict'
// Strict parsing of raw Connect API bodies with the official SDK's own serializers
// (@pipedream/sdk 3.1.6, Fern-generated, dist/cjs/serialization/). The SDK itself parses
// responses leniently (`skipValidation: true`, `unrecognizedObjectKeys: "passthrough"`, see
// dist/cjs/api/resources/*/client/Client.js); here every schema runs with validation on and
// unknown keys, union members and enum values refused, so a body the real schema would
// reject shows up as "path: message" lines. Also: a wrapper of global fetch that keeps every
// raw body the SDK receives (the SDK's rawResponse has its body already consumed).
const { serialization } = require('@pipedream/sdk')

const STRICT = {
  unrecognizedObjectKeys: 'fail',
  allowUnrecognizedUnionMembers: false,
  allowUnrecognizedEnumValues: false,
  skipValidation: false,
}

// `ConfigurableProp` is an undiscriminated union, whose errors list every variant's complaint.
// A prop is judged by the one variant its `type` literal selects (serialization/types/ConfigurableProp*.js).
const PROP_VARIANT = {
  alert: 'ConfigurablePropAlert',
  any: 'ConfigurablePropAny',
  app: 'ConfigurablePropApp',
  boolean: 'ConfigurablePropBoolean',
  data_store: 'ConfigurablePropDataStore',
  dir: 'ConfigurablePropDir',
  http_request: 'ConfigurablePropHttpRequest',
  integer: 'ConfigurablePropInteger',
  'integer[]': 'ConfigurablePropIntegerArray',
  object: 'ConfigurablePropObject',
  sql: 'ConfigurablePropSql',
  string: 'ConfigurablePropString',
  'string[]': 'ConfigurablePropStringArray',
  '$.airtable.baseId': 'ConfigurablePropAirtableBaseId',
  '$.airtable.fieldId': 'ConfigurablePropAirtableFieldId',
  '$.airtable.tableId': 'ConfigurablePropAirtableTableId',
  '$.airtable.viewId': 'ConfigurablePropAirtableViewId',
  '$.discord.channel': 'ConfigurablePropDiscordChannel',
  '$.discord.channel[]': 'ConfigurablePropDiscordChannelArray',
  '$.interface.apphook': 'ConfigurablePropApphook',
  '$.interface.http': 'ConfigurablePropHttp',
  '$.interface.timer': 'ConfigurablePropTimer',
  '$.service.db': 'ConfigurablePropDb',
}
const PROP_LIST_KEYS = new Set(['configurable_props', 'configurableProps'])

const fmt = (errors) => errors.map((e) => `${e.path.join('.') || '(root)'}: ${e.message}`)

function propProblems(prop, path) {
  const name = prop && PROP_VARIANT[prop.type]
  if (!name) return [`${path.join('.')}.type: ${JSON.stringify(prop && prop.type)} is no prop type the SDK knows`]
  const r = serialization[name].parse(prop, { ...STRICT, breadcrumbsPrefix: path })
  return r.ok ? [] : fmt(r.errors)
}

// Every prop array inside `raw`, with its breadcrumb path.
function* propLists(raw, path) {
  if (!raw || typeof raw !== 'object') return
  for (const [k, v] of Object.entries(raw)) {
    if (PROP_LIST_KEYS.has(k) && Array.isArray(v)) yield [v, [...path, k]]
    else yield* propLists(v, [...path, k])
  }
}

/**
 * `[]` when `raw` parses strictly as `serialization[schemaName]`, else one "path: message"
 * line per problem (props reported against the variant their `type` names).
 */
function strictProblems(schemaName, raw, label = 'response') {
  const schema = serialization[schemaName]
  if (!schema) throw new Error(`@pipedream/sdk 3.1.6 has no serializer ${schemaName}`)
  const r = schema.parse(raw, { ...STRICT, breadcrumbsPrefix: [label] })
  if (r.ok) return []
  const inProps = (e) => e.path.some((p) => PROP_LIST_KEYS.has(p))
  const lines = fmt(r.errors.filter((e) => !inProps(e)))
  if (r.errors.some(inProps)) {
    for (const [list, path] of propLists(raw, [label])) {
      list.forEach((prop, i) => lines.push(...propProblems(prop, [...path, String(i)])))
    }
  }
  return lines.length ? [...new Set(lines)] : fmt(r.errors)
}

/**
 * A readable report of many problems (`{ at, line }`, `at` naming the request): each distinct
 * problem once, indices folded to [i], with a count and one request it came from, so an
 * assertion message stays short.
 */
function summarize(problems, max = 40) {
  const groups = new Map()
  for (const { at, line } of problems) {
    const key = line.replace(/\.\d+(?=\.|:)/g, '[i]').replace(/\[Variant \d+\] /g, '')
    const g = groups.get(key) || { n: 0, at, line }
    g.n += 1
    groups.set(key, g)
  }
  const out = [...groups.entries()]
    .slice(0, max)
    .map(([k, g]) => `  ${g.n}x ${k}\n      e.g. ${g.at}: ${g.line}`)
  if (groups.size > max) out.push(`  ... ${groups.size - max} more distinct problems`)
  return `${problems.length} strict-parse problem(s), ${groups.size} distinct:\n${out.join('\n')}`
}

/**
 * Wraps global fetch (which the SDK looks up per request, core/fetcher/getFetchFn.js) and
 * records `{ method, path, query, status, body, sent }` for every exchange, body parsed as
 * JSON when it is JSON.
 */
function captureFetch() {
  const log = []
  const real = globalThis.fetch
  globalThis.fetch = async (input, init = {}) => {
    const res = await real(input, init)
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url)
    const text = await res.clone().text()
    let body = text
    try {
      body = JSON.parse(text)
    } catch {}
    log.push({ method: init.method || 'GET', path: url.pathname, query: url.search, status: res.status, body, sent: init.body })
    return res
  }
  return {
    log,
    /** Exchanges whose path matches `re` (and, if given, method). */
    find: (re, method) => log.filter((x) => re.test(x.path) && (!method || x.method === method)),
    clear: () => log.splice(0),
    restore: () => {
      globalThis.fetch = real
    },
  }
}

module.exports = { STRICT, strictProblems, summarize, captureFetch, serialization }
