'use strict'
// The loopback ceiling: wrk, a native load generator, sending the same requests to the same
// emulator at the same concurrency. Nothing in Node can beat it, so it shows how much of the
// machine the emulator alone takes and how close each client gets.
const { execFile, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const WRK = process.env.WRK_BIN || 'wrk'

function wrkAvailable() {
  const r = spawnSync(WRK, ['-v'], { encoding: 'utf8' })
  // `wrk -v` prints its version and usage and exits 1; only a failure to start means it is missing.
  return r.error ? null : (r.stdout + r.stderr).split('\n')[0].replace(/\s*Copyright.*$/, '').trim()
}

// wrk runs one Lua state per thread; each cycles through the same list, so the server sees the
// same mix of queries as the Node clients. `done` prints one JSON line, easier than the report.
function luaScript({ method, body, headers = {}, paths }) {
  const lines = []
  if (method) lines.push(`wrk.method = ${lua(method)}`)
  if (body !== undefined) lines.push(`wrk.body = ${lua(body)}`)
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[ ${lua(k)} ] = ${lua(v)}`)
  if (paths) {
    lines.push(`local paths = {\n${paths.map((p) => `  ${lua(p)},`).join('\n')}\n}`)
    lines.push('local n = 0')
    lines.push('request = function()\n  n = n + 1\n  return wrk.format(nil, paths[(n % #paths) + 1])\nend')
  }
  lines.push(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end`)
  return lines.join('\n') + '\n'
}

/** A Lua long string: no escaping needed as long as the text has no `]==]`. */
function lua(s) {
  if (String(s).includes(']==]')) throw new Error(`cannot quote for Lua: ${s}`)
  return `[==[${s}]==]`
}

/**
 * Runs wrk for `seconds` with `connections` (and at most that many threads) and answers requests
 * per second. `paths` (path + query, each request takes the next) overrides `path`.
 */
async function wrk({ baseUrl, path: urlPath, paths, method, body, headers = {}, connections, threads, seconds }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-wrk-'))
  try {
    const script = path.join(dir, 'script.lua')
    const bodyHeaders = body === undefined ? {} : { 'content-type': 'application/json' }
    fs.writeFileSync(script, luaScript({ method, body, headers: bodyHeaders, paths }))
    const t = Math.min(threads, connections)
    const args = ['-c', String(connections), '-t', String(t), '-d', `${seconds}s`, '-s', script]
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
    args.push(`${baseUrl}${urlPath || paths[0]}`)
    const out = await new Promise((resolve, reject) => {
      execFile(WRK, args, { timeout: (seconds + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`wrk failed: ${err.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
    const m = out.match(/^WRK_JSON (.*)$/m)
    if (!m) throw new Error(`wrk printed no summary:\n${out}`)
    const s = JSON.parse(m[1])
    if (s.non2xx || s.socket_errors) {
      const what = `${s.non2xx} non-2xx answers and ${s.socket_errors} socket errors of ${s.requests}`
      throw new Error(`wrk saw ${what}: the ceiling would be wrong`)
    }
    return { rate: s.requests / (s.duration_us / 1e6), requests: s.requests, p50Us: s.p50_us, p99Us: s.p99_us }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { wrk, wrkAvailable }
