import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { assertEncodable, binarySize, encode, encodeInto } from '../protocol'
import { decodeTaskArgs, decodeTaskPayload, encodeTaskFailure, payloadArgsOffset, type FunctionRef, type RunOptions } from '../graph/payload'
import { resolveRefs } from './args'
import { explainFailure, FunctionCache, isFunctionRef } from './functions'
import { garbageCollector } from './gc'
import { DEFERRED_REPORT_MS, inSharedMemory, Outcome, readRunBatch, ResultBatchWriter, SHARED_RESULT_BYTES, type FromExecutor, HandedTask, type ToExecutor } from './hand-off'
import { InputCache } from './input-cache'
import { ThreadTaskRuntime, type SlotKeeper, type WaitingJob } from './task-runtime'
import type { TaskConnection, ThreadState } from './thread-state'

/**
 * Outcomes go back at least this often while tasks keep coming (ms), unless every outcome waiting
 * is of a task nothing depends on: those wait up to DEFERRED_REPORT_MS (hand-off.ts). A thread
 * with nothing left to run reports at once, whatever it holds.
 */
const REPORT_EVERY_MS = 5
/** ... and as soon as this many bytes of results wait. */
const REPORT_BYTES = 1 << 20

/**
 * A thread that moved this many bytes of inputs and results since its last full collection
 * collects after reporting them (between tasks, not only once it runs out of work): the large
 * values it is done with then go back to the system at once, not whenever the engine next
 * collects, which counts against the worker's memory limit meanwhile. A collection of a
 * thread's small heap costs far less than moving that many bytes did.
 */
const COLLECT_AFTER_BYTES = 16 * 2 ** 20

const NOTHING = new Uint8Array(0)

/** A handed task on its thread. */
class Job extends HandedTask implements WaitingJob {
  fn: FunctionRef | null = null
  args: unknown[] | null = null
  options: RunOptions | null = null
  holdsSlot = false
  done = false
  waits = 0
  seceded = false
  /** While it waits to take a slot back: resolves that wait. */
  rejoined: Promise<void> | null = null
  resume: (() => void) | null = null
}

/**
 * One execution thread: runs the tasks its I/O thread hands it, one at a time
 * (an async task holds the thread's slot until it settles), in the order
 * handed, and sends back each outcome's encoded bytes. It writes the handle of
 * the task it runs into memory shared with the I/O thread, so that thread
 * knows, without a message, which task was running if this one dies or must
 * be stopped; a task cancelled before it starts is skipped the same way.
 *
 * A task may give its slot up while it waits (secede: see task-runtime.ts):
 * the thread then starts the next task, and the seceded one takes the slot
 * back, before any task not yet started, once the task holding it ends or
 * waits in turn.
 */
export class Executor implements SlotKeeper<Job> {
  private readonly queue: Job[] = []
  private head = 0
  private readonly results = new ResultBatchWriter()
  /** Inputs kept decoded, as the I/O thread says. */
  private readonly inputs = new InputCache()
  private readonly functions: FunctionCache<Job>
  /** The async task holding the slot. */
  private running: Job | null = null
  /** The task whose synchronous start runs now. */
  private starting: Job | null = null
  /** Seceded tasks waiting to take the slot back, first come first served. */
  private readonly rejoining: Job[] = []
  private readonly runtime: ThreadTaskRuntime<Job>
  private scheduled = false
  /** Inside run(): messages taken from the port there queue their tasks for that loop. */
  private inRun = false
  private lastReport = performance.now()
  /** An outcome waiting to be reported is one a task depends on (or a failure): it goes within REPORT_EVERY_MS. */
  private urgent = false
  private readonly runNow = () => this.run()
  /** The function reference of the last payload decoded in full, and its bytes: tasks of one map share them. */
  private lastRefBytes: Uint8Array | null = null
  private lastRef: FunctionRef | null = null
  /** Bytes of batches received and sent since the last full collection. */
  private moved = 0
  private readonly collect = garbageCollector()

  constructor(
    private readonly port: MessagePort,
    private readonly state: ThreadState,
    /** A result whose encoding is larger errs its task: the worker's memory limit. */
    private readonly maxValueBytes: number,
    connection: TaskConnection,
  ) {
    this.runtime = new ThreadTaskRuntime(this, connection)
    this.runtime.install()
    this.functions = new FunctionCache<Job>({
      askSource: (hash) => this.post({ t: 'fn?', hash }),
      loaded: (job) => this.requeue(job),
    })
    port.on('message', (m: ToExecutor) => this.receive(m))
    this.post({ t: 'ready' })
  }

  /** The key of the task running now, if one is: the task a console line comes from. */
  currentKey(): string | undefined {
    if (this.running !== null) return this.running.key
    const handle = this.state.running
    if (handle === -1) return undefined
    // A synchronous task runs from the queue: the job last taken from it.
    const job = this.queue[this.head - 1]
    return job !== undefined && job.id === handle ? job.key : undefined
  }

  jobNow(): Job | null {
    return this.starting ?? this.running
  }

  secede(job: Job): void {
    if (!job.holdsSlot || job.done) return
    job.holdsSlot = false
    if (this.running === job) this.running = null
    this.state.end()
    this.post({ t: 'seceded', id: job.id })
    this.schedule()
  }

  rejoin(job: Job): Promise<void> {
    if (job.holdsSlot || job.done) return Promise.resolve()
    if (job.rejoined === null) {
      job.rejoined = new Promise((resolve) => (job.resume = resolve))
      this.rejoining.push(job)
      this.schedule()
    }
    return job.rejoined
  }

  /** An error nothing caught: it belongs to the running (async) task if there is one. */
  uncaught(err: unknown): void {
    const job = this.running
    if (job !== null) {
      this.running = null
      this.fail(job, err, performance.now())
      this.schedule()
    } else {
      this.post({ t: 'log', line: `an error escaped a task after it ended: ${(err as Error)?.stack ?? String(err)}` })
    }
  }

  private receive(m: ToExecutor): void {
    switch (m.t) {
      case 'run': {
        let jobs: Job[]
        try {
          this.moved += m.batch.data.byteLength
          for (const input of m.batch.shared) this.moved += input.byteLength
          jobs = readRunBatch(m.batch, this.inputs, Job)
        } catch (err) {
          // This thread no longer agrees with the I/O thread on what it keeps: a fresh thread
          // (the I/O thread starts one) runs these tasks again.
          this.post({ t: 'log', line: `execution thread cannot read a batch, restarting it: ${(err as Error).message}` })
          process.exit(70)
        }
        for (const job of jobs) this.queue.push(job)
        this.runSoon()
        break
      }
      case 'fn':
        this.functions.defineShipped(m.hash, m.source, m.name)
        break
      case 'fn-refused':
        this.functions.sourceRefused(m.hash, m.code, m.reason)
        break
    }
  }

  private requeue(job: Job): void {
    this.queue.push(job)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.running !== null) return
    this.scheduled = true
    setImmediate(this.runNow)
  }

  /** Runs now, from a message handler (no trip around the event loop first). */
  private runSoon(): void {
    if (this.running === null && !this.scheduled && !this.inRun) this.run()
  }

  /** Runs queued jobs, then any batch already waiting in the port, back to back until one is async or none is left; seceded ones taking the slot back come first. */
  private run(): void {
    this.scheduled = false
    this.inRun = true
    let now = performance.now()
    try {
      for (;;) {
        while (this.running === null && this.rejoining.length > 0) this.resume(this.rejoining.shift()!)
        while (this.running === null && this.head < this.queue.length) {
          const job = this.queue[this.head++]
          now = this.start(job, now)
          if (now - this.lastReport >= (this.urgent ? REPORT_EVERY_MS : DEFERRED_REPORT_MS) || this.results.byteLength >= REPORT_BYTES) this.report(now)
        }
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        }
        if (this.running !== null || !this.takeWaiting()) break
      }
    } finally {
      this.inRun = false
    }
    if (this.running === null || this.results.size > 0) this.report(now)
  }

  /**
   * Takes the messages already waiting in the port, without a trip around the event loop; true
   * if they gave this thread tasks to run. The I/O thread refills a thread before it runs dry,
   * so a thread that finds its next batch here goes on without reporting: it is not idle.
   */
  private takeWaiting(): boolean {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) this.receive(m.message as ToExecutor)
    return this.head < this.queue.length || this.rejoining.length > 0
  }

  /** `job`, seceded, takes the free slot back; its wait resolves. */
  private resume(job: Job): void {
    const resolve = job.resume
    job.rejoined = null
    job.resume = null
    if (!job.done) {
      job.holdsSlot = true
      this.running = job
      this.state.resume(job.id)
      this.post({ t: 'rejoined', id: job.id })
    }
    resolve?.()
  }

  private report(now: number): void {
    this.lastReport = now
    this.urgent = false
    if (this.results.size === 0) return
    const moved = this.results.byteLength
    const { batch, transfer } = this.results.take()
    this.moved += moved
    this.port.postMessage({ t: 'done', batch } satisfies FromExecutor, transfer)
    if (this.moved >= COLLECT_AFTER_BYTES && this.collect !== null && this.running === null) {
      this.moved = 0
      this.collect()
    }
  }

  private post(m: FromExecutor): void {
    this.port.postMessage(m)
  }

  /** Starts `job` from `t0` and returns the clock when done with it (or when it went async / to wait for its function). */
  private start(job: Job, t0: number): number {
    if (job.fn === null) {
      try {
        this.decode(job)
      } catch (err) {
        return this.fail(job, err, t0)
      }
    }
    const fn = this.functions.lookup(job.fn!)
    if (fn === undefined) {
      this.functions.load(job.fn!, job)
      return t0
    }
    if (fn instanceof Error) return this.fail(job, fn, t0)
    const id = job.id
    if (!this.state.begin(id)) {
      this.results.add(id, Outcome.Skipped, 0, NOTHING)
      return t0
    }
    job.holdsSlot = true
    const timeoutMs = job.options?.timeoutMs
    if (timeoutMs !== undefined) {
      // The payload came from a client: a bad option fails this task, not the thread.
      if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) {
        return this.fail(job, new Error(`task '${job.key}': its timeoutMs option must be a positive number of milliseconds, not ${String(timeoutMs)}`), t0)
      }
      this.post({ t: 'timeout', id, ms: timeoutMs })
    }
    let result: unknown
    try {
      const args = job.depKeys.length === 0 ? job.args! : resolveRefs(job.args!, job.depKeys, job.depValues)
      job.args = null
      this.starting = job
      result = this.runtime.tracking ? this.runtime.call(job, fn, args) : fn(...args)
    } catch (err) {
      this.starting = null
      return this.fail(job, err, t0)
    }
    this.starting = null
    if (isThenable(result)) {
      // It may have seceded already, in its synchronous start.
      if (job.holdsSlot) this.running = job
      result.then(
        (value) => this.settledAsync(job, value, undefined, t0),
        (err: unknown) => this.settledAsync(job, undefined, err ?? new Error('the task rejected with no reason'), t0),
      )
      return performance.now()
    }
    return this.succeed(job, result, t0)
  }

  private decode(job: Job): void {
    const { data, payloadStart: start, payloadEnd: end } = job
    const argsAt = payloadArgsOffset(data, start, end)
    if (argsAt > 0 && this.lastRef !== null && sameRef(data, start, argsAt, this.lastRefBytes!)) {
      // Same function reference as the previous task: only the arguments are decoded.
      job.args = decodeTaskArgs(data, argsAt, end)
      job.fn = this.lastRef
      return
    }
    const payload = decodeTaskPayload(data, start, end)
    if (!isFunctionRef(payload.fn)) throw new Error(`task '${job.key}': its payload names no function`)
    job.fn = payload.fn
    job.args = payload.args
    job.options = payload.options
    if (argsAt > 0) {
      this.lastRefBytes = data.slice(start + 1, argsAt)
      this.lastRef = payload.fn
    }
  }

  private settledAsync(job: Job, value: unknown, err: unknown, t0: number): void {
    // A task whose error was already reported as uncaught does not report twice.
    if (job.done) return
    if (this.running === job) this.running = null
    if (err === undefined) this.succeed(job, value, t0)
    else this.fail(job, err, t0)
    // A seceded task ended while another holds the slot: its outcome goes now, not after that one.
    if (this.running === null) this.schedule()
    else this.report(performance.now())
  }

  /** `job`'s outcome is known: it leaves the slot it holds. */
  private end(job: Job): void {
    job.done = true
    if (!job.holdsSlot) return
    job.holdsSlot = false
    this.state.end()
  }

  private succeed(job: Job, value: unknown, t0: number): number {
    if (!job.deferrable) this.urgent = true
    if (isPlainCandidate(value)) {
      const end = performance.now()
      if (this.results.addPlain(job.id, (end - t0) / 1000, value)) {
        this.end(job)
        return end
      }
    }
    let bytes: Uint8Array
    try {
      if (isCompound(value)) assertResultEncodable(value, job)
      bytes = encodeResult(value, this.maxValueBytes)
      if (bytes.byteLength > this.maxValueBytes) throw new ValueTooLargeError(job.key, bytes.byteLength, this.maxValueBytes)
    } catch (err) {
      return this.fail(job, err, t0)
    }
    this.end(job)
    // The duration covers decoding inputs and encoding the result: what the task costs this worker.
    const end = performance.now()
    this.results.add(job.id, Outcome.Finished, (end - t0) / 1000, bytes)
    return end
  }

  private fail(job: Job, err: unknown, t0: number): number {
    this.urgent = true
    this.end(job)
    const end = performance.now()
    this.results.add(job.id, Outcome.Erred, (end - t0) / 1000, encodeTaskFailure(explainFailure(err, job.fn)))
    return end
  }
}

/**
 * A result's encoded bytes; a large one in shared memory (see SHARED_RESULT_BYTES), written
 * there directly when its size is known ahead (and at most `max`), else copied there once encoded.
 */
function encodeResult(value: unknown, max: number): Uint8Array {
  const size = binarySize(value)
  if (size < SHARED_RESULT_BYTES || size > max) {
    const bytes = encode(value)
    return bytes.byteLength >= SHARED_RESULT_BYTES && bytes.byteLength <= max ? inSharedMemory(bytes) : bytes
  }
  const bytes = encodeInto(value, Buffer.from(new SharedArrayBuffer(size)))
  return inSharedMemory(bytes)
}

/** A result larger than the worker's memory limit; the client sees ValueTooLargeError. */
class ValueTooLargeError extends Error {
  readonly code = 'SKEIN_VALUE_TOO_LARGE'

  constructor(key: string, size: number, max: number) {
    super(`the result of task '${key}' encodes to ${size} bytes; a value can be at most ${max} bytes (the worker's memory limit): return it in parts, or raise memoryLimit`)
    this.name = 'ValueTooLargeError'
  }
}

/** Whether `bytes` from `start + 1` to `argsAt` (a payload's function reference) equal `ref`. */
function sameRef(bytes: Uint8Array, start: number, argsAt: number, ref: Uint8Array): boolean {
  if (ref.length !== argsAt - start - 1) return false
  const from = start + 1
  for (let i = 0; i < ref.length; i++) if (bytes[from + i] !== ref[i]) return false
  return true
}

/** A value the result batch may write without the encoder (see ResultBatchWriter.addPlain). */
function isPlainCandidate(v: unknown): boolean {
  const t = typeof v
  return t === 'number' || t === 'boolean' || t === 'string' || v === null
}

/** Whether a value could hold something unencodable (plain primitives cannot). */
function isCompound(v: unknown): boolean {
  const t = typeof v
  return t === 'object' || t === 'function' || t === 'symbol'
}

/** A function of its own, so the closure naming the result is made only for results that need the check. */
function assertResultEncodable(value: unknown, task: HandedTask): void {
  // The key is decoded only for the message of a value that fails.
  assertEncodable(value, () => `the result of task '${task.key}'`)
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
