import { KeyState } from './key-state'

/**
 * The keys this client holds futures for, with a count of live futures per
 * key. A key whose count drops to zero (release() or garbage collection) is
 * released at the scheduler, batched per event-loop turn; a new future for it
 * before then keeps it.
 */
export class KeyTable {
  private readonly states = new Map<string, KeyState>()
  /** The same states by the scheduler's task id: 'memory' messages name tasks by id. */
  private readonly byTaskId = new Map<number, KeyState>()
  private releasing: KeyState[] = []
  private flushScheduled = false
  private closed = false
  // Registered without an unregister token (a token costs a hash-table entry per future, ~3x the
  // registration): an explicit release is remembered on the state instead and its finalizer skipped.
  private readonly registry = new FinalizationRegistry<KeyState>((state) => this.collected(state))

  constructor(private readonly sendRelease: (keys: string[]) => void) {}

  /** The tracked state of `key`, if any. */
  get(key: string): KeyState | undefined {
    return this.states.get(key)
  }

  /** The tracked state of the task with this scheduler id, if any. */
  getById(id: number): KeyState | undefined {
    return this.byTaskId.get(id)
  }

  /** Records the scheduler's task id of `state` (from its submit's reply). */
  bindId(state: KeyState, id: number): void {
    if (!state.attached) return
    state.id = id
    this.byTaskId.set(id, state)
  }

  has(key: string): boolean {
    return this.states.has(key)
  }

  /** The state for `key`, created if untracked; the caller must then `hold` it with a future. */
  state(key: string): KeyState {
    let state = this.states.get(key)
    if (state === undefined) {
      state = new KeyState(key)
      this.states.set(key, state)
    }
    return state
  }

  /** A new state for `key`, which the caller found untracked; the caller must then `hold` it. */
  create(key: string): KeyState {
    const state = new KeyState(key)
    this.states.set(key, state)
    return state
  }

  /** Counts `future` as a live holder of `state` until it is released or collected. */
  hold(future: object, state: KeyState): void {
    state.refs++
    this.registry.register(future, state)
  }

  /**
   * A live future lets go of `state` (explicit release; the future guards against a second call).
   * Its finalizer will still run: it is skipped then. If another future of the key is collected
   * first, that finalizer is the one skipped; each future still counts down once, so the key is
   * never released while a future that has not let go is alive (at worst a little later).
   */
  letGo(_future: object, state: KeyState): void {
    state.releasedUncollected++
    this.drop(state)
  }

  /** Holds `state` without a future: an await in progress keeps its key even if every future of it is dropped. */
  pin(state: KeyState): void {
    state.refs++
  }

  unpin(state: KeyState): void {
    this.drop(state)
  }

  /** Stops tracking `state` without a release message (cancelled, refused, or already released). */
  detach(state: KeyState): void {
    state.attached = false
    if (this.states.get(state.key) === state) this.states.delete(state.key)
    // The scheduler may give a forgotten task's id to a new task: this state must not hear about it.
    if (state.id >= 0 && this.byTaskId.get(state.id) === state) this.byTaskId.delete(state.id)
  }

  /** Every tracked state. */
  values(): IterableIterator<KeyState> {
    return this.states.values()
  }

  close(): void {
    this.closed = true
    this.releasing = []
  }

  private collected(state: KeyState): void {
    if (state.releasedUncollected > 0) state.releasedUncollected--
    else this.drop(state)
  }

  private drop(state: KeyState): void {
    state.refs--
    if (state.refs > 0 || !state.attached || this.closed) return
    this.releasing.push(state)
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => this.flushReleases())
  }

  private flushReleases(): void {
    this.flushScheduled = false
    const keys: string[] = []
    for (const state of this.releasing) {
      if (state.refs > 0 || !state.attached) continue
      this.detach(state)
      keys.push(state.key)
    }
    this.releasing = []
    if (keys.length > 0 && !this.closed) this.sendRelease(keys)
  }
}
