import type { DependencyLocation, WireCompute } from '../protocol'
import type { FunctionRef } from '../graph/payload'
import type { KeySlot } from './keys'

export const enum Phase {
  /** Waiting for inputs from peers. */
  Fetching,
  /** Waiting for its function's source or module. */
  Loading,
  Ready,
  Running,
  Done,
  /** Freed by the scheduler or abandoned for missing data; its outcome is not reported. */
  Dropped,
}

/** The inputs of a task that needs none, or has given them back (never written: tasks with dependencies get their own). */
export const NO_INPUTS: (KeySlot | undefined)[] = []

/** One compute instruction as the worker tracks it. */
export class TaskRecord {
  phase = Phase.Ready
  /** Dependencies not held locally yet. */
  missing = 0
  /**
   * The slots of its dependencies, in the order of `deps`, each once the task holds a
   * reference to it (a hole while it is fetched); then the task needs no lookup to
   * read or release them.
   */
  inputs = NO_INPUTS
  fn: FunctionRef | null = null
  args: unknown[] | null = null

  constructor(
    readonly task: number,
    readonly run: number,
    readonly key: string,
    readonly payload: Uint8Array,
    readonly deps: DependencyLocation[],
    /** Its key's slot, which lists this task until it settles or a later compute of the key replaces it. */
    readonly slot: KeySlot,
  ) {}

  static from(c: WireCompute, slot: KeySlot): TaskRecord {
    return new TaskRecord(c[0], c[1], c[2], c[3], c[4], slot)
  }
}
