import { assertEncodable, encode, WorkerEventKind } from '../protocol'
import { decodeTaskArgs, decodeTaskPayload, encodeTaskFailure, payloadArgsOffset, type FunctionRef } from '../graph/payload'
import { resolveRefs } from './args'
import { explainFailure, isFunctionRef, type FunctionCache } from './functions'
import type { EventOutbox } from './outbox'
import type { DataStore } from './store'
import { Phase, type TaskRecord } from './task'

/** Synchronous tasks run back to back for at most this long before the worker yields to I/O. */
const SLICE_MS = 5

/**
 * Runs ready tasks, up to `slots` at once (a sync task holds a slot only while
 * it runs; an async one until it settles), stores results and reports each
 * outcome to the outbox. `settled` is called once per task that leaves it.
 */
export class TaskRunner {
  private ready: TaskRecord[] = []
  private head = 0
  private running = 0
  private pumpScheduled = false
  private readonly pumpNow = () => this.pump()
  /** The function reference of the last payload decoded in full, and its bytes: tasks of one map share them. */
  private lastRefBytes: Uint8Array | null = null
  private lastRef: FunctionRef | null = null

  constructor(
    private readonly slots: number,
    private readonly store: DataStore,
    private readonly functions: FunctionCache,
    private readonly outbox: EventOutbox,
    private readonly settled: (task: TaskRecord) => void,
  ) {}

  get queued(): number {
    return this.ready.length - this.head
  }

  get active(): number {
    return this.running
  }

  enqueue(task: TaskRecord): void {
    task.phase = Phase.Ready
    this.ready.push(task)
    this.schedulePump()
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return
    this.pumpScheduled = true
    setImmediate(this.pumpNow)
  }

  private pump(): void {
    this.pumpScheduled = false
    let now = performance.now()
    const deadline = now + SLICE_MS
    while (this.running < this.slots && this.head < this.ready.length) {
      const task = this.ready[this.head++]
      if (task.phase === Phase.Ready) now = this.start(task, now)
      if (now > deadline) {
        if (this.head < this.ready.length) this.schedulePump()
        break
      }
    }
    // Report this slice's outcomes now, not on a later turn.
    this.outbox.flush()
    if (this.head === this.ready.length) {
      this.ready = []
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head)
      this.head = 0
    }
  }

  /**
   * Runs `task` from `t0`, the clock when the runner was done with the task before it,
   * and returns the clock when it is done with this one: one clock reading per task,
   * for both the task's duration and the slice deadline.
   */
  private start(task: TaskRecord, t0: number): number {
    if (task.fn === null) {
      try {
        const bytes = task.payload
        const offset = payloadArgsOffset(bytes)
        if (offset > 0 && this.lastRef !== null && sameRef(bytes, offset, this.lastRefBytes!)) {
          // Same function reference as the previous task: only the arguments are decoded.
          task.args = decodeTaskArgs(bytes, offset)
          task.fn = this.lastRef
        } else {
          const payload = decodeTaskPayload(bytes)
          if (!isFunctionRef(payload.fn)) throw new Error(`task '${task.key}': its payload names no function`)
          task.fn = payload.fn
          task.args = payload.args
          if (offset > 0) {
            // A copy: a Buffer's slice() is a view of memory the frame owns.
            this.lastRefBytes = Uint8Array.prototype.slice.call(bytes, 1, offset)
            this.lastRef = payload.fn
          }
        }
      } catch (err) {
        return this.fail(task, err)
      }
    }
    const fn = this.functions.lookup(task.fn)
    if (fn === undefined) {
      task.phase = Phase.Loading
      this.functions.load(task.fn, task)
      return t0
    }
    if (fn instanceof Error) return this.fail(task, fn)
    task.phase = Phase.Running
    let result: unknown
    try {
      const args = task.deps.length === 0 ? task.args! : resolveRefs(task.args!, task, this.store)
      task.args = null
      result = fn(...args)
    } catch (err) {
      return this.fail(task, err)
    }
    if (isThenable(result)) {
      this.running++
      result.then(
        (value) => this.asyncSettled(task, value, undefined, t0),
        (err: unknown) => this.asyncSettled(task, undefined, err ?? new Error('the task rejected with no reason'), t0),
      )
      return performance.now()
    }
    return this.succeed(task, result, t0)
  }

  private asyncSettled(task: TaskRecord, value: unknown, err: unknown, t0: number): void {
    this.running--
    if (err === undefined) this.succeed(task, value, t0)
    else this.fail(task, err)
    this.schedulePump()
  }

  /** Stores and reports a result; returns the clock when done (the end of its duration). */
  private succeed(task: TaskRecord, value: unknown, t0: number): number {
    if (task.phase === Phase.Dropped) {
      this.settled(task)
      return performance.now()
    }
    let bytes: Buffer
    try {
      if (isCompound(value)) assertResultEncodable(value, task.key)
      bytes = encode(value)
    } catch (err) {
      return this.fail(task, err)
    }
    this.store.putResult(task.slot, bytes, value)
    task.phase = Phase.Done
    // The duration covers encoding the result too: it is part of what the task costs this worker.
    const end = performance.now()
    this.outbox.finished(task.task, task.run, bytes.byteLength, (end - t0) / 1000, bytes)
    this.settled(task)
    return end
  }

  /** Reports a failure; returns the clock when done. */
  private fail(task: TaskRecord, err: unknown): number {
    if (task.phase !== Phase.Dropped) {
      task.phase = Phase.Done
      this.outbox.push([WorkerEventKind.Erred, task.task, task.run, encodeTaskFailure(explainFailure(err, task.fn))])
    }
    this.settled(task)
    return performance.now()
  }
}

/** Whether `bytes` from 1 to `offset` (a payload's function reference) equal `ref`. */
function sameRef(bytes: Uint8Array, offset: number, ref: Uint8Array): boolean {
  if (ref.length !== offset - 1) return false
  for (let i = 0; i < ref.length; i++) if (bytes[i + 1] !== ref[i]) return false
  return true
}

/** Whether a value could hold something unencodable (plain primitives cannot). */
function isCompound(v: unknown): boolean {
  const t = typeof v
  return t === 'object' || t === 'function' || t === 'symbol'
}

/**
 * A function of its own, so that the closure naming the result (and the context it
 * captures) is made only for results that need the check, not on every task.
 */
function assertResultEncodable(value: unknown, key: string): void {
  assertEncodable(value, () => `the result of task '${key}'`)
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
