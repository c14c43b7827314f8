import { task, type Task } from 'skein'
import { inShape, type Shape } from './shapes'
import type { Workload } from './workload'
import { expectEqual, rangeSum, runBase } from './workload'

const leaf = (i: number) => i
const add = (a: number, b: number) => a + b

/** Leaves base..base+n-1 summed pairwise, level by level, until one task is left. */
export function binaryTree(n: number, base: number): Task<number> {
  let level: Task<number>[] = Array.from({ length: n }, (_, i) => task(leaf, base + i))
  while (level.length > 1) {
    const next: Task<number>[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(task(add, level[i], level[i + 1]))
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}

function treeReduce(shape: Shape): Workload {
  return {
    ...inShape('tree-reduce-10k', shape),
    description: `n leaf tasks summed by a binary tree of add tasks (2n - 1 tasks), graph built and computed in one go${shape === '2x1' ? '' : ', on 1 process x 2 slots'} (size = n leaves)`,
    sizes: { full: 10_000, quick: 1000, smoke: 64 },
    tasks: (n) => 2 * n - 1,
    piscina: false,
    async run({ client, run }, n) {
      const base = runBase(run)
      const start = performance.now()
      const root = client.compute(binaryTree(n, base))
      const value = await root
      const wallMs = performance.now() - start
      expectEqual('tree sum', value, rangeSum(base, n))
      root.release()
      return { wallMs, tasksPerSec: (2 * n - 1) / (wallMs / 1000) }
    },
  }
}

export const treeReduceWorkload = treeReduce('2x1')
/** The same on the default shape of a 2-core LocalCluster (compared with the same Dask run). */
export const treeReduceOneProcessWorkload = treeReduce('1x2')
