/** Summary statistics of repeated measurements. */

/** Median, min and max of one metric over the measured runs. */
export interface Stat {
  median: number
  min: number
  max: number
}

/** The value below which `p` (0..1) of the sorted samples lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil(p * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function summarise(values: readonly number[]): Stat {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** One Stat per metric, over runs that each report the same metrics. */
export function summariseRuns(runs: readonly Record<string, number>[]): Record<string, Stat> {
  const out: Record<string, Stat> = {}
  if (runs.length === 0) return out
  for (const metric of Object.keys(runs[0])) out[metric] = summarise(runs.map((r) => r[metric]))
  return out
}
