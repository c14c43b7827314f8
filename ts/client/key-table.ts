import { KeyIndex } from './key-index'
import { KeyState } from './key-state'

/**
 * The keys this client holds futures for, with a count of live futures per
 * key. A key whose count drops to zero (release() or garbage collection) is
 * released at the scheduler, batched per event-loop turn; a new future for it
 * before then keeps it.
 */
export class KeyTable {
  private readonly states = new KeyIndex<KeyState>()
  /**
   * The same states by the scheduler's task id: 'memory' messages name tasks by id. The core's
   * ids are dense array indices (reused once forgotten), so an array, not a hash table.
   */
  private readonly byTaskId: (KeyState | undefined)[] = []
  private releasing: KeyState[] = []
  private flushScheduled = false
  private closed = false
  // Registered without an unregister token (a token costs a hash-table entry per future, ~3x the
  // registration): an explicit release is remembered on the state instead and its finalizer skipped.
  private readonly registry = new FinalizationRegistry<KeyState>((state) => this.collected(state))

  /** `sendRelease` gets the released keys without a task id, and the task ids of the others (null if none). */
  constructor(private readonly sendRelease: (keys: string[], tasks: Uint32Array | null) => void) {}

  /** The tracked state of `key`, if any. */
  get(key: string): KeyState | undefined {
    return this.states.get(key)
  }

  /** The tracked state of the task with this scheduler id, if any. */
  getById(id: number): KeyState | undefined {
    return this.byTaskId[id]
  }

  /** Records the scheduler's task id of `state` (from its submit's reply). */
  bindId(state: KeyState, id: number): void {
    if (!state.attached) return
    state.id = id
    const byTaskId = this.byTaskId
    // Grow densely: keeps the array's fast (non-dictionary) elements.
    while (byTaskId.length < id) byTaskId.push(undefined)
    byTaskId[id] = state
  }

  has(key: string): boolean {
    return this.states.has(key)
  }

  /** The state for `key`, created if untracked; the caller must then `hold` it with a future. */
  state(key: string): KeyState {
    let state = this.states.get(key)
    if (state === undefined) {
      state = new KeyState(key)
      this.states.add(state)
    }
    return state
  }

  /** A new state for `key`, which the caller found untracked; the caller must then `hold` it. */
  create(key: string): KeyState {
    const state = new KeyState(key)
    this.states.add(state)
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
    // A state is in `states` exactly while attached (create/state add only untracked keys):
    // an attached one is deleted without looking it up first, a detached one is gone already.
    if (!state.attached) return
    state.attached = false
    this.states.delete(state.key)
    // The scheduler may give a forgotten task's id to a new task: this state must not hear about it.
    if (state.id >= 0 && this.byTaskId[state.id] === state) this.byTaskId[state.id] = undefined
  }

  /** Every tracked state. */
  values(): KeyState[] {
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
    // Keys whose submit reply gave their task id are released by id: no key string crosses again.
    const keys: string[] = []
    const ids = new Uint32Array(this.releasing.length)
    let n = 0
    for (const state of this.releasing) {
      if (state.refs > 0 || !state.attached) continue
      this.detach(state)
      if (state.id >= 0) ids[n++] = state.id
      else keys.push(state.key)
    }
    this.releasing = []
    if ((keys.length > 0 || n > 0) && !this.closed) this.sendRelease(keys, n === 0 ? null : n === ids.length ? ids : ids.slice(0, n))
  }
}
