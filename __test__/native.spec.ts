import test from 'ava'
import { MAX_KEY_BYTES, NativeCore } from '../ts/scheduler/native'
import { encode } from '../ts/protocol'
import type { WireCompute, WireTask } from '../ts/protocol'
import { Scheduler } from '../ts/index'
import { TaskKeys, takeMessages } from './helpers/messages'

const t = (key: string, deps: string[] = []): WireTask => [key, 'op', Buffer.from(key), deps, 0, null, null]

function finishAll(core: InstanceType<typeof NativeCore>, worker: number, computes: WireCompute[]): void {
  const events = computes.map(([task, run]) => [0, task, run, 8, 0.001])
  const rejected = core.workerEvents(worker, encode(events))
  if (rejected.length) throw new Error(rejected.join('; '))
}

test('a graph goes through the binding from submit to memory', (tt) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const worker = core.addWorker('w1', 2, null, 0)
  core.submitGraph(client, encode([t('a'), t('b'), t('sum', ['a', 'b'])]), ['sum'])

  const keys = new TaskKeys()
  const seen: string[] = []
  for (let round = 0; round < 5; round++) {
    const { workers, clients } = keys.see(takeMessages(core))
    for (const c of clients) {
      tt.is(c.id, client)
      for (const m of c.memory) {
        seen.push(keys.key(m.task))
        tt.deepEqual([m.nbytes, m.holders], [8, [worker]], 'the size the worker reported, held where it ran')
      }
      tt.is(c.values.size, 0, 'no value was sent inline')
    }
    for (const w of workers) {
      tt.is(w.id, worker)
      for (const [, , key, payload, deps] of w.compute) {
        tt.deepEqual(Buffer.from(payload), Buffer.from(key), 'payload bytes pass through untouched')
        if (key === 'sum') tt.deepEqual(deps.map((d) => d[0]).sort(), ['a', 'b'])
      }
      finishAll(core, w.id, w.compute)
    }
  }
  tt.deepEqual(seen, ['sum'], 'the client hears about the key it wants, once')
  tt.is(core.state('sum'), 'memory')
  tt.notThrows(() => core.validate())
})

test('a bad graph throws with a code and leaves the scheduler serving', (tt) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const worker = core.addWorker('w1', 1, null, 0)

  const dup = tt.throws(() => core.submitGraph(client, encode([t('x'), t('x')]), ['x']))
  tt.is((dup as Error & { code: string }).code, 'SKEIN_DUPLICATE_KEY')
  tt.regex(dup!.message, /x/)

  const cycle = tt.throws(() => core.submitGraph(client, encode([t('p', ['q']), t('q', ['p'])]), ['p']))
  tt.is((cycle as Error & { code: string }).code, 'SKEIN_CYCLE')

  const unknown = tt.throws(() => core.submitGraph(client, encode([t('r', ['nope'])]), ['r']))
  tt.is((unknown as Error & { code: string }).code, 'SKEIN_UNKNOWN_DEPENDENCY')
  tt.regex(unknown!.message, /nope/)

  const garbage = tt.throws(() => core.submitGraph(client, Buffer.from([0xc1, 0xff]), []))
  tt.is((garbage as Error & { code: string }).code, 'SKEIN_MALFORMED_FRAME')

  tt.is(core.state('x'), null, 'nothing of the bad graphs was kept')
  tt.is(core.state('p'), null)

  core.submitGraph(client, encode([t('good')]), ['good'])
  const keys = new TaskKeys()
  const { workers } = keys.see(takeMessages(core))
  tt.is(workers.length, 1)
  tt.is(workers[0].id, worker)
  tt.deepEqual(workers[0].compute.map((c) => c[2]), ['good'], 'only the good graph runs')
  finishAll(core, worker, workers[0].compute)
  const { clients } = takeMessages(core)
  tt.is(clients.length, 1)
  tt.is(clients[0].id, client)
  tt.deepEqual(clients[0].memory.map((m) => keys.key(m.task)), ['good'])
})

test('a key longer than MAX_KEY_BYTES is refused with SKEIN_KEY_TOO_LONG wherever it comes in, and changes nothing', (tt) => {
  tt.is(MAX_KEY_BYTES, 4096)
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  core.addWorker('w1', 1, null, 0)
  core.submitGraph(client, encode([t('a')]), ['a'])
  const long = 'k'.repeat(MAX_KEY_BYTES + 1)
  const attempts: [string, () => unknown][] = [
    ['task key', () => core.submitGraph(client, encode([t(long)]), [])],
    ['dependency', () => core.submitGraph(client, encode([t('x', [long])]), [])],
    ['wanted key', () => core.submitGraph(client, encode([t('x')]), [long])],
    ['want', () => core.wantKeys(client, [long])],
    ['release', () => core.releaseKeys(client, ['a', long])],
    ['cancel', () => core.cancelKeys(client, ['a', long])],
  ]
  for (const [where, attempt] of attempts) {
    const err = tt.throws(attempt, undefined, where) as Error & { code: string }
    tt.is(err.code, 'SKEIN_KEY_TOO_LONG', where)
    tt.true(err.message.includes(`${MAX_KEY_BYTES + 1} bytes`) && err.message.includes(`limit of ${MAX_KEY_BYTES} bytes`), err.message)
    tt.true(err.message.includes(`"${'k'.repeat(40)}"`), err.message)
  }
  tt.is(core.state('x'), null)
  tt.is(core.state('a'), 'processing', 'the refused release and cancel left a wanted')
  const fits = 'k'.repeat(MAX_KEY_BYTES)
  core.submitGraph(client, encode([t(fits)]), [fits])
  tt.is(core.state(fits), 'processing')
})

test('a panic in the core throws SKEIN_CORE_PANIC instead of aborting Node, and that core refuses every later call', (tt) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const worker = core.addWorker('w1', 1, null, 0)
  core.submitGraph(client, encode([t('a')]), ['a'])
  const panic = tt.throws(() => core.panicForTest('invariant broken on purpose')) as Error & { code: string }
  tt.is(panic.code, 'SKEIN_CORE_PANIC')
  tt.regex(panic.message, /scheduler core panicked .*invariant broken on purpose/)
  const later: [string, () => unknown][] = [
    ['addClient', () => core.addClient()],
    ['submitGraph', () => core.submitGraph(client, encode([t('b')]), ['b'])],
    ['workerEvents', () => core.workerEvents(worker, encode([[5, 0, 0]]))],
    ['tick', () => core.tick(1)],
    ['takeMessages', () => core.takeMessages()],
    ['state', () => core.state('a')],
    ['counts', () => core.counts()],
    ['validate', () => core.validate()],
  ]
  for (const [call, attempt] of later) {
    const err = tt.throws(attempt, undefined, call) as Error & { code: string }
    tt.is(err.code, 'SKEIN_CORE_PANIC', call)
    tt.regex(err.message, /an earlier call panicked: invariant broken on purpose/, call)
  }
  const fresh = new NativeCore({ validate: true })
  fresh.addClient()
  tt.is(fresh.counts().clients, 1, 'other cores (and the process) carry on')
})

test('worker events with bad shapes are refused whole; unknown tasks are reported, not fatal', (tt) => {
  const core = new NativeCore({ validate: true })
  const worker = core.addWorker('w1', 1, null, 0)
  const bad = tt.throws(() => core.workerEvents(worker, encode([[9, 1]])))
  tt.is((bad as Error & { code: string }).code, 'SKEIN_MALFORMED_FRAME')
  const rejected = core.workerEvents(worker, encode([[0, 123456, 1, 8, 0.1]]))
  tt.is(rejected.length, 1)
  tt.regex(rejected[0], /123456/)
})

test('a finished event may carry the result: the memory message brings those exact bytes to the clients that want the key', (tt) => {
  const core = new NativeCore({ validate: true })
  const alice = core.addClient()
  const bob = core.addClient()
  const worker = core.addWorker('w1', 4, null, 0)
  const ids = core.submitGraphIndexed(alice, encode([t('a'), t('b'), t('c'), t('d')]), Uint32Array.of(0, 1, 2, 3))
  const [a, b, c, d] = ids
  core.wantKeys(bob, ['b'])
  const { workers } = takeMessages(core)
  tt.is(workers.length, 1)
  const runs = new Map(workers[0].compute.map(([task, run]) => [task, run]))
  tt.deepEqual([...runs.keys()].sort(), [...ids].sort(), 'the compute tuples carry the ids submitGraphIndexed returned')
  const run = (task: number): number => runs.get(task)!
  // Not valid MessagePack on purpose: the core passes the bytes along, it never reads them.
  const valueA = Buffer.from([0xc1, 0x00, 0xff, 0x61, 0x00])
  const valueB = Buffer.from('b is small enough to ride along')

  // 6 fields: the value rides along to the one client that wants 'a'.
  tt.deepEqual(core.workerEvents(worker, encode([[0, a, run(a), valueA.length, 0.001, valueA]])), [])
  let view = takeMessages(core)
  tt.deepEqual(view.clients.map((cl) => cl.id), [alice], 'bob does not want a')
  let [forAlice] = view.clients
  tt.deepEqual(forAlice.memory, [{ task: a, nbytes: valueA.length, holders: [worker] }])
  tt.is(forAlice.raw.memory!.length, 3, '["memory", flat, values]')
  tt.deepEqual(forAlice.raw.memory![2], [a, valueA])
  tt.deepEqual([...forAlice.values.keys()], [a])
  tt.deepEqual(Buffer.from(forAlice.values.get(a)!), valueA, 'the exact bytes the worker sent')

  // One frame, one value and one plain finish: values name only the task that came with one.
  tt.deepEqual(core.workerEvents(worker, encode([[0, b, run(b), valueB.length, 0.001, valueB], [0, c, run(c), 64, 0.001]])), [])
  view = takeMessages(core)
  tt.deepEqual(view.clients.map((cl) => cl.id).sort(), [alice, bob].sort())
  forAlice = view.clients.find((cl) => cl.id === alice)!
  const forBob = view.clients.find((cl) => cl.id === bob)!
  tt.deepEqual(forAlice.memory.map((m) => m.task).sort(), [b, c].sort())
  tt.deepEqual(forAlice.memory.find((m) => m.task === c), { task: c, nbytes: 64, holders: [worker] })
  tt.is(forAlice.raw.memory!.length, 3)
  tt.deepEqual([...forAlice.values.keys()], [b], 'c came without its value')
  tt.deepEqual(Buffer.from(forAlice.values.get(b)!), valueB)
  tt.deepEqual(forBob.memory, [{ task: b, nbytes: valueB.length, holders: [worker] }])
  tt.is(forBob.raw.memory!.length, 3)
  tt.deepEqual([...forBob.values.keys()], [b])
  tt.deepEqual(Buffer.from(forBob.values.get(b)!), valueB, 'every client that wants the key gets the bytes')

  // 7 fields: the whole frame is refused, the valid event before it included.
  for (const frame of [
    [[0, d, run(d), 8, 0.001, valueA, 'extra']],
    [[0, d, run(d), 8, 0.001], [0, d, run(d), 8, 0.001, valueA, 'extra']],
  ]) {
    const bad = tt.throws(() => core.workerEvents(worker, encode(frame)))
    tt.is((bad as Error & { code: string }).code, 'SKEIN_MALFORMED_FRAME')
    tt.regex(bad!.message, /7/)
  }
  tt.is(core.state('d'), 'processing', 'nothing of the refused frames was applied')
  tt.is(takeMessages(core).bytes, null)

  // 5 fields: a two-element memory message, no values.
  tt.deepEqual(core.workerEvents(worker, encode([[0, d, run(d), 8, 0.001]])), [])
  view = takeMessages(core)
  tt.is(view.clients.length, 1)
  tt.deepEqual(view.clients[0].memory, [{ task: d, nbytes: 8, holders: [worker] }])
  tt.is(view.clients[0].raw.memory!.length, 2, '["memory", flat]')
  tt.is(view.clients[0].values.size, 0)
  tt.is(view.bytes!.indexOf(valueA), -1, "a value is sent once, in the take after its event")
  tt.notThrows(() => core.validate())
})

test('the value of a stale-run finished event is in no message', (tt) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const w1 = core.addWorker('w1', 2, null, 0)
  const [x, y] = core.submitGraphIndexed(client, encode([t('x'), t('y')]), Uint32Array.of(0, 1))
  const first = takeMessages(core)
  tt.deepEqual(first.workers.map((w) => w.id), [w1])
  const oldRun = new Map(first.workers[0].compute.map(([task, run]) => [task, run]))
  const w2 = core.addWorker('w2', 2, null, 0)
  core.removeWorker(w1, 1)
  const second = takeMessages(core)
  tt.deepEqual(second.workers.map((w) => w.id), [w2], 'both tasks are rescheduled on w2')
  const newRun = new Map(second.workers[0].compute.map(([task, run]) => [task, run]))
  tt.deepEqual([...newRun.keys()].sort(), [x, y].sort())
  for (const task of [x, y]) tt.not(newRun.get(task), oldRun.get(task), 'under a new run')

  const stale = Buffer.from('STALE-VALUE: from a run that no longer counts')
  const fresh = Buffer.from('fresh value of y')
  const staleEvent = (task: number) => [0, task, oldRun.get(task)!, stale.length, 0.001, stale]
  // The old runs, reported by the worker now running them and by the removed one: ignored, not refused.
  tt.deepEqual(core.workerEvents(w2, encode([staleEvent(x), staleEvent(y)])), [])
  tt.deepEqual(core.workerEvents(w1, encode([staleEvent(x), staleEvent(y)])), [])
  tt.is(core.state('x'), 'processing')
  tt.is(core.state('y'), 'processing')
  tt.is(takeMessages(core).bytes, null, 'a stale event says nothing')

  // Stale values, then the current runs in the same frame: x without a value, y with its own.
  const rejected = core.workerEvents(
    w2,
    encode([staleEvent(x), staleEvent(y), [0, x, newRun.get(x)!, 8, 0.001], [0, y, newRun.get(y)!, fresh.length, 0.001, fresh]]),
  )
  tt.deepEqual(rejected, [])
  const done = takeMessages(core)
  tt.is(done.clients.length, 1)
  const [view] = done.clients
  tt.deepEqual(
    view.memory.sort((p, q) => p.task - q.task),
    [
      { task: x, nbytes: 8, holders: [w2] },
      { task: y, nbytes: fresh.length, holders: [w2] },
    ].sort((p, q) => p.task - q.task),
  )
  tt.deepEqual([...view.values.keys()], [y], 'x finished without a value; its stale one is not used')
  tt.deepEqual(Buffer.from(view.values.get(y)!), fresh, 'the current run\'s value, not the stale one')
  tt.is(done.bytes!.indexOf(stale), -1, 'the stale bytes are in no message')
  tt.notThrows(() => core.validate())
})

test('new Scheduler() needs no arguments', (tt) => {
  const s = new Scheduler()
  tt.truthy(s)
})
