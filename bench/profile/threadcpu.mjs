// Per-thread CPU (us per task, user+system, from /proc) of the driver (client main thread + scheduler
// thread) and the two worker processes, for one workload, plus its rate. Robust to other load far more
// than wall-clock rates are (preemption is not counted). From /proc/PID/task/TID/schedstat, in
// nanoseconds (stat's 10 ms ticks needed 10+ runs of the small workloads).
//   node bench/profile/threadcpu.mjs ROOT [noop|tree|btree|shuffle|cpu1ms|latency] [RUNS]
// WARGS="--cpu-prof ..." passes Node options to the worker processes; SHAPE=1x2 runs one worker
// process with 2 slots instead of two with 1; HZ=0.02 sets the core's saturationHorizon (seconds).
// Also prints each process's bytes and read/write syscalls per task (/proc/PID/io).
// Threads: 'main' (tid = pid); the rest are listed by creation order, those within pid+4 summed as
// 'v8'. The labels are a guess: V8's platform threads (GC, JIT) are not always the first ones, so
// read the per-thread cells: in the driver the largest non-main cell is the scheduler thread, in a
// worker the execution thread; the small ones are GC/JIT helpers. The client connects in-process.
import path from 'node:path'
import fs from 'node:fs'
import { fork } from 'node:child_process'
const root = path.resolve(process.argv[2])
const workload = process.argv[3] ?? 'noop'
const runs = Number(process.argv[4] ?? 3)
const skein = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client, task } = skein.default ?? skein
const cluster = await LocalCluster.start({ workers: 0, ...(process.env.HZ ? { scheduler: { core: { saturationHorizon: Number(process.env.HZ) } } } : {}) })
const env = cluster.scheduler.token ? { ...process.env, SKEIN_TOKEN: cluster.scheduler.token } : process.env
const one = process.env.SHAPE === '1x2'
const kids = (one ? [0] : [0, 1]).map((i) => fork(path.join(root, 'dist/worker/main.js'), [cluster.address, '--slots', one ? '2' : '1', '--name', `w-${i}`, '--quiet'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: (process.env.WARGS ?? '').split(' ').filter(Boolean) }))
await cluster.scheduler.waitForWorkers(kids.length, 30000)
const client = await Client.connect(cluster.address)
function threads(pid) {
  const out = {}
  for (const tid of fs.readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b)) {
    try {
      // schedstat's first field: nanoseconds on a CPU (stat's utime/stime count 10 ms ticks).
      out[tid] = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1000
    } catch {}
  }
  return out
}
const noop = (i) => i
const inc = (x) => x + 1
const stamp2 = (i) => [i, 0]
const combine = (...parts) => { let s = 0; for (const [v] of parts) s += v; return [s, 0] }
const TASKS = { noop: 100_000, tree: 11_111, latency: 2000, btree: 19_999, shuffle: 10_200, cpu1ms: 2000 }
let runId = 0
const workloads = {
  async noop() {
    const n = TASKS.noop; runId++
    const fs_ = client.map(noop, Array.from({ length: n }, (_, i) => i + runId * n))
    await client.gather(fs_)
    for (const f of fs_) f.release()
  },
  async tree() {
    runId++
    let level = Array.from({ length: 10_000 }, (_, i) => task(stamp2, runId * 1e6 + i))
    while (level.length > 1) { const next = []; for (let i = 0; i < level.length; i += 10) next.push(task(combine, ...level.slice(i, i + 10))); level = next }
    const f = client.compute(level[0]); await f; f.release()
  },
  async btree() {
    runId++
    const leaf = (i) => i
    const add = (a, b) => a + b
    let level = Array.from({ length: 10_000 }, (_, i) => task(leaf, runId * 1e6 + i))
    while (level.length > 1) { const next = []; for (let i = 0; i + 1 < level.length; i += 2) next.push(task(add, level[i], level[i + 1])); if (level.length % 2 === 1) next.push(level[level.length - 1]); level = next }
    const f = client.compute(level[0]); await f; f.release()
  },
  async shuffle() {
    // bench/skein/shuffle.ts at full size: 100 inputs of 1,000 numbers, 100 x 100 split tasks, 100 concat tasks.
    const n = 100, piece = 10, base = ++runId * n * n * piece
    const make = (i, n, piece, base) => Array.from({ length: n * piece }, (_, k) => base + i * n * piece + k)
    const split = (part, j, n) => part.filter((x) => x % n === j)
    const concat = (...pieces) => [].concat(...pieces)
    const inputs = Array.from({ length: n }, (_, i) => task(make, i, n, piece, base))
    const outputs = []
    for (let j = 0; j < n; j++) outputs.push(task(concat, ...inputs.map((input) => task(split, input, j, n))))
    const fs_ = client.compute(outputs)
    await client.gather(fs_)
    for (const f of fs_) f.release()
  },
  async cpu1ms() {
    const cpuWork = (rounds, seed) => {
      const started = performance.now()
      let h = seed | 0
      for (let i = 0; i < rounds; i++) { h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16; h = (h + i) | 0 }
      return [h >>> 0, performance.now() - started]
    }
    const fs_ = client.compute(Array.from({ length: 2000 }, (_, seed) => skein.taskWith({ pure: false }, cpuWork, 280_000, seed)))
    const res = await client.gather(fs_)
    globalThis.loopMs = (globalThis.loopMs ?? 0) + res.reduce((a, r) => a + r[1], 0)
    for (const f of fs_) f.release()
  },
  async latency() {
    for (let i = 0; i < TASKS.latency; i++) { const f = client.submit(inc, ++runId * 10); await f; f.release() }
  },
}
await client.gather(client.map(noop, Array.from({ length: 5000 }, (_, i) => -1 - i)))
await workloads[workload]() // warm-up
const pids = one ? { driver: process.pid, w0: kids[0].pid } : { driver: process.pid, w0: kids[0].pid, w1: kids[1].pid }
const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, threads(p)]))
const io0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, (() => { try { return Object.fromEntries(fs.readFileSync(`/proc/${p}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([a, b]) => [a, Number(b)])) } catch { return {} } })()]))
const rates = []
for (let r = 0; r < runs; r++) {
  const t0 = performance.now()
  await workloads[workload]()
  const ms = performance.now() - t0
  rates.push(workload === 'latency' ? (ms * 1000) / TASKS.latency : (TASKS[workload] / ms) * 1000)
}
const io = (p) => Object.fromEntries(fs.readFileSync(`/proc/${p}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]))
const after = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, threads(p)]))
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
console.log(`${workload}: ${workload === 'latency' ? 'us/task (mean per run)' : 'tasks/s'} median ${med(rates).toFixed(0)} [${rates.map((r) => r.toFixed(0)).join(' ')}]`)
const total = TASKS[workload] * runs
let all = 0
for (const [k, pid] of Object.entries(pids)) {
  const tids = Object.keys(after[k]).map(Number).sort((a, b) => a - b)
  const cells = []
  let v8 = 0, sum = 0, t = 0
  for (const tid of tids) {
    const us = (after[k][tid] - (before[k][tid] ?? 0)) / total
    sum += us
    if (tid === pid) cells.push(`main ${us.toFixed(2)}`)
    else if (tid <= pid + 4) v8 += us
    else if (us >= 0.05) cells.push(`thread${t++} ${us.toFixed(2)}`)
  }
  all += sum
  console.log(`  ${k.padEnd(6)} total ${sum.toFixed(2)}  ${cells.join('  ')}  v8 ${v8.toFixed(2)}`)
}
for (const [k, p] of Object.entries(pids)) { const b = io(p); console.log(`  ${k} io per task: rchar ${((b.rchar - io0[k].rchar) / (TASKS[workload] * runs)).toFixed(0)} wchar ${((b.wchar - io0[k].wchar) / (TASKS[workload] * runs)).toFixed(0)} syscr ${((b.syscr - io0[k].syscr) / (TASKS[workload] * runs)).toFixed(2)} syscw ${((b.syscw - io0[k].syscw) / (TASKS[workload] * runs)).toFixed(2)}`) }
if (globalThis.loopMs) console.log(`  loop ms per task (incl warm-up) ${(globalThis.loopMs / (TASKS[workload] * (runs + 1))).toFixed(3)}`)
console.log(`  all processes: ${all.toFixed(2)} us CPU per task`)
await client.close()
await Promise.all(kids.map((k) => new Promise((r) => { k.once('exit', r); k.kill('SIGTERM') })))
await cluster.close()
process.exit(0)
