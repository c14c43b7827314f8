import test from 'ava'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { LocalCluster } from '../ts/cluster'
import { defaultShape } from '../ts/cluster/local-cluster'
import { Client } from '../ts/client'
import { Scheduler } from '../ts/scheduler'
import { Worker } from '../ts/worker'
import { RawConnection } from './helpers/raw'
import { peerStub } from './helpers/peer-stub'
import { alive, eventually } from './helpers/processes'

const root = path.join(__dirname, '..')

test('LocalCluster starts two worker processes, answers /health, runs a graph across them and closes leaving no process', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, log: () => {} })
  const pids = cluster.workers
  try {
    t.regex(cluster.address, /^ws:\/\/127\.0\.0\.1:\d+$/)
    t.is(pids.length, 2)
    t.true(pids.every(alive))
    const health = (await (await fetch(`${cluster.address.replace('ws:', 'http:')}/health`)).json()) as Record<string, unknown>
    t.like(health, { status: 'ok', workers: 2, clients: 0 })
    t.like(health.tasks as object, { processing: 0 })

    const client = await Client.connect(cluster.address)
    try {
      const inc = (x: number) => x + 1
      const many = client.map(inc, Array.from({ length: 50 }, (_, i) => i))
      const total = client.submit((...v: number[]) => v.reduce((a, b) => a + b, 0), ...many)
      t.is(await total, (50 * 51) / 2)
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
  t.false(pids.some(alive), 'every worker process has exited')
  await t.notThrowsAsync(cluster.close(), 'close twice is harmless')
})

test('worker processes exit when the process that started the cluster is killed', async (t) => {
  const script = `require(${JSON.stringify(path.join(root, 'dist/cluster'))}).LocalCluster.start({ workers: 2 }).then((c) => console.log(JSON.stringify(c.workers)))`
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const pids = await new Promise<number[]>((resolve, reject) => {
    let out = ''
    parent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(JSON.parse(out) as number[])
    })
    parent.once('exit', (code) => reject(new Error(`the parent exited early with ${code}`)))
  })
  t.is(pids.length, 2)
  t.true(pids.every(alive))
  parent.kill('SIGKILL')
  t.true(await eventually(() => !pids.some(alive), 10_000), 'orphaned workers exit by themselves')
})

test('the scheduler alone needs no configuration', async (t) => {
  const scheduler = new Scheduler()
  await scheduler.listen()
  try {
    t.regex(scheduler.address, /^ws:\/\/127\.0\.0\.1:\d+$/)
    t.like(scheduler.health(), { status: 'ok', workers: 0, clients: 0 })
    const notFound = await fetch(`http://127.0.0.1:${scheduler.port}/nope`)
    t.is(notFound.status, 404)
    await t.throwsAsync(scheduler.waitForWorkers(1, 100), { message: /only 0 of 1 workers joined/ })
  } finally {
    await scheduler.close()
  }
})

test('workers run in-process too, and stop when their scheduler closes', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  const workers = await Promise.all([
    Worker.start({ scheduler: scheduler.address, slots: 2, name: 'in-process-a' }),
    Worker.start({ scheduler: scheduler.address, name: 'in-process-b' }),
  ])
  t.deepEqual(scheduler.workers.map((w) => w[1]).sort(), ['in-process-a', 'in-process-b'])
  await t.throwsAsync(Worker.start({ scheduler: scheduler.address, name: 'in-process-a', log: () => {} }), { code: 'SKEIN_DUPLICATE_WORKER', message: /refused worker 'in-process-a'/ })
  const client = await Client.connect(scheduler.address)
  const double = async (x: number) => x * 2
  t.deepEqual(await client.gather(client.map(double, [1, 2, 3])), [2, 4, 6])
  await client.close()
  await scheduler.close()
  await Promise.all(workers.map((w) => w.closed))
  t.pass()
})

test('a worker that stops sending heartbeats is removed and disconnected', async (t) => {
  const scheduler = await new Scheduler({ core: { heartbeatTimeout: 0.3 }, tickIntervalMs: 50, log: () => {} }).listen()
  try {
    const silent = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
    silent.send(['hello-worker', 'silent', 1, await peerStub(t, scheduler.token), null])
    await silent.next((m) => m[0] === 'welcome')
    t.is(scheduler.health().workers, 1)
    await silent.whenClosed()
    t.is(scheduler.health().workers, 0)
  } finally {
    await scheduler.close()
  }
})

test('the default shape: one slot per core, in processes of at most 8 slots; a shape given is kept', (t) => {
  t.deepEqual(defaultShape(undefined, undefined, 2), { count: 1, slots: 2 })
  t.deepEqual(defaultShape(undefined, undefined, 8), { count: 1, slots: 8 })
  t.deepEqual(defaultShape(undefined, undefined, 12), { count: 2, slots: 6 })
  t.deepEqual(defaultShape(undefined, undefined, 64), { count: 8, slots: 8 })
  t.deepEqual(defaultShape(3, undefined, 64), { count: 3, slots: 1 })
  t.deepEqual(defaultShape(undefined, 2, 8), { count: 4, slots: 2 })
  t.deepEqual(defaultShape(undefined, 4, 2), { count: 1, slots: 4 })
  t.deepEqual(defaultShape(0, undefined, 4), { count: 0, slots: 1 })
})

test('bad shapes are refused before anything starts', async (t) => {
  await t.throwsAsync(LocalCluster.start({ slotsPerWorker: 0 }), { message: /slotsPerWorker must be a positive integer, not 0/ })
  await t.throwsAsync(LocalCluster.start({ workers: 1.5 }), { message: /workers must be a non-negative integer, not 1.5/ })
})

test('a worker that says it is paused gets no new tasks until it resumes; heartbeats carry its memory to /health', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  const raw = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
  raw.send(['hello-worker', 'raw', 1, await peerStub(t, scheduler.token), null])
  await raw.next((m) => m[0] === 'welcome')
  raw.send(['paused', true], ['heartbeat', { managed: 1000, spilled: 200, process: 5000 }])
  const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
  const client = await Client.connect(scheduler.address)
  try {
    const futures = client.map((x: number) => x + 1, [1, 2, 3, 4, 5, 6])
    t.deepEqual(await client.gather(futures), [2, 3, 4, 5, 6, 7])
    t.false(raw.received.some((m) => m[0] === 'compute'), 'nothing was sent to the paused worker')
    const health = scheduler.health()
    t.like(health.memory, { managed: 1000, spilled: 200, paused: 1 })
    t.true(health.memory.process >= 5000)
    // Released, so that losing the other worker recomputes none of them (left to the garbage
    // collector, they were recomputed on this one whenever it had not collected them yet).
    for (const f of futures) f.release()
    for (const f of futures) t.true(await eventually(() => scheduler.state(f.key) === null, 10_000), `${f.key} is forgotten`)
    // Resumed (and the other worker gone): the next tasks go to it.
    raw.send(['paused', false])
    await worker.close()
    void client.submit((x: number) => x * 10, 7)
    const compute = await raw.next((m) => m[0] === 'compute')
    t.is((compute[1] as unknown[]).length, 1)
    t.is(scheduler.health().memory.paused, 0)
  } finally {
    raw.close()
    await client.close()
    await scheduler.close()
  }
})
