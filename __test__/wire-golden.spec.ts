/**
 * Golden bytes of the messages whose layout changed with execution threads
 * (src/wire.rs documents them). The Rust side (the native binding, encoding or
 * decoding) and the TypeScript side (the worker's outbox, the client's failure
 * decoding) are both held to the same bytes, so neither can drift alone.
 */
import test, { type ExecutionContext } from 'ava'
import { failureError } from '../ts/client/failures'
import { runResults } from '../ts/client/run'
import { KilledWorkerError, RunError, TransferError } from '../ts/index'
import { chunkFrame, dataFrame, decode, encode, WorkerEventKind, type Chunk, type Data, type Put, type WireFailure, type WireTask } from '../ts/protocol'
import { NativeCore } from '../ts/scheduler/native'
import { EventOutbox } from '../ts/worker/outbox'
import { checkClientMessage, checkWorkerMessage } from '../ts/scheduler/validate'
import { MAX_STORY_TRANSITIONS, storyOf } from '../ts/scheduler/story'
import { GraphWriter } from '../ts/graph/wire'
import { taskWith } from '../ts/index'
import { EventEmitter } from 'node:events'
import type { TaskOutput, TaskOutputLine } from '../ts/protocol'
import { TaskOutputForwarder } from '../ts/worker/task-output'
import { TaskOutputRelay } from '../ts/scheduler/task-output'
import type { Connection } from '../ts/scheduler/connection'
import { ForwardedOutput } from '../ts/client/task-output'
import { createLogger, type LogRecord } from '../ts/log'
import { takeMessages } from './helpers/messages'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** ["compute", [[task 0, run 0, "a", payload "pa", deps [], priority [3, 1, 0], no task depends on it: true]]] */
const COMPUTE = hex('92 a7 636f6d70757465 91 97 00 00 a1 61 c4 02 7061 90 93 03 01 00 c3')

/** ["compute", [[task 0, run 0, "a", payload "pa", deps [], priority [3, 1, 0]]]]: "b" depends on it, so no 7th field */
const COMPUTE_WITH_DEPENDENT = hex('92 a7 636f6d70757465 91 96 00 00 a1 61 c4 02 7061 90 93 03 01 00')

/** (array32 header, as the outbox writes it) [[0 finished, task 0, run 0, nbytes 8, 0.5 s], [5 executing, 0, 0], [6 executor died, task 1, run 1]] */
const EVENTS = hex('dd 00000003 95 00 00 00 08 cb 3fe0000000000000 93 05 00 00 93 06 01 01')

/** ["erred", [["a", "a", [1, "a", ["w1"], [0 died]]]]] */
const ERRED_KILLED = hex('92 a5 6572726564 91 93 a1 61 a1 61 94 01 a1 61 91 a2 7731 91 00')

/** ["erred", [["b", "b", [3 unfetchable, input "a", holders tried ["w1"]]]]] */
const ERRED_UNFETCHABLE = hex('92 a5 6572726564 91 93 a1 62 a1 62 93 03 a1 61 91 a2 7731')

/** A run past 2^32: ["compute", [[task 0, run 2^32 + 5 as uint64, "a", payload "pa", deps [], priority [3, 1, 0], true]]] */
const COMPUTE_RUN_PAST_2_32 = hex('92 a7 636f6d70757465 91 97 00 cf 0000000100000005 a1 61 c4 02 7061 90 93 03 01 00 c3')

/**
 * Runs past 2^32: [[0 finished, task 0, run 2^32 + 5 as uint64 (the outbox writes it by hand), nbytes 8, 0.5 s],
 * [5 executing, task 1, run 2^32 + 6], [6 executor died, task 1, run 2^32 + 6]] (msgpackr writes those runs as float64)
 */
const EVENTS_RUN_PAST_2_32 = hex(
  'dd 00000003 95 00 00 cf 0000000100000005 08 cb 3fe0000000000000 93 05 01 cb 41f0000000600000 93 06 01 cb 41f0000000600000',
)

const task = (key: string, payload: string, priority: number): WireTask => [key, 'p', Buffer.from(payload), [], priority, null, null]

/** The bin of one message in a takeMessages() row. */
function workerMessage(core: NativeCore, field: 'free' | 'compute' | 'steal'): Buffer {
  const [workers] = decode(core.takeMessages()!) as [unknown[][]]
  return Buffer.from(workers[0][{ free: 1, compute: 2, steal: 3 }[field]] as Uint8Array)
}

test('compute messages carry the task priority: Rust encodes the golden bytes', (t) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  core.addWorker('w1', 1, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 3)]), ['a'])
  t.deepEqual(workerMessage(core, 'compute'), COMPUTE)
  t.deepEqual(decode(COMPUTE), ['compute', [[0, 0, 'a', Buffer.from('pa'), [], [3, 1, 0], true]]])
})

test('a task that another depends on carries no 7th field: Rust encodes the golden bytes', (t) => {
  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  core.addWorker('w1', 1, null, 0)
  const b: WireTask = ['b', 'p', Buffer.from('pb'), ['a'], 3, null, null]
  core.submitGraph(client, encode([task('a', 'pa', 3), b]), ['b'])
  t.deepEqual(workerMessage(core, 'compute'), COMPUTE_WITH_DEPENDENT)
  t.deepEqual(decode(COMPUTE_WITH_DEPENDENT), ['compute', [[0, 0, 'a', Buffer.from('pa'), [], [3, 1, 0]]]])
})

test('executing and executor-died events: the TypeScript outbox writes the golden bytes and Rust applies them', (t) => {
  const sent: Buffer[] = []
  const outbox = new EventOutbox((message) => sent.push(Buffer.from(message.subarray(1))))
  outbox.finished(0, 0, 8, 0.5, null)
  outbox.push([WorkerEventKind.Executing, 0, 0])
  outbox.push([WorkerEventKind.ExecutorDied, 1, 1])
  outbox.flush()
  t.is(sent.length, 1)
  const [name, events] = decode(sent[0]) as [string, Uint8Array]
  t.is(name, 'events')
  t.deepEqual(Buffer.from(events), EVENTS)

  const core = new NativeCore({ validate: true, allowedFailures: 5 })
  const client = core.addClient()
  const w = core.addWorker('w1', 2, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 0), task('b', 'pb', 0)]), ['a', 'b'])
  core.takeMessages()
  // Task 1 is processing under run 1: the died event counts a death and sends it back for a new run.
  t.deepEqual(core.workerEvents(w, EVENTS), [])
  t.is(core.state('a'), 'memory')
  t.is(core.stats().executorsDied, 1)
  t.is(core.state('b'), 'processing')
  t.deepEqual(
    core.story('b').map((s) => s.stimulus),
    ['SubmitGraph', 'SubmitGraph', 'SubmitGraph', 'ExecutorDied', 'ExecutorDied', 'ExecutorDied'],
  )
  const unknownKind = Buffer.from(EVENTS)
  unknownKind[EVENTS.length - 3] = 0x09
  t.throws(() => core.workerEvents(w, unknownKind), { message: /worker event kind 9 is unknown/ })
})

/** [[7 long-running, task 0, run 0]]: the same bytes as crates/skein-wire's golden_bytes_of_the_long_running_event. */
const EVENTS_LONG_RUNNING = hex('dd 00000001 93 07 00 00')

test('the long-running event: the TypeScript outbox writes the golden bytes and Rust moves the task off its worker\'s slot', (t) => {
  const sent: Buffer[] = []
  const outbox = new EventOutbox((message) => sent.push(Buffer.from(message.subarray(1))))
  outbox.push([WorkerEventKind.LongRunning, 0, 0])
  outbox.flush()
  const [, events] = decode(sent[0]) as [string, Uint8Array]
  t.deepEqual(Buffer.from(events), EVENTS_LONG_RUNNING)

  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const w = core.addWorker('w1', 1, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 0)]), ['a'])
  core.takeMessages()
  t.deepEqual(core.workerTasks(w), { processing: 1, longRunning: 0 })
  t.deepEqual(core.workerEvents(w, EVENTS_LONG_RUNNING), [])
  t.deepEqual(core.workerTasks(w), { processing: 0, longRunning: 1 })
  t.is(core.longRunning(), 1)
  t.is(core.state('a'), 'processing')
  t.deepEqual(core.story('a').at(-1), { from: 'Processing', to: 'Processing', stimulus: 'LongRunning' })
  // Once per run: a second report changes nothing; the task still finishes.
  t.deepEqual(core.workerEvents(w, EVENTS_LONG_RUNNING), [])
  t.deepEqual(core.workerEvents(w, encode([[WorkerEventKind.Finished, 0, 0, 8, 0.5]])), [])
  t.is(core.state('a'), 'memory')
  t.is(core.longRunning(), 0)
  t.deepEqual(core.workerEvents(w, encode([[WorkerEventKind.LongRunning, 7, 0]])), ['SKEIN_UNKNOWN_TASK: unknown task id 7'])
  t.throws(() => core.workerEvents(w, encode([[WorkerEventKind.LongRunning, 0]])), { code: 'SKEIN_MALFORMED_FRAME', message: /long-running run/ })
})

test('a killed-worker failure names each death and its cause: Rust encodes the golden bytes, the client reads them', (t) => {
  const core = new NativeCore({ validate: true, allowedFailures: 1 })
  const client = core.addClient()
  const w = core.addWorker('w1', 1, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 0)]), ['a'])
  core.takeMessages()
  core.workerEvents(w, encode([[WorkerEventKind.Executing, 0, 0]]))
  core.removeWorker(w, 1)
  const [, clients] = decode(core.takeMessages()!) as [unknown, unknown[][]]
  t.deepEqual(Buffer.from(clients[0][2] as Uint8Array), ERRED_KILLED)

  const [, [[key, cause, failure]]] = decode(ERRED_KILLED) as [string, [string, string, WireFailure][]]
  const err = failureError(key, cause, failure)
  t.true(err instanceof KilledWorkerError)
  t.deepEqual((err as KilledWorkerError).deaths, [{ worker: 'w1', cause: 'died' }])
  t.regex(err.message, /w1 died/)
  const unresponsive = failureError('a', 'a', [1, 'a', ['w1', 'w2'], [1, 2]]) as KilledWorkerError
  t.deepEqual(unresponsive.deaths.map((d) => d.cause), ['unresponsive', 'thread-died'])
  t.regex(unresponsive.message, /w1 stopped answering, w2 lost the thread it ran on/)
})

test('run ids past 2^32: Rust encodes the golden compute bytes, the TypeScript outbox writes the golden events, Rust applies them', (t) => {
  const firstRunId = 2 ** 32 + 5
  const core = NativeCore.withFirstRunId({ validate: true }, firstRunId)
  const client = core.addClient()
  const w = core.addWorker('w1', 2, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 3)]), ['a'])
  t.deepEqual(workerMessage(core, 'compute'), COMPUTE_RUN_PAST_2_32)
  t.deepEqual(decode(COMPUTE_RUN_PAST_2_32), ['compute', [[0, firstRunId, 'a', Buffer.from('pa'), [], [3, 1, 0], true]]])

  const sent: Buffer[] = []
  const outbox = new EventOutbox((message) => sent.push(Buffer.from(message.subarray(1))))
  outbox.finished(0, firstRunId, 8, 0.5, null)
  outbox.push([WorkerEventKind.Executing, 1, firstRunId + 1])
  outbox.push([WorkerEventKind.ExecutorDied, 1, firstRunId + 1])
  outbox.flush()
  const [, events] = decode(sent[0]) as [string, Uint8Array]
  t.deepEqual(Buffer.from(events), EVENTS_RUN_PAST_2_32)

  core.submitGraph(client, encode([task('b', 'pb', 0)]), ['b'])
  const [[[, , compute]]] = decode(core.takeMessages()!) as [[number, null, Uint8Array][]]
  t.is((decode(compute) as [string, [number, number][]])[1][0][1], firstRunId + 1, 'b runs under the next run id')
  t.deepEqual(core.workerEvents(w, EVENTS_RUN_PAST_2_32), [])
  t.is(core.state('a'), 'memory')
  t.is(core.stats().executorsDied, 1, 'the float64 run of the executor-died event named the current run')
  t.is(core.state('b'), 'processing')
  const [[[, , again]]] = decode(core.takeMessages()!) as [[number, null, Uint8Array][]]
  t.is((decode(again) as [string, [number, number][]])[1][0][1], firstRunId + 2)

  const fraction = tt(() => core.workerEvents(w, encode([[WorkerEventKind.Executing, 1, 2 ** 32 + 0.5]])))
  t.is(fraction.code, 'SKEIN_MALFORMED_FRAME')
  t.regex(fraction.message, /not a whole number/)
  const badOption = tt(() => NativeCore.withFirstRunId(null, -1))
  t.is(badOption.code, 'SKEIN_INVALID_OPTION')

  function tt(f: () => unknown): Error & { code: string } {
    return t.throws(f) as Error & { code: string }
  }
})

/**
 * A core (one allowed failure) where input a (task 0, run 0) finished on w1 and its dependent b
 * (task 1, run 1) runs on w2, which is about to say it cannot get a from w1.
 */
function inputFinishedOnW1(t: ExecutionContext): { core: InstanceType<typeof NativeCore>; w1: number; w2: number } {
  const core = new NativeCore({ validate: true, allowedFailures: 1 })
  const client = core.addClient()
  const w1 = core.addWorker('w1', 1, null, 0)
  const w2 = core.addWorker('w2', 1, null, 0)
  const on = (key: string, worker: string, deps: string[]): WireTask => [key, 'p', Buffer.from(key), deps, 0, [worker], null]
  core.submitGraph(client, encode([on('a', 'w1', []), on('b', 'w2', ['a'])]), ['b'])
  core.takeMessages()
  t.deepEqual(core.workerEvents(w1, encode([[WorkerEventKind.Finished, 0, 0, 8, 0.001]])), [])
  core.takeMessages()
  return { core, w1, w2 }
}

test('an input that could not be fetched errs its dependent: Rust encodes the golden bytes, the client reads a TransferError', (t) => {
  const { core, w1, w2 } = inputFinishedOnW1(t)
  t.deepEqual(core.workerEvents(w2, encode([[WorkerEventKind.MissingData, 1, 1, 0, w1]])), [])
  const [, clients] = decode(core.takeMessages()!) as [unknown, unknown[][]]
  t.deepEqual(Buffer.from(clients[0][2] as Uint8Array), ERRED_UNFETCHABLE)

  const [, [[key, cause, failure]]] = decode(ERRED_UNFETCHABLE) as [string, [string, string, WireFailure][]]
  const err = failureError(key, cause, failure)
  t.true(err instanceof TransferError)
  t.like(err, { code: 'SKEIN_TRANSFER_FAILED', key: 'b', causeKey: 'b', input: 'a', workers: ['w1'] })
  t.regex(err.message, /task b could not get its input a: fetching it from w1 failed 1 time;/)
})

/** A frame of [["data", request 7, [bytes "ab", a value of 100,000,000 bytes to follow in chunks, nil (not held)]]] */
const DATA_ANNOUNCING = hex('91 93 a4 64617461 07 dd 00000003 c4 02 6162 ce 05f5e100 c0')

/** A frame of [["chunk", request 7, value 1, offset 2^26, bytes "xyz"]] */
const CHUNK = hex('91 95 a5 6368756e6b 07 01 ce 04000000 c4 03 78797a')

/** A frame of [["put", request 3, [["k", bytes "v"], ["big", a value of 70,000,000 bytes to follow in chunks]]]] */
const PUT_ANNOUNCING = hex('91 93 a3 707574 03 92 92 a1 6b c4 01 76 92 a3 626967 ce 042c1d80')

test("values in chunks: the peer server's 'data' and 'chunk' writers and the client's 'put' write the golden bytes, which decode to the described messages", (t) => {
  const data: Data = ['data', 7, [Buffer.from('ab'), 100_000_000, null]]
  t.deepEqual(dataFrame(7, data[2]), DATA_ANNOUNCING)
  t.deepEqual(decode(DATA_ANNOUNCING), [data])
  const chunk: Chunk = ['chunk', 7, 1, 2 ** 26, Buffer.from('xyz')]
  t.deepEqual(chunkFrame(7, 1, 2 ** 26, Buffer.from('xyz')), CHUNK)
  t.deepEqual(decode(CHUNK), [chunk])
  const put: Put = ['put', 3, [['k', Buffer.from('v')], ['big', 70_000_000]]]
  t.deepEqual(encode([put]), PUT_ANNOUNCING)
  t.deepEqual(decode(PUT_ANNOUNCING), [put])
  // Bins past 255 bytes take a 32-bit length.
  const long = Buffer.alloc(300, 1)
  t.deepEqual(chunkFrame(1, 0, 0, long).subarray(0, 16), hex('91 95 a5 6368756e6b 01 00 00 c6 0000012c'))
  t.deepEqual(decode(chunkFrame(1, 0, 0, long)), [['chunk', 1, 0, 0, long]])
})

/** ["publish", request 1, name "ds", keys ["a"], value bin "v", override false] */
const PUBLISH = hex('96 a7 7075626c697368 01 a2 6473 91 a1 61 c4 01 76 c2')
/** ["dataset", request 1, value bin "v", keys ["a"], ids Uint32Array [7] (msgpackr's typed-array extension 0x74)] */
const DATASET = hex('95 a7 64617461736574 01 c4 01 76 91 a1 61 c7 05 74 06 07000000')
/** ["fire-and-forget", keys ["a"]] */
const FIRE_AND_FORGET = hex('92 af 666972652d616e642d666f72676574 91 a1 61')

test('dataset and fire-and-forget messages: the client writes the golden bytes, the scheduler reads them back', (t) => {
  t.deepEqual(encode(['publish', 1, 'ds', ['a'], Buffer.from('v'), false]), PUBLISH)
  t.deepEqual(encode(['dataset', 1, Buffer.from('v'), ['a'], new Uint32Array([7])]), DATASET)
  t.deepEqual(encode(['fire-and-forget', ['a']]), FIRE_AND_FORGET)
  t.deepEqual(checkClientMessage(decode(PUBLISH) as unknown[]), ['publish', 1, 'ds', ['a'], Buffer.from('v'), false])
  t.deepEqual(checkClientMessage(decode(FIRE_AND_FORGET) as unknown[]), ['fire-and-forget', ['a']])
  const [, request, value, keys, ids] = decode(DATASET) as [string, number, Uint8Array, string[], Uint32Array]
  t.deepEqual([request, Buffer.from(value).toString(), keys, [...ids]], [1, 'v', ['a'], [7]])
})

/** ["story", request 1, key "a"] */
const STORY_REQUEST = hex('93 a5 73746f7279 01 a1 61')
/** ["story", request 1, [["waiting", "processing", "submit-graph"]]] */
const STORY = hex('93 a5 73746f7279 01 91 93 a7 77616974696e67 aa 70726f63657373696e67 ac 7375626d69742d6772617068')

test('story messages: the client writes the golden request, the scheduler checks it and answers in kebab-case names', (t) => {
  t.deepEqual(encode(['story', 1, 'a']), STORY_REQUEST)
  t.deepEqual(checkClientMessage(decode(STORY_REQUEST) as unknown[]), ['story', 1, 'a'])
  t.deepEqual(encode(['story', 1, [['waiting', 'processing', 'submit-graph']]]), STORY)
  t.throws(() => checkClientMessage(['story', 1]), { code: 'SKEIN_BAD_MESSAGE', message: /'story' message: expected 2 fields/ })
  t.throws(() => checkClientMessage(['story', 1, 7]), { code: 'SKEIN_BAD_MESSAGE', message: /key .* has the wrong type/ })
  t.throws(() => checkClientMessage(['story', 'x', 'a']), { code: 'SKEIN_BAD_MESSAGE', message: /request id/ })
  t.throws(() => checkClientMessage(['story', 1, 'k'.repeat(5000)]), { code: 'SKEIN_BAD_MESSAGE', message: /key/ })

  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  core.submitGraph(client, encode([task('a', 'pa', 0)]), ['a'])
  core.addWorker('w1', 1, null, 0)
  const story = storyOf(core, 'a')
  t.deepEqual(story[0], ['released', 'waiting', 'submit-graph'])
  t.true(story.length <= MAX_STORY_TRANSITIONS)
  t.deepEqual(storyOf(core, 'unknown'), [])
})

/** [["r", "p", bin "x", [], 0, nil, nil, retries 3]]: a task's 8th field (crates/skein-wire/src/tests.rs holds the same bytes) */
const TASK_WITH_RETRIES = hex('91 98 a1 72 a1 70 c4 01 78 90 00 c0 c0 03')

test('a task with retries: Rust reads the golden 8-field task; the TypeScript graph writer adds the field only when there are retries', (t) => {
  const core = new NativeCore()
  const c = core.addClient()
  t.is(core.submitGraph(c, TASK_WITH_RETRIES, ['r']), 1)
  const writer = new GraphWriter()
  writer.add(taskWith({ key: 'with', retries: 3 }, (x: number) => x, 1))
  writer.add(taskWith({ key: 'without' }, (x: number) => x, 2))
  const [withRetries, without] = decode(writer.finish()) as unknown[][]
  t.is(withRetries.length, 8)
  t.is(withRetries[7], 3)
  t.is(without.length, 7)
  t.throws(() => core.submitGraph(c, hex('91 98 a1 73 a1 70 c4 01 78 90 00 c0 c0 cd 03e9'), ['s']), { message: /task retries: 1001 is more than 1000/ })
})

/** [["l", "p", bin "x", [], 0, ["gone"], nil, retries 0, allowOtherWorkers true]]: a task's 9th field (crates/skein-wire/src/tests.rs holds the same bytes) */
const TASK_WITH_LOOSE_RESTRICTIONS = hex('91 99 a1 6c a1 70 c4 01 78 90 00 91 a4 676f6e65 c0 00 c3')

test('a task with allowOtherWorkers: Rust reads the golden 9-field task and runs it on a worker not named; the TypeScript graph writer adds the field only when true', (t) => {
  const core = new NativeCore()
  const c = core.addClient()
  const w = core.addWorker('w1', 1, null, 0)
  t.is(core.submitGraph(c, TASK_WITH_LOOSE_RESTRICTIONS, ['l']), 1)
  t.deepEqual(takeMessages(core).workers.map((x) => x.id), [w], 'placed although w1 is not named')
  const writer = new GraphWriter()
  writer.add(taskWith({ key: 'loose', restrictions: ['gone'], allowOtherWorkers: true }, (x: number) => x, 1))
  writer.add(taskWith({ key: 'loose-retries', restrictions: ['gone'], allowOtherWorkers: true, retries: 2 }, (x: number) => x, 2))
  writer.add(taskWith({ key: 'strict', restrictions: ['gone'], allowOtherWorkers: false }, (x: number) => x, 3))
  const [loose, looseRetries, strict] = decode(writer.finish()) as unknown[][]
  t.deepEqual([loose.length, loose[7], loose[8]], [9, 0, true])
  t.deepEqual([looseRetries.length, looseRetries[7], looseRetries[8]], [9, 2, true])
  t.is(strict.length, 7)
  t.throws(() => core.submitGraph(c, hex('91 99 a1 6d a1 70 c4 01 78 90 00 c0 c0 00 01'), ['m']), { message: /allowOtherWorkers/ })
})

/** ["retry", request 7, ["a", "b"]] (client -> scheduler) and its reply ["retried", 7, ["a"]] */
const RETRY = hex('93 a5 7265747279 07 92 a1 61 a1 62')
const RETRIED = hex('93 a7 72657472696564 07 91 a1 61')

test('retry: the client writes the golden request, the scheduler checks it, the core takes erred keys back and the reply names them', (t) => {
  t.deepEqual(encode(['retry', 7, ['a', 'b']]), RETRY)
  t.deepEqual(checkClientMessage(decode(RETRY) as unknown[]), ['retry', 7, ['a', 'b']])
  t.throws(() => checkClientMessage(['retry', 7, 'a']), { message: /keys/ })
  t.throws(() => checkClientMessage(['retry', 7]), { message: /expected 2 fields, found 1/ })
  t.deepEqual(encode(['retried', 7, ['a']]), RETRIED)
  const core = new NativeCore()
  const c = core.addClient()
  const w = core.addWorker('w1', 1, null, 0)
  const graph: WireTask[] = [['a', 'a', Buffer.from('x'), [], 0, null, null], ['b', 'b', Buffer.from('y'), ['a'], 0, null, null]]
  core.submitGraph(c, encode(graph), ['b'])
  const [[task, run]] = takeMessages(core).workers[0].compute
  t.deepEqual(core.workerEvents(w, encode([[WorkerEventKind.Erred, task, run, Buffer.from('boom')]])), [])
  takeMessages(core)
  t.deepEqual(core.retryKeys(c, ['unknown']), [])
  t.deepEqual(core.retryKeys(c, ['b']).sort(), ['a', 'b'])
  const after = takeMessages(core)
  t.deepEqual(after.workers[0].compute.map((x) => x[2]), ['a'], 'the input that failed runs again')
  t.deepEqual(after.clients[0].retried, ['b'], 'a client wanting a key taken back hears it (task-retried)')
  t.deepEqual(core.retryKeys(c, ['b']), [], 'nothing erred anymore')
})

/** A client row with its 5th element after a retry: [client 0, nil, nil, nil, bin ["task-retried", ["a"]]] (crates/skein-wire/src/tests.rs holds the same bytes) */
const CLIENT_ROW_RETRIED = hex('95 00 c0 c0 c0 c6 00000011 92 ac 7461736b2d72657472696564 91 a1 61')

test('task-retried: Rust writes the golden 5th element of a client row, the router sends it first and the client reads it', (t) => {
  const core = new NativeCore()
  const c = core.addClient()
  const w = core.addWorker('w1', 1, null, 0)
  core.submitGraph(c, encode([['a', 'a', Buffer.from('x'), [], 0, null, null]] satisfies WireTask[]), ['a'])
  const [[task, run]] = takeMessages(core).workers[0].compute
  core.workerEvents(w, encode([[WorkerEventKind.Erred, task, run, Buffer.from('boom')]]))
  t.is((decode(core.takeMessages()!) as unknown[][])[1].length, 1)
  core.retryKeys(c, ['a'])
  const bytes = core.takeMessages()!
  t.true(bytes.includes(CLIENT_ROW_RETRIED), bytes.toString('hex'))
  const [, clients] = decode(bytes) as [unknown, unknown[][]]
  t.deepEqual(decode(clients[0][4] as Uint8Array), ['task-retried', ['a']])
})

/** ["unreachable", holder 3, reason "ECONNREFUSED"]: a worker could not reach another's peer server at all */
const UNREACHABLE = hex('93 ab 756e726561636861626c65 03 ac 45434f4e4e52454655534544')

test('unreachable reports: the worker writes the golden bytes, the scheduler reads them back and bounds the reason', (t) => {
  t.deepEqual(encode(['unreachable', 3, 'ECONNREFUSED']), UNREACHABLE)
  t.deepEqual(checkWorkerMessage(decode(UNREACHABLE) as unknown[]), ['unreachable', 3, 'ECONNREFUSED'])
  t.throws(() => checkWorkerMessage(['unreachable', 3, 'x'.repeat(1001)]), { message: /reason \(a string of at most 1000 characters\)/ })
  t.throws(() => checkWorkerMessage(['unreachable', -1, 'x']), { message: /holder \(a worker id\)/ })
})

/** ["erred", [["b", "b", [3 unfetchable, input "a", holders tried ["w1"], last error "ECONNREFUSED"]]]] */
const ERRED_UNFETCHABLE_WITH_REASON = hex('92 a5 6572726564 91 93 a1 62 a1 62 94 03 a1 61 91 a2 7731 ac 45434f4e4e52454655534544')

test('a missing-data event may say why (a 6th field): Rust keeps the reason, encodes it as the 4th field of the failure, and the client shows it', (t) => {
  const { core, w1, w2 } = inputFinishedOnW1(t)
  t.deepEqual(core.workerEvents(w2, encode([[WorkerEventKind.MissingData, 1, 1, 0, w1, 'ECONNREFUSED']])), [])
  const [, clients] = decode(core.takeMessages()!) as [unknown, unknown[][]]
  t.deepEqual(Buffer.from(clients[0][2] as Uint8Array), ERRED_UNFETCHABLE_WITH_REASON)
  const [, [[key, cause, failure]]] = decode(ERRED_UNFETCHABLE_WITH_REASON) as [string, [string, string, WireFailure][]]
  const err = failureError(key, cause, failure) as TransferError
  t.is(err.reason, 'ECONNREFUSED')
  t.regex(err.message, /fetching it from w1 failed 1 time \(last error: ECONNREFUSED\); check that workers can reach each other/)
  // A reason past 1000 bytes makes the frame malformed: nothing of it applies.
  t.throws(() => core.workerEvents(w2, encode([[WorkerEventKind.MissingData, 1, 1, 0, w1, 'x'.repeat(1001)]])), { message: /missing-data reason: 1001 bytes, more than 1000/ })
})

/** ["forward-logs", true]: a client asks for the lines tasks print; the scheduler says the same to its workers */
const FORWARD_LOGS = hex('92 ac 666f72776172642d6c6f6773 c3')

/** ["task-output", [[time 1700000000000 (float64), "info", key "a", "hi"], [time + 1, "error", no key, "x"]], dropped 0]: worker -> scheduler */
const TASK_OUTPUT = hex('93 ab 7461736b2d6f7574707574 92 94 cb 4278bcfe56800000 a4 696e666f a1 61 a2 6869 94 cb 4278bcfe56801000 a5 6572726f72 c0 a1 78 00')

/** ["task-output", worker "w1", [[time 1700000000000, "info", key "a", "hi"]], dropped 2]: scheduler -> client */
const FORWARDED_TASK_OUTPUT = hex('94 ab 7461736b2d6f7574707574 a2 7731 91 94 cb 4278bcfe56800000 a4 696e666f a1 61 a2 6869 02')

const T0 = 1_700_000_000_000

test('forward-logs: the client writes the golden bytes, the scheduler reads them back and refuses anything but a boolean', (t) => {
  t.deepEqual(encode(['forward-logs', true]), FORWARD_LOGS)
  t.deepEqual(checkClientMessage(decode(FORWARD_LOGS) as unknown[]), ['forward-logs', true])
  t.throws(() => checkClientMessage(['forward-logs', 1]), { message: /on \(a boolean\)/ })
})

test('task output: the worker batches lines into the golden bytes, the scheduler reads them back and bounds them', async (t) => {
  const sent: TaskOutput[] = []
  const forwarder = new TaskOutputForwarder((m) => sent.push(m))
  forwarder.add({ t: 'console', level: 'info', line: 'ignored: nobody asked', key: 'a', dropped: 0 })
  forwarder.forward(true)
  forwarder.add({ t: 'console', level: 'info', line: 'hi', key: 'a', dropped: 0 })
  forwarder.add({ t: 'console', level: 'error', line: 'x', key: null, dropped: 0 })
  await new Promise((resolve) => setTimeout(resolve, 250))
  t.is(sent.length, 1, 'one message for both lines')
  const [message] = sent
  message[1][0][0] = T0
  message[1][1][0] = T0 + 1
  t.deepEqual(encode(message), TASK_OUTPUT)
  t.deepEqual(checkWorkerMessage(decode(TASK_OUTPUT) as unknown[]), ['task-output', [[T0, 'info', 'a', 'hi'], [T0 + 1, 'error', null, 'x']], 0])
  const line = (text: string, level = 'info'): unknown[] => [T0, level, 'a', text]
  t.throws(() => checkWorkerMessage(['task-output', Array.from({ length: 1001 }, () => line('x')), 0]), { message: /lines \(at most 1000/ })
  t.throws(() => checkWorkerMessage(['task-output', [line('x'.repeat(8301))], 0]), { message: /lines \(at most 1000/ })
  t.throws(() => checkWorkerMessage(['task-output', [line('x', 'fatal')], 0]), { message: /lines/ })
  t.throws(() => checkWorkerMessage(['task-output', [line('x')], -1]), { message: /dropped \(a count\)/ })
  forwarder.close()
})

test('forwarded task output: the scheduler relays the golden bytes to a client that asked, and the client makes records of them', (t) => {
  const sentToClient: unknown[] = []
  const sentToWorker: unknown[] = []
  const client = { send: (m: unknown) => sentToClient.push(m) } as unknown as Connection
  const worker = { send: (m: unknown) => sentToWorker.push(m) } as unknown as Connection
  const relay = new TaskOutputRelay(() => [worker])
  relay.relay('w1', [[T0, 'info', 'a', 'nobody asked']], 0)
  t.deepEqual(sentToClient, [])
  relay.subscribe(client, true)
  t.deepEqual(sentToWorker, [['forward-logs', true]], 'the workers are told when the first client asks')
  relay.relay('w1', [[T0, 'info', 'a', 'hi']], 2)
  t.deepEqual(encode(sentToClient[0]), FORWARDED_TASK_OUTPUT)
  relay.closed(client)
  t.deepEqual(sentToWorker, [['forward-logs', true], ['forward-logs', false]], '... and when the last one leaves')
  const events = new EventEmitter()
  const records: LogRecord[] = []
  events.on('log', (r: LogRecord) => records.push(r))
  const [, name, lines, dropped] = decode(FORWARDED_TASK_OUTPUT) as [string, string, TaskOutputLine[], number]
  new ForwardedOutput(createLogger(false, 'test'), events).receive(name, lines, dropped)
  t.like(records[0], { level: 'warn', component: 'w1', msg: '2 line(s) printed by tasks on w1 were not forwarded (more than the bounds allow)' })
  t.deepEqual(records[1], { level: 'info', time: T0, component: 'w1', worker: 'w1', key: 'a', msg: 'hi' })
})

/** ["run", request 1, payload bin "p", workers ["w1"], context true, timeoutMs 500]: client to scheduler */
const RUN = hex('96 a3 72756e 01 c4 01 70 91 a2 7731 c3 cd 01f4')
/** ["run", run 7, payload bin "p", context false, timeoutMs 0]: scheduler to worker */
const RUN_ON_WORKER = hex('95 a3 72756e 07 c4 01 70 c2 00')
/** ["run-result", run 7, 1 raised, bin "f"]: worker to scheduler */
const RUN_RESULT = hex('94 aa 72756e2d726573756c74 07 01 c4 01 66')
/** ["run-results", request 1, [["w1", 0 returned, bin 0x76 (the value 118)], ["w2", 2 worker lost, "left"]]]: scheduler to client */
const RUN_RESULTS = hex('93 ab 72756e2d726573756c7473 01 92 93 a2 7731 00 c4 01 76 93 a2 7732 02 a4 6c656674')

test('run messages: each side writes the golden bytes, the scheduler checks what clients and workers send, the client reads the results', (t) => {
  t.deepEqual(encode(['run', 1, Buffer.from('p'), ['w1'], true, 500]), RUN)
  t.deepEqual(checkClientMessage(decode(RUN) as unknown[]), ['run', 1, Buffer.from('p'), ['w1'], true, 500])
  t.deepEqual(encode(['run', 7, Buffer.from('p'), false, 0]), RUN_ON_WORKER)
  t.deepEqual(encode(['run-result', 7, 1, Buffer.from('f')]), RUN_RESULT)
  t.deepEqual(checkWorkerMessage(decode(RUN_RESULT) as unknown[]), ['run-result', 7, 1, Buffer.from('f')])
  t.deepEqual(encode(['run-results', 1, [['w1', 0, Buffer.from([0x76])], ['w2', 2, 'left']]]), RUN_RESULTS)
  const [, , results] = decode(RUN_RESULTS) as [string, number, Parameters<typeof runResults>[0]]
  const read = runResults(results, 'return')
  t.is(read.w1, 118)
  t.true(read.w2 instanceof RunError)
  t.is((read.w2 as RunError).code, 'SKEIN_RUN_WORKER_LOST')
  t.throws(() => runResults(results, 'raise'), { instanceOf: RunError, message: /w2: left/ })
  t.throws(() => checkClientMessage(['run', 1, Buffer.from('p'), ['w1'], true, -5]), { message: /timeoutMs/ })
  t.throws(() => checkClientMessage(['run', 1, Buffer.from('p'), 'w1', true, 0]), { message: /workers/ })
  t.throws(() => checkClientMessage(['run', 1, 'p', null, true, 0]), { message: /payload/ })
  t.throws(() => checkWorkerMessage(['run-result', 7, 2, Buffer.from('f')]), { message: /outcome/ })
})

/** ["replicate", request 2, keys ["a"], n 2, workers nil]: client to scheduler */
const REPLICATE = hex('95 a9 7265706c6963617465 02 91 a1 61 02 c0')
/** ["replicate", [["a", holders [0, 2]]]]: scheduler to worker */
const COPY_REPLICAS = hex('92 a9 7265706c6963617465 91 92 a1 61 92 00 02')
/** ["replicated", [["a", nil], ["b", "gone"]]]: worker to scheduler */
const REPLICATED = hex('92 aa 7265706c696361746564 92 92 a1 61 c0 92 a1 62 a4 676f6e65')
/** ["who-has", request 3, keys ["a"]], and its answer ["who-has", 3, [["w1", "w2"]]] */
const WHO_HAS = hex('93 a7 77686f2d686173 03 91 a1 61')
const WHO_HAS_REPLY = hex('93 a7 77686f2d686173 03 91 92 a2 7731 a2 7732')

test('replicate and who-has messages: golden bytes both ways; the native core plans copies from the holders it knows and learns each copy', (t) => {
  t.deepEqual(encode(['replicate', 2, ['a'], 2, null]), REPLICATE)
  t.deepEqual(checkClientMessage(decode(REPLICATE) as unknown[]), ['replicate', 2, ['a'], 2, null])
  t.deepEqual(encode(['replicate', [['a', [0, 2]]]]), COPY_REPLICAS)
  t.deepEqual(encode(['replicated', [['a', null], ['b', 'gone']]]), REPLICATED)
  t.deepEqual(checkWorkerMessage(decode(REPLICATED) as unknown[]), ['replicated', [['a', null], ['b', 'gone']]])
  t.deepEqual(encode(['who-has', 3, ['a']]), WHO_HAS)
  t.deepEqual(checkClientMessage(decode(WHO_HAS) as unknown[]), ['who-has', 3, ['a']])
  t.deepEqual(encode(['who-has', 3, [['w1', 'w2']]]), WHO_HAS_REPLY)
  t.throws(() => checkClientMessage(['replicate', 2, ['a'], 0, null]), { message: /n \(null or a positive integer\)/ })
  t.throws(() => checkWorkerMessage(['replicated', [['a', 'x'.repeat(1001)]]]), { message: /entries/ })

  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const w1 = core.addWorker('w1', 1, null, 0)
  const w2 = core.addWorker('w2', 1, null, 0)
  core.submitGraph(client, encode([['a', 'p', Buffer.from('pa'), [], 0, ['w1'], null]]), ['a'])
  core.takeMessages()
  core.workerEvents(w1, encode([[WorkerEventKind.Finished, 0, 0, 8, 0.001]]))
  core.takeMessages()
  t.deepEqual(core.whoHas(['a', 'unknown']), [[w1], []])
  t.deepEqual(core.replicate(['a'], undefined, undefined), { copies: [{ worker: w2, key: 'a', holders: [w1] }], dropped: 0 })
  t.true(core.replicaAdded(w2, 'a'))
  t.false(core.replicaAdded(w2, 'unknown'))
  t.deepEqual(core.whoHas(['a'])[0].sort(), [w1, w2])
  t.deepEqual(core.replicate(['a'], 1, ['w1', 'w2']).dropped, 1)
  t.is(core.whoHas(['a'])[0].length, 1)
  t.throws(() => core.replicate(['a'], 0, undefined), { code: 'SKEIN_INVALID_REPLICATION' } as object)
  t.throws(() => core.replicate(['zzz'], undefined, undefined), { code: 'SKEIN_UNKNOWN_KEY' } as object)
})

/** ["heartbeat", { managed 1, spilled 0, process 2 }, { cpu 50, sent 3, received 4, executing 1, ready 0 }] (msgpackr records) */
const HEARTBEAT_WITH_USAGE = hex(
  '93 a9 686561727462656174 d4 72 40 93 a7 6d616e61676564 a7 7370696c6c6564 a7 70726f63657373 01 00 02 d4 72 41 95 a3 637075 a4 73656e74 a8 7265636569766564 a9 657865637574696e67 a5 7265616479 32 03 04 01 00',
)

test("a worker's heartbeat carries its usage (a 3rd field, protocol 4): the golden bytes decode to it, and the scheduler checks it", (t) => {
  const usage = { cpu: 50, sent: 3, received: 4, executing: 1, ready: 0 }
  const message = ['heartbeat', { managed: 1, spilled: 0, process: 2 }, usage]
  t.deepEqual(encode(message), HEARTBEAT_WITH_USAGE)
  t.deepEqual(checkWorkerMessage(decode(HEARTBEAT_WITH_USAGE) as unknown[]), message)
  // The heartbeat of protocol 3 (memory only) still passes.
  t.deepEqual(checkWorkerMessage(['heartbeat', { managed: 1, spilled: 0, process: 2 }]), ['heartbeat', { managed: 1, spilled: 0, process: 2 }])
  t.throws(() => checkWorkerMessage(['heartbeat', { managed: 1, spilled: 0, process: 2 }, { ...usage, cpu: -1 }]), { message: /usage/ })
  t.throws(() => checkWorkerMessage(['heartbeat', { managed: 1, spilled: 0, process: 2 }, { cpu: 1 }]), { message: /usage/ })
})

/** The same with transfers: [start 1000 ms, end 1002.5 ms, 8 bytes] (a 6-field record) */
const HEARTBEAT_WITH_TRANSFERS = hex(
  '93 a9 686561727462656174 d4 72 40 93 a7 6d616e61676564 a7 7370696c6c6564 a7 70726f63657373 01 00 02 d4 72 41 96 a3 637075 a4 73656e74 a8 7265636569766564 a9 657865637574696e67 a5 7265616479 a9 7472616e7366657273 32 03 04 01 00 93 cd 03e8 cb 408f540000000000 08',
)

test("a heartbeat's usage may list the inputs fetched since the last one: golden bytes, at most 200 of [start, end, bytes]", (t) => {
  const usage = { cpu: 50, sent: 3, received: 4, executing: 1, ready: 0, transfers: [1000, 1002.5, 8] }
  const message = ['heartbeat', { managed: 1, spilled: 0, process: 2 }, usage]
  t.deepEqual(encode(message), HEARTBEAT_WITH_TRANSFERS)
  t.deepEqual(checkWorkerMessage(decode(HEARTBEAT_WITH_TRANSFERS) as unknown[]), message)
  const memory = { managed: 1, spilled: 0, process: 2 }
  t.throws(() => checkWorkerMessage(['heartbeat', memory, { ...usage, transfers: [1, 2] }]), { message: /transfers/ })
  t.throws(() => checkWorkerMessage(['heartbeat', memory, { ...usage, transfers: Array.from({ length: 603 }, () => 1) }]), { message: /at most 200/ })
  t.notThrows(() => checkWorkerMessage(['heartbeat', memory, { ...usage, transfers: Array.from({ length: 600 }, () => 1) }]))
})

/** ["task-stream", request 1, since 1000, record true] */
const TASK_STREAM_REQUEST = hex('94 ab 7461736b2d73747265616d 01 cd 03e8 c3')
/** ["task-stream", request 1, now 2000, runs Float64Array [worker 0, prefix 0, start 1500, end 1600.5, erred 0], prefixes ["inc"], workers [[0, "w1", 2]], dropped 0] */
const TASK_STREAM = hex(
  '97 ab 7461736b2d73747265616d 01 cd 07d0 c7 29 74 08 0000000000000000 0000000000000000 0000000000709740 0000000000029940 0000000000000000 91 a3 696e63 91 93 00 a2 7731 02 00',
)

test('task-stream messages: the client writes the golden request, the scheduler checks it; the reply decodes to runs; the core records runs only when asked', (t) => {
  t.deepEqual(encode(['task-stream', 1, 1000, true]), TASK_STREAM_REQUEST)
  t.deepEqual(checkClientMessage(decode(TASK_STREAM_REQUEST) as unknown[]), ['task-stream', 1, 1000, true])
  t.throws(() => checkClientMessage(['task-stream', 1, 1000]), { code: 'SKEIN_BAD_MESSAGE', message: /expected 3 fields/ })
  t.throws(() => checkClientMessage(['task-stream', 1, 'x', true]), { code: 'SKEIN_BAD_MESSAGE', message: /since/ })
  t.throws(() => checkClientMessage(['task-stream', 1, 5, 'yes']), { code: 'SKEIN_BAD_MESSAGE', message: /record/ })
  const reply = ['task-stream', 1, 2000, new Float64Array([0, 0, 1500, 1600.5, 0]), ['inc'], [[0, 'w1', 2]], 0]
  t.deepEqual(encode(reply), TASK_STREAM)
  t.deepEqual(decode(TASK_STREAM), reply)

  const core = new NativeCore({ validate: true })
  const client = core.addClient()
  const w = core.addWorker('w1', 2, null, 0)
  core.submitGraph(client, encode([task('a', 'pa', 0), task('b', 'pb', 0)]), ['a', 'b'])
  core.takeMessages()
  // Off (the default): a finished run leaves nothing behind.
  core.workerEvents(w, encode([[WorkerEventKind.Finished, 0, 0, 8, 0.5]]))
  t.is(core.takeRuns(), null)
  core.recordRuns(true)
  core.workerEvents(w, encode([[WorkerEventKind.Finished, 1, 1, 8, 0.25]]))
  const prefixes = core.prefixTotals().map((p) => p.prefix)
  t.deepEqual(Array.from(core.takeRuns()!), [0, w, prefixes.indexOf('p'), 0.25, 0])
  t.is(core.takeRuns(), null)
})
