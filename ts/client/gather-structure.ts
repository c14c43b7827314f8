import { isPlainObject, KeyRef } from '../protocol'
import { InvalidTaskError } from '../graph'
import { Future } from './future'

/**
 * The value `gather` gives for `T`: every Future replaced by its value, inside arrays, plain
 * objects, Maps and Sets at any depth; anything else as it is.
 */
export type Gathered<T> =
  T extends Future<infer R>
    ? R
    : T extends Uint8Array | ArrayBufferView | ArrayBuffer | Date | RegExp | Error | ((...args: never[]) => unknown)
      ? T
      : T extends ReadonlyMap<infer K, infer V>
        ? Map<K, Gathered<V>>
        : T extends ReadonlySet<infer V>
          ? Set<Gathered<V>>
          : T extends readonly unknown[]
            ? { -readonly [I in keyof T]: Gathered<T[I]> }
            : T extends object
              ? { -readonly [P in keyof T]: Gathered<T[P]> }
              : T

/** The futures inside `structure` (arrays, plain objects, Maps, Sets), in the order `rebuild` consumes them. */
export function futuresIn(structure: unknown): Future[] {
  const found: Future[] = []
  walk(structure, found, new Set())
  return found
}

function walk(value: unknown, found: Future[], path: Set<object>): void {
  if (value instanceof Future) {
    found.push(value)
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (!(Array.isArray(value) || isPlainObject(value) || value instanceof Map || value instanceof Set)) return
  if (path.has(value)) throw new InvalidTaskError('gather: the structure refers back to itself (a cycle)')
  path.add(value)
  if (Array.isArray(value)) for (const v of value) walk(v, found, path)
  else if (value instanceof Map) for (const v of value.values()) walk(v, found, path)
  else if (value instanceof Set) for (const v of value) walk(v, found, path)
  else for (const k in value) walk((value as Record<string, unknown>)[k], found, path)
  path.delete(value)
}

/** A copy of `structure` (its arrays, plain objects, Maps and Sets) with each leaf `replace` takes replaced. */
function copyReplacing(structure: unknown, replace: (leaf: unknown) => { with: unknown } | null): unknown {
  const copy = (value: unknown): unknown => {
    const replaced = replace(value)
    if (replaced !== null) return replaced.with
    if (Array.isArray(value)) return value.map(copy)
    if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, copy(v)]))
    if (value instanceof Set) return new Set([...value].map(copy))
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {}
      for (const k in value) out[k] = copy(value[k])
      return out
    }
    return value
  }
  return copy(structure)
}

/** A copy of `structure` with each future replaced by the next of `values` (same order as `futuresIn`). */
export function rebuild(structure: unknown, values: readonly unknown[]): unknown {
  let next = 0
  return copyReplacing(structure, (leaf) => (leaf instanceof Future ? { with: values[next++] } : null))
}

/** A copy of `structure` with each KeyRef replaced by `future(key)` (a published dataset as it arrives). */
export function withFutures(structure: unknown, future: (key: string) => Future): unknown {
  return copyReplacing(structure, (leaf) => (leaf instanceof KeyRef ? { with: future(leaf.key) } : null))
}
