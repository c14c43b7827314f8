import { KeyRef } from '../protocol'
import { UndecodableInput } from './hand-off'

/**
 * The values of a task's inputs on its execution thread. The arguments usually
 * name the dependencies in the order the scheduler lists them, so the next
 * input is tried before a search by key.
 */
class InputValues {
  private next = 0

  constructor(
    private readonly keys: readonly string[],
    private readonly values: readonly unknown[],
  ) {}

  of(key: string): unknown {
    let i = this.next
    if (i < this.keys.length && this.keys[i] === key) this.next = i + 1
    else i = this.keys.indexOf(key)
    if (i === -1) throw new Error(`the task's arguments name '${key}', which is not among its dependencies`)
    const value = this.values[i]
    if (value instanceof UndecodableInput) throw new Error(`input '${key}' could not be decoded: ${value.error.message}`)
    return value
  }
}

/**
 * Replaces every KeyRef in a task's freshly decoded arguments with the value
 * it names, in place (the arguments belong to this one run). Dependencies can
 * sit inside arrays, plain objects and Maps.
 */
export function resolveRefs(args: unknown[], depKeys: readonly string[], depValues: readonly unknown[]): unknown[] {
  const inputs = new InputValues(depKeys, depValues)
  for (let i = 0; i < args.length; i++) args[i] = resolve(args[i], inputs)
  return args
}

function resolve(value: unknown, inputs: InputValues): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof KeyRef) return inputs.of(value.key)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolve(value[i], inputs)
    return value
  }
  if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, resolve(v, inputs))
    return value
  }
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Set) return value
  const obj = value as Record<string, unknown>
  for (const k of Object.keys(obj)) obj[k] = resolve(obj[k], inputs)
  return obj
}
