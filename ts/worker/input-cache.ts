/**
 * Inputs an execution thread keeps decoded, so an input used by many tasks
 * (a shuffle's input, read by every piece of it) crosses to the thread and is
 * decoded once, not once per task. The I/O thread decides what the thread
 * keeps (InputDirectory) and sends each kept input's bytes once; the thread
 * follows (InputCache): the two agree because batches arrive in order and the
 * thread applies each batch's evictions after the batch.
 */

/** Encoded bytes kept per thread (the decoded values take more). */
const BUDGET_BYTES = 64 * 1024 * 1024
const MAX_KEYS = 16_384

const NONE: string[] = []

/** The I/O thread's record of what one execution thread keeps. */
export class InputDirectory {
  /** Key -> encoded length, least recently used first. */
  private readonly kept = new Map<string, number>()
  private bytes = 0
  /** Keys the thread is to drop after the next batch. */
  private evictions = new Set<string>()
  /** Keys used by the batch being built: never evicted by it. */
  private readonly inBatch = new Set<string>()

  /** Whether the thread keeps `key` (then the batch names it and sends no bytes); marks it used. */
  has(key: string): boolean {
    const length = this.kept.get(key)
    if (length === undefined) return false
    this.kept.delete(key)
    this.kept.set(key, length)
    this.inBatch.add(key)
    return true
  }

  /** The batch sends `key`'s bytes: the thread keeps it from now on. */
  add(key: string, length: number): void {
    // Forgotten earlier and sent again now: the thread must keep the new value, not drop it after this batch.
    this.evictions.delete(key)
    this.kept.set(key, length)
    this.bytes += length
    this.inBatch.add(key)
    if (this.bytes <= BUDGET_BYTES && this.kept.size <= MAX_KEYS) return
    for (const [old, n] of this.kept) {
      if (this.bytes <= BUDGET_BYTES && this.kept.size <= MAX_KEYS) break
      // A key this batch uses stays: the thread reads every input of the batch before its evictions.
      if (this.inBatch.has(old)) break
      this.forgetKept(old, n)
    }
  }

  /** The worker no longer holds `key`: the thread lets it go with the next batch. */
  forget(key: string): void {
    // Every freed key comes here, once per thread: most threads keep nothing.
    if (this.kept.size === 0) return
    const n = this.kept.get(key)
    if (n !== undefined) this.forgetKept(key, n)
  }

  /** What the thread must drop after the batch being finished; starts a new batch. */
  takeEvictions(): string[] {
    this.inBatch.clear()
    if (this.evictions.size === 0) return NONE
    const out = [...this.evictions]
    this.evictions.clear()
    return out
  }

  private forgetKept(key: string, n: number): void {
    this.kept.delete(key)
    this.bytes -= n
    this.evictions.add(key)
  }
}

/** The execution thread's decoded inputs, kept as its I/O thread says. */
export class InputCache {
  private readonly values = new Map<string, unknown>()

  get(key: string): unknown {
    if (!this.values.has(key)) throw new Error(`input '${key}' was to be kept on this thread but is not (a hand-off bug)`)
    return this.values.get(key)
  }

  set(key: string, value: unknown): void {
    this.values.set(key, value)
  }

  evict(keys: readonly string[]): void {
    for (const key of keys) this.values.delete(key)
  }
}
