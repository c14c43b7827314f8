import test from 'ava'
import path from 'node:path'
import { Client, KilledWorkerError, LocalCluster, LostDataError, moduleFunction } from '../ts/index'
import { alive, eventually, sleep } from './helpers/processes'
import { withCluster } from './helpers/with-cluster'

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
const square = moduleFunction<(x: number, ms: number) => Promise<number>>(fixtures, 'square')
const nap = moduleFunction<(ms: number, tag: string) => Promise<string>>(fixtures, 'nap')
const poisonAfter = moduleFunction<(ms: number) => Promise<never>>(fixtures, 'poisonAfter')
const killProcessAfter = moduleFunction<(ms: number) => never>(fixtures, 'killProcessAfter')

const joined = (cluster: LocalCluster, name: string) => cluster.scheduler.workers.some(([, n]) => n === name)

test('a task that ends its thread (process.exit) errs with SKEIN_KILLED_WORKER after 3 deaths, blamed alone; no worker dies', async (t) => {
  await withCluster({ workers: 2, slotsPerWorker: 2 }, async (cluster, client) => {
    const fine = client.map((x: number) => x * 10, Array.from({ length: 20 }, (_, i) => i))
    const poison = client.submit(poisonAfter, 100)
    // Running beside it on the same workers while it dies: none of them is blamed.
    const beside = client.map(square, [1, 2, 3, 4], { priority: 1 })
    const after = client.map(square, [5, 6, 7])
    t.deepEqual(await client.gather(fine), Array.from({ length: 20 }, (_, i) => i * 10))
    const err = await t.throwsAsync(poison, { instanceOf: KilledWorkerError })
    t.is(err!.code, 'SKEIN_KILLED_WORKER')
    t.is(err!.key, poison.key)
    t.deepEqual(err!.deaths.map((d) => d.cause), ['thread-died', 'thread-died', 'thread-died'], err!.message)
    t.regex(err!.message, new RegExp(poison.key))
    t.regex(err!.message, /lost the thread it ran on/)
    t.deepEqual(await client.gather(beside), [1, 4, 9, 16])
    t.deepEqual(await client.gather(after), [25, 36, 49])
    const stats = cluster.scheduler.stats()
    t.is(stats.executorsDied, 3)
    t.is(stats.workersRemoved, 0)
    t.is(cluster.restarts, 0)
    t.is(await client.submit((x: number) => x + 1, 1), 2, 'the cluster still serves')
  })
})

test('a task that kills its whole worker process errs after 3 deaths; the workers are restarted', async (t) => {
  await withCluster({ workers: 2 }, async (cluster, client) => {
    const fine = client.map((x: number) => x * 10, Array.from({ length: 20 }, (_, i) => i))
    const poison = client.submit(killProcessAfter, 50)
    const after = client.map(square, [1, 2, 3])
    t.deepEqual(await client.gather(fine), Array.from({ length: 20 }, (_, i) => i * 10))
    const err = await t.throwsAsync(poison, { instanceOf: KilledWorkerError })
    t.is(err!.key, poison.key)
    t.is(err!.workers.length, 3, `died on ${err!.workers.join(', ')}`)
    t.deepEqual(err!.deaths.map((d) => d.cause), ['died', 'died', 'died'])
    t.deepEqual(await client.gather(after), [1, 4, 9])
    // The supervisor sees a child's exit on its own schedule, independent of the scheduler noticing the death.
    t.true(await eventually(() => cluster.restarts >= 3, 10_000), 'the dead workers were restarted')
    t.is(await client.submit((x: number) => x + 1, 1), 2, 'the cluster still serves')
  })
})

test('a client that disconnects has its keys released and work nobody else wants cancelled', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  try {
    const a = await Client.connect(cluster.address)
    const b = await Client.connect(cluster.address)
    try {
      // 10 x 400 ms queued for a alone, then a key both want, then b's own.
      const mine = Array.from({ length: 10 }, (_, i) => a.submit(nap, 400, `a-${i}`))
      const sharedByA = a.submitWith({ key: 'shared' }, nap, 200, 'shared')
      await sleep(100)
      const shared = b.submitWith({ key: 'shared' }, nap, 200, 'shared')
      const own = b.submit(nap, 10, 'b')
      await sleep(100)
      t.regex(cluster.scheduler.state(mine[5].key) ?? '', /queued|processing/, 'the work of a is waiting')
      const start = performance.now()
      await a.close()
      t.true(await eventually(() => mine.every((f) => cluster.scheduler.state(f.key) === null), 5000), "a's keys are forgotten")
      t.deepEqual(await b.gather([shared, own]), ['shared', 'b'])
      const wall = performance.now() - start
      t.log(`b finished ${wall.toFixed(0)} ms after a left (a had ${10 * 400} ms of work queued ahead of it)`)
      t.is(cluster.scheduler.health().clients, 1)
      void sharedByA.status
    } finally {
      await b.close()
    }
  } finally {
    await cluster.close()
  }
})

test('a result lost with its worker is recomputed for a client waiting on it; lost scattered data errs, its future says lost and rejects', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, log: () => {} })
  try {
    const client = await Client.connect(cluster.address)
    try {
      // Pinned to local-0 by name: the restarted local-0 (a new worker) may run it again.
      const x = client.submitWith({ restrictions: ['local-0'] }, square, 7, 1)
      const [data] = await client.scatter([41], { workers: ['local-0'] })
      t.true(await eventually(() => x.status === 'finished', 10_000), 'x is in memory')
      const pid = cluster.workerProcesses.find((w) => w.name === 'local-0')!.pid
      process.kill(pid, 'SIGKILL')
      t.true(await eventually(() => !joined(cluster, 'local-0') || cluster.restarts > 0, 10_000))
      t.is(await x, 49, 'the waiting client gets the recomputed value')
      t.is(await client.submit((v: number) => v + 1, x), 50)
      const err = await t.throwsAsync(client.submit((v: number) => v + 1, data), { instanceOf: LostDataError })
      t.is(err!.code, 'SKEIN_LOST_DATA')
      // The scattered future itself says so, and its value cached at scatter is gone (Dask's test_gather_lost).
      t.true(await eventually(() => data.status === 'lost', 10_000), `status ${data.status}`)
      await t.throwsAsync(data, { instanceOf: LostDataError })
      await t.throwsAsync(client.gather([data]), { instanceOf: LostDataError })
      const stats = cluster.scheduler.stats()
      t.true(stats.lostResults >= 1)
      t.true(stats.workersRemoved >= 1)
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
})

test('LocalCluster restarts a dead worker under its name, up to the cap; close() stops supervising first', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, maxRestartsPerMinute: 1, log: () => {} })
  const pids = new Set(cluster.workers)
  try {
    const first = cluster.workerProcesses.find((w) => w.name === 'local-1')!.pid
    const ids = cluster.scheduler.workers.filter(([, n]) => n === 'local-1').map(([id]) => id)
    process.kill(first, 'SIGKILL')
    t.true(await eventually(() => cluster.restarts === 1 && joined(cluster, 'local-1'), 15_000), 'restarted and joined')
    const again = cluster.workerProcesses.find((w) => w.name === 'local-1')!.pid
    pids.add(again)
    t.not(again, first)
    const [[newId]] = cluster.scheduler.workers.filter(([, n]) => n === 'local-1')
    t.false(ids.includes(newId), 'the scheduler sees a new worker')
    process.kill(again, 'SIGKILL')
    t.true(await eventually(() => !joined(cluster, 'local-1'), 10_000))
    await sleep(500)
    t.is(cluster.restarts, 1, 'past the cap the slot stays down')
    t.is(cluster.scheduler.workers.length, 1)
    const client = await Client.connect(cluster.address)
    t.is(await client.submit((x: number) => x * 2, 21), 42, 'the rest of the cluster serves')
    await client.close()
  } finally {
    await cluster.close()
  }
  for (const pid of cluster.workers) pids.add(pid)
  t.true(await eventually(() => ![...pids].some(alive), 10_000), 'no worker process is left behind, none restarted by close()')
})

test('scatter({ broadcast: true }) puts a value on every worker: it survives the loss of one, where a value on that worker alone is lost', async (t) => {
  await withCluster({ workers: 2, maxRestartsPerMinute: 0 }, async (cluster, client) => {
    await client.waitForWorkers(2)
    const [everywhere] = await client.scatter([{ table: [1, 2, 3] }], { broadcast: true })
    const [onlyThere] = await client.scatter([{ table: [4, 5, 6] }], { workers: ['local-0'], hash: false })
    process.kill(cluster.workerProcesses.find((w) => w.name === 'local-0')!.pid, 'SIGKILL')
    t.true(await eventually(() => !joined(cluster, 'local-0'), 10_000))
    t.true(await eventually(() => onlyThere.status === 'lost', 10_000), 'the value on the dead worker alone is lost')
    const sum = (d: { table: number[] }) => d.table.reduce((a, b) => a + b, 0)
    t.is(await client.submit(sum, everywhere), 6, 'the broadcast value is still held by the other worker')
    t.is(everywhere.status, 'finished')
  })
})
