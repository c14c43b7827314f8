import { checkFunctionSource } from '../graph/hash'

const UNKNOWN_FUNCTION = 'SKEIN_UNKNOWN_FUNCTION'

/**
 * Why a source cannot be had: SKEIN_UNKNOWN_FUNCTION (the scheduler has none) or
 * SKEIN_FUNCTION_HASH_MISMATCH (it sent a source that is not the function asked for).
 */
export interface SourceRefusal {
  code: string
  reason: string
}

/** Whoever asked for a source, told once it arrives or is refused. */
export interface SourceWaiter {
  source(hash: string, source: string, name: string): void
  refused(hash: string, refusal: SourceRefusal): void
}

/**
 * Shipped functions' sources on the I/O thread: asked from the scheduler once
 * per hash, kept for execution threads that start later (a replaced thread
 * compiles them again without asking the scheduler). A function the scheduler
 * does not know fails the tasks waiting for it then, and is asked for again by
 * the next task that needs it.
 */
export class SourceCache {
  private readonly sources = new Map<string, { source: string; name: string }>()
  private readonly refusals = new Map<string, SourceRefusal>()
  private readonly waiting = new Map<string, Set<SourceWaiter>>()
  /** Hashes asked for, in order: the scheduler answers each 'fn?' in turn, and a refusal does not repeat the hash. */
  private readonly asked: string[] = []

  constructor(private readonly askScheduler: (hash: string) => void) {}

  /** `waiter` needs the source of `hash`: answered now if known, else once the scheduler answers. */
  need(hash: string, waiter: SourceWaiter): void {
    const known = this.sources.get(hash)
    if (known !== undefined) return waiter.source(hash, known.source, known.name)
    const refusal = this.refusals.get(hash)
    if (refusal !== undefined) return waiter.refused(hash, refusal)
    let waiters = this.waiting.get(hash)
    if (waiters === undefined) {
      this.waiting.set(hash, (waiters = new Set()))
      this.asked.push(hash)
      this.askScheduler(hash)
    }
    waiters.add(waiter)
  }

  /** The scheduler sent a source; one that does not hash to `hash` is refused, never run. */
  define(hash: string, source: string, name: string): void {
    const mismatch = checkFunctionSource(hash, source, name)
    if (mismatch !== null) return this.refuse(hash, { code: mismatch.code, reason: mismatch.message })
    this.answered(hash)
    this.sources.set(hash, { source, name })
    const waiters = this.waiting.get(hash)
    this.waiting.delete(hash)
    for (const w of waiters ?? []) w.source(hash, source, name)
  }

  /** The scheduler refused the oldest outstanding request. */
  refuseOldest(reason: string): void {
    const hash = this.asked[0]
    if (hash !== undefined) this.refuse(hash, { code: UNKNOWN_FUNCTION, reason })
  }

  private refuse(hash: string, refusal: SourceRefusal): void {
    this.answered(hash)
    // "Unknown" holds only until a client registers the function (one may be about to: a client
    // that closed took its functions along, the next one brings them again): the next task that
    // needs it asks anew. A source that does not match its hash stays refused.
    if (refusal.code !== UNKNOWN_FUNCTION) this.refusals.set(hash, refusal)
    const waiters = this.waiting.get(hash)
    this.waiting.delete(hash)
    for (const w of waiters ?? []) w.refused(hash, refusal)
  }

  private answered(hash: string): void {
    const i = this.asked.indexOf(hash)
    if (i !== -1) this.asked.splice(i, 1)
  }

  /** `waiter` is gone (its thread was replaced): it is not answered. */
  forget(waiter: SourceWaiter): void {
    for (const waiters of this.waiting.values()) waiters.delete(waiter)
  }
}
