import type { DependencyLocation, WireCompute, WirePriority } from '../protocol'
import type { KeySlot } from './keys'

export const enum Phase {
  /** Waiting for inputs from peers. */
  Fetching,
  /** In the ready queue, waiting for an execution thread. */
  Ready,
  /** Handed to an execution thread (queued there or running). */
  Running,
  Done,
  /** Freed by the scheduler or abandoned for missing data; its outcome is not reported. */
  Dropped,
}

/** The inputs of a task that needs none, or has given them back (never written: tasks with dependencies get their own). */
export const NO_INPUTS: (KeySlot | undefined)[] = []

/** Sorts after every priority the scheduler sends (a compute without one, from an older scheduler). */
const LOWEST: WirePriority = [-(2 ** 31), 2 ** 32, 2 ** 32]

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
  /** The execution pool's handle while handed to a thread (-1 otherwise). */
  handle = -1
  /** The scheduler was told it is executing. */
  reportedExecuting = false
  /** The scheduler was told it seceded from its slot (once per run). */
  reportedLongRunning = false
  /** Order of arrival in the ready queue (ties between equal priorities). */
  arrival = 0

  constructor(
    readonly task: number,
    readonly run: number,
    readonly key: string,
    readonly payload: Uint8Array,
    readonly deps: DependencyLocation[],
    readonly priority: WirePriority,
    /** Its key's slot, which lists this task until it settles or a later compute of the key replaces it. */
    readonly slot: KeySlot,
    /** No task depends on it: its result may wait for a later report (see DEFERRED_REPORT_MS in hand-off.ts). */
    readonly deferrable: boolean,
  ) {}

  static from(c: WireCompute, slot: KeySlot): TaskRecord {
    return new TaskRecord(c[0], c[1], c[2], c[3], c[4], Array.isArray(c[5]) ? c[5] : LOWEST, slot, c[6] === true)
  }
}
