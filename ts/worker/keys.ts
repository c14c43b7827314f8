import type { TaskRecord } from './task'

/** A value's encoded bytes in a file of the worker's spill directory. */
export class SpillFile {
  constructor(
    readonly path: string,
    readonly length: number,
  ) {}
}

/**
 * Everything the worker keeps for one key: the run it computes for the key
 * and the data it stores under the key. One object for both, so a task finds
 * where its result goes without a lookup, and a key costs one table entry.
 */
export class KeySlot {
  constructor(
    /** The key (the same string as the table's). */
    readonly key: string,
  ) {}

  /** The run of this key the worker is working on (a later compute of the key replaces it). */
  task: TaskRecord | null = null
  /**
   * The memory holding the data's encoded bytes (at `offset`, `length` long); null while
   * the worker holds no data for the key. Not a view of them: a view object per key would
   * outweigh small data several times over and make every garbage collection slower.
   */
  memory: ArrayBufferLike | null = null
  offset = 0
  length = 0
  /** The scheduler knows this worker holds the data (computed or scattered here); only 'free' drops it. */
  owned = false
  /** Local tasks that still need the data; a fetched copy goes when this drops to zero. */
  refs = 0
  /** Where the data is while it is spilled (then `memory` is null and `length` still says its size). */
  spilled: SpillFile | null = null
  /** A write to disk under way (the data is still in `memory` until it completes). */
  writing: SpillFile | null = null
  /** Neighbours in the data store's least-recently-used list of values in memory. */
  older: KeySlot | null = null
  newer: KeySlot | null = null
}

/** The worker's one table by key, shared by its task list and its data store. */
export class KeyTable {
  private readonly slots = new Map<string, KeySlot>()

  get(key: string): KeySlot | undefined {
    return this.slots.get(key)
  }

  /** The key's slot, made if there is none. */
  slot(key: string): KeySlot {
    let slot = this.slots.get(key)
    if (slot === undefined) {
      slot = new KeySlot(key)
      this.slots.set(key, slot)
    }
    return slot
  }

  /** The keys whose data the worker holds for the scheduler (computed, scattered or copied here), at most `limit`. */
  heldKeys(limit: number): string[] {
    const keys: string[] = []
    for (const [key, slot] of this.slots) {
      if (keys.length >= limit) break
      if (slot.owned && (slot.memory !== null || slot.spilled !== null)) keys.push(key)
    }
    return keys
  }

  /** Forgets the slot once it lists no task and holds no data. */
  prune(key: string, slot: KeySlot): void {
    if (slot.task === null && slot.memory === null && slot.spilled === null) this.slots.delete(key)
  }
}
