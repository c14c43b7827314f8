import test from 'ava'
import { Client } from '../ts/client'
import { LocalCluster } from '../ts/cluster'
import { Worker } from '../ts/worker'
import { eventually } from './helpers/processes'

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

test('a task no connected worker can run (restricted to an absent name, or needing an undeclared resource) is reported to its client, and runs once such a worker joins', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, resources: { GPU: 1 }, log: () => {} })
  t.teardown(() => cluster.close())
  const client = await Client.connect(cluster.address)
  t.teardown(() => client.close())
  await client.waitForWorkers(2)
  const warnings: { key: string; reason: string }[] = []
  client.on('unplaceable', (w) => warnings.push(w))
  const named = client.submitWith({ restrictions: ['nobody'], pure: false }, (x: number) => x + 1, 1)
  const tpu = client.submitWith({ resources: { TPU: 1 }, pure: false }, (x: number) => x * 2, 2)
  const fine = client.submitWith({ resources: { GPU: 1 }, pure: false }, (x: number) => x * 3, 3)
  t.is(await fine, 9)
  t.true(await eventually(() => warnings.length === 2, 5000), JSON.stringify(warnings))
  t.is(warnings.find((w) => w.key === named.key)?.reason, `it may only run on worker(s) 'nobody', and none of the 2 connected has that name`)
  t.regex(warnings.find((w) => w.key === tpu.key)!.reason, /^it needs resources TPU=1, which no connected worker declares: local-\d \(GPU=1\); local-\d \(GPU=1\)$/)
  t.is(named.status, 'pending')
  t.regex(named.unplaceable ?? '', /none of the 2 connected/)
  // A worker that can run them joins: they run, and nothing more is said.
  const late = await Worker.start({ scheduler: cluster.address, name: 'nobody', resources: { TPU: 1 }, log: () => {} })
  t.teardown(() => late.close())
  t.is(await named, 2)
  t.is(await tpu, 4)
  t.is(named.unplaceable, null)
  t.is(warnings.length, 2)
})
