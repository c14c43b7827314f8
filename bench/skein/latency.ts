import type { Workload } from './workload'
import { expectEqual, percentile, runBase } from './workload'

const inc = (x: number) => x + 1

/** Warm single-task round trips, one after another: submit, await the value, release. */
export const latencyWorkload: Workload = {
  name: 'latency',
  description: 'n sequential round trips of one task each (submit inc, await its value) on a warm cluster (size = n)',
  sizes: { full: 1000, quick: 100, smoke: 20 },
  tasks: (n) => n,
  dask: true,
  piscina: true,
  async run({ client, run }, n) {
    const base = runBase(run)
    const samples: number[] = new Array(n)
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const future = client.submit(inc, base + i)
      const value = await future
      samples[i] = (performance.now() - t0) * 1000
      expectEqual(`round trip ${i}`, value, base + i + 1)
      future.release()
    }
    const wallMs = performance.now() - start
    return { wallMs, medianUs: percentile(samples, 0.5), p99Us: percentile(samples, 0.99) }
  },
}
