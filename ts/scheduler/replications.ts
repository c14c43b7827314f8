import { SkeinError, type CopyReplicas } from '../protocol'
import type { Connection } from './connection'
import type { NativeCore } from './native'

/** Replications a client may have in flight at once; more are refused (SKEIN_TOO_MANY_REPLICATIONS). */
export const MAX_REPLICATIONS_PER_CLIENT = 16
/** Failures named in the error that answers a replication (the rest are counted). */
const NAMED_FAILURES = 5

/** One 'replicate' in flight: the copies it waits for, and those that failed. */
class PendingReplication {
  waiting = 0
  readonly failures: string[] = []

  constructor(
    readonly client: Connection,
    readonly request: number,
  ) {}
}

/**
 * Client.replicate in the scheduler: the core decides which workers copy which keys; this
 * sends each worker its copies, gives the core each copy a worker reports (a holder more),
 * and answers the client once every copy is made or failed (its worker left, no holder
 * could give the key).
 */
export class Replications {
  /** Copies under way: per worker, per key, the replications waiting for it. */
  private readonly copies = new Map<Connection, Map<string, PendingReplication[]>>()
  private readonly perClient = new Map<Connection, number>()

  constructor(private readonly core: NativeCore) {}

  /** Plans and starts a replication; the core's refusal (unknown key, no such worker...) throws. */
  start(client: Connection, request: number, keys: string[], n: number | null, names: string[] | null, workers: ReadonlyMap<number, Connection>): void {
    const inFlight = this.perClient.get(client) ?? 0
    if (inFlight >= MAX_REPLICATIONS_PER_CLIENT) {
      throw new SkeinError('SKEIN_TOO_MANY_REPLICATIONS', `a client may have at most ${MAX_REPLICATIONS_PER_CLIENT} replications in flight; wait for one to finish`)
    }
    const orders = this.core.replicate(keys, n ?? undefined, names ?? undefined)
    const replication = new PendingReplication(client, request)
    const byWorker = new Map<Connection, CopyReplicas[1]>()
    for (const { worker, key, holders } of orders.copies) {
      const conn = workers.get(worker)
      if (conn === undefined) continue
      let entries = byWorker.get(conn)
      if (entries === undefined) byWorker.set(conn, (entries = []))
      entries.push([key, holders])
      let keysOf = this.copies.get(conn)
      if (keysOf === undefined) this.copies.set(conn, (keysOf = new Map()))
      const waiters = keysOf.get(key)
      if (waiters === undefined) keysOf.set(key, [replication])
      else waiters.push(replication)
      replication.waiting++
    }
    if (replication.waiting === 0) {
      client.send(['done', request])
      return
    }
    this.perClient.set(client, inFlight + 1)
    for (const [conn, entries] of byWorker) conn.send(['replicate', entries] satisfies CopyReplicas)
  }

  /**
   * `worker` reports copies: each one it now holds becomes a holder in the core; a copy
   * nobody asked of it, or of no use any more (the key was released meanwhile), is freed.
   */
  reported(worker: Connection, entries: [key: string, error: string | null][]): void {
    const keysOf = this.copies.get(worker)
    const useless: string[] = []
    for (const [key, error] of entries) {
      const waiters = keysOf?.get(key)
      if (waiters === undefined) {
        if (error === null) useless.push(key)
        continue
      }
      keysOf!.delete(key)
      if (error === null && !this.core.replicaAdded(worker.id, key)) useless.push(key)
      for (const replication of waiters) this.settled(replication, error === null ? null : `'${key}' on worker '${worker.name}': ${error}`)
    }
    if (keysOf?.size === 0) this.copies.delete(worker)
    if (useless.length > 0) worker.send(['free', useless])
  }

  /** `worker` left: the copies it was making fail. */
  workerLeft(worker: Connection): void {
    const keysOf = this.copies.get(worker)
    if (keysOf === undefined) return
    this.copies.delete(worker)
    for (const [key, waiters] of keysOf) {
      for (const replication of waiters) this.settled(replication, `'${key}' on worker '${worker.name}': the worker left before it had the copy`)
    }
  }

  /** `client` left: its replications go on (the copies are still worth having) but nobody is answered. */
  clientLeft(client: Connection): void {
    this.perClient.delete(client)
  }

  private settled(replication: PendingReplication, failure: string | null): void {
    if (failure !== null) replication.failures.push(failure)
    if (--replication.waiting > 0) return
    const { client, request, failures } = replication
    const left = (this.perClient.get(client) ?? 1) - 1
    if (left <= 0) this.perClient.delete(client)
    else this.perClient.set(client, left)
    if (!client.isOpen) return
    if (failures.length === 0) return client.send(['done', request])
    const more = failures.length > NAMED_FAILURES ? ` (and ${failures.length - NAMED_FAILURES} more)` : ''
    client.sendError(request, 'SKEIN_REPLICATE_FAILED', `${failures.length} cop${failures.length === 1 ? 'y' : 'ies'} could not be made: ${failures.slice(0, NAMED_FAILURES).join('; ')}${more}`)
  }
}
