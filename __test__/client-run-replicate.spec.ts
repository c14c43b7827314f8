/**
 * client.run (Dask's Client.run), client.replicate and client.whoHas (Dask's replicate and
 * who_has), against real clusters. Ported from distributed/tests/test_client.py: test_run,
 * test_run_exception, test_run_handles_picklable_data, test_replicate, test_replicate_workers.
 */
import test from 'ava'
import path from 'node:path'
import { InvalidOptionsError, LocalCluster, moduleFunction, RunError, SchedulerError, TaskError, type WorkerContext } from '../ts/index'
import { eventually } from './helpers/processes'
import { sharedCluster } from './helpers/shared-cluster'
import { withCluster } from './helpers/with-cluster'
import { decodeTaskFailure } from '../ts/graph/payload'
import { encode, MAX_RUN_RESULT_BYTES, RunOutcome, WorkerEventKind } from '../ts/protocol'
import type { Connection } from '../ts/scheduler/connection'
import { NativeCore } from '../ts/scheduler/native'
import { Replications } from '../ts/scheduler/replications'
import { MAX_RUNS_PER_CLIENT, Runs } from '../ts/scheduler/runs'

const shared = sharedCluster(test, { workers: 3, log: () => {} })
const square = moduleFunction<(x: number, ms?: number) => Promise<number>>(path.join(__dirname, 'fixtures', 'resilience.mjs'), 'square')
const joined = (cluster: LocalCluster, name: string) => cluster.scheduler.workers.some(([, n]) => n === name)
const kill = (cluster: LocalCluster, name: string) => process.kill(cluster.workerProcesses.find((w) => w.name === name)!.pid, 'SIGKILL')
const sorted = (names: string[]) => [...names].sort()

test('run: the function runs once on every worker, its result keyed by worker name; workers narrows it (Dask test_run)', async (t) => {
  const client = await shared.connect()
  try {
    t.deepEqual(await client.run((x: number) => x + 1, { args: [1] }), { 'local-0': 2, 'local-1': 2, 'local-2': 2 })
    t.deepEqual(await client.run((x: number) => x + 1, { args: [1], workers: ['local-1'] }), { 'local-1': 2 })
    t.deepEqual(await client.run((x: number) => x + 1, { args: [1], workers: [] }), {})
    // Each ran in its own worker process, async functions awaited.
    const pids = await client.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10))
      return process.pid
    })
    t.is(new Set(Object.values(pids)).size, 3)
    t.deepEqual(await client.run(square, { args: [3] }), { 'local-0': 9, 'local-1': 9, 'local-2': 9 }, 'a module function runs too')
    const unknown = await t.throwsAsync(client.run(() => 1, { workers: ['nobody'] }), { instanceOf: SchedulerError })
    t.is(unknown!.code, 'SKEIN_UNKNOWN_WORKER')
    t.regex(unknown!.message, /nobody/)
  } finally {
    await client.close()
  }
})

test('run: a failure rejects with a RunError naming the worker, with the fidelity of a TaskError; onError "return" keeps it as that entry (Dask test_run_exception)', async (t) => {
  const client = await shared.connect()
  try {
    const raiseOn = (target: string, context: WorkerContext) => {
      if (context.name === target) throw Object.assign(new RangeError('informative message'), { detail: 42 })
      return context.name
    }
    const err = await t.throwsAsync(client.run(raiseOn, { args: ['local-1'], context: true }), { instanceOf: RunError })
    t.is(err!.code, 'SKEIN_RUN_FAILED')
    t.is(err!.worker, 'local-1')
    t.is(err!.remoteName, 'RangeError')
    t.is(err!.remoteMessage, 'informative message')
    t.deepEqual(err!.fields, { detail: 42 })
    t.regex(err!.message, /local-1.*informative message/)
    const results = await client.run(raiseOn, { args: ['local-1'], context: true, onError: 'return' })
    t.is(results['local-0'], 'local-0')
    t.is(results['local-2'], 'local-2')
    t.true(results['local-1'] instanceof RunError)
    t.is((results['local-1'] as RunError).remoteMessage, 'informative message')
    await t.throwsAsync(client.run(() => 1, { onError: 'ignore' as 'raise' }), { instanceOf: InvalidOptionsError, message: /onError/ })
  } finally {
    await client.close()
  }
})

test('run: values of every encodable shape come back as they were (Dask test_run_handles_picklable_data)', async (t) => {
  const client = await shared.connect()
  try {
    const results = await client.run(() => ({ tuple: [] as number[], dict: {}, list: [1, 'a', null], set: new Set([1, 2]), map: new Map([['k', 1]]), when: new Date(0) }))
    t.deepEqual(Object.keys(results), ['local-0', 'local-1', 'local-2'])
    for (const value of Object.values(results)) {
      t.deepEqual(value, { tuple: [], dict: {}, list: [1, 'a', null], set: new Set([1, 2]), map: new Map([['k', 1]]), when: new Date(0) })
    }
  } finally {
    await client.close()
  }
})

test('run: with context: true the function learns its worker: name, id, address and the keys it holds', async (t) => {
  const client = await shared.connect()
  try {
    const [value] = await client.scatter([{ on: 'local-2' }], { workers: ['local-2'], hash: false })
    const seen = await client.run((context: WorkerContext) => context, { context: true })
    const workers = client.workers
    for (const name of ['local-0', 'local-1', 'local-2']) {
      const me = workers.find((w) => w.name === name)!
      t.like(seen[name], { name, id: me.id, address: me.address })
    }
    t.true(seen['local-2'].keys.includes(value.key))
    t.false(seen['local-0'].keys.includes(value.key))
  } finally {
    await client.close()
  }
})

test('run: a function past its timeoutMs is stopped (its worker keeps working meanwhile: it runs off the I/O thread and off the task slots)', async (t) => {
  const client = await shared.connect()
  try {
    const forever = client.run(
      () => {
        for (;;) {
          // a synchronous loop that never ends
        }
      },
      { workers: ['local-0'], timeoutMs: 1500, onError: 'return' },
    )
    // Tasks on that worker run and report while the loop spins.
    t.is(await client.submitWith({ restrictions: ['local-0'], pure: false }, (x: number) => x * 2, 21), 42)
    const results = await forever
    t.true(results['local-0'] instanceof RunError)
    t.is((results['local-0'] as RunError).code, 'SKEIN_RUN_TIMEOUT')
    t.deepEqual(await client.run(() => 'still here', { workers: ['local-0'] }), { 'local-0': 'still here' })
  } finally {
    await client.close()
  }
})

test('run: bad input is refused before anything is sent', async (t) => {
  const client = await shared.connect()
  try {
    await t.throwsAsync(client.run(() => 1, { wrokers: ['local-0'] } as object), { instanceOf: InvalidOptionsError, message: /unknown run option 'wrokers'/ })
    await t.throwsAsync(client.run(() => 1, { args: 'x' as unknown as unknown[] }), { instanceOf: InvalidOptionsError })
    await t.throwsAsync(client.run(() => 1, { timeoutMs: -1 }), { instanceOf: InvalidOptionsError, message: /timeoutMs/ })
    const future = client.submit((x: number) => x, 1)
    await t.throwsAsync(client.run((x: unknown) => x, { args: [future] }), { instanceOf: InvalidOptionsError, message: /futures/ })
    await t.throwsAsync(client.run(() => 1, { args: [() => 1] }), { instanceOf: InvalidOptionsError, message: /a function/ })
  } finally {
    await client.close()
  }
})

test('run: a worker that dies before answering is named (RunError SKEIN_RUN_WORKER_LOST), or is its entry with onError "return"', async (t) => {
  await withCluster({ workers: 2, maxRestartsPerMinute: 0 }, async (cluster, client) => {
    await client.waitForWorkers(2)
    const wait = async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms))
      return 'done'
    }
    const returning = client.run(wait, { args: [60_000], onError: 'return', workers: ['local-1'] })
    const raising = client.run(wait, { args: [60_000], workers: ['local-1'] })
    // Both runs are on local-1 once it answers a run sent after them.
    await client.run(() => 0, { workers: ['local-1'] })
    kill(cluster, 'local-1')
    const results = await returning
    t.true(results['local-1'] instanceof RunError)
    t.is((results['local-1'] as RunError).code, 'SKEIN_RUN_WORKER_LOST')
    const err = await t.throwsAsync(raising, { instanceOf: RunError })
    t.is(err!.worker, 'local-1')
    t.is(err!.code, 'SKEIN_RUN_WORKER_LOST')
    t.regex(err!.message, /local-1/)
  })
})

test('replicate: a value copied to all 3 workers outlives two of them; whoHas names its holders (Dask test_replicate)', async (t) => {
  await withCluster({ workers: 3, maxRestartsPerMinute: 0 }, async (cluster, client) => {
    await client.waitForWorkers(3)
    const value = client.submitWith({ restrictions: ['local-0'] }, (n: number) => Array.from({ length: n }, (_, i) => i), 1000)
    await client.wait([value])
    t.deepEqual(await client.whoHas(value), { [value.key]: ['local-0'] })
    await client.replicate(value)
    t.deepEqual(sorted((await client.whoHas(value))[value.key]), ['local-0', 'local-1', 'local-2'])
    kill(cluster, 'local-0')
    kill(cluster, 'local-1')
    t.true(await eventually(() => !joined(cluster, 'local-0') && !joined(cluster, 'local-1'), 10_000))
    t.deepEqual((await client.whoHas(value))[value.key], ['local-2'])
    t.is((await value).length, 1000, 'the value still gathers, from the copy')
    t.is(await client.submit((xs: number[]) => xs.length, value), 1000, 'and feeds a dependent where the copy is')
    t.is(value.status, 'finished')
  })
})

test('replicate: n copies exactly; fewer than held drops the extra copies; workers bounds where they go (Dask test_replicate_workers)', async (t) => {
  const client = await shared.connect()
  try {
    const [a, b] = client.map((x: number) => ({ x }), [1, 2], { restrictions: ['local-0'], pure: false })
    await client.replicate([a, b], { n: 2 })
    let holders = await client.whoHas([a, b])
    t.is(holders[a.key].length, 2)
    t.is(holders[b.key].length, 2)
    t.true(holders[a.key].includes('local-0'))
    await client.replicate([a], { n: 1 })
    t.is((await client.whoHas(a))[a.key].length, 1, 'the extra copy was dropped')
    t.deepEqual(await a, { x: 1 })
    await client.replicate(b, { workers: ['local-2'] })
    holders = await client.whoHas(b)
    t.true(holders[b.key].includes('local-2'))
    // n counts among `workers` only: one copy there is enough, copies elsewhere are left alone.
    const before = holders[b.key].length
    await client.replicate(b, { n: 1, workers: ['local-2'] })
    t.is((await client.whoHas(b))[b.key].length, before)
  } finally {
    await client.close()
  }
})

test('replicate: an erred future rejects with its error; unknown workers and bad options are refused', async (t) => {
  const client = await shared.connect()
  try {
    const bad = client.submit(() => {
      throw new Error('no value')
    })
    await t.throwsAsync(client.replicate(bad), { instanceOf: TaskError })
    const good = client.submit((x: number) => x + 1, 1)
    const unknown = await t.throwsAsync(client.replicate(good, { workers: ['nobody'] }), { instanceOf: SchedulerError })
    t.is(unknown!.code, 'SKEIN_INVALID_REPLICATION')
    t.regex(unknown!.message, /nobody/)
    await t.throwsAsync(client.replicate(good, { n: 0 }), { instanceOf: InvalidOptionsError })
    await t.throwsAsync(client.replicate(good, { copies: 2 } as object), { instanceOf: InvalidOptionsError, message: /unknown replicate option 'copies'/ })
    t.deepEqual(await client.whoHas([]), {})
    t.is(await good, 2)
  } finally {
    await client.close()
  }
})

/** A stand-in for a scheduler connection: what was sent to it. */
function fakeConnection(name: string, id = 0) {
  const sent: unknown[][] = []
  const conn = { name, id, isOpen: true, sent, send: (m: unknown[]) => sent.push(m), sendError: (request: number, code: string, message: string) => sent.push(['error', request, code, message]) }
  return conn as typeof conn & Connection
}

test('the scheduler bounds runs: in flight per client, bytes per answer and per run; a worker leaving answers for itself', (t) => {
  const runs = new Runs()
  const client = fakeConnection('client')
  const [w1, w2] = [fakeConnection('w1', 1), fakeConnection('w2', 2)]
  for (let i = 0; i < MAX_RUNS_PER_CLIENT; i++) runs.start(client, i, Buffer.from('p'), [w1], false, 0)
  t.throws(() => runs.start(client, 99, Buffer.from('p'), [w1], false, 0), { code: 'SKEIN_TOO_MANY_RUNS' } as object)
  t.is(w1.sent.length, MAX_RUNS_PER_CLIENT)
  const firstId = w1.sent[0][1] as number
  runs.answered(w1, firstId, RunOutcome.Returned, Buffer.from([1]))
  t.deepEqual(client.sent.at(-1), ['run-results', 0, [['w1', RunOutcome.Returned, Buffer.from([1])]]])
  runs.answered(w1, firstId, RunOutcome.Returned, Buffer.from([1]))
  t.is(client.sent.length, 1, 'a second answer to the same run is dropped')
  t.notThrows(() => runs.start(client, 100, Buffer.from('p'), [w1, w2], false, 0), 'an answered run frees its place')
  const id = w2.sent[0][1] as number
  runs.answered(w2, id, RunOutcome.Returned, Buffer.alloc(MAX_RUN_RESULT_BYTES + 1))
  runs.workerLeft(w1)
  const [, request, results] = client.sent.at(-1) as [string, number, [string, RunOutcome, Uint8Array | string][]]
  t.is(request, 100)
  const byWorker = new Map(results.map((r) => [r[0], r]))
  t.is(byWorker.get('w1')![1], RunOutcome.WorkerLost)
  t.is(byWorker.get('w2')![1], RunOutcome.Raised)
  t.is(decodeTaskFailure(byWorker.get('w2')![2] as Uint8Array).code, 'SKEIN_VALUE_TOO_LARGE')
  runs.clientLeft(client)
  runs.close()
})

test('the scheduler tells each worker its copies, counts each copy reported, frees copies nobody asked for, and names copies whose worker left', (t) => {
  const core = new NativeCore({ validate: true })
  const c = core.addClient()
  const ids = ['w1', 'w2', 'w3'].map((name) => core.addWorker(name, 1, null, 0))
  const [w1, w2, w3] = ids.map((id, i) => fakeConnection(`w${i + 1}`, id))
  core.submitGraph(c, encode([['a', 'p', Buffer.from('pa'), [], 0, ['w1'], null]]), ['a'])
  core.takeMessages()
  core.workerEvents(w1.id, encode([[WorkerEventKind.Finished, 0, 0, 8, 0.001]]))
  core.takeMessages()
  const replications = new Replications(core)
  const client = fakeConnection('client')
  const workers = new Map([w1, w2, w3].map((w) => [w.id, w]))
  replications.start(client, 1, ['a'], null, null, workers)
  t.deepEqual(w2.sent, [['replicate', [['a', [w1.id]]]]])
  t.deepEqual(w3.sent, [['replicate', [['a', [w1.id]]]]])
  replications.reported(w2, [['a', null]])
  t.deepEqual(client.sent, [], 'one copy is still under way')
  replications.reported(w3, [['a', null], ['b', null]])
  t.deepEqual(w3.sent.at(-1), ['free', ['b']], 'a copy nobody asked for is freed')
  t.deepEqual(client.sent, [['done', 1]])
  t.deepEqual(core.whoHas(['a'])[0].sort(), [w1.id, w2.id, w3.id])

  replications.start(client, 2, ['a'], 1, null, workers)
  t.deepEqual(client.sent.at(-1), ['done', 2], 'fewer copies: nothing to fetch, the extra ones are freed')
  t.is(core.whoHas(['a'])[0].length, 1)
  replications.start(client, 3, ['a'], null, null, workers)
  const copier = [w1, w2, w3].find((w) => w.sent.at(-1)?.[0] === 'replicate' && w.sent.length > 1)!
  replications.workerLeft(copier)
  replications.reported([w1, w2, w3].find((w) => w !== copier && w.sent.at(-1)?.[0] === 'replicate')!, [['a', 'no holder could give it']])
  const [kind, request, code, message] = client.sent.at(-1) as string[]
  t.deepEqual([kind, request, code], ['error', 3, 'SKEIN_REPLICATE_FAILED'])
  t.regex(message, /2 copies could not be made: .*the worker left.*no holder could give it|2 copies could not be made: .*no holder could give it.*the worker left/)
})
