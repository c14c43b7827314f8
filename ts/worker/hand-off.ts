/**
 * What crosses between a worker's I/O thread and its execution threads. Both
 * directions carry many tasks per message, their bytes packed into one
 * transferred ArrayBuffer: a message costs the same for one task as for fifty,
 * and nothing is structured-cloned byte by byte.
 */

/** The cell of the shared Int32Array where a thread writes the handle of the task it runs (-1: none). */
export const RUNNING = 0

/** Tasks to run: I/O thread -> execution thread. */
export interface RunBatch {
  /** The I/O thread's handle of each task. */
  ids: Int32Array
  keys: string[]
  /** Per task: payload start, payload length, dependency count; then start and length of each dependency's bytes. */
  spans: Uint32Array
  /** The dependencies' keys, all tasks' in a row. */
  depKeys: string[]
  data: ArrayBuffer
}

export const enum Outcome {
  Finished = 0,
  Erred = 1,
}

/** Outcomes: execution thread -> I/O thread. */
export interface ResultBatch {
  ids: Int32Array
  outcomes: Uint8Array
  /** Seconds each task took on its thread (decoding its inputs and encoding its result included). */
  durations: Float64Array
  /** Per task: start and length of its encoded result (Finished) or failure (Erred) in `data`. */
  spans: Uint32Array
  data: ArrayBuffer
}

export type ToExecutor =
  | { t: 'run'; batch: RunBatch }
  | { t: 'fn'; hash: string; source: string; name: string }
  | { t: 'fn-refused'; hash: string; reason: string }

export type FromExecutor =
  | { t: 'done'; batch: ResultBatch }
  /** A shipped function's source is needed. */
  | { t: 'fn?'; hash: string }
  /** The task with handle `id` has started and must be stopped after `ms`. */
  | { t: 'timeout'; id: number; ms: number }
  | { t: 'log'; line: string }

/** Where a dependency's bytes are: a region of some memory (a held key's slot). */
export interface Bytes {
  memory: ArrayBufferLike | null
  offset: number
  length: number
}

/** Builds a RunBatch on the I/O thread, copying each payload and input once. */
export class RunBatchWriter {
  private readonly ids: number[] = []
  private readonly keys: string[] = []
  private readonly payloads: Uint8Array[] = []
  private readonly deps: (readonly (Bytes | undefined)[])[] = []
  private readonly depKeys: string[] = []
  private bytes = 0
  private spanCount = 0

  get size(): number {
    return this.ids.length
  }

  /** `deps[i][0]` is the key of input `i`, `inputs[i]` where its bytes are (every input is held). */
  add(id: number, key: string, payload: Uint8Array, deps: readonly (readonly [string, ...unknown[]])[], inputs: readonly (Bytes | undefined)[]): void {
    this.ids.push(id)
    this.keys.push(key)
    this.payloads.push(payload)
    this.deps.push(inputs)
    this.bytes += payload.byteLength
    for (let i = 0; i < inputs.length; i++) {
      this.depKeys.push(deps[i][0])
      this.bytes += inputs[i]!.length
    }
    this.spanCount += 3 + 2 * inputs.length
  }

  /** The batch, and what to transfer with it. */
  finish(): { batch: RunBatch; transfer: ArrayBuffer[] } {
    const data = new Uint8Array(this.bytes)
    const spans = new Uint32Array(this.spanCount)
    let pos = 0
    let s = 0
    for (let i = 0; i < this.ids.length; i++) {
      const payload = this.payloads[i]
      data.set(payload, pos)
      spans[s++] = pos
      spans[s++] = payload.byteLength
      pos += payload.byteLength
      const deps = this.deps[i]
      spans[s++] = deps.length
      for (let j = 0; j < deps.length; j++) {
        const d = deps[j]!
        data.set(new Uint8Array(d.memory!, d.offset, d.length), pos)
        spans[s++] = pos
        spans[s++] = d.length
        pos += d.length
      }
    }
    const ids = Int32Array.from(this.ids)
    const batch: RunBatch = { ids, keys: this.keys, spans, depKeys: this.depKeys, data: data.buffer }
    return { batch, transfer: [data.buffer, spans.buffer, ids.buffer] }
  }
}

/** One task of a RunBatch as the execution thread reads it: views into the batch's memory. */
export interface HandedTask {
  id: number
  key: string
  payload: Uint8Array
  depKeys: string[]
  depBytes: Uint8Array[]
}

export function readRunBatch(batch: RunBatch): HandedTask[] {
  const data = new Uint8Array(batch.data)
  const spans = batch.spans
  const out: HandedTask[] = new Array(batch.ids.length)
  let s = 0
  let k = 0
  for (let i = 0; i < batch.ids.length; i++) {
    const payload = data.subarray(spans[s], spans[s] + spans[s + 1])
    const n = spans[s + 2]
    s += 3
    const depKeys: string[] = new Array(n)
    const depBytes: Uint8Array[] = new Array(n)
    for (let j = 0; j < n; j++) {
      depKeys[j] = batch.depKeys[k++]
      depBytes[j] = data.subarray(spans[s], spans[s] + spans[s + 1])
      s += 2
    }
    out[i] = { id: batch.ids[i], key: batch.keys[i], payload, depKeys, depBytes }
  }
  return out
}

const MIN_CAPACITY = 4096

/** Collects outcomes on the execution thread, each one's bytes copied once into a growing buffer. */
export class ResultBatchWriter {
  private ids: number[] = []
  private outcomes: number[] = []
  private durations: number[] = []
  private spans: number[] = []
  private buf = new Uint8Array(MIN_CAPACITY)
  private pos = 0

  get size(): number {
    return this.ids.length
  }

  get byteLength(): number {
    return this.pos
  }

  add(id: number, outcome: Outcome, duration: number, bytes: Uint8Array): void {
    if (this.pos + bytes.byteLength > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, this.pos + bytes.byteLength))
      grown.set(this.buf.subarray(0, this.pos))
      this.buf = grown
    }
    this.buf.set(bytes, this.pos)
    this.ids.push(id)
    this.outcomes.push(outcome)
    this.durations.push(duration)
    this.spans.push(this.pos, bytes.byteLength)
    this.pos += bytes.byteLength
  }

  /** The batch so far (the writer starts empty again), and what to transfer with it. */
  take(): { batch: ResultBatch; transfer: ArrayBuffer[] } {
    // Exactly the bytes used: the I/O thread keeps views of this memory as the stored results.
    const data = this.buf.buffer.byteLength === this.pos ? this.buf.buffer : this.buf.slice(0, this.pos).buffer
    const batch: ResultBatch = {
      ids: Int32Array.from(this.ids),
      outcomes: Uint8Array.from(this.outcomes),
      durations: Float64Array.from(this.durations),
      spans: Uint32Array.from(this.spans),
      data: data as ArrayBuffer,
    }
    this.ids = []
    this.outcomes = []
    this.durations = []
    this.spans = []
    this.buf = new Uint8Array(Math.max(MIN_CAPACITY, Math.min(this.pos, 1 << 20)))
    this.pos = 0
    return { batch, transfer: [batch.data, batch.ids.buffer as ArrayBuffer, batch.outcomes.buffer as ArrayBuffer, batch.durations.buffer as ArrayBuffer, batch.spans.buffer as ArrayBuffer] }
  }
}
