// Where cpu-1ms's wall goes beyond the ideal: each task stamps when its loop started and ended (wall
// clock, comparable across processes) and which thread ran it, so a run splits into the time 2, 1
// or 0 loops ran, the ramp (compute() to the first loop) and the tail (last loop to gather), and
// each thread's gaps between its loops (GAPS=1 lists the gaps over 0.3 ms with when they began).
//   node bench/profile/cpu-gaps.mjs ROOT [RUNS=3]      (SHAPE=1x2: 1 process x 2 slots)
// One untimed run first. "loop sum/2" over the ideal is the loops' own slowdown (preemption by the
// other threads); the time with 1 loop running is the threads' gaps.
import path from 'node:path'

const root = path.resolve(process.argv[2] ?? '.')
const runs = Number(process.argv[3] ?? 3)
const loaded = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client, taskWith } = loaded.default ?? loaded
const shape = process.env.SHAPE === '1x2' ? { workers: 1, slotsPerWorker: 2 } : { workers: 2, slotsPerWorker: 1 }
const cluster = await LocalCluster.start(shape)
const client = await Client.connect(cluster.address)
const wallNow = () => performance.timeOrigin + performance.now()

// bench/lib/cpu-work.ts's loop, stamped: copied, since a shipped function carries no imports and the
// stamps must come from inside the loop's task.
const work = (rounds, seed) => {
  const started = performance.timeOrigin + performance.now()
  let h = seed | 0
  for (let i = 0; i < rounds; i++) {
    h ^= h >>> 16
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
    h = (h + i) | 0
  }
  globalThis.__gapsThread ??= Math.random()
  return [h >>> 0, started, performance.timeOrigin + performance.now(), globalThis.__gapsThread]
}

const n = 2000
const ms = (x) => x.toFixed(1)
for (let r = 0; r <= runs; r++) {
  const t0 = wallNow()
  const futures = client.compute(Array.from({ length: n }, (_, seed) => taskWith({ pure: false }, work, 280_000, seed)))
  const submitted = wallNow()
  const results = await client.gather(futures)
  const t1 = wallNow()
  for (const f of futures) f.release()
  if (r === 0) continue
  const edges = []
  let loops = 0
  const byThread = new Map()
  for (const [, start, end, thread] of results) {
    edges.push([start, 1], [end, -1])
    loops += end - start
    if (!byThread.has(thread)) byThread.set(thread, [])
    byThread.get(thread).push([start, end])
  }
  edges.sort((a, b) => a[0] - b[0])
  const running = [0, 0, 0]
  let level = 0
  let last = edges[0][0]
  for (const [t, step] of edges) {
    running[Math.min(level, 2)] += t - last
    last = t
    level += step
  }
  const gaps = []
  const listed = []
  for (const spans of byThread.values()) {
    spans.sort((a, b) => a[0] - b[0])
    const big = []
    for (let i = 1; i < spans.length; i++) {
      const gap = spans[i][0] - spans[i - 1][1]
      gaps.push(gap)
      if (gap > 0.3) big.push(`${(spans[i - 1][1] - t0).toFixed(0)}+${ms(gap)}`)
    }
    listed.push(big.join(' '))
  }
  gaps.sort((a, b) => a - b)
  const q = (p) => gaps[Math.floor(p * (gaps.length - 1))].toFixed(3)
  const first = edges[0][0]
  console.log(
    `run ${r}: wall ${ms(t1 - t0)} ms | compute() ${ms(submitted - t0)}, first loop at ${ms(first - t0)}, tail ${ms(t1 - edges[edges.length - 1][0])} | ` +
      `2 loops running ${ms(running[2])}, 1 ${ms(running[1])}, 0 ${ms(running[0])} | loop sum/2 ${ms(loops / 2)} | ` +
      `gaps per thread: p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} ms, ${gaps.filter((g) => g > 0.5).length} over 0.5 ms`,
  )
  if (process.env.GAPS) listed.forEach((line, i) => console.log(`  thread ${i + 1} gaps over 0.3 ms (at+ms): ${line}`))
}
await client.close()
await cluster.close()
process.exit(0)
