import test from 'ava'
import v8 from 'node:v8'
import vm from 'node:vm'
import {
  CancelledError,
  Client,
  ConnectionClosedError,
  Future,
  KeyRef,
  ReleasedFutureError,
  SchedulerError,
  TaskError,
  moduleFunction,
  task,
  taskWith,
} from '../ts/index'
import { eventually } from './helpers/processes'
import { sharedCluster } from './helpers/shared-cluster'

// Two worker processes with two slots each, shared by every test in this file; each test has its own client.
const shared = sharedCluster(test, { workers: 2, slotsPerWorker: 2 })
const connect = () => shared.connect()

// A real collection lets the tests check release on garbage collection.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const inc = (x: number) => x + 1
const add = (a: number, b: number) => a + b
const sum = (...values: number[]) => values.reduce((a, b) => a + b, 0)
const tasks = './__test__/fixtures/tasks.mjs'

test('submit runs a function and its future is awaitable', async (t) => {
  const client = await connect()
  const one = client.submit(inc, 1)
  t.true(one instanceof Future)
  t.is(await one, 2)
  t.is(one.status, 'finished')
  t.is(await one, 2, 'awaiting again gives the cached value')
  await client.close()
})

test('the README example: map, futures as arguments, gather', async (t) => {
  const client = await connect()
  const many = client.map(inc, [1, 2, 3])
  const total = client.submit((...v: number[]) => v.reduce((a, b) => a + b, 0), ...many)
  t.is(await total, 9)
  t.deepEqual(await client.gather(many), [2, 3, 4])
  t.is(await client.gather(many[0]), 2)
  await client.close()
})

test('map: repeated items and keys already held give one task per key; plain, structured, future and task items mix', async (t) => {
  const client = await connect()
  const inc = (x: unknown) => (x as number) + 1
  const first = client.map(inc, [1, 2])
  const again = client.map(inc, [2, 3, 3, 1, 'x', [4], { y: 5 }, first[0], 2.5])
  t.is(again[0].key, first[1].key, 'a key this client holds is not submitted again')
  t.is(again[3].key, first[0].key)
  t.is(again[1].key, again[2].key, 'equal items in one map share a key')
  t.is(again[1].key, task(inc, 3).key, 'a map task has the key task() gives it')
  t.is(again[5].key, task(inc, [4]).key)
  t.deepEqual(await client.gather(again), [3, 4, 4, 2, 'x1', '41', '[object Object]1', 3, 3.5])
  t.deepEqual(await client.gather(client.map(inc, [10, task(inc, 1), 'é'])), [11, 3, 'é1'], 'a Task item makes the map a graph')
  t.deepEqual(await client.gather(client.map(inc, new Set([5, 6]))), [6, 7], 'any iterable')
  t.deepEqual(client.map(inc, []), [])
  await client.close()
  t.throws(() => client.map(inc, []), { instanceOf: ConnectionClosedError })
})

test('map of many tasks then one sum: data moves between workers', async (t) => {
  const client = await connect()
  const parts = client.map((i: number) => i * 2, Array.from({ length: 400 }, (_, i) => i))
  t.is(await client.submit(sum, ...parts), 2 * ((399 * 400) / 2))
  await client.close()
})

test('a dependency held by one worker is fetched by a task restricted to another', async (t) => {
  const client = await connect()
  const [a, b] = client.workers.map((w) => w.name).sort()
  const [data] = await client.scatter([{ payload: 'x'.repeat(1000), n: 41 }], { workers: [a] })
  // Restrictions are placement, not content: the tags keep the two keys apart.
  const pid = (d: { n: number }, _tag: string) => [d.n + 1, process.pid] as const
  const onA = client.submitWith({ restrictions: [a] }, pid, data, 'a')
  const onB = client.submitWith({ restrictions: [b] }, pid, data, 'b')
  const [[fromA, pidA], [fromB, pidB]] = await client.gather([onA, onB])
  t.is(fromA, 42)
  t.is(fromB, 42)
  t.not(pidA, pidB, 'the two tasks ran in different worker processes, so the data crossed to b')
  await client.close()
})

test('scatter places values and futures of them are usable as arguments', async (t) => {
  const client = await connect()
  const scattered = await client.scatter([1, 2, 3])
  t.deepEqual(scattered.map((f) => f.status), ['finished', 'finished', 'finished'])
  t.deepEqual(await client.gather(client.map(inc, scattered)), [2, 3, 4])
  t.deepEqual(await client.gather(scattered), [1, 2, 3])
  const again = await client.scatter([2])
  t.is(again[0].key, scattered[1].key, 'equal values share a key')
  const distinct = await client.scatter([2], { hash: false })
  t.not(distinct[0].key, scattered[1].key)
  t.is(await client.submit(add, distinct[0], scattered[2]), 5)
  await client.close()
})

test('scatter round-trips rich values', async (t) => {
  const client = await connect()
  const value = { when: new Date(0), bytes: Buffer.from([1, 2, 3]), map: new Map([['a', 1]]), list: [1, 'two', null] }
  const [f] = await client.scatter([value])
  const echoed = await client.submit((v: typeof value) => v, f)
  t.deepEqual(echoed.when, value.when)
  t.deepEqual([...echoed.bytes], [1, 2, 3])
  t.deepEqual(echoed.map, value.map)
  t.deepEqual(echoed.list, value.list)
  await client.close()
})

test('compute runs task() graphs and returns futures of the tasks given', async (t) => {
  const client = await connect()
  const a = task(inc, 1)
  const b = task(inc, 10)
  const c = task(add, a, b)
  const d = task((xs: number[], o: { y: number }) => xs[0] + xs[1] + o.y, [a, c], { y: b })
  const [fc, fd] = client.compute([c, d])
  t.is(await fc, 13)
  t.is(await fd, 2 + 13 + 11)
  t.is(await client.compute(task(inc, c)), 14)
  await client.close()
})

test('futures inside arrays and objects are dependencies', async (t) => {
  const client = await connect()
  const a = client.submit(inc, 1)
  const b = client.submit(inc, 2)
  const f = client.submit((o: { xs: number[]; nested: { y: number } }) => o.xs[0] + o.xs[1] + o.nested.y, { xs: [a, b], nested: { y: b } })
  t.is(await f, 2 + 3 + 3)
  await client.close()
})

test('a string argument equal to an existing key stays a string', async (t) => {
  const client = await connect()
  const a = client.submit(inc, 1)
  await a
  const echo = client.submit((s: string) => `${s}!`, a.key)
  t.is(await echo, `${a.key}!`)
  await client.close()
})

test('keys: same function and arguments share a key; pure: false and key: differ', async (t) => {
  const client = await connect()
  const x = client.submit(inc, 5)
  const y = client.submit(inc, 5)
  t.is(x.key, y.key)
  const p = client.submitWith({ pure: false }, inc, 5)
  const q = client.submitWith({ pure: false }, inc, 5)
  t.not(p.key, q.key)
  const named = client.submitWith({ key: 'client-spec-named' }, inc, 5)
  t.is(named.key, 'client-spec-named')
  t.deepEqual(await client.gather([x, y, p, q, named]), [6, 6, 6, 6, 6])
  await client.close()
})

test('a failing task rejects with TaskError; its dependents with the same cause; others are fine', async (t) => {
  const client = await connect()
  const boom = client.submit((x: number) => {
    if (x > 0) throw new RangeError(`too big: ${x}`)
    return x
  }, 3)
  const dependent = client.submit(inc, boom)
  const grandchild = client.submit(add, dependent, 1)
  const fine = client.submit(inc, 100)
  const err = await t.throwsAsync(boom, { instanceOf: TaskError })
  t.is(err?.code, 'SKEIN_TASK_FAILED')
  t.is(err?.key, boom.key)
  t.is(err?.causeKey, boom.key)
  t.is(err?.remoteName, 'RangeError')
  t.is(err?.remoteMessage, 'too big: 3')
  t.regex(err?.remoteStack ?? '', /too big: 3/)
  for (const f of [dependent, grandchild]) {
    const e = await t.throwsAsync(f, { instanceOf: TaskError })
    t.is(e?.key, f.key)
    t.is(e?.causeKey, boom.key)
    t.is(e?.remoteMessage, 'too big: 3')
  }
  t.is(boom.status, 'error')
  t.is(await fine, 101)
  await client.close()
})

test('an unawaited failing future causes no unhandled rejection', async (t) => {
  const client = await connect()
  const unhandled: unknown[] = []
  const listener = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', listener)
  const f = client.submit(() => {
    throw new Error('nobody listens')
  })
  for await (const { future } of client.asCompleted([f])) t.is(future.status, 'error')
  await new Promise((resolve) => setTimeout(resolve, 50))
  process.off('unhandledRejection', listener)
  t.deepEqual(unhandled, [])
  await client.close()
})

test('module functions: named export, default export, and one with imports of its own', async (t) => {
  const client = await connect()
  const incM = moduleFunction<(x: number) => number>(tasks, 'inc')
  const hello = moduleFunction<(name: string) => string>(tasks)
  const sha = moduleFunction<(text: string) => string>(tasks, 'sha')
  const a = client.submit(incM, 41)
  t.is(await a, 42)
  t.regex(a.key, /^inc-/)
  t.is(await client.submit(hello, 'skein'), 'hello skein')
  t.regex(await client.submit(sha, 'abc'), /^[0-9a-f]{8}$/)
  t.deepEqual(await client.gather(client.map(incM, [1, 2])), [2, 3])
  await client.close()
})

test('a shipped function that uses an outer variable fails, naming it and the fix', async (t) => {
  const client = await connect()
  const offset = 10
  const usesOuter = (x: number) => x + offset
  const err = await t.throwsAsync(client.submit(usesOuter, 1), { instanceOf: TaskError })
  t.regex(err!.message, /offset/)
  t.regex(err!.message, /usesOuter/)
  t.regex(err!.message, /module function/)
  await client.close()
})

test('async functions run and their promise is unwrapped', async (t) => {
  const client = await connect()
  const later = async (x: number) => {
    await new Promise((resolve) => setTimeout(resolve, 5))
    return x * 3
  }
  const f: Future<number> = client.submit(later, 7)
  t.is(await f, 21)
  await client.close()
})

test('cancel cascades to dependents across three levels (Dask cancel_key): all reject with CancelledError and the scheduler forgets them', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const x = client.submitWith({ pure: false }, slow, 1, 2000)
  const y = client.submit(inc, x)
  const z = client.submit(inc, y)
  const w = client.submit((a: number, b: number) => a + b, z, y)
  const other = await connect()
  // Another client's task on the same input keeps it running for that client.
  const kept = other.submit(inc, other.submit(inc, 100))
  client.cancel(x)
  for (const f of [x, y, z, w]) await t.throwsAsync(f, { instanceOf: CancelledError }, f.key)
  t.deepEqual([x, y, z, w].map((f) => f.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled'])
  const scheduler = shared.cluster.scheduler
  for (const f of [x, y, z, w]) t.true(await eventually(() => scheduler.state(f.key) === null, 10_000), `${f.key} forgotten`)
  t.is(await kept, 102)
  await other.close()
  await client.close()
})

test('cancel stops a task; its futures reject with CancelledError', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const f = client.submitWith({ pure: false }, slow, 1, 1000)
  const g = client.submit(inc, f)
  client.cancel(f)
  t.is(f.status, 'cancelled')
  await t.throwsAsync(f, { instanceOf: CancelledError, code: 'SKEIN_CANCELLED' })
  const h = client.submitWith({ pure: false }, slow, 2, 1000)
  h.cancel()
  await t.throwsAsync(h, { instanceOf: CancelledError })
  g.cancel()
  t.throws(() => client.submit(inc, f), { instanceOf: CancelledError }, 'a cancelled future is no dependency')
  // A value the client already had goes with the cancel: awaiting again rejects, as the README says.
  const had = client.submitWith({ pure: false }, inc, 5)
  t.is(await had, 6)
  had.cancel()
  t.is(had.status, 'cancelled')
  await t.throwsAsync(had, { instanceOf: CancelledError })
  await t.throwsAsync(client.gather([had]), { instanceOf: CancelledError })
  t.is(await client.submit(inc, 1), 2, 'the client keeps working')
  await client.close()
})

// Serial: ava runs serial tests first, on an idle cluster, so the completion order is the one the delays set.
test.serial('asCompleted yields every future as it finishes, erred ones too', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const late = client.submit(slow, 1, 300)
  const early = client.submit(slow, 2, 1)
  const bad = client.submit((x: number) => {
    throw new Error(`bad ${x}`)
  }, 3)
  const order: string[] = []
  for await (const { future } of client.asCompleted([late, early, bad])) order.push(future.key)
  t.is(order.length, 3)
  t.is(order[2], late.key)
  t.deepEqual([...order].sort(), [late.key, early.key, bad.key].sort())
  await client.close()
})

test('release lets the scheduler forget a key; a released future cannot be used', async (t) => {
  const client = await connect()
  const f = client.submitWith({ pure: false }, inc, 1)
  t.is(await f, 2)
  t.is(shared.cluster.scheduler.state(f.key), 'memory')
  f.release()
  t.throws(() => client.submit(inc, f), { instanceOf: ReleasedFutureError })
  const deadline = Date.now() + 5000
  while (shared.cluster.scheduler.state(f.key) === 'memory' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  t.not(shared.cluster.scheduler.state(f.key), 'memory')
  t.is(await f, 2, 'a value already fetched stays readable')
  await client.close()
})

test('a key stays while another future of it is alive', async (t) => {
  const client = await connect()
  const a = client.submit(inc, 1000)
  const b = client.submit(inc, 1000)
  await a
  a.release()
  await new Promise((r) => setTimeout(r, 50))
  t.is(shared.cluster.scheduler.state(b.key), 'memory')
  t.is(await b, 1001)
  await client.close()
})

test('a future dropped without release() is released once garbage collected', async (t) => {
  const client = await connect()
  let key = ''
  await (async () => {
    const f = client.submitWith({ pure: false }, inc, 1)
    key = f.key
    t.is(await f, 2)
  })()
  for (let i = 0; i < 100 && shared.cluster.scheduler.state(key) === 'memory'; i++) {
    gc()
    await sleep(20)
  }
  t.not(shared.cluster.scheduler.state(key), 'memory')
  await client.close()
})

test('an await keeps its key even when the future itself is collected', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const value = client.submitWith({ pure: false }, slow, 21, 300).result()
  for (let i = 0; i < 5; i++) {
    gc()
    await sleep(20)
  }
  t.is(await value, 42)
  await client.close()
})

test('scheduler refusals reject with SchedulerError and the scheduler code', async (t) => {
  const client = await connect()
  const unknown = client.compute(task(inc, new KeyRef('client-spec-no-such-key')))
  await t.throwsAsync(unknown, { instanceOf: SchedulerError, code: 'SKEIN_UNKNOWN_DEPENDENCY' })
  const c1 = taskWith({ key: 'client-spec-c1' }, inc, new KeyRef('client-spec-c2'))
  const c2 = taskWith({ key: 'client-spec-c2' }, inc, new KeyRef('client-spec-c1'))
  const [f1] = client.compute([c1, c2])
  await t.throwsAsync(f1, { instanceOf: SchedulerError, code: 'SKEIN_CYCLE' })
  t.is(await client.submit(inc, 1), 2)
  await client.close()
})

test('a result that cannot be encoded errs that task with a clear message', async (t) => {
  const client = await connect()
  const err = await t.throwsAsync(client.submit(() => () => 1), { instanceOf: TaskError })
  t.regex(err!.message, /function/)
  await client.close()
})

test('connecting where no scheduler listens fails with ConnectionClosedError', async (t) => {
  const err = await t.throwsAsync(Client.connect('ws://127.0.0.1:1', { timeout: 2000 }), { instanceOf: ConnectionClosedError })
  t.regex(err!.message, /ws:\/\/127\.0\.0\.1:1/)
})

test('close rejects pending futures with ConnectionClosedError and refuses new work', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const pending = client.submitWith({ pure: false }, slow, 1, 1000)
  await client.close()
  await t.throwsAsync(pending, { instanceOf: ConnectionClosedError, code: 'SKEIN_CONNECTION_CLOSED' })
  t.throws(() => client.submit(inc, 1), { instanceOf: ConnectionClosedError })
  await t.throwsAsync(client.scatter([1]), { instanceOf: ConnectionClosedError })
})

test('a result or scattered value that cannot be encoded fails with a message naming where', async (t) => {
  const client = await connect()
  const withFunction = client.submit((n: number) => [n, { fine: 'yes', bad: Math.max }], 1)
  const err = await t.throwsAsync(withFunction, { instanceOf: TaskError })
  t.regex(err!.message, /the result of task .*\[1\]\.bad is a function/)
  const cyclic = client.submit(() => {
    const o: Record<string, unknown> = { list: [1, 2] }
    ;(o.list as unknown[]).push(o)
    return o
  })
  t.regex((await t.throwsAsync(cyclic))!.message, /\.list\[2\] refers back to itself/)
  const shared = client.submit(() => {
    const leaf = { x: 1 }
    return [leaf, leaf, [leaf]]
  })
  t.deepEqual(await shared, [{ x: 1 }, { x: 1 }, [{ x: 1 }]], 'an object reached twice is not a cycle')
  await t.throwsAsync(client.scatter([1, [2, Symbol('s')]]), { code: 'SKEIN_UNENCODABLE', message: /values\[1\]\[1\] is a symbol/ })
  t.is(await client.submit((x: number) => x + 1, 1), 2, 'the worker keeps serving')
})
