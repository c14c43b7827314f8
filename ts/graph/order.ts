import { InvalidTaskError } from './errors'
import { ShippedFunction } from './functions'
import type { Task } from './task'

/** What a submit of some roots has to send, in dependency order. */
export interface GraphOrder {
  /**
   * Every Task upstream of the roots (roots included) whose key is not known, each
   * object once, dependencies before dependents (depth-first post-order). Two
   * different objects with one derived key both appear (dedupe by key is the
   * sender's job, per submitted graph).
   */
  tasks: Task[]
  /** Per position: the position of the last task that depends on it, or -1. */
  lastUse: number[]
  /** Shipped functions used, each once. */
  functions: ShippedFunction[]
  /** Some task names a dependency by a bare KeyRef (which may point anywhere, also later in the graph). */
  looseRefs: boolean
}

let walks = 0

/**
 * @internal used by the client.
 * Walks the Task objects upstream of `roots` without building anything per
 * key: visited tasks are marked on the Task object itself, so a 100k-task
 * graph costs a few milliseconds. A key for which `isKnown` is true is held
 * by the scheduler: it is left out and so is everything above it. Two
 * different tasks with one explicit key throw InvalidTaskError.
 */
export function orderGraph(roots: readonly Task[], isKnown: (key: string) => boolean): GraphOrder {
  const walk = ++walks
  const tasks: Task[] = []
  const lastUse: number[] = []
  const functions: ShippedFunction[] = []
  let lastFn: unknown = null
  let looseRefs = false
  let explicit: Map<string, Task> | null = null
  // Iterative post-order: a deep chain of tasks must not overflow the stack.
  const stack: Task[] = []
  const next: number[] = []

  const enter = (t: Task): boolean => {
    if (t.walk === walk) return false
    t.walk = walk
    t.position = -1
    if (t.explicitKey) {
      const prior = (explicit ??= new Map()).get(t.key)
      if (prior !== undefined && !prior.payload.equals(t.payload)) {
        throw new InvalidTaskError(`two different tasks have the key ${t.key} (${prior.name} and ${t.name}); keys must be unique`)
      }
      explicit.set(t.key, t)
    }
    return !isKnown(t.key)
  }
  const emit = (t: Task): void => {
    const at = tasks.length
    t.position = at
    tasks.push(t)
    lastUse.push(-1)
    const up = t.upstream
    for (let i = 0; i < up.length; i++) {
      const u = up[i]
      if (u.walk === walk && u.position >= 0) lastUse[u.position] = at
    }
    if (t.looseRefs) looseRefs = true
    const fn = t.fn
    if (fn !== lastFn && fn instanceof ShippedFunction) {
      lastFn = fn
      if (!functions.includes(fn)) functions.push(fn)
    }
  }

  for (const root of roots) {
    if (!enter(root)) continue
    if (root.upstream.length === 0) {
      emit(root)
      continue
    }
    stack.push(root)
    next.push(0)
    while (stack.length > 0) {
      const top = stack.length - 1
      const t = stack[top]
      const i = next[top]
      if (i < t.upstream.length) {
        next[top] = i + 1
        const up = t.upstream[i]
        if (enter(up)) {
          if (up.upstream.length === 0) emit(up)
          else {
            stack.push(up)
            next.push(0)
          }
        }
        continue
      }
      stack.pop()
      next.pop()
      emit(t)
    }
  }
  return { tasks, lastUse, functions, looseRefs }
}
