// Native core cost of a one-task submit + finish round, in-process (no sockets): is the core a latency stage?
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(import.meta.url)
const { NativeCore } = require(path.join(root, 'native/index.js'))
const { encode, decode } = require(path.join(root, 'dist/protocol/index.js'))
const core = new NativeCore(null)
const client = core.addClient()
const w = core.addWorker('w', 1, null, 0)
const n = Number(process.argv[2] ?? 20000)
for (let round = 0; round < 3; round++) {
  let tSubmit = 0, tTake = 0, tEvents = 0, tTake2 = 0, tRelease = 0
  for (let i = 0; i < n; i++) {
    const key = `inc-${round}-${i}`
    let t0 = performance.now()
    const ids = core.submitGraphIndexed(client, encode([[key, 'inc', Buffer.from('payload'), [], 0, null, null]]), new Uint32Array([0]))
    let t1 = performance.now(); tSubmit += t1 - t0
    const m = decode(core.takeMessages())
    let t2 = performance.now(); tTake += t2 - t1
    core.workerEvents(w, encode([[0, ids[0], decode(m[0][0][2])[1][0][1], 8, 0.0001]]))
    let t3 = performance.now(); tEvents += t3 - t2
    core.takeMessages()
    let t4 = performance.now(); tTake2 += t4 - t3
    core.releaseKeys(client, [key])
    tRelease += performance.now() - t4
  }
  const us = (t) => ((t * 1000) / n).toFixed(2)
  console.log(`submit ${us(tSubmit)} us, take ${us(tTake)}, events ${us(tEvents)}, take ${us(tTake2)}, release ${us(tRelease)}`)
}
