import type { Client, LocalCluster } from 'skein'

export { percentile } from '../lib/stats'

/** Sizes a workload runs at: `full` is the size, `quick` about a tenth of its tasks, `smoke` tiny (tests). */
export type Scale = 'full' | 'quick' | 'smoke'

/** Metric name -> value, for one run. */
export type Metrics = Record<string, number>

export interface RunContext {
  client: Client
  cluster: LocalCluster
  /** Distinct per run (warm-up included): inputs derive from it so no key, and no result, repeats across runs. */
  run: number
  /** RSS of this process once the cluster had started and the client connected, before any run. */
  rssAtStart: number
}

/** One benchmark workload on the skein side. The Dask side (bench/dask/workloads.py) mirrors it. */
export interface Workload {
  /** The name, e.g. `inc-1000`, whatever the scale. */
  name: string
  /** What one run does, for the README and --help. */
  description: string
  /** The size parameter at each scale (leaves, tasks, round trips, inputs...; see `description`). */
  sizes: Record<Scale, number>
  /** Tasks one run executes at `size`. */
  tasks(size: number): number
  /** `false` for skein-only workloads (no Dask counterpart). */
  dask: boolean
  /** One run: throws WrongResult unless every result is exact. */
  run(ctx: RunContext, size: number): Promise<Metrics>
  /** Measured once, on the fresh cluster before the warm-up (e.g. memory in another set-up). */
  once?(ctx: RunContext, size: number): Promise<Metrics>
}

export class WrongResult extends Error {
  override name = 'WrongResult'
}

export function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new WrongResult(`${what}: expected ${String(expected)}, got ${String(actual)}`)
}

/** Inputs of run `run` start here, far from every other run's. */
export function runBase(run: number): number {
  return run * 10_000_000
}

/** Wall-clock milliseconds comparable across processes on one machine (workers stamp with the same expression). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now()
}

/** Sum of the integers base, base+1, ..., base+n-1. */
export function rangeSum(base: number, n: number): number {
  return n * base + (n * (n - 1)) / 2
}
