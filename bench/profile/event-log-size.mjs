// The event log's size per task and its replay time, for a noop map on a LocalCluster.
//   node bench/profile/event-log-size.mjs [--tasks 100000] [--workers 2] [--file /tmp/noop.skeinlog]
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const skein = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client, replayEventLog } = skein.default ?? skein
const { values: opts } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '2' },
    file: { type: 'string', default: '/tmp/skein-noop-map.skeinlog' },
  },
})
const n = Number(opts.tasks)
const noop = (i) => i
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const cluster = await LocalCluster.start({ workers: Number(opts.workers), scheduler: { eventLog: opts.file }, log: () => {} })
const client = await Client.connect(cluster.address)
await client.gather(client.map(noop, Array.from({ length: 1000 }, (_, i) => -1 - i)))
await sleep(300) // a tick writes what the warm-up buffered
const before = fs.statSync(opts.file).size
const t0 = performance.now()
const fs_ = client.map(noop, Array.from({ length: n }, (_, i) => i))
await client.gather(fs_)
const ms = performance.now() - t0
for (const f of fs_) f.release()
await sleep(300)
const after = fs.statSync(opts.file).size
await client.close()
await cluster.close()
const total = fs.statSync(opts.file).size
const r0 = performance.now()
const summary = await replayEventLog(opts.file)
const replayMs = performance.now() - r0
console.log(
  JSON.stringify({
    tasks: n,
    'map ms': Math.round(ms),
    'log bytes for the map': after - before,
    'bytes per task': +((after - before) / n).toFixed(1),
    'log bytes in all': total,
    'replay ms': Math.round(replayMs),
    'replay events': summary.events,
    'digests matched': `${summary.digestsMatched}/${summary.batches}`,
    mismatch: summary.mismatch ?? null,
  }),
)
