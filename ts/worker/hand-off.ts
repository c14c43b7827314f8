/**
 * What crosses between a worker's I/O thread and its execution threads. Both
 * directions carry many tasks per message, packed into two transferred
 * buffers (an index of numbers, and the bytes): a message costs about the same
 * for one task as for fifty, and nothing is structured-cloned item by item.
 */
import { MAX_PLAIN_BYTES, writePlainValue } from '../graph/plain-value'
import { decodeFrom } from '../protocol'
import type { InputCache, InputDirectory } from './input-cache'
import type { ConsoleLine } from './task-console'

/**
 * Tasks to run: I/O thread -> execution thread. `index` holds, per task: its
 * handle (two numbers: the high and low 32 bits, so a handle past 2^32 arrives
 * whole), key start and length, payload start and length, dependency count
 * (with DEFERRABLE set when the task's result may wait for a later report),
 * then start and length of each dependency's bytes (all offsets into `data`;
 * start KEPT: the thread keeps that input decoded already). `depKeys` lists the
 * dependencies' keys, all tasks' in a row; `evict`, the kept inputs the thread
 * drops once it has read the batch.
 */
export interface RunBatch {
  count: number
  index: Uint32Array
  depKeys: string[]
  evict: string[]
  data: ArrayBuffer
  /** Inputs whose bytes live in shared memory: not copied, the thread reads them where they are. */
  shared: Uint8Array[]
}

/** The start of an input the thread keeps decoded (see InputDirectory). */
const KEPT = 0xffffffff
/** The start of an input in shared memory; its length entry is then its place in `shared`. */
const SHARED = 0xfffffffe
/** Set in an input's length: the thread keeps it from now on. */
const KEEP = 0x80000000
/** A handle is split at 2^32 into two index entries; JS numbers keep it exact up to 2^53. */
const HIGH = 0x100000000
/** Set in a task's dependency count: no task depends on it (its outcome may wait for a later report). */
const DEFERRABLE = 0x80000000

/**
 * How long an execution thread may hold the outcomes of tasks nothing depends on while it keeps
 * running tasks (ms); the I/O thread hands such tasks about this much work at a time, so that the
 * thread does not run dry, and report, sooner. Each report wakes the I/O thread, the scheduler,
 * the client and back, a few hundred microseconds of CPU on the cores the tasks run on: for
 * millisecond tasks, reporting every 5 ms cost as much as a tenth of the machine.
 */
export const DEFERRED_REPORT_MS = 20

export const enum Outcome {
  Finished = 0,
  Erred = 1,
  /** Cancelled before it started: not run. */
  Skipped = 2,
}

/**
 * Outcomes: execution thread -> I/O thread. `index` holds, per task: handle,
 * outcome, duration (seconds, decoding inputs and encoding the result
 * included), start and length of its encoded result or failure in `data`.
 */
export interface ResultBatch {
  count: number
  index: Float64Array
  data: ArrayBuffer
  /** Large results, each in shared memory of its own (its start in `index` is -1 - its place here). */
  shared: Uint8Array[]
}

/**
 * From this size on, an encoded result is kept in shared memory of its own: it crosses to the
 * I/O thread, is stored there, and crosses back to the threads of the tasks that need it,
 * without a copy (a copy of a large value is as much memory again, for as long as the
 * collector leaves it). Below it, copying into one buffer per batch is cheaper.
 */
export const SHARED_RESULT_BYTES = 256 * 1024

/** Bytes a result in shared memory may leave unused at its end (the room its size was guessed with). */
const SHARED_SLACK_BYTES = 64 * 1024

/** `bytes` in shared memory of about its size, unless they are there already. */
export function inSharedMemory(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer && bytes.byteOffset === 0 && bytes.buffer.byteLength - bytes.byteLength <= SHARED_SLACK_BYTES) return bytes
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength))
  shared.set(bytes)
  return shared
}

export type ToExecutor =
  | { t: 'run'; batch: RunBatch }
  | { t: 'fn'; hash: string; source: string; name: string }
  | { t: 'fn-refused'; hash: string; code: string; reason: string }

export type FromExecutor =
  | { t: 'done'; batch: ResultBatch }
  /** The thread is ready for tasks (its module loaders are registered). */
  | { t: 'ready' }
  /** A shipped function's source is needed. */
  | { t: 'fn?'; hash: string }
  /** The task with handle `id` has started and must be stopped after `ms`. */
  | { t: 'timeout'; id: number; ms: number }
  /** The task with handle `id` gave up its slot while it waits (for tasks it submitted): the thread can take another task. */
  | { t: 'seceded'; id: number }
  /** The task with handle `id` holds its thread's slot again. */
  | { t: 'rejoined'; id: number }
  | { t: 'log'; line: string }
  /** A line a task printed with console.log and its kin. */
  | ConsoleLine

/** Where a dependency's bytes are (a region of some memory), and how many local tasks hold it: a held key's slot. */
export interface HeldBytes {
  memory: ArrayBufferLike | null
  offset: number
  length: number
  refs: number
}

const enum Keeping {
  /** The thread keeps it already: no bytes cross. */
  Kept,
  /** Bytes cross, and the thread keeps the decoded value. */
  Keep,
  /** Bytes cross for this task only. */
  Once,
}

const fromUtf8 = new TextDecoder()

/** Buffer's own UTF-8 writer (no encoding argument to parse, no view to make). */
type Utf8Buffer = Buffer & { utf8Write(s: string, offset: number, length: number): number }

/** Builds a RunBatch on the I/O thread, copying each key, payload and input the thread lacks once. */
export class RunBatchWriter {
  private readonly ids: number[] = []
  private readonly deferrable: boolean[] = []
  private readonly keys: string[] = []
  private readonly payloads: Uint8Array[] = []
  private readonly deps: (readonly (HeldBytes | undefined)[])[] = []
  private readonly depKeys: string[] = []
  /** Per input: whether the thread keeps it already, is to keep it, or neither. */
  private readonly kept: Keeping[] = []
  private readonly shared: Uint8Array[] = []
  private bytes = 0
  private indexLength = 0

  constructor(private readonly directory: InputDirectory) {}

  get size(): number {
    return this.ids.length
  }

  /**
   * `deps[i][0]` is the key of input `i`, `inputs[i]` where its bytes are (every input is
   * held); an input that other local tasks still need (`refs` > 1) is kept on the thread.
   * `deferrable`: no task depends on it (its outcome may wait for a later report).
   */
  add(id: number, key: string, payload: Uint8Array, deps: readonly (readonly [string, ...unknown[]])[], inputs: readonly (HeldBytes | undefined)[], deferrable: boolean): void {
    this.ids.push(id)
    this.deferrable.push(deferrable)
    this.keys.push(key)
    this.payloads.push(payload)
    this.deps.push(inputs)
    // A key's UTF-8 is at most 3 bytes per UTF-16 unit.
    this.bytes += 3 * key.length + payload.byteLength
    for (let i = 0; i < inputs.length; i++) {
      const depKey = deps[i][0]
      this.depKeys.push(depKey)
      const input = inputs[i]!
      if (this.directory.has(depKey)) {
        this.kept.push(Keeping.Kept)
        continue
      }
      // An input used by this task alone crosses as it is: keeping it would only cost an eviction later.
      const keep = input.refs > 1
      if (keep) this.directory.add(depKey, input.length)
      this.kept.push(keep ? Keeping.Keep : Keeping.Once)
      if (!(input.memory instanceof SharedArrayBuffer)) this.bytes += input.length
    }
    this.indexLength += 7 + 2 * inputs.length
  }

  /** The batch, and what to transfer with it. */
  finish(): { batch: RunBatch; transfer: ArrayBuffer[] } {
    // A Buffer over memory of its own (never the shared pool: its memory is transferred), so keys
    // are written in place with no view per key.
    const data = Buffer.from(new ArrayBuffer(this.bytes)) as Utf8Buffer
    const index = new Uint32Array(this.indexLength)
    let pos = 0
    let s = 0
    let k = 0
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]
      index[s++] = Math.floor(id / HIGH)
      index[s++] = id >>> 0
      const written = data.utf8Write(this.keys[i], pos, data.length - pos)
      index[s++] = pos
      index[s++] = written
      pos += written
      const payload = this.payloads[i]
      data.set(payload, pos)
      index[s++] = pos
      index[s++] = payload.byteLength
      pos += payload.byteLength
      const deps = this.deps[i]
      index[s++] = this.deferrable[i] ? (deps.length | DEFERRABLE) >>> 0 : deps.length
      for (let j = 0; j < deps.length; j++) {
        const d = deps[j]!
        const keeping = this.kept[k++]
        if (keeping === Keeping.Kept) {
          index[s++] = KEPT
          index[s++] = 0
          continue
        }
        const bytes = new Uint8Array(d.memory!, d.offset, d.length)
        let where: number
        if (d.memory instanceof SharedArrayBuffer) {
          index[s++] = SHARED
          where = this.shared.length
          this.shared.push(bytes)
        } else {
          data.set(bytes, pos)
          index[s++] = pos
          where = d.length
          pos += d.length
        }
        index[s++] = keeping === Keeping.Keep ? (where | KEEP) >>> 0 : where
      }
    }
    const batch: RunBatch = {
      count: this.ids.length,
      index,
      depKeys: this.depKeys,
      evict: this.directory.takeEvictions(),
      data: data.buffer as ArrayBuffer,
      shared: this.shared,
    }
    return { batch, transfer: [data.buffer as ArrayBuffer, index.buffer] }
  }
}

/** An input that could not be decoded: the task that uses it fails with this. */
export class UndecodableInput {
  constructor(readonly error: Error) {}
}

/**
 * One task of a RunBatch as the execution thread reads it: where its key and payload are in the
 * batch's memory (offsets, not a view each: one object per task), inputs decoded.
 */
export class HandedTask {
  constructor(
    readonly id: number,
    /** The batch's bytes, shared by its tasks. */
    readonly data: Uint8Array,
    private readonly keyStart: number,
    private readonly keyEnd: number,
    readonly payloadStart: number,
    readonly payloadEnd: number,
    readonly depKeys: string[],
    readonly depValues: unknown[],
    /** No task depends on it: its outcome may wait for a later report. */
    readonly deferrable: boolean,
  ) {}

  /** Decoded only when a message needs it (errors). */
  get key(): string {
    return fromUtf8.decode(this.data.subarray(this.keyStart, this.keyEnd))
  }
}

const NO_KEYS: string[] = []
const NO_VALUES: unknown[] = []

/**
 * Reads a batch on the execution thread: inputs sent with it are decoded into `cache`, kept ones
 * read from it. Each task is made with `make` (HandedTask or a subclass: the thread's own record
 * of a task is then one object).
 */
export function readRunBatch<T extends HandedTask>(batch: RunBatch, cache: InputCache, make: new (...fields: ConstructorParameters<typeof HandedTask>) => T): T[] {
  const data = new Uint8Array(batch.data)
  const index = batch.index
  const out: T[] = new Array<T>(batch.count)
  let s = 0
  let k = 0
  for (let i = 0; i < batch.count; i++) {
    const id = index[s] * HIGH + index[s + 1]
    const keyStart = index[s + 2]
    const payloadStart = index[s + 4]
    const count = index[s + 6]
    const n = count & ~DEFERRABLE
    const keyEnd = keyStart + index[s + 3]
    const payloadEnd = payloadStart + index[s + 5]
    s += 7
    let depKeys = NO_KEYS
    let depValues = NO_VALUES
    if (n > 0) {
      depKeys = new Array(n)
      depValues = new Array(n)
      for (let j = 0; j < n; j++) {
        const depKey = batch.depKeys[k++]
        depKeys[j] = depKey
        const start = index[s]
        const length = index[s + 1]
        if (start === KEPT) depValues[j] = cache.get(depKey)
        else {
          const size = length & ~KEEP
          depValues[j] = start === SHARED ? decodeInput(batch.shared[size], 0, batch.shared[size].length) : decodeInput(data, start, start + size)
          if (length & KEEP) cache.set(depKey, depValues[j])
        }
        s += 2
      }
    }
    out[i] = new make(id, data, keyStart, keyEnd, payloadStart, payloadEnd, depKeys, depValues, count >= DEFERRABLE)
  }
  cache.evict(batch.evict)
  return out
}

/** The input encoded in `bytes` from `start` to `end` (a range, not a view: no object per input). */
function decodeInput(bytes: Uint8Array, start: number, end: number): unknown {
  try {
    return decodeFrom(bytes, start, end)
  } catch (err) {
    // msgpackr's native string decoder reads only unshared memory: a value with strings
    // (object keys among them) is decoded from a copy, binary data stays where it is.
    if (bytes.buffer instanceof SharedArrayBuffer) return decodeInput(bytes.slice(start, end), 0, end - start)
    return new UndecodableInput(err as Error)
  }
}

const MIN_CAPACITY = 4096
/** Numbers per outcome in a ResultBatch's index: handle, outcome, duration, start, length. */
export const RESULT_FIELDS = 5

/** Outcomes a ResultBatchWriter has room for in its index before it grows it. */
const MIN_OUTCOMES = 64

/** Collects outcomes on the execution thread, each one's bytes copied once into a growing buffer. */
export class ResultBatchWriter {
  private index = new Float64Array(MIN_OUTCOMES * RESULT_FIELDS)
  private fields = 0
  private buf = new Uint8Array(MIN_CAPACITY)
  private pos = 0
  private shared: Uint8Array[] = []
  private sharedBytes = 0

  get size(): number {
    return this.fields / RESULT_FIELDS
  }

  /** Bytes of the results waiting, in the batch's buffer and in shared memory. */
  get byteLength(): number {
    return this.pos + this.sharedBytes
  }

  add(id: number, outcome: Outcome, duration: number, bytes: Uint8Array): void {
    if (bytes.buffer instanceof SharedArrayBuffer) {
      this.note(id, outcome, duration, -1 - this.shared.length, bytes.byteLength)
      this.shared.push(bytes)
      this.sharedBytes += bytes.byteLength
      return
    }
    this.reserve(bytes.byteLength)
    this.buf.set(bytes, this.pos)
    this.note(id, outcome, duration, this.pos, bytes.byteLength)
    this.pos += bytes.byteLength
  }

  /**
   * A result the codec's bytes for plain values can be written for (see writePlainValue: a number,
   * boolean, null or short ASCII string), written straight into the batch: no encoder call, no
   * buffer per result. False, with nothing added, for any other value.
   */
  addPlain(id: number, duration: number, value: unknown): boolean {
    this.reserve(MAX_PLAIN_BYTES)
    const end = writePlainValue(this.buf, this.pos, value)
    if (end < 0) return false
    this.note(id, Outcome.Finished, duration, this.pos, end - this.pos)
    this.pos = end
    return true
  }

  /** The batch so far (the writer starts empty again), and what to transfer with it. */
  take(): { batch: ResultBatch; transfer: ArrayBuffer[] } {
    // Exactly the bytes used: the I/O thread keeps views of this memory as the stored results.
    const data = (this.buf.buffer.byteLength === this.pos ? this.buf.buffer : this.buf.slice(0, this.pos).buffer) as ArrayBuffer
    const index = this.index.slice(0, this.fields)
    const batch: ResultBatch = { count: this.fields / RESULT_FIELDS, index, data, shared: this.shared }
    this.fields = 0
    this.shared = []
    this.sharedBytes = 0
    this.buf = new Uint8Array(Math.max(MIN_CAPACITY, Math.min(this.pos, 1 << 20)))
    this.pos = 0
    return { batch, transfer: [data, index.buffer] }
  }

  private note(id: number, outcome: Outcome, duration: number, start: number, length: number): void {
    if (this.fields + RESULT_FIELDS > this.index.length) {
      const grown = new Float64Array(this.index.length * 2)
      grown.set(this.index)
      this.index = grown
    }
    const index = this.index
    const x = this.fields
    index[x] = id
    index[x + 1] = outcome
    index[x + 2] = duration
    index[x + 3] = start
    index[x + 4] = length
    this.fields = x + RESULT_FIELDS
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return
    const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + n))
    grown.set(this.buf.subarray(0, this.pos))
    this.buf = grown
  }
}

