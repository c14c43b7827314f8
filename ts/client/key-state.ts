/** Several keys awaited together (client.gather): one promise for all of them, not one per key. */
export interface Gathering {
  deliver(index: number, value: unknown): void
  fail(error: Error): void
}

const NO_HOLDERS: number[] = []
const NOTHING_TO_UNDO = (): void => {}

/** Where a future stands: waiting, result in memory on a worker, failed, cancelled, or its data lost. */
export type FutureStatus = 'pending' | 'finished' | 'error' | 'cancelled' | 'lost'

/**
 * What the client knows about one key, shared by every Future of that key.
 * The result promise exists only once someone awaits, so an unawaited
 * failure never surfaces as an unhandled rejection and a million futures
 * cost a million small objects, not a million promises.
 */
/**
 * What few keys need: a key awaited by itself (its promise), watched, or relocated. Kept apart
 * so that the many keys of a map cost a small object each: they live until released, and every
 * young-generation collection meanwhile copies them.
 */
class KeyExtras {
  result: Promise<unknown> | null = null
  resolve: ((value: unknown) => void) | null = null
  reject: ((error: Error) => void) | null = null
  listeners: (() => void)[] | null = null
  onResolved: (() => void) | null = null
  relocations = 0
  unplaceable: string | null = null
}

export class KeyState {
  status: FutureStatus = 'pending'
  /** The scheduler's task id for the key, once its submit is done (-1 before, or for scattered keys). */
  id = -1
  /** Live Future objects of this key. */
  refs = 0
  /** False once the client stopped tracking the key (released, cancelled, refused). */
  attached = true
  nbytes = 0
  /** Ids of the workers holding the value. */
  holders: number[] = NO_HOLDERS
  /** A fetch from a worker is under way. */
  fetching = false
  hasValue = false
  value: unknown = undefined
  error: Error | null = null
  /** A gather waiting for this key's value, and the key's position in it. */
  gathering: Gathering | null = null
  gatheringIndex = 0
  /** Futures of this key released explicitly whose finalizer has not run yet (see KeyTable.letGo). */
  releasedUncollected = 0
  private more: KeyExtras | null = null

  constructor(readonly key: string) {}

  private extras(): KeyExtras {
    return (this.more ??= new KeyExtras())
  }

  /** Times the scheduler was asked anew where the value is, after its holders did not have it. */
  get relocations(): number {
    return this.more === null ? 0 : this.more.relocations
  }

  set relocations(n: number) {
    this.extras().relocations = n
  }

  /** Called once when the awaited result resolves or rejects (the client unpins the key then). */
  get onResolved(): (() => void) | null {
    return this.more === null ? null : this.more.onResolved
  }

  set onResolved(hook: (() => void) | null) {
    if (hook !== null || this.more !== null) this.extras().onResolved = hook
  }

  /** While no connected worker can run this (restricted) task: why (see UnplaceableWatch). */
  get unplaceable(): string | null {
    return this.more === null ? null : this.more.unplaceable
  }

  set unplaceable(reason: string | null) {
    if (reason !== null || this.more !== null) this.extras().unplaceable = reason
  }

  get awaited(): boolean {
    return this.gathering !== null || (this.more !== null && this.more.result !== null)
  }

  /** Whether a result promise was made (someone awaited this key by itself). */
  get hasPromise(): boolean {
    return this.more !== null && this.more.result !== null
  }

  /** The value, fetched through `fetch` once the key is in memory. */
  awaitResult(fetch: (state: KeyState) => void): Promise<unknown> {
    const more = this.extras()
    if (more.result !== null) return more.result
    if (this.hasValue) return (more.result = Promise.resolve(this.value))
    if (this.error !== null) return (more.result = Promise.reject(this.error))
    more.result = new Promise((resolve, reject) => {
      more.resolve = resolve
      more.reject = reject
    })
    if (this.status === 'finished' && !this.fetching) fetch(this)
    return more.result
  }

  /** Scattered data: the value is known before it is placed on a worker. */
  preset(value: unknown): void {
    this.hasValue = true
    this.value = value
  }

  /** The scheduler reports the key in memory on `holders`. */
  located(nbytes: number, holders: number[]): void {
    if (this.error !== null) return
    this.nbytes = nbytes
    this.holders = holders
    this.settle('finished')
  }

  fulfil(value: unknown): void {
    this.fetching = false
    this.hasValue = true
    this.value = value
    this.settle('finished')
    const more = this.more
    if (more !== null) {
      more.resolve?.(value)
      more.resolve = more.reject = null
    }
    const gathering = this.gathering
    if (gathering !== null) {
      this.gathering = null
      gathering.deliver(this.gatheringIndex, value)
    }
    this.resolved()
  }

  fail(error: Error, status: 'error' | 'cancelled' | 'lost'): void {
    if (this.error !== null) return
    this.fetching = false
    this.error = error
    this.settle(status)
    const more = this.more
    if (more !== null) {
      more.reject?.(error)
      more.resolve = more.reject = null
    }
    const gathering = this.gathering
    if (gathering !== null) {
      this.gathering = null
      gathering.fail(error)
    }
    this.resolved()
  }

  /**
   * The key is cancelled, or the cluster lost its data for good (scattered data whose last
   * holder left): a value the client had cached goes too, and every later await rejects with
   * `error`, as Dask's futures do.
   */
  drop(error: Error, status: 'cancelled' | 'lost'): void {
    if (this.hasValue) {
      this.hasValue = false
      this.value = undefined
      if (this.more !== null) this.more.result = null
    }
    this.fail(error, status)
  }

  /** The scheduler took the key back from erred (client.retry): it is pending again, and awaits wait for the new run. */
  retried(): void {
    if (this.hasValue || this.error === null || this.status === 'cancelled') return
    this.error = null
    if (this.more !== null) this.more.result = null
    this.fetching = false
    this.status = 'pending'
  }

  /**
   * Calls `listener` once, when the key first leaves 'pending' (now, if it already has).
   * Returns what takes the listener back before then (a wait that timed out).
   */
  onSettled(listener: () => void): () => void {
    if (this.status !== 'pending') {
      listener()
      return NOTHING_TO_UNDO
    }
    const more = this.extras()
    ;(more.listeners ??= []).push(listener)
    return () => {
      const at = more.listeners?.indexOf(listener) ?? -1
      if (at >= 0) more.listeners!.splice(at, 1)
    }
  }

  private resolved(): void {
    const more = this.more
    if (more === null || more.onResolved === null) return
    const hook = more.onResolved
    more.onResolved = null
    hook()
  }

  private settle(status: FutureStatus): void {
    this.status = status
    const more = this.more
    if (more === null || more.listeners === null) return
    const listeners = more.listeners
    more.listeners = null
    for (const listener of listeners) listener()
  }
}
