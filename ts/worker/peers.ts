import { Channel, ChunkedValue, connectionError, openSocket, PartyHandshake, refusedSize, type Credentials, type PeerReply, type PeerRequest, type ResolvedTls } from '../protocol'
import type { Log } from './log'

/** One key wanted from one holder; the pool answers through `PeerPoolHost.received`. */
export interface KeyRequest {
  readonly key: string
}

export interface PeerPoolHost {
  /** The holder's bytes for the request's key, or null when it could not give them (`why`, when known). */
  received(request: KeyRequest, bytes: Uint8Array | null, holder: number, why?: string): void
  /** The connection to `holder` at `address` failed before its handshake completed (not: a peer that left). */
  unreachable?(holder: number, address: string, why: string): void
}

/** A pooled connection to one peer worker's server; `open` once the handshake is done. */
class PeerLink<R extends KeyRequest> {
  open = false
  dirty = false
  /** Requested this turn, sent as one 'get' at the end of it. */
  queued: R[] = []
  readonly inflight = new Map<number, R[]>()
  /** Values of answered requests still arriving in chunks: by request, then by index in it. */
  readonly arriving = new Map<number, Map<number, { request: R; value: ChunkedValue }>>()
  readonly channel: Channel<PeerRequest, PeerReply>

  constructor(
    readonly holder: number,
    readonly address: string,
    credentials: Credentials,
    tls: ResolvedTls | null,
    onOpen: (link: PeerLink<R>) => void,
    onReply: (link: PeerLink<R>, reply: PeerReply) => void,
    onBroken: (link: PeerLink<R>, why: string) => void,
  ) {
    const server = `peer ${address}`
    const socket = openSocket(address, tls, server)
    const handshake = new PartyHandshake(credentials, 'peer', server)
    this.channel = new Channel<PeerRequest, PeerReply>(
      socket,
      (reply) => {
        if (handshake.done) return onReply(this, reply)
        try {
          const auth = handshake.receive(reply)
          if (auth !== null) this.channel.send(auth)
          else onOpen(this)
        } catch (err) {
          onBroken(this, (err as Error).message)
          socket.terminate()
        }
      },
      (err) => onBroken(this, err.message),
    )
    socket.on('error', (err) => onBroken(this, this.open ? err.message : connectionError(socket, err, server, address).message))
    socket.on('close', () => onBroken(this, 'connection closed'))
  }
}

/**
 * Connections to peer workers, opened on first use and kept. Keys wanted from
 * the same peer in one event-loop turn leave as one 'get' request.
 */
export class PeerPool<R extends KeyRequest> {
  private readonly links = new Map<number, PeerLink<R>>()
  private dirty: PeerLink<R>[] = []
  private scheduled = false
  private nextRequest = 1
  private readonly flushNow = () => this.flush()
  private readonly onOpen = (link: PeerLink<R>) => this.opened(link)
  private readonly onReply = (link: PeerLink<R>, reply: PeerReply) => this.reply(link, reply)
  private readonly onBroken = (link: PeerLink<R>, why: string) => this.broken(link, why)

  constructor(
    private readonly host: PeerPoolHost,
    private readonly credentials: Credentials,
    private readonly tls: ResolvedTls | null,
    private readonly log: Log,
    /** Values announced larger than this are refused (and their chunks dropped): the worker's memory limit. */
    private readonly maxValueBytes: number,
  ) {}

  request(holder: number, address: string, request: R): void {
    let link = this.links.get(holder)
    if (!link || link.address !== address) {
      if (link) this.forget(holder)
      link = new PeerLink<R>(holder, address, this.credentials, this.tls, this.onOpen, this.onReply, this.onBroken)
      this.links.set(holder, link)
    }
    link.queued.push(request)
    if (!link.dirty && link.open) this.markDirty(link)
  }

  /** Closes the link to a worker that left; its outstanding requests fail. */
  forget(holder: number): void {
    const link = this.links.get(holder)
    if (!link) return
    this.broken(link, 'the worker left')
    link.channel.socket.terminate()
  }

  closeAll(): void {
    for (const holder of [...this.links.keys()]) this.forget(holder)
  }

  private opened(link: PeerLink<R>): void {
    link.open = true
    if (link.queued.length > 0) this.markDirty(link)
  }

  private markDirty(link: PeerLink<R>): void {
    link.dirty = true
    this.dirty.push(link)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.flushNow)
  }

  private flush(): void {
    this.scheduled = false
    const dirty = this.dirty
    this.dirty = []
    for (const link of dirty) {
      link.dirty = false
      if (!link.open || link.queued.length === 0) continue
      const requests = link.queued
      link.queued = []
      const id = this.nextRequest++
      link.inflight.set(id, requests)
      link.channel.send(['get', id, requests.map((r) => r.key)])
    }
  }

  private reply(link: PeerLink<R>, reply: PeerReply): void {
    if (reply[0] === 'chunk') return this.chunk(link, reply[1], reply[2], reply[3], reply[4])
    if (reply[0] !== 'data' && reply[0] !== 'error') return
    const requests = typeof reply[1] === 'number' ? link.inflight.get(reply[1]) : undefined
    if (!requests) return
    link.inflight.delete(reply[1])
    const values = reply[0] === 'data' && Array.isArray(reply[2]) ? reply[2] : []
    for (let i = 0; i < requests.length; i++) {
      const v = values[i]
      if (typeof v === 'number') this.announced(link, reply[1], i, requests[i], v)
      else this.host.received(requests[i], v instanceof Uint8Array ? v : null, link.holder, v instanceof Uint8Array ? undefined : `worker ${link.holder} does not hold it`)
    }
  }

  /** Value `index` of `request` comes in chunks: its buffer is made now, if its size is one this worker takes. */
  private announced(link: PeerLink<R>, request: number, index: number, r: R, size: number): void {
    const why = refusedSize(size, this.maxValueBytes, `the value of ${r.key}`)
    if (why !== null) this.log(`peer ${link.address} (worker ${link.holder}): ${why} (this worker's memory limit); fetching it failed`)
    let values = link.arriving.get(request)
    if (values === undefined) link.arriving.set(request, (values = new Map()))
    const value = new ChunkedValue(why === null ? size : Math.max(0, Number.isSafeInteger(size) ? size : 0), why === null)
    values.set(index, { request: r, value })
    if (why !== null) this.host.received(r, null, link.holder, why)
    if (value.complete) this.arrivedWhole(link, request, index)
  }

  private chunk(link: PeerLink<R>, request: unknown, index: unknown, offset: unknown, bytes: unknown): void {
    const entry = typeof request === 'number' && typeof index === 'number' ? link.arriving.get(request)?.get(index) : undefined
    const why = entry === undefined ? `a chunk for value ${String(index).slice(0, 20)} of request ${String(request).slice(0, 20)}, which is not arriving` : entry.value.add(offset, bytes)
    if (why !== null) {
      this.broken(link, `bad reply: ${why}`)
      link.channel.socket.terminate()
      return
    }
    if (entry!.value.complete) this.arrivedWhole(link, request as number, index as number)
  }

  private arrivedWhole(link: PeerLink<R>, request: number, index: number): void {
    const values = link.arriving.get(request)!
    const { request: r, value } = values.get(index)!
    values.delete(index)
    if (values.size === 0) link.arriving.delete(request)
    if (value.bytes !== null) this.host.received(r, value.bytes, link.holder)
  }

  private broken(link: PeerLink<R>, why: string): void {
    if (this.links.get(link.holder) !== link) return
    this.links.delete(link.holder)
    const failed = [...link.queued]
    for (const requests of link.inflight.values()) failed.push(...requests)
    for (const values of link.arriving.values()) for (const { request, value } of values.values()) if (value.bytes !== null) failed.push(request)
    link.queued = []
    link.inflight.clear()
    link.arriving.clear()
    if (failed.length > 0) this.log(`peer ${link.address} (worker ${link.holder}): ${why}; ${failed.length} transfer(s) failed`)
    if (!link.open) this.host.unreachable?.(link.holder, link.address, why)
    for (const r of failed) this.host.received(r, null, link.holder, why)
  }
}
