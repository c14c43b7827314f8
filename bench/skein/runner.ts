import { Client, LocalCluster, type LocalClusterOptions } from 'skein'
import { errorText, measure, type SideResult } from '../lib/measure'
import type { RunContext, Scale, Workload } from './workload'

export type { SideResult } from '../lib/measure'
export { SLOW_RUN_MS, WARMUP_MS } from '../lib/measure'

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

/** The cluster shape of a skein measurement unless its workload names another. */
export const CLUSTER = { workers: 2, slotsPerWorker: 1 } as const

/** How a cluster shape reads in the results. */
export function describeCluster(options: LocalClusterOptions): string {
  return `LocalCluster.start(${Object.keys(options).length ? JSON.stringify(options) : ''})`
}

/** Runs `workload` on a fresh LocalCluster of its shape (default CLUSTER): `once`, warm-up, then the timed runs. */
export async function runSkein(workload: Workload, plan: RunPlan): Promise<SideResult> {
  const log = plan.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const size = workload.sizes[plan.scale]
  if (size === undefined) throw new Error(`${workload.name} does not run at ${plan.scale} scale`)
  const options = workload.cluster?.(plan.scale) ?? CLUSTER
  const result: SideResult = { workload: workload.name, size, tasks: workload.tasks(size), shape: describeCluster(options), warmup: null, runs: [], once: null, stats: {} }
  const notes = new Map<string, number>()
  const note = (text: string) => {
    log(`  skein ${workload.name}: ${text}`)
    notes.set(text, (notes.get(text) ?? 0) + 1)
  }
  const open = async (): Promise<Session> => {
    // Workers run plain Node, as the compiled code they import needs: the harness runs under tsx,
    // whose loader workers would otherwise inherit (and pay for, e.g. source-mapped stacks).
    const cluster = await LocalCluster.start({ workerExecArgv: [], ...options })
    try {
      return { cluster, client: await Client.connect(cluster.address) }
    } catch (err) {
      await cluster.close()
      throw err
    }
  }
  // A workload that wants a fresh cluster per run gets one in each run; the others share one.
  const shared = workload.clusterPerRun ? null : await open()
  try {
    collectGarbage()
    const rssAtStart = process.memoryUsage.rss()
    const inSession = <T>(run: number, step: (ctx: RunContext) => Promise<T>): Promise<T> => {
      const context = ({ cluster, client }: Session): RunContext => ({ client, cluster, run, rssAtStart, scale: plan.scale, note, log })
      return shared ? step(context(shared)) : withSession(open, (session) => step(context(session)))
    }
    const once = workload.once
    Object.assign(
      result,
      await measure(
        `skein ${workload.name}`,
        {
          // `once` measures on the fresh cluster, before any timed run has grown this process's heap.
          once: once && ((run) => (collectGarbage(), inSession(run, (ctx) => once(ctx, size)))),
          // No collection is forced between runs: see collectGarbage below.
          run: (run) => inSession(run, (ctx) => workload.run(ctx, size)),
        },
        { runs: workload.runs ?? plan.runs, warmup: plan.warmup && workload.warmup !== false, slowRunMs: plan.slowRunMs, log },
      ),
    )
  } catch (err) {
    result.error = errorText(err)
    log(`  skein ${workload.name} FAILED: ${result.error}`)
  } finally {
    if (notes.size > 0) result.notes = countedNotes(notes)
    if (shared) await closeSession(shared)
  }
  return result
}

interface Session {
  cluster: LocalCluster
  client: Client
}

async function withSession<T>(open: () => Promise<Session>, step: (session: Session) => Promise<T>): Promise<T> {
  const session = await open()
  try {
    return await step(session)
  } finally {
    await closeSession(session)
  }
}

async function closeSession({ client, cluster }: Session): Promise<void> {
  await client.close()
  await cluster.close()
}

/** Each note with how many runs (warm-ups included) gave it. */
export function countedNotes(notes: ReadonlyMap<string, number>): string[] {
  return [...notes].map(([text, times]) => (times === 1 ? `${text} (1 run)` : `${text} (${times} runs)`))
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
