import test from 'ava'
import { NativeCore } from '../ts/scheduler/native'
import { decode, encode } from '../ts/protocol'
import type { WireCompute, WireTask, KeyLocation } from '../ts/protocol'
import { Scheduler } from '../ts/index'

type Instructions = [
  workers: [worker: number, compute: WireCompute[], free: string[]][],
  clients: [client: number, memory: KeyLocation[], erred: [string, string, unknown][], cancelled: string[]][],
  removed: number[],
]

const t = (key: string, deps: string[] = []): WireTask => [key, 'op', Buffer.from(key), deps, 0, null, null]

function take(core: InstanceType<typeof NativeCore>): Instructions {
  const bytes = core.takeInstructions()
  return bytes ? (decode(bytes) as Instructions) : [[], [], []]
}

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

  const seen: string[] = []
  for (let round = 0; round < 5; round++) {
    const [workers, clients] = take(core)
    for (const [, memory] of clients) for (const [key] of memory) seen.push(key)
    for (const [w, compute] of workers) {
      tt.is(w, worker)
      for (const [, , key, payload, deps] of compute) {
        tt.deepEqual(Buffer.from(payload), Buffer.from(key), 'payload bytes pass through untouched')
        if (key === 'sum') tt.deepEqual(deps.map((d) => d[0]).sort(), ['a', 'b'])
      }
      finishAll(core, w, compute)
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
  const [workers] = take(core)
  tt.is(workers.length, 1)
  finishAll(core, worker, workers[0][1])
  const [, clients] = take(core)
  tt.deepEqual(clients[0][1].map((m) => m[0]), ['good'])
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

test('new Scheduler() needs no arguments', (tt) => {
  const s = new Scheduler()
  tt.truthy(s)
})
