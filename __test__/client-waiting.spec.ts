/**
 * The parts of Dask's client API for waiting and collecting (ported from distributed's
 * test_client.py: test_wait, test_wait_first_completed, test_wait_timeout, test_gather
 * of nested structures, test_as_completed_add): `wait` with each `returnWhen`, results with a
 * timeout or an AbortSignal, Futures that `.catch` and `.finally`, `gather` of any shape,
 * `asCompleted(...).add`, `Symbol.asyncDispose`, and unknown options refused at run time.
 */
import test from 'ava'
import { AsCompletedEndedError, CancelledError, Client, Future, InvalidTaskError, task, TaskError, wait, WaitTimeoutError } from '../ts/index'
import { sharedCluster } from './helpers/shared-cluster'

// Serial: the tests hold slots with long sleepers (cancelled at their end), which would make the
// others' tasks wait behind them.
const shared = sharedCluster(test, { workers: 2, slotsPerWorker: 2 })
const connect = () => shared.connect()

const inc = (x: number) => x + 1
const fail = (message: string) => {
  throw new Error(message)
}
/** Resolves `x` after `ms`: a task that stays pending for a while without holding a thread's CPU. */
const slowly = (x: number, ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), ms))

test.serial('wait returns once every future is done, erred ones included, without fetching or throwing', async (t) => {
  const client = await connect()
  const good = client.submit(inc, 1)
  const bad = client.submit(fail, 'wait-all')
  const late = client.submit(slowly, 3, 300)
  const { done, notDone } = await client.wait([good, bad, late, good])
  t.deepEqual(done, [good, bad, late, good])
  t.deepEqual(notDone, [])
  t.is(bad.status, 'error')
  t.is(good.status, 'finished')
  await t.throwsAsync(bad, { instanceOf: TaskError })
  await client.close()
})

test.serial("wait with returnWhen 'FIRST_COMPLETED' returns as soon as one is done, the rest still pending", async (t) => {
  const client = await connect()
  const fast = client.submit(inc, 10)
  const slow = client.submit(slowly, 4, 30_000)
  const { done, notDone } = await wait([slow, fast], { returnWhen: 'FIRST_COMPLETED' })
  t.deepEqual(done, [fast])
  t.deepEqual(notDone, [slow])
  t.is(slow.status, 'pending')
  slow.cancel()
  await client.close()
})

test.serial("wait with returnWhen 'FIRST_EXCEPTION' returns at the first error, or when all are done", async (t) => {
  const client = await connect()
  const slow = client.submit(slowly, 5, 30_000)
  const bad = client.submit(fail, 'first-exception')
  const first = await client.wait([slow, bad], { returnWhen: 'FIRST_EXCEPTION' })
  t.deepEqual(first.done, [bad])
  t.deepEqual(first.notDone, [slow])
  slow.cancel()
  // Nothing fails: it waits for all.
  const a = client.submit(slowly, 6, 100)
  const b = client.submit(inc, 6)
  const all = await client.wait([a, b], { returnWhen: 'FIRST_EXCEPTION' })
  t.deepEqual(all.done, [a, b])
  // A cancelled future counts as an exception.
  const c = client.submit(slowly, 7, 30_000)
  const d = client.submit(slowly, 8, 30_000)
  setTimeout(() => c.cancel(), 50)
  const cancelled = await client.wait([c, d], { returnWhen: 'FIRST_EXCEPTION' })
  t.deepEqual(cancelled.done, [c])
  d.cancel()
  await client.close()
})

test.serial('wait rejects with WaitTimeoutError (SKEIN_TIMEOUT) after its timeout, and with the reason of an aborted signal', async (t) => {
  const client = await connect()
  const slow = client.submit(slowly, 9, 30_000)
  const error = await t.throwsAsync(client.wait([slow], { timeout: 100 }), { instanceOf: WaitTimeoutError })
  t.is(error!.code, 'SKEIN_TIMEOUT')
  t.regex(error!.message, /1 of 1 futures were not done within 100 ms/)
  const controller = new AbortController()
  setTimeout(() => controller.abort(new Error('stop waiting')), 50)
  await t.throwsAsync(client.wait([slow], { signal: controller.signal }), { message: 'stop waiting' })
  t.is(slow.status, 'pending', 'the task goes on')
  await t.throwsAsync(client.wait([slow], { returnWhen: 'SOME' as never }), { code: 'SKEIN_INVALID_OPTIONS', message: /returnWhen/ })
  await t.throwsAsync(client.wait([slow], { timeOut: 5 } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /unknown wait option 'timeOut'/ })
  slow.cancel()
  await client.close()
})

test.serial('future.result takes a timeout and a signal; the value still comes later; Futures catch and finally', async (t) => {
  const client = await connect()
  const slow = client.submit(slowly, 11, 400)
  const error = await t.throwsAsync(slow.result({ timeout: 50 }), { instanceOf: WaitTimeoutError })
  t.regex(error!.message, new RegExp(`Future.result: the value of '${slow.key}' was not here within 50 ms`))
  const controller = new AbortController()
  controller.abort()
  const aborted: unknown = await slow.result({ signal: controller.signal }).catch((e: unknown) => e)
  t.is((aborted as { name?: string }).name, 'AbortError')
  t.is(await slow.result({ timeout: 30_000 }), 11)
  await t.throwsAsync(slow.result({ timeout: -1 }), { code: 'SKEIN_INVALID_OPTIONS', message: /'timeout' must be a number of milliseconds >= 0/ })
  const caught = await client.submit(fail, 'caught').catch((e: unknown) => (e as Error).message)
  t.regex(String(caught), /caught/)
  let finalized = false
  t.is(await client.submit(inc, 41).finally(() => (finalized = true)), 42)
  t.true(finalized)
  await client.close()
})

test.serial('gather keeps the shape: arrays, plain objects, Maps, Sets and nested mixes, with other values as they are', async (t) => {
  const client = await connect()
  const [a, b, c] = [client.submit(inc, 1), client.submit(inc, 2), client.submit(inc, 3)]
  const when = new Date(0)
  const gathered = await client.gather({ a, list: [b, { c, label: 'x' }], map: new Map([['b', b]]), set: new Set([c]), when, n: 7 })
  t.deepEqual(gathered, { a: 2, list: [3, { c: 4, label: 'x' }], map: new Map([['b', 3]]), set: new Set([4]), when, n: 7 })
  const typed: number = gathered.list[1].c
  t.is(typed, 4)
  t.deepEqual(await client.gather([a, [b, c]]), [2, [3, 4]])
  await t.throwsAsync(client.gather({ ok: a, bad: client.submit(fail, 'nested') }), { instanceOf: TaskError })
  const cycle: Record<string, unknown> = { a }
  cycle.self = cycle
  await t.throwsAsync(async () => client.gather(cycle), { instanceOf: InvalidTaskError, message: /cycle/ })
  await client.close()
})

test.serial('asCompleted(...).add takes futures while the iteration runs; not once it has ended', async (t) => {
  const client = await connect()
  const seen: number[] = []
  const iteration = client.asCompleted([client.submit(inc, 100)])
  let added = false
  for await (const { future } of iteration) {
    seen.push(await future)
    if (!added) {
      added = true
      iteration.add(client.submit(inc, 200))
      iteration.add(client.submit(inc, 300))
    }
  }
  t.deepEqual(seen.sort((x, y) => x - y), [101, 201, 301])
  t.throws(() => iteration.add(client.submit(inc, 400)), { instanceOf: AsCompletedEndedError })
  await client.close()
})

test.serial('Symbol.asyncDispose closes a client (what `await using` calls)', async (t) => {
  const client = await connect()
  t.is(await client.submit(inc, 1), 2)
  await client[Symbol.asyncDispose]()
  t.throws(() => client.submit(inc, 2), { code: 'SKEIN_CONNECTION_CLOSED' })
})

test.serial('unknown and wrongly typed options are refused at run time, naming the option', async (t) => {
  const client = await connect()
  t.throws(() => client.submitWith({ retry: 3 } as never, inc, 1), { instanceOf: InvalidTaskError, message: /unknown option 'retry'/ })
  t.throws(() => client.map(inc, [1, 2], { timeout: 5 } as never), { instanceOf: InvalidTaskError, message: /unknown option 'timeout'/ })
  t.throws(() => client.submitWith({ pure: 'no' } as never, inc, 1), { instanceOf: InvalidTaskError, message: /option pure must be a boolean/ })
  await t.throwsAsync(client.scatter([1], { replicas: 2 } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /unknown scatter option 'replicas'/ })
  await t.throwsAsync(client.scatter([1], { broadcast: 'yes' } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /scatter option 'broadcast' must be a boolean/ })
  await t.throwsAsync(Client.connect(shared.cluster.address, { timeOut: 5 } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /unknown Client.connect option 'timeOut'/ })
  await t.throwsAsync(Client.connect(shared.cluster.address, { timeout: '5' } as never), {
    code: 'SKEIN_INVALID_OPTIONS',
    message: /Client.connect option 'timeout' must be a number, not the string '5'/,
  })
  t.is(await client.submit(inc, 1), 2, 'the client goes on')
  await client.close()
})

test.serial('a cancelled future rejects result({ timeout }) with CancelledError at once', async (t) => {
  const client = await connect()
  const slow = client.submit(slowly, 12, 30_000)
  slow.cancel()
  await t.throwsAsync(slow.result({ timeout: 1000 }), { instanceOf: CancelledError })
  t.true(slow instanceof Future)
  await client.close()
})

test.serial('persist starts a graph and gives futures without gathering, as compute does', async (t) => {
  const client = await connect()
  const base = task(inc, 1)
  const [a, b] = client.persist([task(inc, base), task((x: number) => x * 10, base)])
  t.true(a instanceof Future)
  const { notDone } = await client.wait([a, b])
  t.deepEqual(notDone, [])
  t.deepEqual(await client.gather([a, b]), [3, 20])
  t.is(await client.persist(task(inc, 41)), 42)
  await client.close()
})
