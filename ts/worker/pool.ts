import { encodeTaskFailure } from '../graph/payload'
import { ExecutionThread } from './execution-thread'
import { DEFERRED_REPORT_MS, Outcome, RESULT_FIELDS, RunBatchWriter, type FromExecutor, type ResultBatch } from './hand-off'
import type { Log } from './log'
import type { ConsoleLine } from './task-console'
import { ReadyQueue } from './ready-queue'
import type { SourceCache } from './sources'
import { Phase, type TaskRecord } from './task'
import type { TaskConnection } from './thread-state'

/** Work handed to a thread, in expected milliseconds (the scheduler gives a worker about as much): it never waits for the I/O thread, and reports in large batches. */
const HANDED_AHEAD_MS = 5
/** At most this many tasks handed to one thread at a time (queued there, not stealable or reorderable). */
const MAX_HANDED = 1024
/**
 * Running tasks are reported as executing with every report of outcomes (no message of their
 * own), and at least this often while a task runs with nothing else to report: a wake-up of
 * the I/O thread is what costs, on a machine whose cores the tasks keep busy.
 */
const EXECUTING_REPORT_MS = 20
/** Weight of the newest duration in a thread's moving average. */
const EMA_ALPHA = 0.3
/** Threads that die before running anything, in a row, before the pool gives up. */
const MAX_START_FAILURES = 3
/**
 * A thread idles while another one's task has been running this long with tasks handed to it
 * waiting behind: those go back to the queue, for the idle thread.
 */
const REBALANCE_AFTER_MS = 50

/** What the pool reports to its worker. */
export interface PoolHost {
  /** A task whose encoded result is larger errs with SKEIN_VALUE_TOO_LARGE. */
  readonly maxValueBytes: number
  readonly sources: SourceCache
  readonly log: Log
  /** How tasks' `getClient()` reaches the scheduler; `name` is the worker's (each thread's client adds its index). */
  readonly connection: TaskConnection
  /**
   * The task returned its encoded result, `length` bytes of `memory` from `offset` (a Buffer over
   * all of that memory: no view per result), taking `duration` seconds.
   */
  finished(task: TaskRecord, memory: Buffer, offset: number, length: number, duration: number): void
  /** The task failed; `failure` is its encoded RemoteFailure. */
  erred(task: TaskRecord, failure: Uint8Array): void
  /** The task is running on a thread (reported once, for tasks running a while). */
  executing(task: TaskRecord): void
  /** The task ended the thread it ran on. */
  executorDied(task: TaskRecord): void
  /** The task gave its slot up while it waits (reported once per run). */
  longRunning(task: TaskRecord): void
  /** The task left the pool (after any of the above, or dropped): release what it holds. */
  settled(task: TaskRecord): void
  /** Send what was reported. */
  flush(): void
  /**
   * Whether every input of `task` is in memory, as handing it over needs; if not, the host
   * reads the spilled ones back and enqueues the task again.
   */
  inputsInMemory(task: TaskRecord): boolean
  /** Threads cannot be started: the worker cannot run tasks. */
  broken(reason: string): void
  /** A line a task printed (console.log and its kin). */
  taskOutput(line: ConsoleLine): void
}

/**
 * Runs tasks on execution threads, one thread per slot: the worker's I/O
 * thread keeps a priority queue of ready tasks and hands each thread a batch
 * sized to about five milliseconds of its recent work, so tiny tasks travel
 * many to a message and long ones one at a time (the rest stay here, where
 * they can be stolen and reordered). A thread that dies, or is stopped to
 * cancel or time out its task, is replaced; the tasks it held run again.
 */
export class ExecutionPool {
  private readonly ready = new ReadyQueue()
  private readonly threads: ExecutionThread[] = []
  private nextHandle = 0
  private pumpQueued = false
  private rebalanceTimer: NodeJS.Timeout | undefined
  private readonly pumpNow = () => this.pump()
  private reportTimer: NodeJS.Timeout | undefined
  /** When outcomes last came back from a thread (performance.now()). */
  private lastOutcomesAt = 0
  private startFailures = 0
  private closed = false
  private paused = false
  /** The thread the next pump serves first: tiny tasks spread over all threads. */
  private first = 0
  private readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = []

  constructor(
    readonly slots: number,
    private readonly host: PoolHost,
  ) {
    for (let i = 0; i < slots; i++) this.threads.push(this.startThread(i))
  }

  /** Ready tasks not handed to a thread yet (stealable). */
  get queued(): number {
    return this.ready.size
  }

  /** Tasks handed to threads and not back yet. */
  get active(): number {
    let n = 0
    for (const t of this.threads) n += t.handed.size
    return n
  }

  enqueue(task: TaskRecord): void {
    task.phase = Phase.Ready
    this.ready.push(task)
    if (this.pumpQueued) return
    this.pumpQueued = true
    // A microtask: every task of the frame being handled is queued before the batch goes.
    queueMicrotask(this.pumpNow)
  }

  /**
   * `task`, handed to a thread, was dropped. If it is running, its thread is
   * stopped and replaced (the other tasks there run again); if it waits there,
   * the thread skips it.
   */
  cancel(task: TaskRecord): void {
    for (const thread of this.threads) {
      if (!thread.handed.has(task.handle)) continue
      if (thread.seceded.delete(task.handle)) {
        // Started and waiting without a slot: it runs on, untracked, and its outcome is ignored
        // (as Dask leaves a cancelled long-running task's thread alone); the others on the thread keep running.
        thread.handed.delete(task.handle)
        task.handle = -1
        this.host.settled(task)
        return
      }
      // Not started yet: the thread skips it and says so (done() then settles it).
      if (!thread.state.cancel(task.handle)) return
      thread.handed.delete(task.handle)
      this.host.settled(task)
      thread.stop('cancel')
      return
    }
  }

  /** The worker no longer holds `key`: threads that keep it decoded let it go. */
  forget(key: string): void {
    for (const thread of this.threads) thread.inputs.forget(key)
  }

  /**
   * While paused, no task is handed to a thread: those handed already run, the rest wait
   * here (where they can be stolen).
   */
  setPaused(paused: boolean): void {
    this.paused = paused
    if (!paused) this.pump()
  }

  /** Resolves once every thread can take tasks (its module loaders are registered); rejects if threads cannot start. */
  whenReady(): Promise<void> {
    if (this.threads.every((t) => t.ready)) return Promise.resolve()
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }))
  }

  close(): void {
    this.closed = true
    if (this.rebalanceTimer !== undefined) clearTimeout(this.rebalanceTimer)
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error('the worker closed before its execution threads were ready'))
    if (this.reportTimer) clearInterval(this.reportTimer)
    for (const thread of this.threads) thread.stop('close')
  }

  private startThread(index: number): ExecutionThread {
    const connection = { ...this.host.connection, name: `${this.host.connection.name}-thread-${index}` }
    return new ExecutionThread(index, this.host.maxValueBytes, connection, {
      message: (thread, m) => this.message(thread, m),
      exit: (thread, code) => this.exited(thread, code),
    })
  }

  private pump(): void {
    this.pumpQueued = false
    if (this.closed || this.paused) return
    const n = this.threads.length
    const writers: (RunBatchWriter | null)[] = new Array<RunBatchWriter | null>(n).fill(null)
    // First one task to every thread that holds none: a thread that finishes short tasks gets
    // several at once (below), and a long one among them would keep the rest waiting behind
    // it while a thread next to it idles.
    for (let k = 0; k < n && this.ready.size > 0; k++) {
      const i = (this.first + k) % n
      const thread = this.threads[i]
      if (thread.stopping !== null || thread.held > 0) continue
      const task = this.nextReady()
      if (task === undefined) break
      this.hand(thread, (writers[i] = new RunBatchWriter(thread.inputs)), task)
    }
    for (let k = 0; k < n && this.ready.size > 0; k++) {
      const i = (this.first + k) % n
      const thread = this.threads[i]
      if (thread.stopping !== null) continue
      const limit = capacity(thread, this.ready.peek()?.deferrable === true ? DEFERRED_REPORT_MS : HANDED_AHEAD_MS)
      // Refill only once half of what it holds is done: batches stay large, and the half left covers the trip.
      if (thread.held > limit >> 1) continue
      let room = limit - thread.held
      const batch = (writers[i] ??= new RunBatchWriter(thread.inputs))
      while (room > 0) {
        const task = this.nextReady()
        if (task === undefined) break
        this.hand(thread, batch, task)
        room--
      }
    }
    for (let i = 0; i < n; i++) {
      const batch = writers[i]
      if (batch === null || batch.size === 0) continue
      const { batch: run, transfer } = batch.finish()
      this.threads[i].run(run, transfer)
    }
    if (n > 1 && this.rebalanceTimer === undefined && this.imbalanced()) this.scheduleRebalance()
    this.first = (this.first + 1) % n
    if (this.reportTimer === undefined && this.active > 0) {
      this.reportTimer = setInterval(() => this.reportExecuting(), EXECUTING_REPORT_MS)
      this.reportTimer.unref()
    }
  }

  /** Some thread holds no task while another holds tasks waiting behind the one it runs. */
  private imbalanced(): boolean {
    let idle = false
    let waiting = false
    for (const thread of this.threads) {
      if (thread.stopping !== null) continue
      if (thread.held === 0) idle = true
      else if (thread.held > 1) waiting = true
    }
    return idle && waiting
  }

  /**
   * In REBALANCE_AFTER_MS, takes back the tasks waiting on threads still running the task they
   * ran now (a long one), for the idle threads. Short tasks never trigger it: their threads have
   * moved on by then.
   */
  private scheduleRebalance(): void {
    const before = this.threads.map((t) => t.running)
    const threads = this.threads.slice()
    this.rebalanceTimer = setTimeout(() => {
      this.rebalanceTimer = undefined
      if (this.closed || !this.imbalanced()) return
      let moved = false
      threads.forEach((thread, i) => {
        const running = thread.running
        if (thread.stopping !== null || running < 0 || running !== before[i] || thread.held < 2) return
        for (const [handle, task] of thread.handed) {
          // The thread skips a handle cancelled before it starts it; one it started (seceded ones too) stays.
          if (handle === running || thread.seceded.has(handle) || thread.state.cancel(handle)) continue
          thread.handed.delete(handle)
          task.handle = -1
          this.enqueue(task)
          moved = true
        }
      })
      if (!moved && this.imbalanced()) this.scheduleRebalance()
    }, REBALANCE_AFTER_MS)
    this.rebalanceTimer.unref()
  }

  /** The next task of the ready queue that can run now (dropped ones, and ones whose inputs went, are skipped). */
  private nextReady(): TaskRecord | undefined {
    for (;;) {
      const task = this.ready.pop()
      if (task === undefined) return undefined
      if (task.phase === Phase.Ready && this.host.inputsInMemory(task)) return task
    }
  }

  private hand(thread: ExecutionThread, batch: RunBatchWriter, task: TaskRecord): void {
    task.phase = Phase.Running
    // Handles live in Int32 cells (ThreadState) and need only be unique among tasks in flight.
    this.nextHandle = this.nextHandle >= 0x7fffffff ? 1 : this.nextHandle + 1
    task.handle = this.nextHandle
    thread.handed.set(task.handle, task)
    batch.add(task.handle, task.key, task.payload, task.deps, task.inputs, task.deferrable)
  }

  /**
   * Tells the scheduler which tasks are running, so a death of the whole worker is blamed on
   * them alone. Returns whether it reported any (the caller flushes).
   */
  private noteExecuting(): boolean {
    let reported = false
    for (const thread of this.threads) {
      const task = thread.handed.get(thread.running)
      if (task === undefined || task.reportedExecuting || task.phase !== Phase.Running) continue
      task.reportedExecuting = true
      this.host.executing(task)
      reported = true
    }
    return reported
  }

  private reportExecuting(): void {
    // Outcomes went out lately, and the running tasks with them: the next report of outcomes
    // carries those started since (a message of its own would wake the scheduler as often again).
    if (performance.now() - this.lastOutcomesAt >= EXECUTING_REPORT_MS && this.noteExecuting()) this.host.flush()
    if (this.active === 0 && this.reportTimer !== undefined) {
      clearInterval(this.reportTimer)
      this.reportTimer = undefined
    }
  }

  private message(thread: ExecutionThread, m: FromExecutor): void {
    switch (m.t) {
      case 'ready':
        thread.ready = true
        if (this.threads.every((t) => t.ready)) for (const w of this.readyWaiters.splice(0)) w.resolve()
        break
      case 'done':
        this.done(thread, m.batch)
        break
      case 'fn?':
        this.host.sources.need(m.hash, thread)
        break
      case 'timeout':
        this.armTimeout(thread, m.id, m.ms)
        break
      case 'log':
        this.host.log(m.line)
        break
      case 'console':
        this.host.taskOutput(m)
        break
      case 'seceded':
        this.seceded(thread, m.id)
        break
      case 'rejoined':
        thread.seceded.delete(m.id)
        break
    }
  }

  /** A task gave its slot up while it waits: the scheduler hears it (once per run), and the thread can take another task. */
  private seceded(thread: ExecutionThread, id: number): void {
    const task = thread.handed.get(id)
    if (task === undefined) return
    thread.seceded.add(id)
    if (!task.reportedLongRunning && task.phase === Phase.Running) {
      task.reportedLongRunning = true
      this.host.longRunning(task)
      this.host.flush()
    }
    this.pump()
  }

  private done(thread: ExecutionThread, batch: ResultBatch): void {
    this.lastOutcomesAt = performance.now()
    thread.ran = true
    this.startFailures = 0
    const data = batch.data
    const memory = Buffer.from(data)
    // A small result keeps the whole batch's memory alive: copy it out of a large batch.
    const copySmall = data.byteLength > 65_536
    let avg = thread.averageMs
    const index = batch.index
    for (let i = 0, x = 0; i < batch.count; i++, x += RESULT_FIELDS) {
      const id = index[x]
      const outcome = index[x + 1] as Outcome
      const duration = index[x + 2]
      const task = thread.handed.get(id)
      if (task === undefined) continue
      thread.handed.delete(id)
      if (thread.seceded.size > 0) thread.seceded.delete(id)
      const timer = thread.timeouts.get(id)
      if (timer !== undefined) {
        clearTimeout(timer)
        thread.timeouts.delete(id)
      }
      task.handle = -1
      if (outcome !== Outcome.Skipped) {
        const ms = duration * 1000
        avg = avg === undefined ? ms : avg + EMA_ALPHA * (ms - avg)
      }
      if (task.phase === Phase.Running) {
        task.phase = Phase.Done
        const start = index[x + 3]
        const length = index[x + 4]
        if (outcome === Outcome.Finished) {
          if (start >= 0 && !(copySmall && length * 2 < data.byteLength)) this.host.finished(task, memory, start, length, duration)
          else {
            // Memory of its own: a shared result's, or a copy out of a large batch.
            const bytes = start < 0 ? batch.shared[-1 - start] : new Uint8Array(data, start, length).slice()
            this.host.finished(task, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, length, duration)
          }
        } else if (outcome === Outcome.Erred) {
          this.host.erred(task, start < 0 ? batch.shared[-1 - start] : new Uint8Array(data, start, length))
        }
      }
      this.host.settled(task)
    }
    thread.averageMs = avg
    this.noteExecuting()
    this.host.flush()
    this.pump()
    // Nothing left running: no report is due (a lone short task never wakes this thread again for it).
    if (this.reportTimer !== undefined && this.active === 0) {
      clearInterval(this.reportTimer)
      this.reportTimer = undefined
    }
  }

  private armTimeout(thread: ExecutionThread, id: number, ms: number): void {
    if (!thread.handed.has(id) || thread.stopping !== null) return
    const timer = setTimeout(() => {
      thread.timeouts.delete(id)
      const task = thread.handed.get(id)
      // Its outcome may be on the way: only a task still running is stopped.
      if (task === undefined || thread.running !== id) return
      thread.handed.delete(id)
      if (task.phase === Phase.Running) {
        task.phase = Phase.Done
        const err = Object.assign(new Error(`task '${task.key}' ran longer than its timeoutMs (${ms} ms) and was stopped`), {
          name: 'TaskTimeoutError',
          code: 'SKEIN_TASK_TIMEOUT',
        })
        this.host.erred(task, encodeTaskFailure(err))
      }
      this.host.settled(task)
      this.host.flush()
      thread.stop('timeout')
    }, ms)
    thread.timeouts.set(id, timer)
  }

  private exited(thread: ExecutionThread, code: number): void {
    this.host.sources.forget(thread)
    for (const timer of thread.timeouts.values()) clearTimeout(timer)
    if (thread.stopping === null) this.blame(thread, code)
    // The others it held run again, on the thread that replaces it or another.
    for (const task of thread.handed.values()) {
      task.handle = -1
      if (task.phase === Phase.Running) this.enqueue(task)
      else this.host.settled(task)
    }
    thread.handed.clear()
    if (this.closed) return
    if (!thread.ran && thread.stopping === null && ++this.startFailures >= MAX_START_FAILURES) {
      this.closed = true
      const reason = `${MAX_START_FAILURES} execution threads in a row ended before running anything (last: ${describeExit(thread, code)})`
      for (const w of this.readyWaiters.splice(0)) w.reject(new Error(reason))
      this.host.broken(reason)
      return
    }
    this.threads[thread.index] = this.startThread(thread.index)
    this.pump()
  }

  /** A thread ended by itself: the task it was running ended it. */
  private blame(thread: ExecutionThread, code: number): void {
    const task = thread.handed.get(thread.running)
    if (task === undefined) {
      this.host.log(`an execution thread ended between tasks (${describeExit(thread, code)}); starting another`)
      return
    }
    thread.handed.delete(task.handle)
    thread.ran = true
    this.host.log(`task '${task.key}' ended its execution thread (${describeExit(thread, code)}); starting another`)
    if (task.phase === Phase.Running) {
      task.phase = Phase.Done
      this.host.executorDied(task)
    }
    this.host.settled(task)
    this.host.flush()
  }
}

/** Tasks a thread may hold at once: one, or more when its tasks are short (about `aheadMs` of them). */
function capacity(thread: ExecutionThread, aheadMs: number): number {
  const avg = thread.averageMs
  if (avg === undefined) return 1
  return Math.max(1, Math.min(MAX_HANDED, Math.floor(aheadMs / Math.max(avg, 0.001))))
}

function describeExit(thread: ExecutionThread, code: number): string {
  return thread.error ? `${thread.error.name}: ${thread.error.message}` : `exit code ${code}`
}
