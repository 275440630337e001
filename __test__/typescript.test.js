'use strict'
// The package's types as a TypeScript user meets them: __test__/types/usage.ts (the README's
// usage, and misuse that must not compile, marked `@ts-expect-error`) is compiled with
// `tsc --strict`; and the `PipedreamErrorCode` union is the engine's own list of codes.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..')

test('the usage compiles under tsc --strict, and every misuse is a type error', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  let output = ''
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' })
  } catch (e) {
    output = `${e.stdout || ''}${e.stderr || ''}`
  }
  // An unused `@ts-expect-error` (a misuse that compiled) is an error too (TS2578).
  expect(output).toBe('')
})

test('PipedreamErrorCode lists exactly the codes a failed call can carry', () => {
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8')
  const union = dts.match(/export type PipedreamErrorCode =([\s\S]*?)\n\n/)
  expect(union).not.toBeNull()
  const declared = [...union[1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort()
  const error = fs.readFileSync(path.join(ROOT, 'src', 'engine', 'error.rs'), 'utf8')
  const body = error.match(/pub fn as_str\(self\)[\s\S]*?\n {4}\}/)[0]
  const engine = [...body.matchAll(/=> "([A-Z_]+)"/g)].map((m) => m[1]).filter((c) => c !== 'ABORT_ERR')
  expect(declared).toEqual([...engine, 'PIPEDREAM_UNKNOWN_TOOL'].sort())
  // The runtime constant is the same list.
  const { errorCodes } = require('..')
  expect([...errorCodes].sort()).toEqual(declared)
  expect(Object.isFrozen(errorCodes)).toBe(true)
})
