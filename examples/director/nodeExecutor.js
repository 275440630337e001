'use strict'
// A Director-shaped slice of `backend/services/nodeExecutor.js`: runs a workflow (an array of
// nodes) with the node types the integration plan's examples use. The `pipedream_connect` case
// is the plan's "switch statement addition"; everything it used to do by hand (token chain,
// fetch, error messages) is one call to the package.
//
// Node types:
//   context           config.variables are merged into the workflow variables (templates resolved)
//   fixture_records   stands in for browser_action / browser_ai_extract (out of scope here):
//                     config { records: [{...fields}], create_records: 'investor' } makes records
//                     investor_001, investor_002, … as { id, type, fields }
//   iterate           config { records: 'lead_*', body: ['alias1', 'alias2'] }: runs the body
//                     nodes (found by alias; never run at top level) once per matching record,
//                     with {{current.*}} = that record
//   pipedream_connect client.executePipedreamConnect(resolvedConfig, context); applies stored,
//                     records and record_update
//
// Templates, resolved in a node's config right before it runs:
//   {{current.fields.x}}   the record of the current iteration
//   {{alias.name.path}}    a variable the node `alias` stored; a path that is not a stored name
//                          is read from that node's result ({{enrich_via_api.company.name}})
//   {{name.path}}          a workflow variable (context variables and flat stored variables)
// A string that is exactly one template keeps the value's type; a template inside a longer
// string is stringified (JSON for objects). An unresolved template becomes '' and a warning.
const pd = require('../..')

const TEMPLATE = /\{\{\s*([^{}]+?)\s*\}\}/g
const WHOLE_TEMPLATE = /^\{\{\s*([^{}]+?)\s*\}\}$/
const MISSING = Symbol('missing')

const pad = (i) => String(i).padStart(3, '0')
const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

function getPath(value, segments) {
  let cur = value
  for (const seg of segments) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return MISSING
    if (!Object.prototype.hasOwnProperty.call(cur, seg)) return MISSING
    cur = cur[seg]
  }
  return cur === undefined ? MISSING : cur
}

/** 'lead_*' → /^lead_.*$/ (`*` any run of characters, `?` one character). */
function globToRegExp(glob) {
  const body = String(glob)
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}$`)
}

class NodeExecutor {
  /**
   * @param {{ client?: import('../..').PipedreamClient, concurrency?: number }} [options]
   *   `client`: a configured PipedreamClient (the package's default client when absent);
   *   `concurrency`: executeBatch concurrency for iterate bodies (default 5).
   */
  constructor({ client, concurrency = 5 } = {}) {
    this.client = client || pd
    this.concurrency = concurrency
  }

  /**
   * Runs `nodes` in order. Resolves with the workflow's variables, its records (in creation
   * order) and the warnings (unresolved templates, the package's meta.warnings).
   */
  async executeWorkflow(nodes, options) {
    const state = this.prepare(nodes, options)
    await this.runFrom(state, 0)
    return this.outcome(state)
  }

  /** A run's state before its first node: aliases checked, iterate bodies found. */
  prepare(nodes, { workflowId, externalUserId, variables = {} } = {}) {
    const byAlias = new Map()
    for (const node of nodes) {
      if (!node.alias) continue
      if (byAlias.has(node.alias)) throw new Error(`Duplicate node alias '${node.alias}'`)
      byAlias.set(node.alias, node)
    }
    const bodyAliases = new Set()
    for (const node of nodes) {
      if (node.type !== 'iterate') continue
      for (const alias of node.config.body || []) {
        if (!byAlias.has(alias)) throw new Error(`iterate '${node.alias}': no node with alias '${alias}'`)
        bodyAliases.add(alias)
      }
    }
    return {
      nodes,
      workflowId,
      externalUserId,
      byAlias,
      bodyAliases,
      variables: { ...variables },
      records: [],
      warnings: [],
      outputs: new Map(), // alias → the whole result of its latest run, for {{alias.result.path}}
    }
  }

  /**
   * Runs the top-level nodes from index `from` on. A node that throws stops the run there:
   * `state.next` is its index, so a caller that can fix the cause (a missing account) resumes
   * with `runFrom(state, state.next)` and nothing before it runs again.
   */
  async runFrom(state, from) {
    for (let i = from; i < state.nodes.length; i++) {
      const node = state.nodes[i]
      if (node.alias && state.bodyAliases.has(node.alias)) continue // runs inside its iterate only
      state.next = i
      await this.executeNode(node, state, null)
    }
    state.next = state.nodes.length
  }

  outcome(state) {
    return { variables: state.variables, records: state.records, warnings: state.warnings }
  }

  async executeNode(node, state, current) {
    switch (node.type) {
      case 'context':
        Object.assign(state.variables, this.resolve(node.config.variables || {}, state, current, node))
        return
      case 'fixture_records':
        this.executeFixtureRecords(node, state)
        return
      case 'iterate':
        await this.executeIterate(node, state)
        return
      case 'pipedream_connect': {
        const config = this.resolve(node.config, state, current, node)
        const result = await this.client.executePipedreamConnect(config, this.contextFor(node, state, current))
        this.applyResult(node, result, state)
        return
      }
      case 'browser_action':
      case 'browser_ai_extract':
        throw new Error(`Node '${node.alias}': ${node.type} is out of scope in this example; use fixture_records`)
      default:
        throw new Error(`Node '${node.alias}': unknown node type '${node.type}'`)
    }
  }

  /** Stands in for browser_ai_extract / browser_action, which would extract these from a page. */
  executeFixtureRecords(node, state) {
    const type = node.config.create_records
    const already = state.records.filter((r) => r.type === type).length
    node.config.records.forEach((fields, i) => {
      state.records.push({ id: `${type}_${pad(already + i + 1)}`, type, fields: { ...fields } })
    })
  }

  async executeIterate(node, state) {
    const pattern = globToRegExp(node.config.records)
    const selected = state.records.filter((r) => pattern.test(r.id))
    const body = (node.config.body || []).map((alias) => state.byAlias.get(alias))

    if (body.length === 1 && body[0].type === 'pipedream_connect') {
      // One API node per record, independent of one another: one executeBatch over the records.
      const [bodyNode] = body
      const items = selected.map((record) => ({
        config: this.resolve(bodyNode.config, state, record, bodyNode),
        context: this.contextFor(bodyNode, state, record),
      }))
      const settled = await this.client.executeBatch(items, { concurrency: this.concurrency })
      const failures = []
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') this.applyResult(bodyNode, s.value, state)
        else failures.push({ record_id: selected[i].id, reason: s.reason })
      })
      if (failures.length > 0) {
        const err = new Error(
          `iterate '${node.alias}': ${failures.length} of ${selected.length} records failed: ` +
            failures.map((f) => `${f.record_id}: ${f.reason.message}`).join('; '),
        )
        err.failures = failures
        throw err
      }
    } else {
      // Later body nodes read earlier ones ({{enrich_via_api.company.name}}): record by record,
      // body nodes in order.
      for (const record of selected) {
        for (const bodyNode of body) await this.executeNode(bodyNode, state, record)
      }
    }
    if (node.alias) state.variables[node.alias] = { count: selected.length, record_ids: selected.map((r) => r.id) }
  }

  contextFor(node, state, current) {
    return {
      workflowId: state.workflowId,
      alias: node.alias,
      variables: state.variables,
      currentRecord: current || undefined,
      externalUserId: state.externalUserId,
    }
  }

  /** stored → flat variables and under the alias; the whole result kept for the alias; records; record_update. */
  applyResult(node, result, state) {
    const stored = result.stored || {}
    Object.assign(state.variables, stored)
    if (node.alias) {
      state.variables[node.alias] = { ...stored, result: result.result }
      state.outputs.set(node.alias, result.result)
    }
    for (const record of result.records || []) state.records.push(record)
    if (result.record_update) {
      const { record_id, field, value } = result.record_update
      const record = state.records.find((r) => r.id === record_id)
      if (record) record.fields[field] = value
      else state.warnings.push(`${node.alias}: record_update for unknown record '${record_id}'`)
    }
    for (const w of (result.meta && result.meta.warnings) || []) state.warnings.push(`${node.alias}: ${w}`)
  }

  // ---- templates ----

  resolve(value, state, current, node) {
    if (typeof value === 'string') return this.resolveString(value, state, current, node)
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, state, current, node))
    if (isPlainObject(value)) {
      const out = {}
      for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v, state, current, node)
      return out
    }
    return value
  }

  resolveString(str, state, current, node) {
    const whole = str.match(WHOLE_TEMPLATE)
    if (whole) {
      const v = this.lookup(whole[1], state, current)
      if (v === MISSING) return this.unresolved(whole[1], state, node)
      return v
    }
    return str.replace(TEMPLATE, (_, expr) => {
      const v = this.lookup(expr, state, current)
      if (v === MISSING) return this.unresolved(expr, state, node)
      if (v === null) return 'null'
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
    })
  }

  unresolved(expr, state, node) {
    state.warnings.push(`${node && node.alias ? node.alias : node && node.type}: unresolved template {{${expr}}}`)
    return ''
  }

  lookup(expr, state, current) {
    const [head, ...rest] = expr.split('.').map((s) => s.trim())
    if (head === 'current') return current ? getPath(current, rest) : MISSING
    if (state.outputs.has(head)) {
      // An alias namespace: its stored names (and `result`) first, then the node's result.
      const v = getPath(state.variables[head], rest)
      return v !== MISSING ? v : getPath(state.outputs.get(head), rest)
    }
    return getPath(state.variables, [head, ...rest])
  }
}

module.exports = { NodeExecutor, globToRegExp }
