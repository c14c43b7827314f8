// Microbench of the client's graph path (no cluster): build, order, encode of the graph-submit tree and of map-style tasks.
// A --root baseline from before orderGraph/GraphWriter existed is measured with its collectGraph/encodeGraph.
//   node bench/profile/graph-micro.mjs [--root DIR]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
const rootArg = process.argv.indexOf('--root')
const root = rootArg > 0 ? path.resolve(process.argv[rootArg + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const g = await import(path.join(root, 'dist/graph/index.js'))
const { task, collectGraph, encodeGraph, buildTask, orderGraph, GraphWriter } = g.default ?? g
const order = orderGraph ?? collectGraph
const encode = GraphWriter
  ? (tasks) => {
      const writer = new GraphWriter(256)
      for (const t of tasks) writer.add(t)
      return writer.finish()
    }
  : encodeGraph
const stamp2 = (i) => [i, performance.now()]
const combine = (...p) => p
const noop = (i) => i
function tree(n, base) {
  let level = Array.from({ length: Math.round(n * 0.9) }, (_, i) => task(stamp2, base + i))
  while (level.length > 1) {
    const next = []
    for (let i = 0; i < level.length; i += 10) next.push(task(combine, ...level.slice(i, i + 10)))
    level = next
  }
  return level[0]
}
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
const res = {}
for (let r = 0; r < 7; r++) {
  let t = performance.now()
  const top = tree(100_000, r * 1e6)
  const build = performance.now() - t
  t = performance.now()
  const batch = order([top], () => false)
  const ordered = performance.now() - t
  t = performance.now()
  const bytes = encode(batch.tasks)
  const enc = performance.now() - t
  t = performance.now()
  const maps = []
  for (let i = 0; i < 100_000; i++) maps.push(buildTask(noop, [i + r * 1e6], undefined))
  const mbuild = performance.now() - t
  t = performance.now()
  const mbytes = encode(maps)
  const menc = performance.now() - t
  for (const [k, v] of Object.entries({ build, order: ordered, enc, mbuild, menc, treeBytes: bytes.length / 1000, mapBytes: mbytes.length / 1000 })) (res[k] ??= []).push(v)
}
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(10), med(v).toFixed(1))
