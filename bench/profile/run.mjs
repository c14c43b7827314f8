// Performance engineer's measurement/profiling harness (not the official suite; see bench/ for that).
//   node bench/profile/run.mjs [--runs 5] [--only noop,inc,latency,tree,submit] [--prof-workers DIR] [--scale 1]
// Driver profiling: node --cpu-prof --cpu-prof-dir=DIR bench/profile/run.mjs ...
// Workers are forked here (LocalCluster with workers: 0) so they can get --cpu-prof too.
// --event-log FILE: the scheduler records its event log there (the cost of `skein scheduler --event-log`).
// --dashboard: a plain WebSocket client watches the dashboard's feed meanwhile (as an open page does).
// --scrape: a Prometheus stand-in fetches the scheduler's /metrics every second meanwhile.
import { fork, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const rootArg = process.argv.indexOf('--root')
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const skein = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client, task } = skein.default ?? skein

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string', default: 'noop,inc,latency,tree,shuffle,submit,gtree,locality' },
    'prof-workers': { type: 'string' },
    scale: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    root: { type: 'string' },
    'event-log': { type: 'string' },
    dashboard: { type: 'boolean', default: false },
    scrape: { type: 'boolean', default: false },
  },
})
const runs = Number(opts.runs)
const scale = Number(opts.scale)
const only = new Set(opts.only.split(','))

const noop = (i) => i
const inc = (x) => x + 1
const sum = (...v) => v.reduce((a, b) => a + b, 0)
const leaf = (i) => i
const add = (a, b) => a + b
const readAll = (i, ...xs) => [process.pid, xs.reduce((s, x) => s + x.length, i)]
const pid = () => process.pid
const stamp = (i) => performance.timeOrigin + performance.now()
// graph-submit-100k of the official suite: leaves stamp [value, start], a 10-ary tree of combines reduces them.
const stamp2 = (i) => [i, performance.timeOrigin + performance.now()]
const combine = (...parts) => {
  let sum = 0
  let first = parts[0][1]
  for (const [value, started] of parts) {
    sum += value
    if (started < first) first = started
  }
  return [sum, first]
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] }
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }

async function startCluster(n) {
  const cluster = await LocalCluster.start({ workers: 0, ...(opts['event-log'] ? { scheduler: { eventLog: opts['event-log'] } } : {}) })
  const entry = path.join(root, 'dist/worker/main.js')
  const execArgv = opts['prof-workers'] ? ['--cpu-prof', `--cpu-prof-dir=${opts['prof-workers']}`] : []
  const children = []
  for (let i = 0; i < n; i++) {
    // The cluster's token (a build from before authentication has none).
    const env = cluster.scheduler.token ? { ...process.env, SKEIN_TOKEN: cluster.scheduler.token } : process.env
    children.push(fork(entry, [cluster.address, '--slots', '1', '--name', `w-${i}`, '--quiet'], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }
  await cluster.scheduler.waitForWorkers(n, 30000)
  return {
    pids: children.map((c) => c.pid),
    address: cluster.address,
    dashboardLink: cluster.dashboardLink,
    token: cluster.scheduler.token,
    async close() {
      // SIGTERM lets workers write their --cpu-prof file on a clean exit.
      await Promise.all(children.map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM') })))
      await cluster.close()
    },
  }
}

const workloads = {
  async noop(client) {
    const n = Math.round(100_000 * scale)
    const items = Array.from({ length: n }, (_, i) => i + runId * n)
    const t0 = performance.now()
    const fs = client.map(noop, items)
    const vals = await client.gather(fs)
    const ms = performance.now() - t0
    if (vals[n - 1] !== items[n - 1]) throw new Error('noop wrong')
    for (const f of fs) f.release()
    return { 'noop-map tasks/s': (n / ms) * 1000 }
  },
  async inc(client) {
    const n = Math.round(1000 * scale)
    const numbers = Array.from({ length: n }, (_, i) => i + runId * 1e6)
    const t0 = performance.now()
    const sc = await client.scatter(numbers)
    const incd = client.map(inc, sc)
    const total = await client.submit(sum, ...incd)
    const ms = performance.now() - t0
    const expect = numbers.reduce((a, b) => a + b + 1, 0)
    if (total !== expect) throw new Error(`inc wrong ${total} ${expect}`)
    for (const f of [...sc, ...incd]) f.release()
    return { 'inc-1000 us/task': (ms * 1000) / n }
  },
  // Locality: 1,000 fast tasks each reading the same 10 inputs, all held by w-0; how many run there
  // (the rest pull all 10 across), and how fast.
  async locality(client) {
    const n = Math.round(1000 * scale)
    const inputs = await client.scatter(Array.from({ length: 10 }, (_, i) => Array.from({ length: 100 }, (_, k) => i + k + runId)), { workers: ['w-0'] })
    const holder = await client.submitWith({ restrictions: ['w-0'], pure: false }, pid)
    const t0 = performance.now()
    const fs = Array.from({ length: n }, (_, i) => client.submit(readAll, i + runId * n, ...inputs))
    const vals = await client.gather(fs)
    const ms = performance.now() - t0
    if (vals[n - 1][1] !== n - 1 + runId * n + 1000) throw new Error('locality wrong')
    for (const f of [...fs, ...inputs]) f.release()
    return { 'locality tasks/s': (n / ms) * 1000, 'locality % on holder': (100 * vals.filter((v) => v[0] === holder).length) / n }
  },
  async latency(client) {
    const n = Math.round(1000 * scale)
    const lat = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const f = client.submit(inc, i + runId * 1e6)
      const v = await f
      lat.push((performance.now() - t0) * 1000)
      if (v !== i + runId * 1e6 + 1) throw new Error('latency wrong')
      f.release()
    }
    return { 'latency median us': median(lat), 'latency p99 us': pct(lat, 0.99) }
  },
  async tree(client) {
    const leaves = Math.round(10_000 * scale)
    const t0 = performance.now()
    let level = Array.from({ length: leaves }, (_, i) => task(leaf, i + runId * leaves))
    let tasks = leaves
    while (level.length > 1) {
      const next = []
      for (let i = 0; i + 1 < level.length; i += 2) next.push(task(add, level[i], level[i + 1]))
      if (level.length % 2 === 1) next.push(level[level.length - 1])
      tasks += Math.floor(level.length / 2)
      level = next
    }
    const f = client.compute(level[0])
    const total = await f
    const ms = performance.now() - t0
    f.release()
    return { 'tree-reduce tasks/s': (tasks / ms) * 1000 }
  },
  // shuffle-100x100 of the official suite: n inputs split n ways, n outputs concatenating one piece of each.
  async shuffle(client) {
    const n = Math.round(100 * Math.sqrt(scale))
    const base = runId * 10_000_000
    const make = (i, n, piece, base) => Array.from({ length: n * piece }, (_, k) => base + i * n * piece + k)
    const split = (part, j, n) => part.filter((x) => x % n === j)
    const concat = (...pieces) => [].concat(...pieces)
    const t0 = performance.now()
    const inputs = Array.from({ length: n }, (_, i) => task(make, i, n, 10, base))
    const outputs = []
    for (let j = 0; j < n; j++) outputs.push(task(concat, ...inputs.map((input) => task(split, input, j, n))))
    const fs = client.compute(outputs)
    const vals = await client.gather(fs)
    const ms = performance.now() - t0
    if (vals[0].length !== n * 10) throw new Error('shuffle wrong')
    for (const f of fs) f.release()
    return { 'shuffle tasks/s': ((n * n + 2 * n) / ms) * 1000 }
  },
  async submit(client) {
    const n = Math.round(100_000 * scale)
    const tasks = Array.from({ length: n }, (_, i) => task(stamp, i + runId * n))
    const t0 = performance.timeOrigin + performance.now()
    const fs = client.compute(tasks)
    const vals = await client.gather(fs)
    const t1 = performance.timeOrigin + performance.now()
    let first = Infinity
    for (const v of vals) if (v < first) first = v
    for (const f of fs) f.release()
    return { 'graph-submit first-task ms': first - t0, 'graph-submit done ms': t1 - t0 }
  },
  async gtree(client) {
    const n = Math.round(100_000 * scale)
    const leaves = Math.round((n * 9) / 10)
    const base = runId * n
    let level = Array.from({ length: leaves }, (_, i) => task(stamp2, base + i))
    while (level.length > 1) {
      const next = []
      for (let i = 0; i < level.length; i += 10) next.push(task(combine, ...level.slice(i, i + 10)))
      level = next
    }
    const c0 = process.cpuUsage()
    const t0 = performance.timeOrigin + performance.now()
    const f = client.compute(level[0])
    const sync = performance.timeOrigin + performance.now() - t0
    const [sum, first] = await f
    const t1 = performance.timeOrigin + performance.now()
    const c1 = process.cpuUsage(c0)
    if (sum !== leaves * base + (leaves * (leaves - 1)) / 2) throw new Error(`gtree wrong ${sum}`)
    f.release()
    return {
      'gtree first-task ms': first - t0,
      'gtree compute() sync ms': sync,
      'gtree done ms': t1 - t0,
      'gtree submit-to-done cpu us/task': (c1.user + c1.system) / n,
    }
  },
}

// CPU seconds (user + system) of a process, from /proc: robust to other load on a shared machine.
import fs from 'node:fs'
const ticks = 100
function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / ticks
}
const TASKS = { noop: 100_000, locality: 1000, inc: 1001, latency: 1000, tree: 19_999, shuffle: 10_200, submit: 100_000, gtree: 100_000 }

let runId = 0
const cluster = await startCluster(Number(opts.workers))
const client = await Client.connect(cluster.address)
let watcher = null
if (opts.dashboard) watcher = await watchDashboard(cluster.dashboardLink, cluster.token)
const scraper = opts.scrape ? await scrapeMetrics(cluster.address) : null
// warm-up: compile shipped functions on every worker
await client.gather(client.map(noop, Array.from({ length: 2000 }, (_, i) => -1 - i)))
for (const fn of [inc, sum, leaf, add, stamp, stamp2, readAll]) await client.submit(fn, 1)
await client.submit(combine, [1, 2])
const results = {}
for (const name of Object.keys(workloads)) {
  if (!only.has(name)) continue
  runId++
  await workloads[name](client) // warm-up run
  for (let r = 0; r < runs; r++) {
    runId++
    const c0 = process.cpuUsage()
    const w0 = cluster.pids.map(cpuOf)
    const out = await workloads[name](client)
    const c1 = process.cpuUsage(c0)
    const w1 = cluster.pids.map(cpuOf)
    const n = TASKS[name] * scale
    out[`${name} driver cpu us/task`] = (c1.user + c1.system) / n
    out[`${name} workers cpu us/task`] = (w1.reduce((a, b) => a + b, 0) - w0.reduce((a, b) => a + b, 0)) * 1e6 / n
    for (const [k, v] of Object.entries(out)) (results[k] ??= []).push(v)
  }
}
for (const [k, xs] of Object.entries(results)) {
  console.log(`${k.padEnd(28)} median ${median(xs).toFixed(1).padStart(10)}   min ${Math.min(...xs).toFixed(1).padStart(10)}   max ${Math.max(...xs).toFixed(1).padStart(10)}`)
}
if (watcher !== null) {
  const { updates, runs } = await watcher.stop()
  console.log(`dashboard updates received: ${updates}, runs in them: ${runs}`)
}
if (scraper !== null) {
  const { scrapes, bytes } = await scraper.stop()
  console.log(`metrics scrapes: ${scrapes}, ${bytes} bytes in all`)
}
await client.close()
await cluster.close()
process.exit(0)

/** Fetches GET /metrics from the scheduler's port every second, in a process of its own (as Prometheus would). */
async function scrapeMetrics(address) {
  const code = `
    let scrapes = 0, bytes = 0
    const timer = setInterval(async () => { const r = await fetch(process.argv[1]); bytes += (await r.text()).length; scrapes++ }, 1000)
    process.send('started')
    process.on('message', () => { clearInterval(timer); process.send({ scrapes, bytes }); process.disconnect() })`
  const url = `${address.replace(/^ws/, 'http')}/metrics`
  const child = spawn(process.execPath, ['-e', code, url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: root })
  await new Promise((resolve, reject) => { child.once('message', resolve); child.once('exit', () => reject(new Error('the metrics scraper exited'))) })
  return {
    async stop() {
      child.send('stop')
      return new Promise((resolve) => child.once('message', resolve))
    },
  }
}

/**
 * Subscribes to the dashboard's feed as a page would, parsing every update, in a process of its
 * own: what the driver process spends is then the client's and the scheduler's work only.
 */
async function watchDashboard(link, token) {
  if (!link) throw new Error('--dashboard: this build has no dashboard')
  const code = `
    const { WebSocket } = require('ws')
    const ws = new WebSocket(process.argv[1], { headers: { authorization: 'Bearer ' + process.env.SKEIN_TOKEN } })
    let updates = 0, runs = 0
    ws.on('message', (data) => { const u = JSON.parse(String(data)); updates++; runs += u.runs.length / 5 })
    ws.on('open', () => process.send('open'))
    process.on('message', () => { process.send({ updates, runs }); ws.close(); process.disconnect() })`
  const child = spawn(process.execPath, ['-e', code, `ws://${new URL(link).host}/ws`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, SKEIN_TOKEN: token }, cwd: root })
  await new Promise((resolve, reject) => { child.once('message', resolve); child.once('exit', () => reject(new Error('the dashboard watcher exited'))) })
  return {
    async stop() {
      child.send('stop')
      return new Promise((resolve) => child.once('message', resolve))
    },
  }
}
