'use strict'
// One side of one scenario, alone in a fresh process (`run.js --isolated`): a shared process
// flatters whichever side copes better with the others' threads, heap and sockets beside it.
// run.js writes `{ ctx, scenario, side }` as JSON to stdin; this warms the side up, takes one
// sample and prints it as one JSON line.
const { lazyClients } = require('./clients')
const { readInput, watchServer } = require('./measure')
const { scenarios, warmUp } = require('./scenarios')

async function main() {
  const { ctx, scenario, side } = await readInput()
  watchServer(ctx.emulatorPid)
  const clients = lazyClients(ctx.base, { redisUrl: ctx.redisUrl })
  try {
    const sc = scenarios({ ...ctx, clients }).find((s) => s.name === scenario)
    if (!sc?.sides[side]) throw new Error(`no side ${side} in scenario ${scenario}`)
    await warmUp(sc, side, ctx.quick)
    const sample = await sc.sides[side](sc.n)
    process.stdout.write(`${JSON.stringify(sample)}\n`)
  } finally {
    await clients.close()
  }
}

main().then(
  // The addon's runtime and any keep-alive sockets must not hold the process open.
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
