import { task, type Future, type LocalClusterOptions } from 'skein'
import { MiB, procMemory } from '../lib/proc-memory'
import { MemoryWatch } from './memory-watch'
import type { Metrics, Scale, Workload } from './workload'
import { runBase } from './workload'

/** Blocks one run produces; the size parameter is the megabytes (1e6 bytes) they add up to. */
export const BLOCKS = 40
const WORKERS = 2
/** How long after a run the workers' RSS is read again (rssAfterMiB). */
const SETTLE_MS = 1000
/** Each worker's limit: 40 blocks of 25 MB are about 4x the two workers' 256 MiB. */
export const MEMORY_LIMIT = '128MiB'
/** A run that has not finished by then is reported as not completed (workers paused for good, say). */
const TIME_LIMIT_MS: Record<Scale, number> = { full: 90_000, quick: 90_000, smoke: 30_000 }

/** `n` bytes, every one written (so they are resident), all equal to the block's fill byte. */
const block = (seed: number, n: number) => Buffer.alloc(n, seed & 0xff)
/** The byte lengths of two blocks added, after checking both ends of each against its fill byte. */
const pairBytes = (a: Uint8Array, b: Uint8Array, seedA: number, seedB: number) => {
  for (const [x, seed] of [[a, seedA], [b, seedB]] as const) {
    if (x[0] !== (seed & 0xff) || x[x.byteLength - 1] !== (seed & 0xff)) throw new Error(`block ${seed}: wrong bytes`)
  }
  return a.byteLength + b.byteLength
}
const sum = (...parts: number[]) => parts.reduce((total, x) => total + x, 0)

/** The run's graph: BLOCKS blocks, a pairBytes per two of them, one sum of the pairs (as bench/dask/workloads.py). */
function graph(base: number, blockBytes: number) {
  const seeds = Array.from({ length: BLOCKS }, (_, i) => base + i)
  const blocks = seeds.map((seed) => task(block, seed, blockBytes))
  const pairs = []
  for (let i = 0; i < BLOCKS; i += 2) pairs.push(task(pairBytes, blocks[i], blocks[i + 1], seeds[i], seeds[i + 1]))
  return task(sum, ...pairs)
}

/**
 * Smoke scale (the tests): 40 blocks of 1 MB under a limit nothing reaches, so no worker pauses
 * or logs; with spilling only, a target of 0.1% (0.5 MiB of values) makes the workers spill every block,
 * so the spill counting is exercised.
 */
function smokeCluster(memory: LocalClusterOptions['memory']): LocalClusterOptions {
  return { workers: WORKERS, slotsPerWorker: 1, memoryLimit: '512MiB', ...(memory ? { memory: { ...memory, target: 0.001 } } : {}) }
}

/**
 * The issue 12 "4x-limit graph": 40 blocks of 25 MB (1 GB) on 2 workers of
 * 128 MiB each, summed pairwise and then in one task. Not a throughput figure:
 * does the run complete with the exact total, how long it takes, how high the
 * workers' RSS goes and how much they spill. A run that fails or does not
 * finish within its time limit is a measured outcome (`completed` 0, and a
 * note saying why), not a benchmark failure.
 */
function memoryPressure(name: string, memory: LocalClusterOptions['memory'], description: string): Workload {
  return {
    name,
    description,
    sizes: { full: 1000, quick: 1000, smoke: 40 },
    tasks: () => BLOCKS + BLOCKS / 2 + 1,
    dask: true,
    piscina: false,
    cluster: (scale): LocalClusterOptions => (scale === 'smoke' ? smokeCluster(memory) : { workers: WORKERS, slotsPerWorker: 1, memoryLimit: MEMORY_LIMIT, ...(memory ? { memory } : {}) }),
    // One run is seconds of allocation and disk: nothing for the JIT to warm, and a warm-up would only raise the baseline.
    warmup: false,
    // Workers one run got terminated (LocalCluster stops restarting a worker after 10 deaths a minute)
    // and the memory a run leaves behind would otherwise be the next run's starting point.
    clusterPerRun: true,
    async run({ client, cluster, run, scale, note, log }, megabytes) {
      const blockBytes = Math.round((megabytes * 1e6) / BLOCKS)
      const expected = BLOCKS * blockBytes
      const restartsBefore = cluster.restarts
      const watch = new MemoryWatch(cluster)
      const start = performance.now()
      const root = client.compute(graph(runBase(run), blockBytes)) as Future<number>
      let completed = 0
      let exact = 0
      let timer: NodeJS.Timeout | undefined
      const timeLimitMs = TIME_LIMIT_MS[scale]
      try {
        const outcome = await Promise.race([
          root.then((value) => ({ value })),
          new Promise<{ timedOut: true }>((resolve) => (timer = setTimeout(() => resolve({ timedOut: true }), timeLimitMs))),
        ])
        if ('value' in outcome) {
          completed = 1
          exact = outcome.value === expected ? 1 : 0
          if (!exact) note(`wrong total: expected ${expected}, got ${String(outcome.value)}`)
        } else {
          const health = await cluster.scheduler.health()
          log(`  skein ${name}: tasks at the time limit: ${JSON.stringify(health.tasks)}`)
          note(`did not finish within ${timeLimitMs / 1000} s: ${health.memory.paused} of ${health.workers} workers paused`)
          client.cancel(root)
        }
      } catch (err) {
        note(`failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
      } finally {
        clearTimeout(timer)
      }
      const wallMs = performance.now() - start
      root.release()
      const seen = watch.stop()
      // What the workers hold once the run is over and its results released: what the next computation starts from.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      const after = Math.max(0, ...cluster.workerProcesses.map(({ pid }) => procMemory(pid)?.rss ?? 0))
      if (!seen.peaksReset) note('could not reset the workers\' peak RSS (/proc/<pid>/clear_refs): peaks are since each worker started')
      const peaks = [...seen.peakByWorker.values()]
      const metrics: Metrics = {
        completed,
        exact,
        wallMs,
        baselineRssMiB: seen.baseline / MiB,
        peakRssMaxMiB: Math.max(0, ...peaks) / MiB,
        peakRssMinMiB: (peaks.length ? Math.min(...peaks) : 0) / MiB,
        spilledMiB: seen.spilledBytes / MiB,
        spillWrites: seen.spillFiles,
        spilledPeakMiB: seen.spilledPeakBytes / MiB,
        rssAfterMiB: after / MiB,
        restarts: cluster.restarts - restartsBefore,
      }
      return metrics
    },
  }
}

export const memoryPressureWorkload = memoryPressure(
  'memory-pressure',
  undefined,
  `${BLOCKS} blocks of size/${BLOCKS} MB each (25 MB at full size: ~4x the cluster's memory), summed pairwise then in one task, on 2 workers limited to ${MEMORY_LIMIT} each with the default thresholds (size = MB produced)`,
)

export const memoryPressureSpillOnlyWorkload = memoryPressure(
  'memory-pressure-spill-only',
  { pause: false, terminate: false },
  `as memory-pressure with pause and terminate off (spilling only, as __test__/memory.spec.ts runs it), on both sides`,
)
