/**
 * The measurement loop every TypeScript side shares (skein, piscina; bench/dask/run.py
 * mirrors it): a `once` measurement, warm-up runs, then the timed runs, summarised.
 */
import { summariseRuns, type Stat } from './stats'

/** Metric name -> value, for one run. */
export type Metrics = Record<string, number>

/** What one side (skein, Dask or piscina) measured for one workload; the Dask scripts print the same shape as JSON. */
export interface SideResult {
  workload: string
  size: number
  tasks: number
  /** Where it ran, e.g. `LocalCluster.start({"workers":2,"slotsPerWorker":1})` (absent in results older than issue 10). */
  shape?: string
  warmup: Metrics | null
  runs: Metrics[]
  /** Metrics measured once, before the warm-up (a workload's `once`: memory in another set-up, a calibration). */
  once: Metrics | null
  /** Median, min and max of each metric over `runs`. */
  stats: Record<string, Stat>
  /** What the runs said about themselves (a run that did not complete, and why), each with how many runs said it. */
  notes?: string[]
  /** Set when the workload failed (wrong result, crash, timeout); the other fields may then be empty. */
  error?: string
}

export interface MeasurePlan {
  /** Timed runs; only 3 when one run takes longer than `slowRunMs`. */
  runs: number
  warmup: boolean
  /** Default SLOW_RUN_MS. */
  slowRunMs?: number
  log: (line: string) => void
}

/** One side's steps for one workload; `run` is distinct per call (warm-up included) so inputs can differ. */
export interface Steps {
  once?: (run: number) => Promise<Metrics>
  run: (run: number) => Promise<Metrics>
}

export const SLOW_RUN_MS = 60_000
/** Warm-up runs repeat until they have taken this long (at least one run), on every side. */
export const WARMUP_MS = 1000

/** `once`, the warm-up and the timed runs; `label` prefixes the progress lines (e.g. "skein inc-1000"). */
export async function measure(label: string, steps: Steps, plan: MeasurePlan): Promise<Pick<SideResult, 'once' | 'warmup' | 'runs' | 'stats'>> {
  const out: Pick<SideResult, 'once' | 'warmup' | 'runs' | 'stats'> = { once: null, warmup: null, runs: [], stats: {} }
  let run = 0
  if (steps.once) {
    out.once = await steps.once(run++)
    plan.log(`  ${label} once: ${brief(out.once)}`)
  }
  if (plan.warmup) {
    // Until the JIT has seen the hot paths: one run of a small workload is over before V8 optimises them.
    const warmupStart = performance.now()
    do {
      out.warmup = await steps.run(run++)
      plan.log(`  ${label} warm-up: ${brief(out.warmup)}`)
    } while (performance.now() - warmupStart < WARMUP_MS)
  }
  let wanted = plan.runs
  while (out.runs.length < wanted) {
    const started = performance.now()
    const metrics = await steps.run(run++)
    out.runs.push(metrics)
    plan.log(`  ${label} run ${out.runs.length}: ${brief(metrics)}`)
    if (performance.now() - started > (plan.slowRunMs ?? SLOW_RUN_MS)) wanted = Math.min(wanted, 3)
  }
  out.stats = summariseRuns(out.runs)
  return out
}

export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

function brief(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) || v >= 100 ? Math.round(v) : v.toFixed(2)}`)
    .join(' ')
}
