#!/usr/bin/env node
'use strict'
// A short tour of the package. With Pipedream credentials in the environment
// (PIPEDREAM_CLIENT_ID + PIPEDREAM_CLIENT_SECRET, or PIPEDREAM_API_TOKEN) it talks to the real
// Connect API; otherwise it starts the local emulator and points the package at it.
const { spawn } = require('node:child_process')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')
const hasCredentials =
  (process.env.PIPEDREAM_CLIENT_ID && process.env.PIPEDREAM_CLIENT_SECRET) || process.env.PIPEDREAM_API_TOKEN

function startEmulator() {
  const bin = process.env.PIPEDREAM_EMULATOR_BIN || path.join(ROOT, 'target', 'debug', 'pipedream-emulator')
  const child = spawn(bin, ['--port', '0', '--client-id', 'demo-client', '--client-secret', 'demo-secret'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot start the emulator (${bin}): ${e.message}. Run \`npm run build:emulator\`.`)))
    child.stdout.on('data', (d) => {
      const m = String(d).match(/listening on (http:\/\/\S+)/)
      if (m) resolve({ url: m[1], stop: () => child.kill('SIGTERM') })
    })
  })
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
    const t0 = process.hrtime.bigint()
    const again = await pd.searchServices({ query: 'gmail', limit: 3 })
    const us = Number(process.hrtime.bigint() - t0) / 1e3
    console.log(`\nThe same search again: cached: ${again.cached}, ${us.toFixed(0)} µs`)
  } finally {
    if (emulator) emulator.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
