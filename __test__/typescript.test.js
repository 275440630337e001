'use strict'
// The package's types as a TypeScript user meets them: __test__/types/usage.ts (the README's
// usage, and misuse that must not compile, marked `@ts-expect-error`) and the README's own
// TypeScript example are compiled with `tsc --strict`; and the `PipedreamErrorCode` union is the
// engine's own list of codes.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..')

/** Runs tsc on a project; its output, empty when it compiled. */
function tsc(project) {
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], { encoding: 'utf8' })
    return ''
  } catch (e) {
    return `${e.stdout || ''}${e.stderr || ''}` || String(e)
  }
}

test('the usage compiles under tsc --strict, and every misuse is a type error', () => {
  // An unused `@ts-expect-error` (a misuse that compiled) is an error too (TS2578).
  expect(tsc(path.join(__dirname, 'types', 'tsconfig.json'))).toBe('')
})

test("the README's TypeScript example compiles under tsc --strict against index.d.ts", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1])
  expect(blocks.length).toBeGreaterThan(0)
  // Each block as a module of its own that imports the package by name, as a user writes it,
  // resolved to this checkout's index.d.ts; the compiler options are those of types/tsconfig.json.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-readme-ts-'))
  try {
    const files = blocks.map((code, i) => {
      const file = path.join(dir, `readme-${i}.ts`)
      fs.writeFileSync(file, code)
      return file
    })
    const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(__dirname, 'types', 'tsconfig.json'), 'utf8'))
    const config = {
      compilerOptions: { ...compilerOptions, paths: { '@director/pipedream-connect': [path.join(ROOT, 'index.d.ts')] } },
      files,
    }
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2))
    expect(tsc(path.join(dir, 'tsconfig.json'))).toBe('')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
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
