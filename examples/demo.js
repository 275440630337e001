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

  const { searchServices } = require(ROOT)
  try {
    for (const query of ['gmail', 'crm', 'spreadsheet']) {
      const t0 = process.hrtime.bigint()
      const res = await searchServices({ query, limit: 5 })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      console.log(`\nsearchServices({ query: '${query}', limit: 5 })  ${ms.toFixed(2)} ms${res.cached ? ' (cached)' : ''}`)
      if (res.error) {
        console.log(`  ${res.error}: ${res.message}`)
        continue
      }
      for (const s of res.services) console.log(`  ${s.app_slug.padEnd(24)} ${s.name.padEnd(22)} ${s.auth_type ?? ''}`)
      console.log(`  → ${res.message}`)
    }
    const t0 = process.hrtime.bigint()
    const again = await searchServices({ query: 'gmail', limit: 5 })
    const us = Number(process.hrtime.bigint() - t0) / 1e3
    console.log(`\nThe same gmail search again: ${again.services.length} services, cached: ${again.cached}, ${us.toFixed(0)} µs`)
  } finally {
    if (emulator) emulator.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
