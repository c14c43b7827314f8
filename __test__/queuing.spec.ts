import test from 'ava'
import { task } from '../ts/index'
import { withCluster } from './helpers/with-cluster'

// Dask's root-ish rule: many tasks fanning out of one shared input are queued in the scheduler
// like roots, not all sent to workers at once (the core's tests cover the rule's edges).
test('a map over one scattered input is held back: at most slots + 1 processing per worker, the rest queued', async (t) => {
  const workers = 2
  await withCluster({ workers, slotsPerWorker: 1 }, async (cluster, client) => {
    const t0 = Date.now()
    const [shared] = await client.scatter([new Float64Array(100_000).fill(1)])
    const useShared = async (i: number, xs: Float64Array): Promise<number> => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      return i + xs[0]
    }
    const n = 40
    const futures = client.compute(Array.from({ length: n }, (_, i) => task(useShared, i, shared)))
    let finished = false
    let peakProcessing = 0
    let peakQueued = 0
    const done = client.gather(futures).finally(() => (finished = true))
    while (!finished) {
      const { processing, queued } = cluster.scheduler.health().tasks
      peakProcessing = Math.max(peakProcessing, processing)
      peakQueued = Math.max(peakQueued, queued)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    t.deepEqual(await done, Array.from({ length: n }, (_, i) => i + 1))
    t.log(`${Date.now() - t0} ms; peak processing ${peakProcessing}, peak queued ${peakQueued}`)
    t.true(peakProcessing <= workers * 2, `at most slots + 1 per worker, saw ${peakProcessing} processing`)
    t.true(peakQueued >= n - workers * 2 - 2, `the rest wait in the scheduler's queue, saw at most ${peakQueued}`)
  })
})
