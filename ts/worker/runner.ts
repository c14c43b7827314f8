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
    const deadline = performance.now() + SLICE_MS
    while (this.running < this.slots && this.head < this.ready.length) {
      const task = this.ready[this.head++]
      if (task.phase === Phase.Ready) this.start(task)
      if (performance.now() > deadline) {
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

  private start(task: TaskRecord): void {
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
      return
    }
    if (fn instanceof Error) return this.fail(task, fn)
    task.phase = Phase.Running
    const t0 = performance.now()
    let result: unknown
    try {
      const args = task.deps.length === 0 ? task.args! : resolveRefs(task.args!, this.store)
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
    } else {
      this.succeed(task, result, t0)
    }
  }

  private asyncSettled(task: TaskRecord, value: unknown, err: unknown, t0: number): void {
    this.running--
    if (err === undefined) this.succeed(task, value, t0)
    else this.fail(task, err)
    this.schedulePump()
  }

  private succeed(task: TaskRecord, value: unknown, t0: number): void {
    const duration = (performance.now() - t0) / 1000
    if (task.phase === Phase.Dropped) return this.settled(task)
    let bytes: Buffer
    try {
      assertEncodable(value, () => `the result of task '${task.key}'`)
      bytes = encode(value)
    } catch (err) {
      return this.fail(task, err)
    }
    this.store.putResult(task.key, bytes, value)
    task.phase = Phase.Done
    this.outbox.finished(task.task, task.run, bytes.byteLength, duration, bytes)
    this.settled(task)
  }

  private fail(task: TaskRecord, err: unknown): void {
    if (task.phase !== Phase.Dropped) {
      task.phase = Phase.Done
      this.outbox.push([WorkerEventKind.Erred, task.task, task.run, encodeTaskFailure(explainFailure(err, task.fn))])
    }
    this.settled(task)
  }
}

/** Whether `bytes` from 1 to `offset` (a payload's function reference) equal `ref`. */
function sameRef(bytes: Uint8Array, offset: number, ref: Uint8Array): boolean {
  if (ref.length !== offset - 1) return false
  for (let i = 0; i < ref.length; i++) if (bytes[i + 1] !== ref[i]) return false
  return true
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}
