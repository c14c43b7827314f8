import { InvalidTaskError } from './errors'
import { ShippedFunction } from './functions'
import type { Task } from './task'

/** What one submit sends: the tasks not yet known to the scheduler and the functions they ship. */
export interface GraphBatch {
  /** Dependencies before dependents. */
  tasks: Task[]
  functions: ShippedFunction[]
}

/**
 * @internal used by the client.
 * Collects `roots` and every Task upstream of them, each key once. A key for
 * which `isKnown` is true is already held by the scheduler: it is left out
 * and so is everything above it.
 */
export function collectGraph(roots: readonly Task[], isKnown: (key: string) => boolean): GraphBatch {
  const byKey = new Map<string, Task>()
  const tasks: Task[] = []
  const functions = new Map<string, ShippedFunction>()
  // Iterative post-order walk: a deep chain of tasks must not overflow the stack.
  const stack: { task: Task; next: number }[] = []
  const visit = (t: Task): boolean => {
    const prior = byKey.get(t.key)
    if (prior !== undefined) {
      if (prior !== t && !prior.payload.equals(t.payload)) {
        throw new InvalidTaskError(`two different tasks have the key ${t.key} (${prior.name} and ${t.name}); keys must be unique`)
      }
      return false
    }
    byKey.set(t.key, t)
    return !isKnown(t.key)
  }
  for (const root of roots) {
    if (!visit(root)) continue
    if (root.upstream.length === 0) {
      tasks.push(root)
      if (root.fn instanceof ShippedFunction) functions.set(root.fn.hash, root.fn)
      continue
    }
    stack.push({ task: root, next: 0 })
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top.next < top.task.upstream.length) {
        const up = top.task.upstream[top.next++]
        if (visit(up)) stack.push({ task: up, next: 0 })
        continue
      }
      stack.pop()
      tasks.push(top.task)
      const fn = top.task.fn
      if (fn instanceof ShippedFunction) functions.set(fn.hash, fn)
    }
  }
  return { tasks, functions: [...functions.values()] }
}
