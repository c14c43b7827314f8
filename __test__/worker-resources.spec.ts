import test from 'ava'
import { Client } from '../ts/client'
import { LocalCluster } from '../ts/cluster'

test('LocalCluster.start({ resources }) gives every worker process those resources', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, resources: { GPU: 1, MEM: 10e9 }, log: () => {} })
  t.teardown(() => cluster.close())
  const client = await Client.connect(cluster.address)
  t.teardown(() => client.close())
  const where = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms))
  // One GPU per worker: two such tasks at once need both workers.
  const pids = await client.gather([0, 1].map(() => client.submitWith({ resources: { GPU: 1, MEM: 5e9 }, pure: false }, where, 300)))
  t.deepEqual([...pids].sort(), [...cluster.workers].sort())
})

test('LocalCluster refuses resources that are not names mapped to non-negative numbers', async (t) => {
  for (const resources of [{ GPU: -1 }, { GPU: '1' }, { 'two words': 1 }, [1]] as unknown as Record<string, number>[]) {
    await t.throwsAsync(LocalCluster.start({ workers: 0, resources, log: () => {} }), { code: 'SKEIN_INVALID_OPTIONS', message: /LocalCluster: resources/ }, JSON.stringify(resources))
  }
})
