/**
 * The headline figure of each workload and the issue's target for it
 * (issue 5, "Targets": ratios in the same run, absolute figures on this
 * machine; issue 10, "Benchmarks": CPU-bound and long tasks).
 */

export type Better = 'lower' | 'higher'

export interface Headline {
  workload: string
  /** Key of the metric in a run's metrics (or in `once` when `fromOnce`). */
  metric: string
  label: string
  unit: string
  better: Better
  fromOnce?: boolean
  /** Absolute bound on skein's median. */
  bound?: number
  /** Minimum ratio (how many times better than Dask). */
  ratio?: number
  /** Minimum fraction of another headline's skein median (same metric, same direction). */
  fractionOf?: { workload: string; metric: string; fraction: number }
}

export const HEADLINES: readonly Headline[] = [
  { workload: 'inc-1000', metric: 'perTaskUs', label: 'overhead per task', unit: 'us', better: 'lower', bound: 10, ratio: 100 },
  { workload: 'noop-map-100k', metric: 'tasksPerSec', label: 'throughput', unit: 'tasks/s', better: 'higher', ratio: 300 },
  { workload: 'latency', metric: 'medianUs', label: 'round trip, median', unit: 'us', better: 'lower', bound: 100, ratio: 100 },
  { workload: 'latency', metric: 'p99Us', label: 'round trip, p99', unit: 'us', better: 'lower', bound: 1000 },
  { workload: 'tree-reduce-10k', metric: 'tasksPerSec', label: 'throughput', unit: 'tasks/s', better: 'higher', ratio: 100 },
  { workload: 'shuffle-100x100', metric: 'tasksPerSec', label: 'throughput', unit: 'tasks/s', better: 'higher', ratio: 100 },
  // The default shape of a 2-core LocalCluster (issue 10 compares both with the runtime before execution threads).
  { workload: 'tree-reduce-10k-1x2', metric: 'tasksPerSec', label: 'throughput, 1 process x 2 slots', unit: 'tasks/s', better: 'higher', ratio: 100 },
  { workload: 'shuffle-100x100-1x2', metric: 'tasksPerSec', label: 'throughput, 1 process x 2 slots', unit: 'tasks/s', better: 'higher', ratio: 100 },
  { workload: 'graph-submit-100k', metric: 'firstTaskMs', label: 'submit to first task running', unit: 'ms', better: 'lower', bound: 50 },
  { workload: 'graph-submit-100k', metric: 'doneMs', label: 'submit to result', unit: 'ms', better: 'lower' },
  {
    workload: 'noop-map-1m',
    metric: 'tasksPerSec',
    label: 'throughput',
    unit: 'tasks/s',
    better: 'higher',
    fractionOf: { workload: 'noop-map-100k', metric: 'tasksPerSec', fraction: 0.8 },
  },
  { workload: 'noop-map-1m', metric: 'schedulerOnlyBytesPerTask', label: 'scheduler RSS growth per task', unit: 'B', better: 'lower', fromOnce: true, bound: 300 },
  { workload: 'noop-map-1m', metric: 'bytesPerTask', label: 'process RSS growth per task (with client)', unit: 'B', better: 'lower' },
  // Issue 10: CPU-bound work on 2 slots, within 10% of the ideal (the tasks' total CPU / 2), in both shapes.
  ...cpuHeadlines('cpu-1ms', '2 processes x 1 slot'),
  ...cpuHeadlines('cpu-1ms-1x2', '1 process x 2 slots'),
  ...cpuHeadlines('cpu-100ms', '2 processes x 1 slot'),
  ...cpuHeadlines('cpu-100ms-1x2', '1 process x 2 slots'),
  { workload: 'busy-fetch', metric: 'medianMs', label: 'fetch from a worker with every slot busy, median', unit: 'ms', better: 'lower' },
  { workload: 'busy-fetch', metric: 'p99Ms', label: 'fetch from a worker with every slot busy, p99', unit: 'ms', better: 'lower', bound: 50 },
  { workload: 'long-sync-60s', metric: 'completed', label: 'completed (1 = yes)', unit: '', better: 'higher', bound: 1 },
  { workload: 'long-sync-60s', metric: 'workersRemoved', label: 'workers removed meanwhile', unit: '', better: 'lower', bound: 0 },
  { workload: 'long-sync-60s', metric: 'wallMs', label: 'wall', unit: 'ms', better: 'lower' },
  // Issue 12: the 4x-limit graph on 2 workers of 128 MiB, with the default thresholds and with spilling only.
  ...memoryHeadlines('memory-pressure', 'default thresholds'),
  ...memoryHeadlines('memory-pressure-spill-only', 'pause, terminate off'),
]

function memoryHeadlines(workload: string, setting: string): Headline[] {
  return [
    { workload, metric: 'exact', label: `completed with the exact total (1 = yes), ${setting}`, unit: '', better: 'higher', bound: 1 },
    { workload, metric: 'wallMs', label: `wall (to the result, or to the failure), ${setting}`, unit: 'ms', better: 'lower' },
    { workload, metric: 'peakRssMaxMiB', label: `peak worker RSS, higher of 2, ${setting}`, unit: 'MiB', better: 'lower' },
    { workload, metric: 'peakRssMinMiB', label: `peak worker RSS, lower of 2, ${setting}`, unit: 'MiB', better: 'lower' },
    { workload, metric: 'rssAfterMiB', label: `worker RSS 1 s after the run, higher of 2, ${setting}`, unit: 'MiB', better: 'lower' },
    { workload, metric: 'spilledMiB', label: `spilled to disk, ${setting}`, unit: 'MiB', better: 'lower' },
  ]
}

function cpuHeadlines(workload: string, shape: string): Headline[] {
  return [
    { workload, metric: 'wallOverIdeal', label: `wall / ideal, ${shape}`, unit: 'x', better: 'lower', bound: 1.1 },
    { workload, metric: 'wallMs', label: `wall, ${shape}`, unit: 'ms', better: 'lower' },
  ]
}

/** The target as a short text, e.g. "<= 10 us, >= 100x". */
export function describeTarget(h: Headline): string {
  const parts: string[] = []
  if (h.bound !== undefined) parts.push(`${h.better === 'lower' ? '<=' : '>='} ${h.bound.toLocaleString('en-US')}${h.unit ? ` ${h.unit}` : ''}`)
  if (h.ratio !== undefined) parts.push(`>= ${h.ratio}x Dask`)
  if (h.fractionOf) parts.push(`>= ${h.fractionOf.fraction * 100}% of ${h.fractionOf.workload}`)
  return parts.join(', ')
}
