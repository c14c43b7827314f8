// The event log's CPU cost on the scheduler thread, without sockets or workers: a noop map of N
// tasks driven through one NativeCore (submit, computes out, finished events in with inline
// results, release), with and without `eventLog`, alternating; medians of the time spent in
// core calls.   node bench/profile/event-log-cost.mjs [--tasks 100000] [--rounds 5] [--base ROOT]
// --base: also the core of another build (ROOT/native), without a log: the cost of the hooks when off.
import path from 'node:path'
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(import.meta.url)
const { NativeCore } = require(path.join(root, 'native/index.js'))
const { encode, decode } = require(path.join(root, 'dist/protocol/index.js'))
const { values: opts } = parseArgs({ options: { tasks: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '5' }, base: { type: 'string' } } })
const BaseCore = opts.base ? require(path.join(path.resolve(opts.base), 'native/index.js')).NativeCore : null
const n = Number(opts.tasks)
const file = '/tmp/skein-event-log-cost.skeinlog'
// Shaped like a client's noop map: hashed keys, a small msgpack payload per task.
const graph = encode(Array.from({ length: n }, (_, i) => [`noop-5f1e0c2a9b7d3e41-${i}`, 'noop', encode([0, 'fn-5f1e0c2a9b7d3e41', [i]]), [], 0, null, null]))
const wanted = Uint32Array.from({ length: n }, (_, i) => i)

function once(eventLog, Core = NativeCore) {
  const core = new Core(eventLog ? { eventLog } : null)
  let ms = 0
  const timed = (f) => {
    const t0 = performance.now()
    const r = f()
    ms += performance.now() - t0
    return r
  }
  const client = timed(() => core.addClient())
  const workers = [timed(() => core.addWorker('a', 1, null, 0)), timed(() => core.addWorker('b', 1, null, 0))]
  const ids = timed(() => core.submitGraphIndexed(client, graph, wanted))
  let done = 0
  let now = 0
  while (done < n) {
    const bytes = timed(() => core.takeMessages())
    if (bytes === null) {
      timed(() => core.tick((now += 0.1)))
      continue
    }
    const [rows] = decode(bytes)
    for (const [worker, , compute] of rows) {
      if (compute === null) continue
      const [, entries] = decode(compute)
      for (let i = 0; i < entries.length; i += 200) {
        const events = entries.slice(i, i + 200).map(([task, run]) => [0, task, run, 8, 0.00001, Buffer.from([0x01])])
        const frame = encode(events)
        timed(() => core.workerEvents(worker, frame))
        done += events.length
      }
    }
    void workers
  }
  timed(() => core.takeMessages())
  timed(() => core.releaseTasks(client, ids))
  timed(() => core.takeMessages())
  const bytes = eventLog ? timed(() => core.closeEventLog()) : 0
  return { ms, bytes }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const off = []
const on = []
const base = []
let logBytes = 0
once(null)
for (let r = 0; r < Number(opts.rounds); r++) {
  if (BaseCore) base.push(once(null, BaseCore).ms)
  off.push(once(null).ms)
  const run = once(file)
  on.push(run.ms)
  logBytes = run.bytes
}
fs.rmSync(file, { force: true })
const us = (ms) => ((ms * 1000) / n).toFixed(2)
console.log(`core calls for a noop map of ${n}: off ${median(off).toFixed(0)} ms (${us(median(off))} us/task), on ${median(on).toFixed(0)} ms (${us(median(on))} us/task); +${us(median(on) - median(off))} us/task, log ${logBytes} bytes (${(logBytes / n).toFixed(1)} B/task)`)
if (BaseCore) console.log(`base (${opts.base}, no log): ${median(base).toFixed(0)} ms (${us(median(base))} us/task); off vs base ${(((median(off) - median(base)) / median(base)) * 100).toFixed(1)}%`)
console.log(`off: ${off.map((x) => x.toFixed(0)).join(' ')}  on: ${on.map((x) => x.toFixed(0)).join(' ')}${BaseCore ? `  base: ${base.map((x) => x.toFixed(0)).join(' ')}` : ''}`)
