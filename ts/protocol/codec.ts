import { Packr, addExtension } from 'msgpackr'

/**
 * A reference to another task's result inside task arguments. Dependencies
 * are found by this type, never by comparing strings with keys: a plain
 * string argument that happens to equal a key stays a string.
 */
export class KeyRef {
  constructor(readonly key: string) {}
}

const KEY_REF_EXTENSION = 0x4b // 'K'

addExtension({
  Class: KeyRef,
  type: KEY_REF_EXTENSION,
  write: (ref: KeyRef) => ref.key,
  read: (key: string) => new KeyRef(key),
})

/**
 * The one codec shared by client, scheduler and worker. Every frame decodes
 * on its own (no structures shared between frames). Plain objects come back
 * as objects and Maps as Maps; Dates, Buffers, typed arrays, Sets and bigints
 * round-trip.
 */
const packr = new Packr({ moreTypes: true, int64AsType: 'number' })

/** Past this, the encoder's buffer is not kept for the next value. */
const KEEP_BUFFER_BYTES = 1 << 20

export function encode(value: unknown): Buffer {
  const bytes = packr.pack(value)
  // msgpackr keeps the buffer it grew (twice the largest value) and allocates the next ones as
  // large: after one big value a thread would hold that much for good. The returned bytes stay
  // valid (they are a view of the old buffer, which nothing writes to again).
  if (bytes.byteLength > KEEP_BUFFER_BYTES) packr.useBuffer(Buffer.allocUnsafeSlow(8192))
  return bytes
}

/**
 * Encodes `value` into `memory` from its start when it fits there (the bytes are then a view of
 * it), else into memory of the encoder's own, as `encode` does. For a large value whose size is
 * known ahead (see `binarySize`): the encoder would otherwise grow its buffer to twice the value.
 */
export function encodeInto(value: unknown, memory: Buffer): Buffer {
  packr.useBuffer(memory)
  try {
    return packr.pack(value)
  } finally {
    packr.useBuffer(Buffer.allocUnsafeSlow(8192))
  }
}

/** Members of a flat array or object that `binarySize` looks at, at most. */
const MAX_SIZED_MEMBERS = 64

/**
 * An upper bound of the encoded size of `value` when it is binary (a Buffer, typed array or
 * DataView) or a flat array or plain object of binary views, numbers, booleans and nulls;
 * 0 for anything else (its size is not known without encoding it).
 */
export function binarySize(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength + 16
  if (typeof value !== 'object' || value === null) return 0
  if (Array.isArray(value)) {
    if (value.length > MAX_SIZED_MEMBERS) return 0
    let size = 16
    for (const member of value) {
      const n = memberSize(member)
      if (n === 0) return 0
      size += n
    }
    return size
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return 0
  let size = 16
  let count = 0
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue
    if (++count > MAX_SIZED_MEMBERS) return 0
    const n = memberSize((value as Record<string, unknown>)[key])
    if (n === 0) return 0
    size += n + 8 + 3 * key.length
  }
  return size
}

function memberSize(member: unknown): number {
  if (ArrayBuffer.isView(member)) return member.byteLength + 16
  const t = typeof member
  return t === 'number' || t === 'boolean' || member === null ? 16 : 0
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}

/** One options object for every ranged decode (the decoder reads it at once and keeps no reference). */
const range = { start: 0, end: 0 }

/** The one value encoded in `bytes` from `start` to `end` (default: the end). */
export function decodeFrom(bytes: Uint8Array, start: number, end: number = bytes.length): unknown {
  range.start = start
  range.end = end
  return packr.unpack(bytes, range)
}

export class UnencodableValueError extends Error {
  readonly code = 'SKEIN_UNENCODABLE'
}

/**
 * msgpackr silently drops functions and fails late on symbols; a task result
 * or argument must either round-trip or fail with a message naming the path.
 * The check builds no path strings (it runs on every result); only a value
 * that fails is walked again to name where. `path` may be a function, called
 * only then.
 */
export function assertEncodable(value: unknown, path: string | (() => string) = 'value'): void {
  const t = typeof value
  if (t !== 'object' && t !== 'function' && t !== 'symbol') return
  const depth = ancestors.length
  let ok: boolean
  try {
    ok = encodable(value)
  } finally {
    // A getter that threw (or a check that began inside one) leaves the path as it found it.
    ancestors.length = depth
  }
  if (ok) return
  explain(value, typeof path === 'function' ? path() : path, new Set())
  throw new UnencodableValueError(`${typeof path === 'function' ? path() : path} cannot be encoded`)
}

/** Whether a value needs checking beyond its type: objects, functions, symbols. */
function isCompound(t: string): boolean {
  return t === 'object' || t === 'function' || t === 'symbol'
}

/**
 * The objects on the path from the value being checked down to the one being looked at: one
 * reused array, not a Set per check (results are checked one per task). Finding a cycle scans
 * it, which costs the path's depth; plain data is shallow.
 */
const ancestors: object[] = []

function encodable(value: unknown): boolean {
  const t = typeof value
  if (t === 'function' || t === 'symbol') return false
  if (t !== 'object' || value === null) return true
  const obj = value as object
  if (ArrayBuffer.isView(obj) || obj instanceof Date || obj instanceof ArrayBuffer || obj instanceof KeyRef) return true
  if (ancestors.includes(obj)) return false
  ancestors.push(obj)
  let ok = true
  if (Array.isArray(obj)) {
    for (let i = 0; ok && i < obj.length; i++) {
      const v: unknown = obj[i]
      if (isCompound(typeof v)) ok = encodable(v)
    }
  } else if (obj instanceof Map) {
    for (const v of obj.values()) if (!(ok = encodable(v))) break
  } else if (obj instanceof Set) {
    for (const v of obj) if (!(ok = encodable(v))) break
  } else {
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null && !(obj instanceof Error)) ok = false
    else {
      for (const k in obj) {
        if (!Object.prototype.hasOwnProperty.call(obj, k)) continue
        const v: unknown = (obj as Record<string, unknown>)[k]
        if (isCompound(typeof v) && !(ok = encodable(v))) break
      }
    }
  }
  ancestors.pop()
  return ok
}

/** Throws the error naming the first unencodable part of `value` (the slow walk, with paths). */
function explain(value: unknown, path: string, seen: Set<object>): void {
  const t = typeof value
  if (t === 'function') throw new UnencodableValueError(`${path} is a function, which cannot be sent between processes`)
  if (t === 'symbol') throw new UnencodableValueError(`${path} is a symbol, which cannot be sent between processes`)
  if (t !== 'object' || value === null) return
  const obj = value as object
  if (ArrayBuffer.isView(obj) || obj instanceof Date || obj instanceof ArrayBuffer || obj instanceof KeyRef) return
  if (seen.has(obj)) throw new UnencodableValueError(`${path} refers back to itself (a cycle), which cannot be encoded`)
  seen.add(obj)
  if (Array.isArray(obj)) obj.forEach((v, i) => explain(v, `${path}[${i}]`, seen))
  else if (obj instanceof Map) for (const [k, v] of obj) explain(v, `${path}.get(${String(k)})`, seen)
  else if (obj instanceof Set) for (const v of obj) explain(v, `${path} (set member)`, seen)
  else {
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null && !(obj instanceof Error)) {
      throw new UnencodableValueError(`${path} is an instance of ${proto?.constructor?.name ?? 'a class'}; only plain data (objects, arrays, Maps, Sets, Dates, Buffers, typed arrays) can be sent`)
    }
    for (const k of Object.keys(obj)) explain((obj as Record<string, unknown>)[k], `${path}.${k}`, seen)
  }
  seen.delete(obj)
}
