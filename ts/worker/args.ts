import { KeyRef } from '../protocol'
import type { DataStore } from './store'

/**
 * Replaces every KeyRef in freshly decoded task arguments with the value it
 * names, in place (the arguments belong to this one run). Dependencies can sit
 * inside arrays, plain objects and Maps.
 */
export function resolveRefs(args: unknown[], store: DataStore): unknown[] {
  for (let i = 0; i < args.length; i++) args[i] = resolve(args[i], store)
  return args
}

function resolve(value: unknown, store: DataStore): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof KeyRef) return store.value(value.key)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolve(value[i], store)
    return value
  }
  if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, resolve(v, store))
    return value
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Set) return value
  const obj = value as Record<string, unknown>
  for (const k of Object.keys(obj)) obj[k] = resolve(obj[k], store)
  return obj
}
