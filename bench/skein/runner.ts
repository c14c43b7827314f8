import { Client, LocalCluster } from 'skein'
import { summariseRuns, type Stat } from '../lib/stats'
import type { Metrics, Scale, Workload } from './workload'

/** How to run a workload: at which scale, how many timed runs, whether to warm up first. */
export interface RunPlan {
  scale: Scale
  /** Timed runs (default 5); only 3 when one run takes longer than `slowRunMs`. */
  runs: number
  warmup: boolean
  /** Default 60 s, as the issue says. */
  slowRunMs?: number
  /** Progress lines (stderr by default). */
  log?: (line: string) => void
}

/** What one side (skein or Dask) measured for one workload; the Dask scripts print the same shape as JSON. */
export interface SideResult {
  workload: string
  size: number
  tasks: number
  warmup: Metrics | null
  runs: Metrics[]
  /** Metrics measured once, before the warm-up (Workload.once). */
  once: Metrics | null
  /** Median, min and max of each metric over `runs`. */
  stats: Record<string, Stat>
  /** Set when the workload failed (wrong result, crash, timeout); the other fields may then be empty. */
  error?: string
}

/** The cluster shape of every skein measurement. */
export const CLUSTER = { workers: 2, slotsPerWorker: 1 } as const

export const SLOW_RUN_MS = 60_000
/** Warm-up runs repeat until they have taken this long (at least one run), on both sides. */
export const WARMUP_MS = 1000

/** Runs `workload` on a fresh LocalCluster of 2 workers x 1 slot: warm-up, then the timed runs. */
export async function runSkein(workload: Workload, plan: RunPlan): Promise<SideResult> {
  const log = plan.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const size = workload.sizes[plan.scale]
  const result: SideResult = { workload: workload.name, size, tasks: workload.tasks(size), warmup: null, runs: [], once: null, stats: {} }
  const cluster = await LocalCluster.start(CLUSTER)
  let client: Client | undefined
  try {
    client = await Client.connect(cluster.address)
    let run = 0
    collectGarbage()
    const rssAtStart = process.memoryUsage.rss()
    // `once` measures on the fresh cluster, before any timed run has grown this process's heap.
    if (workload.once) {
      collectGarbage()
      result.once = await workload.once({ client, cluster, run: run++, rssAtStart }, size)
      log(`  skein ${workload.name} once: ${brief(result.once)}`)
    }
    if (plan.warmup) {
      // Until the JIT has seen the hot paths: one run of a small workload is over before V8 optimises them.
      const warmupStart = performance.now()
      do {
        result.warmup = await workload.run({ client, cluster, run: run++, rssAtStart }, size)
        log(`  skein ${workload.name} warm-up: ${brief(result.warmup)}`)
      } while (performance.now() - warmupStart < WARMUP_MS)
    }
    let wanted = plan.runs
    // No collection is forced between runs: see collectGarbage below.
    while (result.runs.length < wanted) {
      const started = performance.now()
      const metrics = await workload.run({ client, cluster, run: run++, rssAtStart }, size)
      result.runs.push(metrics)
      log(`  skein ${workload.name} run ${result.runs.length}: ${brief(metrics)}`)
      if (performance.now() - started > (plan.slowRunMs ?? SLOW_RUN_MS)) wanted = Math.min(wanted, 3)
    }
    result.stats = summariseRuns(result.runs)
  } catch (err) {
    result.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    log(`  skein ${workload.name} FAILED: ${result.error}`)
  } finally {
    await client?.close()
    await cluster.close()
  }
  return result
}

/**
 * Collects garbage when node runs with --expose-gc (the npm scripts pass it): only before the
 * memory baselines (rssAtStart, the `once` measurement), never between timed runs. A GC requested
 * this way is one V8 runs "for testing": it does not retain the hidden classes (maps) of objects
 * that are momentarily all dead, so the optimised code of every function that saw them is thrown
 * away (deopt reason "weak objects") and the next run compiles it again. Measured on shuffle-100x100:
 * 942 functions optimised over 20 runs with gc() before each, 214 without; runs 1.3x slower; inc-1000
 * 1.5-2x slower. A program never does this between two computations, so the timed runs do not either;
 * each run's garbage (and what earlier runs left) is collected inside the runs, as V8 decides.
 * The Dask side still calls gc.collect() before each run: CPython loses nothing by it.
 */
function collectGarbage(): void {
  ;(globalThis as { gc?: () => void }).gc?.()
}

function brief(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${v >= 100 ? Math.round(v) : v.toFixed(2)}`)
    .join(' ')
}
