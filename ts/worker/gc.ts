import v8 from 'node:v8'
import vm from 'node:vm'

let collector: (() => void) | null | undefined

/**
 * The engine's full garbage collection, for a thread that knows large buffers just became
 * garbage: they go back to the system only once collected, and an idle thread may not collect
 * for a long while. Null if the engine does not give it.
 */
export function garbageCollector(): (() => void) | null {
  if (collector !== undefined) return collector
  const exposed = (globalThis as { gc?: unknown }).gc
  if (typeof exposed === 'function') return (collector = exposed as () => void)
  try {
    // The flag makes the next context expose gc(); this thread's own global stays as it is.
    v8.setFlagsFromString('--expose-gc')
    const gc: unknown = vm.runInNewContext('gc')
    collector = typeof gc === 'function' ? (gc as () => void) : null
  } catch {
    collector = null
  }
  return collector
}
