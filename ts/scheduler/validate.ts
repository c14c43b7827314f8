import { HANDSHAKE, keyTooLong, MAX_KEY_BYTES, SkeinError, type ClientToScheduler, type HelloClient, type HelloWorker, type PartyRole, type WorkerMemory, type WorkerToScheduler, type WorkerUsage, MAX_HEARTBEAT_TRANSFERS } from '../protocol'
import { MAX_TASK_OUTPUT_LINE_CHARS, MAX_TASK_OUTPUT_LINES, type TaskOutputLine } from '../protocol'

/** A message that does not follow the protocol; `code` is what the sender is told. */
export class ProtocolError extends SkeinError {}

export const BAD_MESSAGE = 'SKEIN_BAD_MESSAGE'
export const KEY_TOO_LONG = 'SKEIN_KEY_TOO_LONG'

type Message = unknown[]

const MAX_NAME_LENGTH = 256

function fail(message: Message, reason: string): never {
  throw new ProtocolError(BAD_MESSAGE, `'${String(message[0]).slice(0, 32)}' message: ${reason}`)
}

function expectLength(m: Message, n: number): void {
  if (m.length !== n) fail(m, `expected ${n - 1} fields, found ${m.length - 1}`)
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

/** Keys: strings of at most MAX_KEY_BYTES bytes (checked by byte length only when the string could exceed it). */
function isKeyArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false
  for (let i = 0; i < v.length; i++) {
    const k: unknown = v[i]
    if (typeof k !== 'string') return false
    if (keyTooLong(k)) {
      throw new ProtocolError(KEY_TOO_LONG, `a key of ${Buffer.byteLength(k)} bytes ('${k.slice(0, 40)}...'): keys are at most ${MAX_KEY_BYTES} bytes`)
    }
  }
  return true
}

function isKey(v: unknown): v is string {
  return typeof v === 'string' && !keyTooLong(v)
}

function isWanted(v: unknown): v is string[] | Uint32Array {
  return v instanceof Uint32Array || isKeyArray(v)
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
}

function isRequest(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v)
}

function isResources(v: unknown): v is Record<string, number> | null {
  if (v === null) return true
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Map || ArrayBuffer.isView(v)) return false
  return Object.values(v as object).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)
}

function field<T>(m: Message, i: number, ok: (v: unknown) => v is T, what: string): T {
  const v = m[i]
  if (!ok(v)) fail(m, `${what} has the wrong type (${describe(v)})`)
  return v
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (v instanceof Uint8Array) return 'bytes'
  return typeof v
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH
}

/** The first message after authentication says who is speaking, as the role it authenticated as. */
export function checkHello(m: Message, role: PartyRole): HelloClient | HelloWorker {
  const expected = role === 'worker' ? 'hello-worker' : 'hello-client'
  if (m[0] !== expected) throw new ProtocolError(HANDSHAKE, `a party that authenticated as a ${role} must say '${expected}' next, not '${String(m[0]).slice(0, 32)}'`)
  if (m[0] === 'hello-client') {
    expectLength(m, 2)
    field(m, 1, isName, 'name (1 to 256 characters)')
    return m as HelloClient
  }
  expectLength(m, 5)
  field(m, 1, isName, 'name (1 to 256 characters)')
  field(m, 2, (v): v is number => isId(v) && v > 0, 'slots (a positive integer)')
  field(m, 3, isString, 'peer address')
  field(m, 4, isResources, 'resources (null or an object of non-negative numbers)')
  return m as HelloWorker
}

export function checkClientMessage(m: Message): Exclude<ClientToScheduler, HelloClient> {
  switch (m[0]) {
    case 'submit':
      expectLength(m, 4)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isBytes, 'graph')
      field(m, 3, isWanted, 'wanted keys (strings, or indices into the graph as a Uint32Array)')
      break
    case 'release-tasks':
      expectLength(m, 2)
      field(m, 1, (v): v is Uint32Array => v instanceof Uint32Array, 'task ids (a Uint32Array)')
      break
    case 'want':
    case 'release':
    case 'cancel':
      expectLength(m, 2)
      field(m, 1, isKeyArray, 'keys')
      break
    case 'scattered':
      expectLength(m, 3)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isScatteredEntries, 'entries ([key, worker id, nbytes][])')
      break
    case 'fn':
      expectLength(m, 4)
      field(m, 1, isString, 'hash')
      field(m, 2, isString, 'source')
      field(m, 3, isString, 'name')
      break
    case 'publish':
      expectLength(m, 6)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isName, 'dataset name (1 to 256 characters)')
      field(m, 3, isKeyArray, 'keys')
      field(m, 4, isBytes, 'value')
      field(m, 5, (v): v is boolean => typeof v === 'boolean', 'override (a boolean)')
      break
    case 'unpublish':
    case 'get-dataset':
      expectLength(m, 3)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isName, 'dataset name (1 to 256 characters)')
      break
    case 'list-datasets':
      expectLength(m, 2)
      field(m, 1, isRequest, 'request id')
      break
    case 'story':
      expectLength(m, 3)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isKey, `key (a string of at most ${MAX_KEY_BYTES} bytes)`)
      break
    case 'retry':
      expectLength(m, 3)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isKeyArray, 'keys')
      break
    case 'fire-and-forget':
      expectLength(m, 2)
      field(m, 1, isKeyArray, 'keys')
      break
    case 'run':
      expectLength(m, 6)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isBytes, 'payload')
      field(m, 3, isNamesOrNull, 'workers (null or worker names)')
      field(m, 4, isBoolean, 'context (a boolean)')
      field(m, 5, isTimeout, 'timeoutMs (0, or a positive number of milliseconds of at most 2^31-1)')
      break
    case 'replicate':
      expectLength(m, 5)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isKeyArray, 'keys')
      field(m, 3, (v): v is number | null => v === null || (isId(v) && v > 0), 'n (null or a positive integer)')
      field(m, 4, isNamesOrNull, 'workers (null or worker names)')
      break
    case 'who-has':
      expectLength(m, 3)
      field(m, 1, isRequest, 'request id')
      field(m, 2, isKeyArray, 'keys')
      break
    case 'task-stream':
      expectLength(m, 4)
      field(m, 1, isRequest, 'request id')
      field(m, 2, (v): v is number => typeof v === 'number' && !Number.isNaN(v), 'since (ms since the epoch)')
      field(m, 3, (v): v is boolean => typeof v === 'boolean', 'record (a boolean)')
      break
    case 'heartbeat':
      break
    case 'forward-logs':
      expectLength(m, 2)
      field(m, 1, (v): v is boolean => typeof v === 'boolean', 'on (a boolean)')
      break
    default:
      fail(m, 'not a message a client sends')
  }
  return m as Exclude<ClientToScheduler, HelloClient>
}

function isScatteredEntries(v: unknown): v is [string, number, number][] {
  return (
    Array.isArray(v) &&
    v.every((e) => Array.isArray(e) && e.length === 3 && isKeyArray([e[0]]) && isId(e[1]) && typeof e[2] === 'number' && e[2] >= 0)
  )
}

export function checkWorkerMessage(m: Message): Exclude<WorkerToScheduler, HelloWorker> {
  switch (m[0]) {
    case 'events':
      expectLength(m, 2)
      field(m, 1, isBytes, 'events')
      break
    case 'fn?':
      expectLength(m, 2)
      field(m, 1, isString, 'hash')
      break
    case 'heartbeat':
      if (m.length === 1) break
      if (m.length !== 3) expectLength(m, 2)
      field(m, 1, isMemory, 'memory ({ managed, spilled, process } in bytes)')
      if (m.length === 3) field(m, 2, isUsage, 'usage ({ cpu, sent, received, executing, ready }: numbers >= 0; transfers: at most 200 [start, end, bytes])')
      break
    case 'paused':
      expectLength(m, 2)
      field(m, 1, (v): v is boolean => typeof v === 'boolean', 'paused (a boolean)')
      break
    case 'unreachable':
      expectLength(m, 3)
      field(m, 1, isId, 'holder (a worker id)')
      field(m, 2, (v): v is string => typeof v === 'string' && v.length <= 1000, 'reason (a string of at most 1000 characters)')
      break
    case 'task-output':
      expectLength(m, 3)
      field(m, 1, isTaskOutputLines, `lines (at most ${MAX_TASK_OUTPUT_LINES} of [time, level, key or null, text of at most ${MAX_TASK_OUTPUT_LINE_CHARS} characters])`)
      field(m, 2, (v): v is number => Number.isInteger(v) && (v as number) >= 0, 'dropped (a count)')
      break
    case 'run-result':
      expectLength(m, 4)
      field(m, 1, isId, 'run id')
      field(m, 2, (v): v is 0 | 1 => v === 0 || v === 1, 'outcome (0 returned, 1 raised)')
      field(m, 3, isBytes, 'value')
      break
    case 'replicated':
      expectLength(m, 2)
      field(m, 1, isReplicatedEntries, `entries ([key, null or an error of at most ${MAX_REASON_CHARS} characters][])`)
      break
    default:
      fail(m, 'not a message a worker sends')
  }
  return m as Exclude<WorkerToScheduler, HelloWorker>
}

const TASK_OUTPUT_LEVELS: ReadonlySet<unknown> = new Set(['debug', 'info', 'warn', 'error'])

function isTaskOutputLines(v: unknown): v is TaskOutputLine[] {
  return (
    Array.isArray(v) &&
    v.length <= MAX_TASK_OUTPUT_LINES &&
    v.every(
      (l) =>
        Array.isArray(l) &&
        l.length === 4 &&
        typeof l[0] === 'number' &&
        TASK_OUTPUT_LEVELS.has(l[1]) &&
        (l[2] === null || isKey(l[2])) &&
        typeof l[3] === 'string' &&
        l[3].length <= MAX_TASK_OUTPUT_LINE_CHARS,
    )
  )
}

const MAX_REASON_CHARS = 1000

function isReplicatedEntries(v: unknown): v is [string, string | null][] {
  return (
    Array.isArray(v) &&
    v.every((e) => Array.isArray(e) && e.length === 2 && isKey(e[0]) && (e[1] === null || (typeof e[1] === 'string' && e[1].length <= MAX_REASON_CHARS)))
  )
}

function isBoolean(v: unknown): v is boolean {
  return typeof v === 'boolean'
}

function isNamesOrNull(v: unknown): v is string[] | null {
  return v === null || (Array.isArray(v) && v.every(isName))
}

function isTimeout(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 2 ** 31 - 1
}

function isUsage(v: unknown): v is WorkerUsage {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false
  const o = v as Record<string, unknown>
  if (!['cpu', 'sent', 'received', 'executing', 'ready'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= 0)) return false
  const t = o.transfers
  return t === undefined || (Array.isArray(t) && t.length % 3 === 0 && t.length <= MAX_HEARTBEAT_TRANSFERS * 3 && t.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0))
}

function isMemory(v: unknown): v is WorkerMemory {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false
  const o = v as Record<string, unknown>
  return ['managed', 'spilled', 'process'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= 0)
}

/** napi Buffers must be Node Buffers; msgpackr gives Buffers for bin but a typed-array extension could differ. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
