// Measures LocalCluster's shape (1 process x 2 slots vs 2 processes x 1 slot) on four workloads,
// 3 fresh clusters of each, alternating; the README's default-shape table comes from it.
//   node bench/profile/shape.mjs [root of a built skein] [noop,tree,latency,cpu1ms]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../..'))
const { LocalCluster, Client, task } = await import(root + '/dist/index.js').then(m => m.default ?? m)
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1]
const noop = (i) => i
const leaf = (i) => i
const add = (a, b) => a + b
const inc = (x) => x + 1
const burn = (i, ms) => { const end = performance.now() + ms; let x = i; while (performance.now() < end) x = (x * 1103515245 + 12345) >>> 0; return i }
function tree(n, base) { let level = Array.from({ length: n }, (_, i) => task(leaf, base + i)); while (level.length > 1) { const next = []; for (let i = 0; i + 1 < level.length; i += 2) next.push(task(add, level[i], level[i + 1])); if (level.length % 2) next.push(level[level.length - 1]); level = next } return level[0] }
const workloads = {
  async noop(c, r) { const s = performance.now(); const f = c.map(noop, Array.from({ length: 100000 }, (_, i) => r * 1e7 + i)); await c.gather(f); const ms = performance.now() - s; for (const x of f) x.release(); return 100000 / ms * 1000 },
  async tree(c, r) { const s = performance.now(); const f = c.compute(tree(10000, r * 1e7)); await f; const ms = performance.now() - s; f.release(); return 19999 / ms * 1000 },
  async latency(c, r) { const t = []; for (let i = 0; i < 300; i++) { const s = performance.now(); const f = c.submit(inc, r * 1e7 + i); await f; t.push((performance.now() - s) * 1000); f.release() } return median(t) },
  async cpu1ms(c, r) { const s = performance.now(); const f = c.map((i) => { const end = performance.now() + 1; let x = i; while (performance.now() < end) x = (x * 1103515245 + 12345) >>> 0; return i }, Array.from({ length: 2000 }, (_, i) => r * 1e7 + i)); await c.gather(f); const ms = performance.now() - s; for (const x of f) x.release(); return ms / 1000 /* ideal 1000 ms */ * 1000 },
}
const only = (process.argv[3] ?? 'noop,tree,latency,cpu1ms').split(',')
const shapes = { '2x1': { workers: 2, slotsPerWorker: 1 }, '1x2': { workers: 1, slotsPerWorker: 2 } }
const results = {}
for (let round = 0; round < 3; round++) {
  for (const [name, shape] of Object.entries(shapes)) {
    const cluster = await LocalCluster.start({ ...shape, workerExecArgv: [], log: () => {} })
    const client = await Client.connect(cluster.address)
    let r = round * 100
    for (const w of only) {
      await workloads[w](client, r++) // warm-up
      const v = await workloads[w](client, r++)
      ;((results[w] ??= {})[name] ??= []).push(v)
    }
    await client.close(); await cluster.close()
  }
}
for (const [w, byShape] of Object.entries(results)) console.log(w, Object.fromEntries(Object.entries(byShape).map(([s, v]) => [s, `median ${median(v).toFixed(0)} of [${v.map((x) => x.toFixed(0)).join(', ')}]`])))
