import { task, type Task } from 'skein'
import type { Workload } from './workload'
import { WrongResult, expectEqual, rangeSum, runBase, wallClockMs } from './workload'

const FAN_IN = 10

/** A leaf returns its value and the wall-clock time it started, in the same clock as wallClockMs(). */
const stamp = (i: number): [number, number] => [i, performance.timeOrigin + performance.now()]
/** Sum of values, earliest start. */
const combine = (...parts: [number, number][]): [number, number] => {
  let sum = 0
  let first = parts[0][1]
  for (const [value, started] of parts) {
    sum += value
    if (started < first) first = started
  }
  return [sum, first]
}

/** 9/10 of the tasks are leaves; a 10-ary tree of combines reduces them (exactly `size` tasks when size is a power of 10). */
export function stampTree(size: number, base: number): { root: Task<[number, number]>; leaves: number; tasks: number } {
  const leaves = Math.max(1, Math.round((size * (FAN_IN - 1)) / FAN_IN))
  let level: Task<[number, number]>[] = Array.from({ length: leaves }, (_, i) => task(stamp, base + i))
  let tasks = leaves
  while (level.length > 1) {
    const next: Task<[number, number]>[] = []
    for (let i = 0; i < level.length; i += FAN_IN) next.push(task(combine, ...level.slice(i, i + FAN_IN)))
    tasks += next.length
    level = next
  }
  return { root: level[0], leaves, tasks }
}

/**
 * Time from submitting a 100,000-task graph (already built) until its first
 * task starts on a worker, and until its result is back. Every leaf stamps
 * the wall clock when it starts; the graph's result carries the earliest
 * stamp, compared with the wall clock read just before compute().
 */
export const graphSubmitWorkload: Workload = {
  name: 'graph-submit-100k',
  description: `a graph of n tasks (9n/10 leaves that stamp their start time, reduced by a ${FAN_IN}-ary tree): from compute() until the first task starts, and until the result is back (size = n)`,
  sizes: { full: 100_000, quick: 10_000, smoke: 100 },
  tasks: (n) => stampTree(n, 0).tasks,
  dask: true,
  piscina: false,
  async run({ client, run }, n) {
    const base = runBase(run)
    const buildStart = performance.now()
    const { root, leaves, tasks } = stampTree(n, base)
    const buildMs = performance.now() - buildStart
    const submittedAt = wallClockMs()
    const start = performance.now()
    const future = client.compute(root)
    const [sum, firstStarted] = await future
    const doneMs = performance.now() - start
    expectEqual('graph sum', sum, rangeSum(base, leaves))
    const firstTaskMs = firstStarted - submittedAt
    if (!(firstTaskMs > -50 && firstTaskMs < doneMs + 50)) {
      throw new WrongResult(`first task started ${firstTaskMs.toFixed(1)} ms after submit, outside the run (${doneMs.toFixed(1)} ms)`)
    }
    future.release()
    return { buildMs, firstTaskMs, doneMs, tasksPerSec: tasks / (doneMs / 1000) }
  },
}
