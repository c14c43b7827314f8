import test from 'ava'
import { Client, InvalidTaskError, LocalCluster, taskWith, Worker } from '../ts/index'
import { eventually } from './helpers/processes'

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

// Dask's test_allow_restrictions and test_no_valid_workers_loose_restrictions.
test('allowOtherWorkers: tasks run on their named worker when it is connected, and anywhere when it is not', async (t) => {
  await using c = await twoWorkers()
  const where = (i: number): [number, number] => [process.pid, i]
  const named = await c.client.gather(c.client.map(where, Array.from({ length: 10 }, (_, i) => i), { restrictions: ['local-1'], allowOtherWorkers: true }))
  t.deepEqual(new Set(named.map((r) => r[0])), new Set([c.pids.get('local-1')]), 'the named worker is preferred')
  const absent = await c.client.gather(c.client.map(where, Array.from({ length: 10 }, (_, i) => 100 + i), { restrictions: ['ghost'], allowOtherWorkers: true }))
  t.deepEqual(absent.map((r) => r[1]), Array.from({ length: 10 }, (_, i) => 100 + i))
  for (const [pid] of absent) t.true([...c.pids.values()].includes(pid))
})

test('restricted to an absent worker: without allowOtherWorkers the task waits and is reported unplaceable until that worker joins; with it, it runs and nothing is reported', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  t.teardown(() => cluster.close())
  const client = await Client.connect(cluster.address)
  t.teardown(() => client.close())
  await client.waitForWorkers(1)
  const warnings: string[] = []
  client.on('unplaceable', (w) => warnings.push(w.key))
  const strict = client.submitWith({ restrictions: ['late'], pure: false }, (x: number) => x + 1, 1)
  const loose = client.submitWith({ restrictions: ['late'], allowOtherWorkers: true, pure: false }, (x: number) => x + 2, 1)
  t.is(await loose, 3)
  t.true(await eventually(() => warnings.length > 0, 5000))
  t.deepEqual(warnings, [strict.key])
  t.is(strict.status, 'pending')
  t.is(loose.unplaceable, null)
  const late = await Worker.start({ scheduler: cluster.address, name: 'late', log: () => {} })
  t.teardown(() => late.close())
  t.is(await strict, 2)
  // Once it is there, the named worker is the one that runs a loose task (it runs in this process).
  t.is(await client.submitWith({ restrictions: ['late'], allowOtherWorkers: true, pure: false }, () => process.pid), process.pid)
})

test('allowOtherWorkers is checked: a boolean, and only with restrictions (as Dask refuses allow_other_workers without workers)', async (t) => {
  const inc = (x: number) => x + 1
  t.throws(() => taskWith({ allowOtherWorkers: true }, inc, 1), { instanceOf: InvalidTaskError, message: /allowOtherWorkers needs restrictions/ })
  t.throws(() => taskWith({ restrictions: ['a'], allowOtherWorkers: 'yes' as unknown as boolean }, inc, 1), { instanceOf: InvalidTaskError, message: /allowOtherWorkers must be a boolean, got yes/ })
  t.notThrows(() => taskWith({ allowOtherWorkers: false }, inc, 1))
  const cluster = await LocalCluster.start({ workers: 0, log: () => {} })
  t.teardown(() => cluster.close())
  const client = await Client.connect(cluster.address)
  t.teardown(() => client.close())
  t.throws(() => client.submitWith({ allowOtherWorkers: true }, inc, 1), { instanceOf: InvalidTaskError })
  t.throws(() => client.map(inc, [1], { allowOtherWorkers: 1 as unknown as boolean, restrictions: ['a'] }), { instanceOf: InvalidTaskError })
})
