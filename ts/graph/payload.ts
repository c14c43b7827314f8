import { decode, decodeFrom, encode, KeyRef } from '../protocol'
import { MAX_PLAIN_BYTES, writePlainValue } from './plain-value'

/**
 * What a task payload holds: which function to run and its arguments. The
 * scheduler never looks inside; the client encodes it and the worker decodes
 * it. Arguments are encoded with the shared codec, dependencies appearing as
 * KeyRef values wherever they sit (also inside arrays and objects).
 */
export type FunctionRef =
  /** A self-contained function shipped as source, registered with the scheduler under its hash. */
  | [kind: 0, hash: string, name: string]
  /** A function the worker imports: module specifier (absolute path, file URL or package) and export name. */
  | [kind: 1, specifier: string, exportName: string]

export const SHIPPED = 0
export const MODULE = 1

/** How the worker runs the task; only what differs from the defaults travels. */
export interface RunOptions {
  /** Stop the run and err the task after this many milliseconds. */
  timeoutMs?: number
}

export interface TaskPayload {
  fn: FunctionRef
  args: unknown[]
  options: RunOptions | null
}

/** [fn, args], or [fn, args, options] when a run option is set. */
export function encodeTaskPayload(fn: FunctionRef, args: unknown[], options?: RunOptions): Buffer {
  return encode(options === undefined ? [fn, args] : [fn, args, options])
}

/** Where `encodePlainPayload` writes; grown to the largest payload it made. */
let scratch = Buffer.allocUnsafe(1024)

/** 0xd4 (fixext 1), then the codec's extension type of a KeyRef and the byte it writes after. */
const KEY_REF_HEAD = [0xd4, 0x4b, 0x00]

/**
 * [fn, args] as `encodeTaskPayload` encodes it (same bytes), written by hand when every argument
 * is plain (see writePlainValue) or a KeyRef: the arguments of most tasks (a number, a few
 * dependencies) skip the codec's per-value dispatch, whose extension lookup is slow for KeyRefs.
 * Null for any other arguments. `refBytes`: the function reference as the codec encodes it.
 */
export function encodePlainPayload(refBytes: Uint8Array, args: readonly unknown[]): Buffer | null {
  const n = args.length
  if (n >= 0x10000) return null
  const need = refBytes.length + 4 + n * (MAX_PLAIN_BYTES + 3)
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need)
  const buf = scratch
  buf[0] = 0x92 // [fn, args]
  buf.set(refBytes, 1)
  let p = 1 + refBytes.length
  if (n < 16) buf[p++] = 0x90 | n
  else {
    buf[p] = 0xdc
    buf[p + 1] = n >> 8
    buf[p + 2] = n & 0xff
    p += 3
  }
  for (let i = 0; i < n; i++) {
    const arg = args[i]
    if (arg instanceof KeyRef) {
      buf[p] = KEY_REF_HEAD[0]
      buf[p + 1] = KEY_REF_HEAD[1]
      buf[p + 2] = KEY_REF_HEAD[2]
      p = writePlainValue(buf, p + 3, arg.key)
    } else p = writePlainValue(buf, p, arg)
    if (p < 0) return null
  }
  const payload = Buffer.allocUnsafe(p)
  buf.copy(payload, 0, 0, p)
  return payload
}

/** The payload encoded in `bytes` (from `start` to `end`, by default all of them). */
export function decodeTaskPayload(bytes: Uint8Array, start = 0, end = bytes.length): TaskPayload {
  const decoded = start === 0 && end === bytes.length ? decode(bytes) : decodeFrom(bytes, start, end)
  if (!Array.isArray(decoded) || (decoded.length !== 2 && decoded.length !== 3) || !Array.isArray(decoded[0]) || !Array.isArray(decoded[1])) {
    throw new Error('task payload is not [function, args] or [function, args, options]')
  }
  const options = decoded.length === 3 ? decoded[2] : null
  if (options !== null && (typeof options !== 'object' || Array.isArray(options))) throw new Error('task payload options are not an object')
  return { fn: decoded[0] as FunctionRef, args: decoded[1] as unknown[], options: options as RunOptions | null }
}

/**
 * Where the arguments start (an index into `bytes`) in a payload encoded from `start` to `end` as
 * [[kind, string, string], args] (the function reference in its usual encoding), or -1 for any
 * other layout. Lets a worker that meets the same function reference bytes again decode only
 * the arguments; the reference is `bytes` from `start + 1` to that index.
 */
export function payloadArgsOffset(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end - start < 5 || bytes[start] !== 0x92 || bytes[start + 1] !== 0x93 || bytes[start + 2] > 1) return -1
  let pos = start + 3
  for (let i = 0; i < 2; i++) {
    const h = bytes[pos]
    if ((h & 0xe0) === 0xa0) pos += 1 + (h & 0x1f)
    else if (h === 0xd9) pos += 2 + bytes[pos + 1]
    else if (h === 0xda) pos += 3 + ((bytes[pos + 1] << 8) | bytes[pos + 2])
    else if (h === 0xdb) pos += 5 + (bytes[pos + 1] * 0x1000000 + ((bytes[pos + 2] << 16) | (bytes[pos + 3] << 8) | bytes[pos + 4]))
    else return -1
    if (pos >= end) return -1
  }
  return pos
}

/** The arguments of a payload ending at `end` whose function reference ends at `argsAt` (see payloadArgsOffset). */
export function decodeTaskArgs(bytes: Uint8Array, argsAt: number, end: number = bytes.length): unknown[] {
  const args = decodeFrom(bytes, argsAt, end)
  if (!Array.isArray(args)) throw new Error('task payload is not [function, args]')
  return args
}

/** What a worker sends when a task throws; opaque to the scheduler, decoded by the client. */
export { encodeTaskFailure, decodeTaskFailure, type RemoteFailure } from './remote-failure'
