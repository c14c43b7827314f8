/**
 * The native core's takeMessages() output (layout in src/wire.rs), decoded into
 * a view tests can read. The decoding is strict: a row or message of the wrong
 * shape throws, so tests also check the layout the scheduler forwards as is.
 */
import { decode } from '../../ts/protocol'
import type { WireCompute, WireFailure } from '../../ts/protocol'
import type { NativeCore } from '../../ts/scheduler/native'

export type StealEntry = [task: number, run: number, key: string]
export type ErredEntry = [key: string, causeKey: string, failure: WireFailure]

export interface WorkerView {
  id: number
  /** Every list is empty when the worker got no such message. */
  compute: WireCompute[]
  free: string[]
  steal: StealEntry[]
}

export interface MemoryEntry {
  task: number
  nbytes: number
  holders: number[]
}

export interface ClientView {
  id: number
  /** Results now in memory, by task id (not key). */
  memory: MemoryEntry[]
  /** The inline results of the memory message (its third element), by task id. */
  values: Map<number, Uint8Array>
  erred: ErredEntry[]
  cancelled: string[]
  /** Keys a retry took back ('task-retried', the row's 5th element when there is one). */
  retried: string[]
  /** The decoded messages, null where the core sent none. */
  raw: { memory: unknown[] | null; erred: unknown[] | null; cancelled: unknown[] | null }
}

export interface MessagesView {
  workers: WorkerView[]
  clients: ClientView[]
  removed: number[]
  /** The buffer takeMessages() returned, or null when it had nothing to say. */
  bytes: Buffer | null
}

export function takeMessages(core: NativeCore): MessagesView {
  const bytes = core.takeMessages()
  if (bytes === null) return { workers: [], clients: [], removed: [], bytes: null }
  const top = decode(bytes)
  if (!Array.isArray(top) || top.length !== 3) throw new Error(`takeMessages: expected [workers, clients, removed], got ${show(top)}`)
  const [workers, clients, removed] = top as unknown[][]
  if (!Array.isArray(workers) || !Array.isArray(clients) || !Array.isArray(removed)) {
    throw new Error(`takeMessages: expected three arrays, got ${show(top)}`)
  }
  if (workers.length + clients.length + removed.length === 0) throw new Error('takeMessages: an empty batch should be null')
  return {
    workers: workers.map(workerView),
    clients: clients.map(clientView),
    removed: removed.map((w) => int(w, 'removed worker')),
    bytes,
  }
}

/**
 * Task id -> key, learnt from the compute messages' [task, run, key, ...] tuples
 * (and their dependencies' [key, nbytes, holders, task]). Feed it every view taken.
 */
export class TaskKeys {
  private readonly keys = new Map<number, string>()

  see(view: MessagesView): MessagesView {
    for (const w of view.workers) {
      for (const [task, , key, , deps] of w.compute) {
        this.keys.set(task, key)
        for (const [depKey, , , depTask] of deps) this.keys.set(depTask, depKey)
      }
    }
    return view
  }

  key(task: number): string {
    const key = this.keys.get(task)
    if (key === undefined) throw new Error(`task ${task} was never seen in a compute message`)
    return key
  }
}

function workerView(row: unknown): WorkerView {
  const [id, free, compute, steal] = fields(row, 4, 'worker row')
  return {
    id: int(id, 'worker id'),
    free: body(free, 'free') as string[],
    compute: body(compute, 'compute') as WireCompute[],
    steal: body(steal, 'steal') as StealEntry[],
  }
}

function clientView(row: unknown): ClientView {
  // 4 fields, and a 5th (task-retried, never nil) only after a retry.
  const [id, memoryBin, erredBin, cancelledBin, retriedBin] = Array.isArray(row) && row.length === 5 && retriedBinOk(row[4]) ? row : fields(row, 4, 'client row')
  const raw = { memory: message(memoryBin, 'memory'), erred: message(erredBin, 'erred'), cancelled: message(cancelledBin, 'cancelled') }
  const memory: MemoryEntry[] = []
  const values = new Map<number, Uint8Array>()
  if (raw.memory !== null) {
    if (raw.memory.length !== 2 && raw.memory.length !== 3) throw new Error(`memory: expected 2 or 3 elements, got ${show(raw.memory)}`)
    const flat = raw.memory[1] as number[]
    if (!Array.isArray(flat) || flat.length === 0) throw new Error(`memory: expected a non-empty flat list, got ${show(flat)}`)
    for (let i = 0; i < flat.length; ) {
      if (i + 3 > flat.length) throw new Error(`memory: truncated entry at ${i} in ${show(flat)}`)
      const task = int(flat[i], 'memory task')
      const nbytes = int(flat[i + 1], 'memory nbytes')
      const count = int(flat[i + 2], 'memory holder count')
      if (i + 3 + count > flat.length) throw new Error(`memory: ${count} holders overrun ${show(flat)}`)
      memory.push({ task, nbytes, holders: flat.slice(i + 3, i + 3 + count).map((w) => int(w, 'memory holder')) })
      i += 3 + count
    }
    if (raw.memory.length === 3) {
      const inline = raw.memory[2] as unknown[]
      if (!Array.isArray(inline) || inline.length === 0 || inline.length % 2 !== 0) {
        throw new Error(`memory: expected non-empty [task, value, ...] pairs, got ${show(inline)}`)
      }
      for (let i = 0; i < inline.length; i += 2) {
        const task = int(inline[i], 'inline value task')
        const value = inline[i + 1]
        if (!(value instanceof Uint8Array)) throw new Error(`memory: the value of task ${task} is not bytes: ${show(value)}`)
        if (!memory.some((m) => m.task === task)) throw new Error(`memory: a value for task ${task}, which is not in the message`)
        if (values.has(task)) throw new Error(`memory: two values for task ${task}`)
        values.set(task, value)
      }
    }
  }
  return {
    id: int(id, 'client id'),
    memory,
    values,
    erred: raw.erred === null ? [] : (bodyOf(raw.erred, 'erred') as ErredEntry[]),
    cancelled: raw.cancelled === null ? [] : (bodyOf(raw.cancelled, 'cancelled') as string[]),
    retried: retriedBin === undefined ? [] : (body(retriedBin, 'task-retried') as string[]),
    raw,
  }
}

/** One encoded message (a bin) decoded, checked to be `[name, ...]`; null for nil. */
function message(bin: unknown, name: string): unknown[] | null {
  if (bin === null) return null
  if (!(bin instanceof Uint8Array)) throw new Error(`${name}: expected an encoded message (bin) or nil, got ${show(bin)}`)
  const m = decode(bin)
  if (!Array.isArray(m) || m[0] !== name) throw new Error(`expected a '${name}' message, got ${show(m)}`)
  return m
}

/** The list of a two-element `[name, list]` message, or [] for nil. A message is never sent empty. */
function body(bin: unknown, name: string): unknown[] {
  const m = message(bin, name)
  return m === null ? [] : bodyOf(m, name)
}

function bodyOf(m: unknown[], name: string): unknown[] {
  if (m.length !== 2 || !Array.isArray(m[1])) throw new Error(`${name}: expected [name, list], got ${show(m)}`)
  if (m[1].length === 0) throw new Error(`${name}: an empty message should be nil`)
  return m[1]
}

function retriedBinOk(bin: unknown): boolean {
  if (!(bin instanceof Uint8Array)) throw new Error(`client row: a 5th element must be a task-retried message (bin), got ${show(bin)}`)
  return true
}

function fields(row: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(row) || row.length !== n) throw new Error(`${what}: expected ${n} fields, got ${show(row)}`)
  return row
}

function int(v: unknown, what: string): number {
  if (!Number.isInteger(v)) throw new Error(`${what}: expected an integer, got ${show(v)}`)
  return v as number
}

function show(v: unknown): string {
  // The replacer sees a Buffer after its toJSON; `this[k]` is the value before.
  const text = JSON.stringify(v, function (this: Record<string, unknown>, k: string, x: unknown) {
    const original = this[k]
    return original instanceof Uint8Array ? `<${original.length} bytes>` : x
  })
  return text === undefined ? String(v) : text.slice(0, 300)
}
