import test from 'ava'
import { spawn } from 'node:child_process'
import path from 'node:path'
import {
  Client,
  ConnectionClosedError,
  LocalCluster,
  Scheduler,
  SchedulerClosedError,
  SchedulerCrashedError,
  SchedulerOptionsError,
  Worker,
  moduleFunction,
} from '../ts/index'
import { SchedulerThread } from '../ts/scheduler/thread-handle'
import { alive, eventually } from './helpers/processes'

const root = path.join(__dirname, '..')
const slowDouble = moduleFunction<(x: number, ms: number) => Promise<number>>('./__test__/fixtures/tasks.mjs', 'slowDouble')

/** Keeps this thread busy, as a user's synchronous computation would. */
function blockFor(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spin
  }
}

/** Ends the scheduler's thread from outside, as if it were killed (out of memory, a fatal error in the addon): without a word. */
async function killThread(scheduler: Scheduler): Promise<void> {
  await (scheduler as unknown as { backend: { worker: { terminate(): Promise<number> } } }).backend.worker.terminate()
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

test('a main thread blocked for three heartbeat timeouts loses no worker, and the work goes on meanwhile', async (t) => {
  const heartbeatTimeoutMs = 1500
  const cluster = await LocalCluster.start({ workers: 2, heartbeatTimeoutMs })
  const client = await Client.connect(cluster.address)
  try {
    const xs = Array.from({ length: 40 }, (_, i) => i)
    // Asynchronous tasks of 200 ms: the workers keep heartbeating while they run, so only the block here is tested.
    const futures = xs.map((x) => client.submitWith({ pure: false }, slowDouble, x, 200))
    await nextTurn() // the submit leaves on the next turn
    await nextTurn()
    blockFor(3 * heartbeatTimeoutMs)
    t.deepEqual(await client.gather(futures), xs.map((x) => x * 2))
    const stats = cluster.scheduler.stats()
    t.is(stats.workersRemoved, 0)
    t.is(stats.heartbeatTimeouts, 0)
    t.is(stats.rescheduled, 0)
    t.is(cluster.restarts, 0)
    t.is(cluster.scheduler.workers.length, 2)
  } finally {
    await client.close()
    await cluster.close()
  }
})

test('thread: false runs the scheduler on the calling thread with the same API, in-process client included', async (t) => {
  const lines: string[] = []
  const cluster = await LocalCluster.start({ workers: 1, scheduler: { thread: false, verbose: true, log: (line) => lines.push(line) } })
  const client = await Client.connect(cluster.address)
  try {
    const f = client.submit((x: number) => x * 3, 5)
    t.is(await f, 15)
    t.is(cluster.scheduler.state(f.key), 'memory')
    t.is(cluster.scheduler.stats().computes, 1)
    t.is(cluster.scheduler.workers.length, 1)
    t.like(cluster.scheduler.health(), { workers: 1, clients: 1 })
    t.true(lines.some((line) => /client \d+ \(in-process\)/.test(line)), lines.join('\n'))
  } finally {
    await client.close()
    await cluster.close()
  }
  t.is(cluster.scheduler.stats().computes, 1, 'the totals at close')
})

test('unknown options and values of the wrong type are refused at once, naming them', async (t) => {
  const unknown = t.throws(() => new Scheduler({ heartbeatTimeout: 5, tickInterval: 10 } as never), { instanceOf: SchedulerOptionsError })
  t.is(unknown!.code, 'SKEIN_INVALID_OPTIONS')
  t.regex(unknown!.message, /unknown Scheduler options 'heartbeatTimeout', 'tickInterval'/)
  t.throws(() => new Scheduler({ core: { heartbeatTimeoutMs: 5 } as never }), { message: /unknown Scheduler option 'core\.heartbeatTimeoutMs'/ })
  t.throws(() => new Scheduler({ core: { allowedFailures: '3' } as never }), { message: /'core\.allowedFailures' must be a number, not the string '3'/ })
  t.throws(() => new Scheduler({ log: 'stderr' } as never), { message: /'log' must be a function/ })
  t.throws(() => new Scheduler({ heartbeatTimeoutMs: 0 }), { message: /'heartbeatTimeoutMs' must be a positive number/ })
  await t.throwsAsync(LocalCluster.start({ scheduler: { workStealing: 'no' } as never }), { instanceOf: SchedulerOptionsError })
})

test('reads of the scheduler state answer synchronously, and from the state at close afterwards', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  t.like(scheduler.health(), { status: 'ok', workers: 0, clients: 0 })
  t.deepEqual(scheduler.workers, [])
  t.is(scheduler.state('nothing'), null)
  t.is(scheduler.stats().computes, 0)
  await scheduler.close()
  t.like(scheduler.health(), { status: 'ok', workers: 0, clients: 0 })
  t.is(scheduler.stats().computes, 0)
  t.throws(() => scheduler.state('nothing'), { instanceOf: SchedulerClosedError, code: 'SKEIN_SCHEDULER_CLOSED' })
  await t.throwsAsync(scheduler.listen(), { instanceOf: SchedulerClosedError })
})

test('a scheduler thread that dies fails every call and every client with SKEIN_SCHEDULER_CRASHED instead of hanging', async (t) => {
  const lines: string[] = []
  const scheduler = await new Scheduler({ log: (line) => lines.push(line) }).listen()
  const client = await Client.connect(scheduler.address)
  const crashed = new Promise<SchedulerCrashedError>((resolve) => scheduler.once('crashed', resolve))
  const pending = client.submit(slowDouble, 1, 10)
  const waiting = scheduler.waitForWorkers(1).then(
    () => null,
    (err: Error) => err,
  )
  await killThread(scheduler)
  const error = await crashed
  t.is(error.code, 'SKEIN_SCHEDULER_CRASHED')
  t.regex(error.message, /the scheduler thread crashed: the thread exited with code 1/)
  await t.throwsAsync(pending, { instanceOf: ConnectionClosedError, message: /scheduler thread crashed/ })
  t.true((await waiting) instanceof SchedulerCrashedError)
  t.throws(() => scheduler.stats(), { instanceOf: SchedulerCrashedError })
  t.throws(() => scheduler.workers, { instanceOf: SchedulerCrashedError })
  await t.throwsAsync(Client.connect(scheduler.address, { timeout: 2000 }), { instanceOf: ConnectionClosedError })
  t.true(lines.some((line) => /scheduler thread crashed/.test(line)), lines.join('\n'))
  await client.close()
  await t.notThrowsAsync(scheduler.close())
})

test('a LocalCluster whose scheduler thread dies lets its workers go instead of restarting them', async (t) => {
  const lines: string[] = []
  const cluster = await LocalCluster.start({ workers: 2, scheduler: { log: (line) => lines.push(line) }, log: (line) => lines.push(line) })
  const pids = cluster.workers
  const crashed = new Promise((resolve) => cluster.scheduler.once('crashed', resolve))
  await killThread(cluster.scheduler)
  await crashed
  t.true(await eventually(() => !pids.some(alive), 10_000), 'the workers exit once their scheduler connection drops')
  t.is(cluster.restarts, 0)
  await t.notThrowsAsync(cluster.close())
  t.false(lines.some((line) => /restarted/.test(line)), lines.join('\n'))
})

test('an error thrown on the scheduler thread is named in the crash, also to a caller waiting synchronously', async (t) => {
  const crashes: string[] = []
  // Bypasses the options check, so that the core refuses this option on the thread and the thread dies of it.
  const thread = new SchedulerThread({ core: { heartbeatTimeout: 'soon' as unknown as number }, token: null }, {
    log: () => {},
    workers: () => {},
    crashed: (error) => crashes.push(error.message),
  })
  const read = t.throws(() => thread.read('stats'), { instanceOf: SchedulerCrashedError })
  t.regex(read!.message, /scheduler thread crashed/)
  await t.throwsAsync(thread.listen('127.0.0.1', 0), { instanceOf: SchedulerCrashedError, message: /heartbeatTimeout/ })
  t.true(await eventually(() => crashes.length === 1, 5000))
  t.regex(crashes[0], /heartbeatTimeout/)
  t.is(await thread.close(), undefined)
})

/** Runs a script in a fresh Node process; resolves with its exit code and output. */
function runScript(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, out }))
  })
}

test('the scheduler thread never keeps the process alive once closed, nor before it listens', async (t) => {
  const dist = JSON.stringify(path.join(root, 'dist'))
  const unlistened = await runScript(`const { Scheduler } = require(${dist}); new Scheduler(); console.log('made')`)
  t.deepEqual(unlistened, { code: 0, out: 'made\n' })
  const closed = await runScript(
    `const { LocalCluster, Client } = require(${dist})
     LocalCluster.start({ workers: 1 }).then(async (cluster) => {
       const client = await Client.connect(cluster.address)
       console.log(await client.submit((x) => x + 1, 1))
       await cluster.close()
       console.log('closed')
     })`,
  )
  t.deepEqual(closed, { code: 0, out: '2\nclosed\n' }, 'the process ends by itself, though its client was never closed')
})

test('a panic in the native core ends the scheduler cleanly: every party is disconnected with the reason and the Scheduler reports it', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ thread: false, log: (line) => log.push(line) }).listen()
  const crashed = new Promise<SchedulerCrashedError>((resolve) => scheduler.once('crashed', resolve))
  const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
  const client = await Client.connect(scheduler.address)
  t.is(await client.submit((x: number) => x + 1, 1), 2)
  // The test hook panics inside the core, as a bug would; the next event (a tick) meets the poisoned core.
  const core = (scheduler as unknown as { backend: { runtime: { core: { panicForTest(message: string): void } } } }).backend.runtime.core
  t.throws(() => core.panicForTest('an invariant the core relies on broke'), { code: 'SKEIN_CORE_PANIC' })
  const error = await crashed
  t.regex(error.message, /core failed \(a bug in skein; please report it\).*an invariant the core relies on broke/)
  t.true(log.some((line) => /core failed/.test(line)))
  await worker.closed
  await t.throwsAsync(async () => client.submit((x: number) => x, 1), { instanceOf: ConnectionClosedError, message: /the scheduler failed/ })
  t.throws(() => scheduler.health(), { instanceOf: SchedulerCrashedError })
  await client.close()
  await scheduler.close()
})
