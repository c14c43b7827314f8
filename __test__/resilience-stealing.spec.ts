import test from 'ava'
import path from 'node:path'
import { Client, LocalCluster, moduleFunction } from '../ts/index'
import { NativeCore } from '../ts/scheduler/native'
import { encode, type WireTask } from '../ts/protocol'
import { takeMessages } from './helpers/messages'

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
const spinWhere = moduleFunction<(data: Uint8Array, i: number, ms: number) => [pid: number, start: number, end: number, value: number]>(
  fixtures,
  'spinWhere',
)

const TASKS = 30
const TASK_MS = 200

/**
 * 30 busy tasks of 200 ms, all needing 2 MB scattered to local-0 and an index scattered there too: placement keeps
 * them all there. (The indexes make 31 distinct inputs, so the tasks are not root-ish, which would queue them.)
 */
async function imbalanced(workStealing: boolean): Promise<{ wall: number; stolen: number; results: number[]; pids: Set<number> }> {
  const cluster = await LocalCluster.start({ workers: 2, scheduler: { workStealing }, log: () => {} })
  try {
    const client = await Client.connect(cluster.address)
    try {
      const [data] = await client.scatter([new Uint8Array(2_000_000)], { workers: ['local-0'] })
      const indexes = await client.scatter(
        Array.from({ length: TASKS }, (_, i) => i),
        { workers: ['local-0'] },
      )
      const start = performance.now()
      const runs = await client.gather(indexes.map((i) => client.submit(spinWhere, data, i, TASK_MS)))
      const wall = performance.now() - start
      return { wall, stolen: cluster.scheduler.stats().stolen, results: runs.map((r) => r[3]), pids: new Set(runs.map((r) => r[0])) }
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
}

// Wall times are logged, not asserted (shared machines are noisy); what is asserted is where the work ran.
test.serial('an idle worker steals from a saturated one: without stealing one worker runs everything, with it both do', async (t) => {
  const without = await imbalanced(false)
  const withStealing = await imbalanced(true)
  const serial = TASKS * TASK_MS
  t.log(
    `imbalance: ${TASKS} x ${TASK_MS} ms on one worker (serial ${serial} ms): ` +
      `without stealing ${without.wall.toFixed(0)} ms, with stealing ${withStealing.wall.toFixed(0)} ms (${withStealing.stolen} tasks stolen)`,
  )
  const expected = Array.from({ length: TASKS }, (_, i) => 2_000_000 + i)
  t.deepEqual(without.results, expected)
  t.deepEqual(withStealing.results, expected)
  t.is(without.stolen, 0)
  t.is(without.pids.size, 1, 'without stealing, the worker holding the input runs everything')
  t.true(withStealing.stolen > 0, 'the idle worker stole')
  t.is(withStealing.pids.size, 2, 'with stealing, both workers ran tasks')
})

// ---------------------------------------------------------------- the protocol through the binding

test('steal requests and answers cross the binding (worker event 4)', (t) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const w1 = core.addWorker('w1', 1, null, 0)
  const w2 = core.addWorker('w2', 1, null, 0)
  core.addScattered(client, 'data', w1, 10_000_000)
  // An input of each task's own keeps them from being root-ish (queued, placed ignoring locality).
  for (let i = 0; i < 10; i++) core.addScattered(client, `part-${i}`, w1, 10)
  const graph: WireTask[] = Array.from({ length: 10 }, (_, i) => [`work-${i}`, 'work', Buffer.from('x'), ['data', `part-${i}`], 0, null, null])
  core.submitGraph(client, encode(graph), graph.map((g) => g[0]))
  const first = takeMessages(core)
  t.deepEqual(first.workers.map((w) => w.id), [w1], 'every task lands with its input')
  const computes = first.workers[0].compute
  t.is(computes.length, 10, 'every task lands with its input')
  const keyOf = new Map(computes.map(([task, , key]) => [task, key]))
  const [task0, run0] = computes[0]
  t.deepEqual(core.workerEvents(w1, encode([[0, task0, run0, 8, 1.0]])), [])
  takeMessages(core)
  core.tick(1)
  const rows = takeMessages(core).workers
  const steal = rows.find((w) => w.id === w1)!.steal
  t.true(steal.length > 0, 'the saturated worker is asked to give tasks up')
  const [[ta, runA, keyA], [tb, runB, keyB]] = steal
  t.regex(keyA, /^work-/)
  for (const [task, run, key] of steal) {
    t.is(keyOf.get(task), key, 'a steal names the task by the id and key of its compute')
    t.is(run, computes.find((c) => c[0] === task)![1], 'and by the run it was sent under')
  }
  t.deepEqual(core.workerEvents(w1, encode([[4, ta, runA, true], [4, tb, runB, false], [4, ta, runA, true]])), [])
  const moved = takeMessages(core).workers.find((w) => w.id === w2)!
  t.deepEqual(
    moved.compute.map((c) => c[2]),
    [keyA],
    'the confirmed steal runs on the idle worker, the refused one stays',
  )
  t.is(moved.compute[0][0], ta, 'the same task')
  t.not(moved.compute[0][1], runA, 'under a new run')
  t.like(core.stats(), { stealRequests: steal.length, stolen: 1, stealRefused: 1 })
  t.is(core.state(keyB), 'processing')
  t.throws(() => core.workerEvents(w1, encode([[4, ta, runA]])), { message: /steal-response/ })
  t.notThrows(() => core.validate())
})
