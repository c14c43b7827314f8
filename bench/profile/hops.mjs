// Where a lone task's round trip goes: N sequential round trips (submit inc, await it) on a local
// cluster of 2 workers x 1 slot, every thread traced by hops-trace.cjs; prints, for the most common
// sequence of hops in the last half of the round trips, the median and p90 of each step.
//   node bench/profile/hops.mjs ROOT [N=4000]
// Steps read as thread:event: C = the client (main thread), S* = the driver's other threads (the
// scheduler's), W<pid> = a worker's I/O thread, X<pid>.t<n> = its execution thread; wsS/wsR = a
// WebSocket frame sent/received, portS/portR and wkrS/wkrR = a message posted/received.
// Needs a few thousand round trips: the hot paths run in unoptimised code for the first ones.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'

const root = path.resolve(process.argv[2] ?? '.')
const n = Number(process.argv[3] ?? 4000)
const trace = path.join(path.dirname(new URL(import.meta.url).pathname), 'hops-trace.cjs')
process.env.HOPS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-hops-'))
createRequire(import.meta.url)(trace)

const loaded = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client } = loaded.default ?? loaded
const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, workerExecArgv: ['--require', trace] })
const client = await Client.connect(cluster.address)
const inc = (x) => x + 1
for (let i = 0; i < n; i++) {
  globalThis.__hops('T0')
  const future = client.submit(inc, i)
  await future
  globalThis.__hops('T1')
  future.release()
}
await client.close()
await cluster.close()
await new Promise((resolve) => setTimeout(resolve, 1500))
globalThis.__hopsDump()

const events = []
let driver = null
for (const file of fs.readdirSync(process.env.HOPS_DIR)) {
  const who = file.slice(0, -'.json'.length)
  const log = JSON.parse(fs.readFileSync(path.join(process.env.HOPS_DIR, file), 'utf8'))
  for (let i = 0; i < log.length; i += 2) events.push([log[i + 1], who, log[i]])
  if (who === `${process.pid}-main`) driver = who
}
if (process.env.HOPS_DEBUG) console.log(fs.readdirSync(process.env.HOPS_DIR).join(" "))
fs.rmSync(process.env.HOPS_DIR, { recursive: true, force: true })
events.sort((a, b) => a[0] - b[0])
const label = (who) => {
  const [pid, thread] = who.split('-')
  if (who === driver) return 'C'
  if (Number(pid) === process.pid) return `S${thread}`
  return thread === 'main' ? `W${pid}` : `X${pid}.${thread}`
}
const trips = []
let current = null
for (const [t, who, kind] of events) {
  if (kind === 'T0' && who === driver) current = [[t, 'C:T0']]
  else if (current !== null) {
    current.push([t, `${label(who)}:${kind}`])
    if (kind === 'T1' && who === driver) {
      trips.push(current)
      current = null
    }
  }
}
const late = trips.slice(trips.length >> 1)
const counts = new Map()
for (const trip of late) {
  const signature = trip.map(([, step]) => step).join(' ')
  counts.set(signature, (counts.get(signature) ?? 0) + 1)
}
const [signature, count] = [...counts].sort((a, b) => b[1] - a[1])[0]
const steps = signature.split(' ')
const chosen = late.filter((trip) => trip.map(([, step]) => step).join(' ') === signature)
const pick = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]
console.log(`${late.length} round trips traced (the last half of ${trips.length}); ${count} of them took the most common path:`)
for (let i = 1; i < steps.length; i++) {
  const d = chosen.map((trip) => trip[i][0] - trip[i - 1][0])
  console.log(`  ${steps[i - 1].padEnd(16)} -> ${steps[i].padEnd(16)} p50 ${String(pick(d, 0.5)).padStart(5)} us  p90 ${String(pick(d, 0.9)).padStart(5)} us`)
}
const totals = chosen.map((trip) => trip[trip.length - 1][0] - trip[0][0])
console.log(`  round trip p50 ${pick(totals, 0.5)} us  p90 ${pick(totals, 0.9)} us  p99 ${pick(totals, 0.99)} us`)
// The slowest 2% of all the late round trips, whatever their path: which step took longest in each.
const slow = [...late].sort((a, b) => b[b.length - 1][0] - b[0][0] - (a[a.length - 1][0] - a[0][0])).slice(0, Math.ceil(late.length / 50))
const blamed = new Map()
for (const trip of slow) {
  let worst = 1
  for (let i = 2; i < trip.length; i++) if (trip[i][0] - trip[i - 1][0] > trip[worst][0] - trip[worst - 1][0]) worst = i
  const step = `${trip[worst - 1][1].replace(/\d+/g, '')} -> ${trip[worst][1].replace(/\d+/g, '')}`
  const entry = blamed.get(step) ?? { n: 0, us: [] }
  entry.n++
  entry.us.push(trip[worst][0] - trip[worst - 1][0])
  blamed.set(step, entry)
}
console.log(`the slowest ${slow.length} round trips (${slow[slow.length - 1][slow[slow.length - 1].length - 1][0] - slow[slow.length - 1][0][0]} us and more), by their longest step:`)
for (const [step, { n, us }] of [...blamed].sort((a, b) => b[1].n - a[1].n)) console.log(`  ${String(n).padStart(4)} x ${step.padEnd(36)} median ${pick(us, 0.5)} us`)
process.exit(0)
