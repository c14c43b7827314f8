/**
 * Memory an execution thread shares with its I/O thread: which task the
 * thread runs, and which of the tasks handed to it were cancelled before they
 * started. Read and written with Atomics, so neither side waits for a message
 * (the thread may be deep in a synchronous task).
 */
/** What an execution thread starts with (its workerData). */
export interface ThreadData {
  cells: Int32Array
  /** A result whose encoding is larger errs its task (the worker's memory limit). */
  maxValueBytes: number
  /** How a task's `getClient()` connects to the worker's scheduler. */
  connection: TaskConnection
}

/** The worker's scheduler and credentials, for the client a task gets with `getClient()`. */
export interface TaskConnection {
  scheduler: string
  /** The worker's token; null when it uses none. */
  token: string | null
  /** The worker's CA and certificate, when it uses TLS. */
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer } | null
  /** The client's name in the scheduler's logs: the worker's name and the thread's index. */
  name: string
}

const RUNNING = 0
const CANCELS = 1
const RING = 256
const CELLS = 2 + RING

export class ThreadState {
  readonly cells: Int32Array
  /** Thread side: how many cancels it has read. */
  private seen = 0
  /** Thread side: cancelled handles it has not met yet. */
  private readonly cancelled = new Set<number>()

  constructor(cells?: Int32Array) {
    this.cells = cells ?? new Int32Array(new SharedArrayBuffer(4 * CELLS))
    if (cells === undefined) Atomics.store(this.cells, RUNNING, -1)
  }

  /** The handle of the task the thread runs now, or -1. */
  get running(): number {
    return Atomics.load(this.cells, RUNNING)
  }

  /**
   * I/O side: the task `handle`, handed to the thread, is cancelled. Returns true when
   * the thread is running it (or just started it): only stopping the thread ends it then.
   */
  cancel(handle: number): boolean {
    const n = Atomics.load(this.cells, CANCELS)
    Atomics.store(this.cells, 2 + (n % RING), handle)
    Atomics.store(this.cells, CANCELS, n + 1)
    // Read after writing: a thread that marked it running before reading the cancels is seen here.
    return Atomics.load(this.cells, RUNNING) === handle
  }

  /** Thread side: marks `handle` running, unless it was cancelled (then false: skip it). */
  begin(handle: number): boolean {
    Atomics.store(this.cells, RUNNING, handle)
    // Read after marking: a cancel written before the mark is read here.
    const n = Atomics.load(this.cells, CANCELS)
    // More cancels than the ring holds went unread: those tasks run, and their outcome is ignored.
    for (let i = Math.max(this.seen, n - RING); i < n; i++) this.cancelled.add(Atomics.load(this.cells, 2 + (i % RING)))
    this.seen = n
    if (!this.cancelled.delete(handle)) return true
    Atomics.store(this.cells, RUNNING, -1)
    return false
  }

  /** Thread side: `handle`, a task that had given up the slot (seceded), runs again. */
  resume(handle: number): void {
    Atomics.store(this.cells, RUNNING, handle)
  }

  /** Thread side: no task runs now. */
  end(): void {
    Atomics.store(this.cells, RUNNING, -1)
  }
}
