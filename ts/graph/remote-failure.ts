import { inspect } from 'node:util'
import { assertEncodable, decode, encode } from '../protocol'

/**
 * What a task threw, as it crosses to the client: an Error's name, message, stack, `code`,
 * `cause` (an Error cause as a failure of its own) and own enumerable fields; or, when the
 * task threw something that is not an Error, that value itself.
 */
export interface RemoteFailure {
  name: string
  message: string
  stack: string
  /** The error's own `code`, when it had a string or number one (e.g. SKEIN_TASK_TIMEOUT, ERR_..., an errno). */
  code?: string | number
  /** The error's `cause`: an Error as a failure of its own, anything else as the value. */
  cause?: RemoteCause
  /** The error's own enumerable fields other than those above (the ones that can be encoded). */
  fields?: Record<string, unknown>
  /** The task threw this value, not an Error (`name` is then 'Thrown' and `message` describes it). */
  thrown?: unknown
  /** Whether it threw a value that is not an Error (`thrown` may then be undefined, null...). */
  threwValue?: boolean
}

/** A cause: an Error (as a failure) or a plain value. */
export type RemoteCause = { error: RemoteFailure } | { value: unknown }

/** Causes followed at most this deep (a cause chain can be a cycle). */
const MAX_CAUSE_DEPTH = 8
const STANDARD_FIELDS = new Set(['name', 'message', 'stack', 'code', 'cause'])

export function encodeTaskFailure(err: unknown): Buffer {
  return encode(describeFailure(err, 0))
}

function describeFailure(err: unknown, depth: number): RemoteFailure {
  if (!(err instanceof Error)) {
    const failure: RemoteFailure = { name: 'Thrown', message: `the task threw ${preview(err)}, not an Error`, stack: '', threwValue: true }
    if (encodable(err)) failure.thrown = err
    return failure
  }
  const failure: RemoteFailure = { name: String(err.name), message: String(err.message), stack: err.stack ?? '' }
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' || typeof code === 'number') failure.code = code
  if ('cause' in err && depth < MAX_CAUSE_DEPTH) {
    const cause = err.cause
    if (cause instanceof Error) failure.cause = { error: describeFailure(cause, depth + 1) }
    else if (encodable(cause)) failure.cause = { value: cause }
  }
  let fields: Record<string, unknown> | undefined
  for (const name of Object.keys(err)) {
    if (STANDARD_FIELDS.has(name)) continue
    const value = (err as unknown as Record<string, unknown>)[name]
    if (encodable(value)) (fields ??= {})[name] = value
  }
  if (fields !== undefined) failure.fields = fields
  return failure
}

function encodable(value: unknown): boolean {
  try {
    assertEncodable(value)
    return true
  } catch {
    return false
  }
}

/** A thrown value as a message shows it (bounded: a huge value makes no message). */
function preview(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : inspect(value, { depth: 2, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 200 })
  return text.length > 300 ? `${text.slice(0, 300)}...` : text
}

export function decodeTaskFailure(bytes: Uint8Array): RemoteFailure {
  try {
    return readFailure(decode(bytes), 0)
  } catch {
    return { name: 'Error', message: 'the task failed with an error that could not be decoded', stack: '' }
  }
}

/** A failure as decoded, every field checked: it comes from a worker. */
function readFailure(v: unknown, depth: number): RemoteFailure {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>
  const failure: RemoteFailure = { name: String(o.name ?? 'Error'), message: String(o.message ?? ''), stack: String(o.stack ?? '') }
  if (typeof o.code === 'string' || typeof o.code === 'number') failure.code = o.code
  if (o.threwValue === true) {
    failure.threwValue = true
    failure.thrown = o.thrown
  }
  const cause = o.cause as Record<string, unknown> | undefined
  if (typeof cause === 'object' && cause !== null && depth < MAX_CAUSE_DEPTH) {
    if ('error' in cause) failure.cause = { error: readFailure(cause.error, depth + 1) }
    else if ('value' in cause) failure.cause = { value: cause.value }
  }
  if (typeof o.fields === 'object' && o.fields !== null && !Array.isArray(o.fields)) failure.fields = o.fields as Record<string, unknown>
  return failure
}
