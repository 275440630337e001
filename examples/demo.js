#!/usr/bin/env node
'use strict'
// A short tour of the package: the discovery calls an LLM makes, then a pipedream_connect node
// run with stored variables, then a batch. With Pipedream credentials in the environment
// (PIPEDREAM_CLIENT_ID + PIPEDREAM_CLIENT_SECRET, or PIPEDREAM_API_TOKEN) it talks to the real
// Connect API and executes nothing unless --execute is given; otherwise it starts the local
// emulator and points the package at it.
const path = require('node:path')
const { emulatorBin, spawnEmulator } = require('../scripts/emulator')

const ROOT = path.resolve(__dirname, '..')
const hasCredentials =
  (process.env.PIPEDREAM_CLIENT_ID && process.env.PIPEDREAM_CLIENT_SECRET) || process.env.PIPEDREAM_API_TOKEN

function startEmulator() {
  const args = ['--client-id', 'demo-client', '--client-secret', 'demo-secret']
  for (const app of ['gmail', 'airtable']) args.push('--account', `demo-user:${app}:Demo ${app}`)
  return spawnEmulator(emulatorBin(), args)
}

async function main() {
  let emulator
  if (hasCredentials && !process.env.PIPEDREAM_BASE_URL) {
    console.log('Using the real Pipedream Connect API (credentials found in the environment).')
  } else {
    emulator = await startEmulator()
    Object.assign(process.env, {
      PIPEDREAM_BASE_URL: emulator.url,
      PIPEDREAM_CLIENT_ID: 'demo-client',
      PIPEDREAM_CLIENT_SECRET: 'demo-secret',
      PIPEDREAM_PROJECT_ID: 'proj_emulator',
      PIPEDREAM_EXTERNAL_USER_ID: 'demo-user',
    })
    delete process.env.PIPEDREAM_API_TOKEN
    console.log(`No Pipedream credentials set: using the local Connect API emulator at ${emulator.url}.`)
  }

  const pd = require(ROOT)
  try {
    // What Director's tool loop sees: the LLM calls the discovery tools in turn.
    const calls = [
      ['pipedream_search_services', () => ({ query: 'gmail', limit: 3 })],
      ['pipedream_get_components', () => ({ app_slug: 'gmail', query: 'search emails', limit: 3 })],
      // The best match of the previous answer, so the demo also works against the real API.
      ['pipedream_get_component', (prev) => ({ component_id: prev.components?.[0]?.component_id ?? 'gmail-search-emails' })],
    ]
    let prev = {}
    for (const [name, argsFrom] of calls) {
      const args = argsFrom(prev)
      const t0 = process.hrtime.bigint()
      const res = await pd.handleToolCall(name, args)
      prev = res
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      console.log(`\n> ${name} ${JSON.stringify(args)}   (${ms.toFixed(1)} ms)`)
      console.log(`< ${res.message}`)
      if (res.error) continue
      for (const s of res.services ?? []) console.log(`    ${s.app_slug.padEnd(20)} ${s.name.padEnd(20)} ${s.description}`)
      for (const c of res.components ?? []) {
        const params = c.parameters.map((p) => `${p.name}${p.required ? '' : '?'}: ${p.type}`).join(', ')
        console.log(`    ${c.component_id.padEnd(28)} ${c.name}\n      params { ${params} }`)
      }
      if (res.input_schema) {
        for (const [prop, schema] of Object.entries(res.input_schema.properties)) {
          const bits = [schema.type ?? 'any', schema.default !== undefined && `default ${JSON.stringify(schema.default)}`,
            schema['x-remote-options'] && 'values from pipedream_configure_prop'].filter(Boolean)
          console.log(`    params.${prop}: ${bits.join(', ')} — ${schema.description ?? ''}`)
        }
      }
    }
    if (emulator || process.argv.includes('--execute')) await execute(pd)
    else console.log('\n(Real API: nothing is executed without --execute.)')

    const t0 = process.hrtime.bigint()
    const again = await pd.searchServices({ query: 'gmail', limit: 3 })
    const us = Number(process.hrtime.bigint() - t0) / 1e3
    console.log(`\nThe same search again: cached: ${again.cached}, ${us.toFixed(0)} µs`)
  } finally {
    if (emulator) emulator.stop()
  }
}

async function execute(pd) {
  // The plan's Example 1: a pipedream_connect node whose results become workflow variables.
  const node = {
    component_id: 'gmail-search-emails',
    params: { query: 'from:investor@company.com', maxResults: 20 },
    store: { emails: 'foundInvestorEmails', count: 'totalEmails' },
  }
  console.log(`\n> executePipedreamConnect ${JSON.stringify(node)}`)
  const res = await pd.executePipedreamConnect(node, { workflowId: 'demo', alias: 'search_investor_emails' })
  console.log(`< ${res.summary}  (token from ${res.meta.token_source}, account ${res.meta.account_id}, ${res.meta.duration_ms} ms)`)
  console.log(`    search_investor_emails.totalEmails = ${JSON.stringify(res.stored.totalEmails)}`)
  for (const e of res.stored.foundInvestorEmails ?? []) console.log(`    · ${e.from}: ${e.subject}`)

  // The plan's Example 2: one Airtable record per extracted investor, as an iterate body.
  const investors = [
    { name: 'Ada Lovelace', email: 'ada@analytical.vc', company: 'Analytical Ventures' },
    { name: 'Grace Hopper', email: 'grace@cobol.capital', company: 'COBOL Capital' },
    { name: 'Alan Turing', email: 'alan@enigma.partners', company: 'Enigma Partners' },
  ]
  const items = investors.map((inv, i) => ({
    config: {
      component_id: 'airtable-create-record',
      params: { base_id: 'appXXXXXXXXXXXXXX', table_name: 'Investors', fields: { Name: inv.name, Email: inv.email, Company: inv.company } },
    },
    context: { workflowId: 'demo', alias: 'create_airtable_record', currentRecord: { id: `investor_00${i + 1}` } },
  }))
  console.log(`\n> executeBatch(${items.length} airtable-create-record items, { concurrency: 5 })`)
  const outcomes = await pd.executeBatch(items, { concurrency: 5 })
  outcomes.forEach((o, i) => {
    const what =
      o.status === 'fulfilled'
        ? `${o.value.summary} (fields.Name: ${o.value.result?.fields?.Name})`
        : `${o.reason.code}: ${o.reason.message}`
    console.log(`    ${items[i].context.currentRecord.id.padEnd(14)} ${o.status.padEnd(10)} ${what}`)
  })
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
