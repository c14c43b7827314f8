import type { DependencyLocation } from '../protocol'
import type { KeySlot } from './keys'
import type { Log } from './log'
import { PeerPool, type KeyRequest } from './peers'
import type { Credentials, ResolvedTls } from '../protocol'
import type { DataStore } from './store'
import type { TaskRecord } from './task'

/** One dependency being fetched, shared by every local task that waits for it. */
class Fetch implements KeyRequest {
  next = 0
  readonly failed: number[] = []
  /** The last error met fetching it, when known. */
  lastError: string | undefined = undefined
  readonly waiters: TaskRecord[] = []
  /** For each waiter, which of its inputs this is. */
  readonly inputs: number[] = []
  /** Copies the scheduler asked for (replicate): told null once the key is kept here, or why not. */
  readonly copies: ((error: string | null) => void)[] = []
  /** When the first local task asked for it (performance.now()); NaN while only copies wait (not timed). */
  startedMs = Number.NaN

  constructor(
    readonly key: string,
    /** The key's task id, for missing-data reports (-1 while only copies wait for it). */
    public depTask: number,
    readonly holders: number[],
  ) {}

  wait(task: TaskRecord, input: number): void {
    if (Number.isNaN(this.startedMs)) this.startedMs = performance.now()
    this.waiters.push(task)
    this.inputs.push(input)
  }
}

export interface FetcherHost {
  /** This worker's id (a holder list naming it means the data was lost here). */
  readonly selfId: number
  /** Values larger than this are not fetched (the worker's memory limit). */
  readonly maxValueBytes: number
  /** A peer's server address by worker id, if it is alive. */
  peerAddress(worker: number): string | undefined
  /** A fetched key arrived; the task holds a reference to its slot now, which is the task's input `input`. */
  arrived(task: TaskRecord, input: number, slot: KeySlot): void
  /** A fetch some local task asked for at `startedMs` (performance.now()) arrived, `bytes` long (once per fetch). */
  fetched(startedMs: number, bytes: number): void
  /** No holder gave `key` (`lastError`: why the last try failed, when known); the waiting tasks are abandoned and reported by the host. */
  unavailable(key: string, depTask: number, failedHolders: number[], waiters: TaskRecord[], lastError: string | undefined): void
  /** A holder's peer server could not be reached at all (see PeerPoolHost.unreachable). */
  unreachable(holder: number, address: string, why: string): void
}

/**
 * Gets dependencies from the workers that hold them, trying each holder in
 * turn. Data moves worker to worker; the scheduler only said who has what.
 */
export class Fetcher {
  private readonly fetching = new Map<string, Fetch>()
  private readonly pool: PeerPool<Fetch>

  constructor(
    private readonly store: DataStore,
    private readonly host: FetcherHost,
    credentials: Credentials,
    tls: ResolvedTls | null,
    log: Log,
  ) {
    this.pool = new PeerPool<Fetch>(
      {
        received: (f, bytes, holder, why) => this.received(f as Fetch, bytes, holder, why),
        unreachable: (holder, address, why) => host.unreachable(holder, address, why),
      },
      credentials,
      tls,
      log,
      host.maxValueBytes,
    )
  }

  /** `task` needs `dep`, its input `input`, which is not in the local store. */
  need(dep: DependencyLocation, task: TaskRecord, input: number): void {
    const pending = this.fetching.get(dep[0])
    if (pending) {
      pending.depTask = dep[3]
      pending.wait(task, input)
      return
    }
    const fetch = new Fetch(dep[0], dep[3], dep[2])
    fetch.wait(task, input)
    this.fetching.set(fetch.key, fetch)
    this.tryNext(fetch)
  }

  /**
   * The scheduler asks this worker to keep a copy of `key` (replicate): fetched from one of
   * `holders` unless held here already; `done` hears null once it is kept, or why it could not be had.
   */
  copy(key: string, holders: number[], done: (error: string | null) => void): void {
    if (this.store.own(key)) return done(null)
    const pending = this.fetching.get(key)
    if (pending) {
      pending.copies.push(done)
      return
    }
    const fetch = new Fetch(key, -1, holders)
    fetch.copies.push(done)
    this.fetching.set(key, fetch)
    this.tryNext(fetch)
  }

  /** `task` no longer waits for `key` (it was freed). */
  detach(key: string, task: TaskRecord): void {
    const fetch = this.fetching.get(key)
    if (!fetch) return
    const i = fetch.waiters.indexOf(task)
    if (i === -1) return
    fetch.waiters.splice(i, 1)
    fetch.inputs.splice(i, 1)
  }

  forgetPeer(worker: number): void {
    this.pool.forget(worker)
  }

  close(): void {
    this.pool.closeAll()
  }

  private tryNext(fetch: Fetch): void {
    while (fetch.next < fetch.holders.length) {
      const holder = fetch.holders[fetch.next++]
      const address = holder === this.host.selfId ? undefined : this.host.peerAddress(holder)
      if (address !== undefined) {
        this.pool.request(holder, address, fetch)
        return
      }
      fetch.failed.push(holder)
    }
    this.fetching.delete(fetch.key)
    const why = `no holder could give it (tried worker(s) ${fetch.failed.join(', ') || 'none'}${fetch.lastError === undefined ? '' : `; last error: ${fetch.lastError}`})`
    for (const done of fetch.copies) done(why)
    if (fetch.waiters.length === 0) return
    // No holder at all still needs a report naming one: blame ourselves.
    if (fetch.failed.length === 0) fetch.failed.push(this.host.selfId)
    this.host.unavailable(fetch.key, fetch.depTask, fetch.failed, fetch.waiters, fetch.lastError)
  }

  private received(fetch: Fetch, bytes: Uint8Array | null, holder: number, why?: string): void {
    if (this.fetching.get(fetch.key) !== fetch) return
    if (bytes === null) {
      fetch.failed.push(holder)
      if (why !== undefined) fetch.lastError = why
      if (fetch.waiters.length === 0 && fetch.copies.length === 0) this.fetching.delete(fetch.key)
      else this.tryNext(fetch)
      return
    }
    this.fetching.delete(fetch.key)
    const slot = this.store.putReplica(fetch.key, bytes)
    if (!Number.isNaN(fetch.startedMs)) this.host.fetched(fetch.startedMs, slot.length)
    for (let i = 0; i < fetch.waiters.length; i++) {
      this.store.retainSlot(slot)
      this.host.arrived(fetch.waiters[i], fetch.inputs[i], slot)
    }
    if (fetch.copies.length > 0) {
      this.store.own(fetch.key)
      for (const done of fetch.copies) done(null)
    }
    this.store.dropIfUnused(fetch.key, slot)
  }
}
