import type { Workload } from './workload'
import { expectEqual, rangeSum, runBase } from './workload'

const inc = (x: number) => x + 1
const sum = (...values: number[]) => values.reduce((a, b) => a + b, 0)

/** The seed experiment: scatter n numbers, map inc, sum; overhead per task = wall / n. */
export const incWorkload: Workload = {
  name: 'inc-1000',
  description: 'scatter n numbers, map inc over them, sum the results in one task (size = n)',
  sizes: { full: 1000, quick: 100, smoke: 20 },
  tasks: (n) => n + 1,
  dask: true,
  piscina: false,
  async run({ client, run }, n) {
    const base = runBase(run)
    const numbers = Array.from({ length: n }, (_, i) => base + i)
    const start = performance.now()
    const scattered = await client.scatter(numbers)
    const incremented = client.map(inc, scattered)
    const total = client.submit(sum, ...incremented)
    const value = await total
    const wallMs = performance.now() - start
    expectEqual('inc sum', value, rangeSum(base + 1, n))
    for (const f of [...scattered, ...incremented, total]) f.release()
    return { wallMs, perTaskUs: (wallMs * 1000) / n }
  },
}
