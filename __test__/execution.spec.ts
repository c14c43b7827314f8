/**
 * Tasks run on execution threads: the worker's I/O thread stays responsive
 * while every slot computes, slots run in parallel, and running tasks can be
 * stopped. Assertions compare what the tasks themselves report (where and when
 * they ran), never wall-clock bounds.
 */
import test from 'ava'
import path from 'node:path'
import { CancelledError, moduleFunction, TaskError, TaskTimeoutError, taskWith } from '../ts/index'
import { eventually, sleep } from './helpers/processes'
import { withCluster } from './helpers/with-cluster'

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
type Where = [pid: number, start: number, end: number, value: number]
const spinWhere = moduleFunction<(data: unknown[], i: number, ms: number) => Where>(fixtures, 'spinWhere')
const spin = moduleFunction<(data: unknown[], i: number, ms: number) => number>(fixtures, 'spin')

/** Runs forever: only stopping its thread ends it. The item map() passes is ignored. */
const forever = (_item?: number) => {
  for (;;) {
    // busy
  }
}

test('a synchronous task longer than the heartbeat timeout completes; no worker is removed', async (t) => {
  await withCluster({ workers: 1, heartbeatTimeoutMs: 1000 }, async (cluster, client) => {
    t.is(await client.submit(spin, [1, 2, 3], 4, 3000), 7)
    const stats = cluster.scheduler.stats()
    t.is(stats.workersRemoved, 0)
    t.is(stats.heartbeatTimeouts, 0)
    t.is(cluster.restarts, 0)
  })
})

test('a worker with 2 slots runs two CPU-bound tasks at once', async (t) => {
  await withCluster({ workers: 1, slotsPerWorker: 2 }, async (cluster, client) => {
    const [a, b] = await client.gather([client.submit(spinWhere, [], 0, 400), client.submit(spinWhere, [], 1, 400)])
    t.is(a[0], b[0], 'one worker process ran both')
    t.true(Math.max(a[1], b[1]) < Math.min(a[2], b[2]), `their runs overlap: ${a[1]}-${a[2]} and ${b[1]}-${b[2]}`)
  })
})

test('a busy worker serves its stored results to peers and clients while its only slot computes', async (t) => {
  await withCluster({ workers: 2 }, async (cluster, client) => {
    // Larger than the inline limit, so they must be fetched from their holder; not awaited yet.
    const big = client.submitWith({ restrictions: ['local-0'] }, (n: number) => 'x'.repeat(n), 100_000)
    const other = client.submitWith({ restrictions: ['local-0'] }, (n: number) => 'y'.repeat(n), 100_000)
    t.true(await eventually(() => big.status === 'finished' && other.status === 'finished', 5000))
    const busy = client.submitWith({ restrictions: ['local-0'] }, spinWhere, [], 0, 3000)
    t.true(await eventually(() => cluster.scheduler.state(busy.key) === 'processing', 5000))
    await sleep(200)
    const pulled = client.submitWith(
      { restrictions: ['local-1'] },
      (s: string) => [s.length, Date.now()] as [number, number],
      big,
    )
    const [length, pulledAt] = await pulled
    t.is((await other).length, 100_000)
    const gatheredAt = Date.now()
    const [, , busyEnd] = await busy
    t.is(length, 100_000)
    t.true(pulledAt < busyEnd, `the peer got it ${busyEnd - pulledAt} ms before the busy task ended`)
    t.true(gatheredAt < busyEnd, `a client got it ${busyEnd - gatheredAt} ms before the busy task ended`)
  })
})

test('cancelling a running infinite loop frees its slot and the next task runs', async (t) => {
  await withCluster({ workers: 1 }, async (cluster, client) => {
    const loop = client.submitWith({ pure: false }, forever)
    t.true(await eventually(() => cluster.scheduler.state(loop.key) === 'processing', 5000))
    await sleep(100)
    loop.cancel()
    await t.throwsAsync(loop, { instanceOf: CancelledError })
    t.is(await client.submit((x: number) => x + 1, 41), 42)
    t.is(cluster.scheduler.stats().workersRemoved, 0)
    t.is(cluster.restarts, 0)
  })
})

test('timeoutMs fails a task that runs too long with SKEIN_TASK_TIMEOUT; its dependents too; the worker goes on', async (t) => {
  await withCluster({ workers: 1 }, async (cluster, client) => {
    const slow = client.submitWith({ timeoutMs: 200, pure: false }, forever)
    const after = client.submit((x: unknown) => x, slow)
    const err = await t.throwsAsync(slow, { instanceOf: TaskTimeoutError })
    t.is(err!.code, 'SKEIN_TASK_TIMEOUT')
    t.true(err instanceof TaskError)
    t.regex(err!.message, /timeoutMs \(200 ms\)/)
    const dependent = await t.throwsAsync(after, { instanceOf: TaskTimeoutError })
    t.is(dependent!.causeKey, slow.key)
    // Within its time a task is not stopped, whichever way it was submitted.
    t.deepEqual(await client.gather(client.map((x: number) => x * 2, [1, 2, 3], { timeoutMs: 10_000 })), [2, 4, 6])
    t.is(await client.compute(taskWith({ timeoutMs: 5000 }, (x: number) => x + 1, 1)), 2)
    const timedMap = client.map(forever, [1, 2], { timeoutMs: 100, pure: false })
    for (const f of timedMap) await t.throwsAsync(f, { instanceOf: TaskTimeoutError })
    t.is(await client.submit((x: number) => x + 1, 1), 2)
    t.throws(() => client.submitWith({ timeoutMs: -1 }, forever), { message: /timeoutMs must be a positive number/ })
    t.is(cluster.scheduler.stats().workersRemoved, 0)
  })
})

test('a long task does not keep the tasks handed after it waiting while another thread of its worker idles', async (t) => {
  await withCluster({ workers: 1, slotsPerWorker: 2 }, async (_cluster, client) => {
    const sleepy = (x: number, ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), ms))
    // One thread learns that tasks are quick (it is then handed several at once)...
    t.deepEqual(await client.gather(client.map((x: number) => x + 1, [1, 2, 3, 4])), [2, 3, 4, 5])
    // ...and the other is being replaced (a running task cancelled) when the next two arrive.
    const doomed = client.submitWith({ pure: false }, sleepy, 0, 60_000)
    await sleep(300)
    doomed.cancel()
    const long = client.submitWith({ pure: false }, sleepy, 1, 60_000)
    const short = client.submitWith({ pure: false }, (x: number) => x * 2, 21)
    t.is(await short, 42)
    t.is(long.status, 'pending', 'the short task did not wait for the long one')
    long.cancel()
  })
})
