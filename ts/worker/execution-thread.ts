import fs from 'node:fs'
import path from 'node:path'
import { Worker as Thread } from 'node:worker_threads'
import type { FromExecutor, RunBatch, ToExecutor } from './hand-off'
import type { SourceRefusal, SourceWaiter } from './sources'
import { InputDirectory } from './input-cache'
import { ThreadState, type TaskConnection, type ThreadData } from './thread-state'
import type { TaskRecord } from './task'

/** Why the I/O thread is stopping a thread on purpose. */
export type StopReason = 'cancel' | 'timeout' | 'close'

/**
 * The I/O thread's side of one execution thread: the thread itself, the
 * tasks handed to it that have not come back, and the memory it shares with
 * the thread (which task runs, which were cancelled).
 */
export class ExecutionThread implements SourceWaiter {
  readonly thread: Thread
  /** Handed tasks by handle, until their outcome comes back. */
  readonly handed = new Map<number, TaskRecord>()
  /** Timers of the running task's timeout, by handle. */
  readonly timeouts = new Map<number, NodeJS.Timeout>()
  /** Set when the I/O thread stops the thread on purpose (its exit is then no task's fault). */
  stopping: StopReason | null = null
  /** At least one outcome came back: the thread started fine. */
  ran = false
  /** The thread said it can take tasks. */
  ready = false
  /** Moving average of its tasks' durations (ms); undefined until one came back. */
  averageMs: number | undefined
  /** What the thread died of, if it reported an error before exiting. */
  error: Error | undefined
  readonly state = new ThreadState()
  /** The inputs this thread keeps decoded. */
  readonly inputs = new InputDirectory()

  /** Handles of handed tasks that gave their slot up while they wait (they run on, holding none). */
  readonly seceded = new Set<number>()

  constructor(
    readonly index: number,
    maxValueBytes: number,
    connection: TaskConnection,
    listener: { message(from: ExecutionThread, m: FromExecutor): void; exit(from: ExecutionThread, code: number): void },
  ) {
    this.thread = new Thread(executorEntry(), { workerData: { cells: this.state.cells, maxValueBytes, connection } satisfies ThreadData })
    this.thread.on('message', (m: FromExecutor) => listener.message(this, m))
    this.thread.on('error', (err) => (this.error = err))
    this.thread.on('exit', (code) => listener.exit(this, code))
  }

  /** Handed tasks that hold (or wait for) the thread's slot: all but the seceded ones. */
  get held(): number {
    return this.handed.size - this.seceded.size
  }

  /** The handle of the task the thread is running now, or -1. */
  get running(): number {
    return this.state.running
  }

  run(batch: RunBatch, transfer: ArrayBuffer[]): void {
    this.post({ t: 'run', batch }, transfer)
  }

  source(hash: string, source: string, name: string): void {
    this.post({ t: 'fn', hash, source, name })
  }

  refused(hash: string, refusal: SourceRefusal): void {
    this.post({ t: 'fn-refused', hash, code: refusal.code, reason: refusal.reason })
  }

  /** Ends the thread now, whatever it runs; its exit follows. */
  stop(reason: StopReason): void {
    this.stopping ??= reason
    for (const timer of this.timeouts.values()) clearTimeout(timer)
    this.timeouts.clear()
    void this.thread.terminate()
  }

  private post(m: ToExecutor, transfer?: ArrayBuffer[]): void {
    if (this.stopping === null) this.thread.postMessage(m, transfer)
  }
}

let entry: string | undefined

/** The compiled thread entry: beside this module in dist/, or in dist/ above ts/ when run from source. */
function executorEntry(): string {
  if (entry !== undefined) return entry
  const beside = path.join(__dirname, 'executor-main.js')
  if (fs.existsSync(beside)) return (entry = beside)
  const compiled = path.join(__dirname, '..', '..', 'dist', 'worker', 'executor-main.js')
  if (fs.existsSync(compiled)) return (entry = compiled)
  throw new Error(`the execution thread entry ${compiled} does not exist: build skein first (npm run build:ts)`)
}
