import { KeyRef } from '../protocol'
import type { DataStore } from './store'
import type { TaskRecord } from './task'

/**
 * The values a task's KeyRefs name, read from the slots the task holds. The
 * arguments usually name the dependencies in the order the scheduler lists
 * them, so the next input is tried before a lookup by key.
 */
class InputValues {
  private next = 0

  constructor(
    private readonly task: TaskRecord,
    private readonly store: DataStore,
  ) {}

  of(key: string): unknown {
    const i = this.next
    const deps = this.task.deps
    if (i < deps.length && deps[i][0] === key) {
      this.next = i + 1
      return this.store.valueIn(this.task.inputs[i]!)
    }
    return this.store.value(key)
  }
}

/**
 * Replaces every KeyRef in a task's freshly decoded arguments with the value
 * it names, in place (the arguments belong to this one run). Dependencies can
 * sit inside arrays, plain objects and Maps.
 */
export function resolveRefs(args: unknown[], task: TaskRecord, store: DataStore): unknown[] {
  const inputs = new InputValues(task, store)
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
