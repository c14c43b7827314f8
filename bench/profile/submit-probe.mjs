// Where the time of a 100k-task compute() goes before the first task runs.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
const skein = await import(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/index.js'))
const { LocalCluster, Client, task } = skein.default ?? skein
const cluster = await LocalCluster.start({ workers: 2 })
const client = await Client.connect(cluster.address)
const stamp = (i) => performance.timeOrigin + performance.now()
await client.gather(client.map(stamp, [1, 2, 3]))
for (let r = 0; r < 4; r++) {
  const tasks = Array.from({ length: 100000 }, (_, i) => task(stamp, i + r * 1e6))
  const t0 = performance.timeOrigin + performance.now()
  const fs = client.compute(tasks)
  const t1 = performance.timeOrigin + performance.now()
  const first = await new Promise((res) => { const iv = setInterval(() => { if (fs[0].status !== 'pending') { clearInterval(iv); res(performance.timeOrigin + performance.now()) } }, 1) })
  const vals = await client.gather(fs)
  let m = Infinity; for (const v of vals) m = Math.min(m, v)
  console.log(`compute() returns ${(t1 - t0).toFixed(0)} ms; first task ran at ${(m - t0).toFixed(0)} ms; first memory seen by client ${(first - t0).toFixed(0)} ms`)
  for (const f of fs) f.release()
}
await client.close(); await cluster.close(); process.exit(0)
