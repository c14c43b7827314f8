import type { Client, LocalCluster, LocalClusterOptions } from 'skein'
import type { Metrics } from '../lib/measure'

export { WrongResult, expectEqual, runBase } from '../lib/check'
export type { Metrics } from '../lib/measure'
export { percentile } from '../lib/stats'

/** Sizes a workload runs at: `full` is the size, `quick` about a tenth of its tasks, `smoke` tiny (tests). */
export type Scale = 'full' | 'quick' | 'smoke'

export interface RunContext {
  client: Client
  cluster: LocalCluster
  /** Distinct per run (warm-up included): inputs derive from it so no key, and no result, repeats across runs. */
  run: number
  /** RSS of this process once the cluster had started and the client connected, before any run. */
  rssAtStart: number
  /** The scale it runs at. */
  scale: Scale
  /** Says something about the run in the report (why it did not complete, say); the same text from several runs is counted, not repeated. */
  note(text: string): void
  /** Progress lines. */
  log(line: string): void
}

/** One benchmark workload on the skein side. The Dask side (bench/dask/workloads.py) and piscina's (bench/piscina) mirror it. */
export interface Workload {
  /** The name, e.g. `inc-1000`, whatever the scale. */
  name: string
  /** What one run does, for the README and --help. */
  description: string
  /** The size parameter at each scale it runs at (leaves, tasks, round trips, milliseconds...; see `description`); none: not run at that scale. */
  sizes: Partial<Record<Scale, number>>
  /** Tasks one run executes at `size`. */
  tasks(size: number): number
  /** Whether Dask runs it (under `peer`). */
  dask: boolean
  /** Whether piscina runs it (under `peer`). */
  piscina: boolean
  /** The name Dask and piscina know it by, when skein measures it in several cluster shapes (cpu-1ms-1x2 -> cpu-1ms). */
  peer?: string
  /** The LocalCluster it runs on (default CLUSTER: 2 workers x 1 slot). */
  cluster?(scale: Scale): LocalClusterOptions
  /** Each run (and `once`) on a cluster of its own, started before the run and closed after it (default: one cluster for every run). */
  clusterPerRun?: boolean
  /** `false`: no warm-up run (one run is long and would measure nothing new). */
  warmup?: boolean
  /** Timed runs whatever --runs says. */
  runs?: number
  /** One run: throws WrongResult unless every result is exact. */
  run(ctx: RunContext, size: number): Promise<Metrics>
  /** Measured once, on the fresh cluster before the warm-up (e.g. memory in another set-up, a calibration). */
  once?(ctx: RunContext, size: number): Promise<Metrics>
}

/** Wall-clock milliseconds comparable across processes on one machine (workers stamp with the same expression). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now()
}

/** Sum of the integers base, base+1, ..., base+n-1. */
export function rangeSum(base: number, n: number): number {
  return n * base + (n * (n - 1)) / 2
}

/** The name Dask and piscina know `workload` by. */
export function peerName(workload: Workload): string {
  return workload.peer ?? workload.name
}
