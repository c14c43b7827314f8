import type { DependencyLocation, WireCompute } from '../protocol'
import type { FunctionRef } from '../graph/payload'

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

/** One compute instruction as the worker tracks it. */
export class TaskRecord {
  phase = Phase.Ready
  /** Dependencies not held locally yet. */
  missing = 0
  /** Keys being fetched for this task (null when none were missing). */
  awaiting: string[] | null = null
  fn: FunctionRef | null = null
  args: unknown[] | null = null
  /** It is the worker's table entry for its key (a later compute of the key replaces it). */
  listed = false

  constructor(
    readonly task: number,
    readonly run: number,
    readonly key: string,
    readonly payload: Uint8Array,
    readonly deps: DependencyLocation[],
  ) {}

  static from(c: WireCompute): TaskRecord {
    return new TaskRecord(c[0], c[1], c[2], c[3], c[4])
  }
}
