import test from 'ava'
import { Client, LocalCluster } from '../ts/index'

/** A cluster of two worker processes (local-0, local-1) and a client; the pid of each worker by name. */
async function twoWorkers(): Promise<{ client: Client; pids: Map<string, number>; [Symbol.asyncDispose](): Promise<void> }> {
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 2, log: () => {} })
  const client = await Client.connect(cluster.address)
  const pids = new Map<string, number>()
  for (const name of ['local-0', 'local-1']) {
    pids.set(name, await client.submitWith({ restrictions: [name], pure: false }, () => process.pid))
  }
  return {
    client,
    pids,
    async [Symbol.asyncDispose]() {
      await client.close()
      await cluster.close()
    },
  }
}

// Issue #14: a fast task whose inputs all sit on one worker used to run elsewhere 66 times in 100.
test('100 fast tasks reading 10 inputs held by one worker all run on that worker', async (t) => {
  await using c = await twoWorkers()
  const inputs = await c.client.scatter(
    Array.from({ length: 10 }, (_, i) => i),
    { workers: ['local-0'] },
  )
  const read = (i: number, ...xs: number[]): [number, number] => [process.pid, i + xs.reduce((s, x) => s + x, 0)]
  const runs = await c.client.gather(Array.from({ length: 100 }, (_, i) => c.client.submit(read, i, ...inputs)))
  t.deepEqual(runs.map((r) => r[1]), Array.from({ length: 100 }, (_, i) => i + 45))
  const elsewhere = runs.filter(([pid]) => pid !== c.pids.get('local-0')).length
  t.is(elsewhere, 0, `${elsewhere} of 100 ran away from their inputs`)
})
