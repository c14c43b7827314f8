import { KilledWorkerError } from 'skein'
import { spinFor } from './spin-for'
import type { Workload } from './workload'
import { WrongResult, expectEqual, runBase } from './workload'

/**
 * One synchronous task of `size` ms on a default LocalCluster (one worker per
 * core, the default 30 s heartbeat timeout): does it complete, how long does
 * it take, how many workers did the scheduler remove meanwhile. A task killed
 * for its workers' silence (KilledWorkerError) is a measured outcome, not a
 * benchmark failure: `completed` is then 0. Full scale only (60 s); the smoke
 * size is a 2 s task against a 1 s heartbeat timeout.
 */
export const longSyncWorkload: Workload = {
  name: 'long-sync-60s',
  description: 'one synchronous task of `size` ms on LocalCluster.start() (full scale only; smoke: 2 s against a 1 s heartbeat timeout) (skein only; size = ms)',
  sizes: { full: 60_000, smoke: 2_000 },
  tasks: () => 1,
  dask: false,
  piscina: false,
  cluster: (scale) => (scale === 'full' ? {} : { heartbeatTimeoutMs: 1_000 }),
  warmup: false,
  runs: 1,
  async run({ client, cluster, run }, ms) {
    const token = runBase(run)
    // `await` whether stats() stays synchronous or not (the scheduler is moving to a thread of its own).
    const before = await cluster.scheduler.stats()
    const restartsBefore = cluster.restarts
    const start = performance.now()
    let completed = 0
    try {
      const [echo, startedAt, endedAt] = await client.submitWith({ pure: false }, spinFor, ms, token)
      expectEqual('long task token', echo, token)
      if (!(endedAt - startedAt >= ms)) throw new WrongResult(`the long task looped ${endedAt - startedAt} ms, not ${ms}`)
      completed = 1
    } catch (err) {
      if (!(err instanceof KilledWorkerError)) throw err
    }
    const wallMs = performance.now() - start
    const after = await cluster.scheduler.stats()
    return {
      completed,
      wallMs,
      workersRemoved: after.workersRemoved - before.workersRemoved,
      heartbeatTimeouts: after.heartbeatTimeouts - before.heartbeatTimeouts,
      restarts: cluster.restarts - restartsBefore,
    }
  },
}
