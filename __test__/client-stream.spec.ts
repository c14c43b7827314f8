import test from 'ava'
import { KeyRef, SchedulerError, moduleFunction, task, type Task } from '../ts/index'
import { BatchStream } from '../ts/client/batch-stream'
import { KeyState } from '../ts/client/key-state'
import { GraphWriter } from '../ts/graph/wire'
import { sharedCluster } from './helpers/shared-cluster'

// Graphs above a few thousand tasks are sent as several submits in dependency order (ts/client/graph-stream.ts).
const shared = sharedCluster(test, { workers: 2, slotsPerWorker: 1 })
const connect = () => shared.connect()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const add = (a: number, b: number) => a + b
const sum = (...values: number[]) => values.reduce((a, b) => a + b, 0)
const tasks = './__test__/fixtures/tasks.mjs'

function taskCount(): number {
  const c = shared.cluster.scheduler.health().tasks
  return c.released + c.waiting + c.queued + c.noWorker + c.processing + c.memory + c.erred
}

async function settlesToZeroTasks(): Promise<number> {
  for (let i = 0; i < 100 && taskCount() > 0; i++) await sleep(20)
  return taskCount()
}

/**
 * `leaves` leaves reduced 10 at a time; every combine also takes `shared`, the graph's first task
 * (worth `base`; with `slowSharedMs` it takes that long, so no combine finishes sooner).
 */
function sharedTree(leaves: number, base: number, slowSharedMs = 0): { root: Task<number>; first: Task<number>; expected: number } {
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const shared = slowSharedMs > 0 ? task(slow, base / 2, slowSharedMs) : task(add, base, 0)
  let level: Task<number>[] = Array.from({ length: leaves }, (_, i) => task(add, base, i + 1))
  let expected = leaves * base + (leaves * (leaves + 1)) / 2
  let first: Task<number> | null = null
  while (level.length > 1) {
    const next: Task<number>[] = []
    for (let i = 0; i < level.length; i += 10) {
      const combine = task(sum, shared, ...level.slice(i, i + 10))
      first ??= combine
      next.push(combine)
      expected += base
    }
    level = next
  }
  return { root: level[0], first: first!, expected }
}

test.serial('a graph sent as several submits computes exactly, and a task used across submits stays until used', async (t) => {
  const client = await connect()
  const { root, expected } = sharedTree(20_000, 1_000)
  const future = client.compute(root)
  // Sent while the graph is still streaming: must wait for the root's submit.
  const after = client.submit(add, future, 1)
  t.is(await future, expected)
  t.is(await after, expected + 1)
  future.release()
  after.release()
  t.is(await settlesToZeroTasks(), 0, 'bridge wants were released: nothing is left')
  await client.close()
})

test.serial('futures of a streamed graph released at once leave nothing behind', async (t) => {
  const client = await connect()
  const { root, first, expected } = sharedTree(10_000, 2_000)
  const [r, f] = client.compute([root, first])
  f.release()
  t.is(await r, expected)
  r.release()
  t.is(await settlesToZeroTasks(), 0)
  await client.close()
})

test.serial('a streamed graph refused in a later submit fails every future it made and leaves nothing running', async (t) => {
  const client = await connect()
  const slow = moduleFunction<(x: number, ms: number) => Promise<number>>(tasks, 'slowDouble')
  const gone = client.submitWith({ pure: false }, slow, 1, 2_000)
  // `first` (in the first submit) waits for a slow task, so it has no value when the graph is refused:
  // a small result would otherwise come back with its 'memory' message, and a future with a value keeps it.
  const { root: top, first, expected } = sharedTree(10_000, 3_000, 500)
  t.true(expected > 0)
  // The last task of the graph depends on a key the scheduler forgets before the graph arrives.
  const root = task(add, top, gone)
  gone.cancel()
  const [r, f] = client.compute([root, first])
  await t.throwsAsync(r, { instanceOf: SchedulerError, code: 'SKEIN_UNKNOWN_DEPENDENCY' })
  await t.throwsAsync(f, { instanceOf: SchedulerError, code: 'SKEIN_UNKNOWN_DEPENDENCY' }, 'the first submit was accepted, yet its future fails with the graph')
  t.is(await settlesToZeroTasks(), 0, 'what the accepted submits added is released')
  t.is(await client.submit(add, 1, 2), 3, 'the client keeps working')
  await client.close()
})

test.serial('a large graph with a bare KeyRef goes in one submit and is refused as a whole', async (t) => {
  const client = await connect()
  const { root: top } = sharedTree(10_000, 4_000)
  const root = task(add, top, new KeyRef('client-stream-no-such-key'))
  const future = client.compute(root)
  await t.throwsAsync(future, { instanceOf: SchedulerError, code: 'SKEIN_UNKNOWN_DEPENDENCY' })
  t.is(taskCount(), 0, 'nothing of the graph was added')
  await client.close()
})

test.serial('gather of many futures: values in order, first error rejects, released future rejects', async (t) => {
  const client = await connect()
  const fs = client.map((x: number) => x * 2, Array.from({ length: 3000 }, (_, i) => i))
  const values = await client.gather(fs)
  t.deepEqual(values, Array.from({ length: 3000 }, (_, i) => i * 2))
  t.deepEqual(await client.gather([fs[5], fs[5], fs[7]]), [10, 10, 14])
  t.deepEqual(await client.gather([]), [])
  const bad = client.submit((x: number) => {
    if (x > 0) throw new Error('boom')
    return x
  }, 1)
  await t.throwsAsync(client.gather([fs[0], bad]), { message: /boom/ })
  const later = client.submit((x: number) => x, 5)
  later.release()
  await t.throwsAsync(client.gather([fs[1], later]), { code: 'SKEIN_RELEASED' })
  await client.close()
})

test.serial('a large map goes as several submits: exact values, later messages wait their turn, nothing left behind', async (t) => {
  const client = await connect()
  const n = 20_000
  const futures = client.map((x: number) => x * 2, Array.from({ length: n }, (_, i) => i))
  // Queued behind the stream's later submits: it names a key of the last one.
  const last = client.submit(add, futures[n - 1], 1)
  const values = await client.gather(futures)
  t.is(values.length, n)
  t.true(values.every((v, i) => v === i * 2))
  t.is(await last, (n - 1) * 2 + 1)
  for (const f of futures) f.release()
  last.release()
  t.is(await settlesToZeroTasks(), 0)
  await client.close()
})

test('a refused submit of a batch fails every future of the batch and releases what was sent', async (t) => {
  const n = 10_000
  const writer = new GraphWriter()
  const ends = new Uint32Array(n)
  const states: KeyState[] = []
  for (let i = 0; i < n; i++) {
    const x = task(add, i, 0.5)
    writer.add(x)
    ends[i] = writer.length
    states.push(new KeyState(x.key))
  }
  const submitted: number[] = []
  const released: string[][] = []
  const detached: KeyState[] = []
  let calls = 0
  const refusal = new SchedulerError('SKEIN_TEST', 'refused')
  const stream = new BatchStream(writer.finish(), ends, states, {
    holds: () => false,
    submit: (graph, wanted) => {
      submitted.push(wanted.length)
      t.is(graph.readUInt32BE(1), wanted.length, 'each submit says how many tasks it holds')
      return ++calls === 2 ? Promise.reject(refusal) : Promise.resolve()
    },
    release: (keys) => released.push(keys),
    detach: (state) => {
      state.attached = false
      detached.push(state)
    },
  })
  stream.sendChunk()
  stream.sendChunk()
  await new Promise((resolve) => setImmediate(resolve))
  t.true(stream.done, 'nothing more is sent after a refusal')
  stream.sendChunk()
  t.deepEqual(submitted, [1024, 2048])
  t.is(detached.length, n)
  t.true(states.every((s) => s.error === refusal && s.status === 'error'))
  t.deepEqual(released, [states.slice(0, 3072).map((s) => s.key)])
})
