import WebSocket from 'ws'
import {
  Channel,
  ChunkedValue,
  connectionError,
  encode,
  inlinePlan,
  openSocket,
  PartyHandshake,
  refusedSize,
  sendChunks,
  type Credentials,
  type PeerReply,
  type PeerRequest,
  type ResolvedTls,
  type WorkerInfo,
} from '../protocol'
import { machineMemory } from '../worker'
import { SkeinError } from './errors'

/**
 * The largest value a client sends (scatter) or receives (gather): the memory of its machine
 * (or container). Workers bound what they take by their own memory limits.
 */
export function clientMaxValueBytes(): number {
  return machineMemory()
}

/** A worker as the client knows it from the scheduler's table. */
export interface WorkerDescription {
  id: number
  name: string
  /** ws:// (wss:// with TLS) address of the worker's peer server, where data is fetched and placed. */
  address: string
  /** The resources the worker declared (`{}`: none). */
  resources: Readonly<Record<string, number>>
}

/** A request's reply; for a 'data' reply with values announced by size, once all their chunks arrived. */
type Waiter = { resolve: (reply: PeerReply) => void; reject: (error: Error) => void }

/** A value a worker refused to send whole, or that this client refused to receive. */
export class ValueRefusedError extends SkeinError {}

/** A 'data' reply whose large values are still arriving. */
class ArrivingData {
  /** Values arriving, by index; a refused one only counts its chunks, which are dropped. */
  readonly arriving = new Map<number, ChunkedValue>()
  /** Values kept that are still arriving: the reply resolves when none is left. */
  kept = 0

  constructor(
    readonly waiter: Waiter,
    /** The reply's values, those arriving filled in as they complete (an error for one refused). */
    readonly values: (Uint8Array | null | Error)[],
  ) {}
}

/** A request to a worker's peer server failed: the worker is gone or unreachable (`cause`: the TlsError when TLS failed). */
export class PeerUnavailableError extends SkeinError {
  constructor(
    readonly worker: WorkerDescription,
    reason: string,
    override readonly cause?: Error,
  ) {
    super('SKEIN_PEER_UNAVAILABLE', `worker ${worker.name} at ${worker.address}: ${reason}`)
  }
}

/** One connection to a worker's peer server; requests wait for its handshake. */
class PeerConnection {
  private nextRequest = 1
  private readonly waiting = new Map<number, Waiter>()
  private readonly arrivingData = new Map<number, ArrivingData>()
  private queued: ((channel: Channel<PeerRequest, PeerReply>) => void)[] | null = []
  private channel: Channel<PeerRequest, PeerReply> | null = null
  private failure: Error | null = null
  private readonly socket: WebSocket

  constructor(
    readonly worker: WorkerDescription,
    credentials: Credentials,
    tls: ResolvedTls | null,
    private readonly maxValueBytes: number,
    private readonly onGone: (connection: PeerConnection) => void,
  ) {
    const server = `worker ${worker.name} at ${worker.address}`
    const socket = openSocket(worker.address, tls, server)
    const handshake = new PartyHandshake(credentials, 'peer', server)
    socket.on('open', () => {
      const channel = new Channel<PeerRequest, PeerReply>(
        socket,
        (reply) => {
          if (handshake.done) return this.receive(reply)
          try {
            const auth = handshake.receive(reply)
            if (auth !== null) channel.send(auth)
            else this.ready(channel)
          } catch (err) {
            this.shut(err instanceof SkeinError ? err : new PeerUnavailableError(worker, (err as Error).message))
          }
        },
        (err) => this.shut(new PeerUnavailableError(worker, `bad reply: ${err.message}`)),
      )
    })
    socket.on('error', (err) => {
      if (this.channel !== null) return this.shut(new PeerUnavailableError(worker, err.message))
      const failure = connectionError(socket, err, 'its peer server', worker.address)
      this.shut(new PeerUnavailableError(worker, failure.message, failure))
    })
    socket.on('close', () => this.shut(new PeerUnavailableError(worker, 'connection closed')))
    this.socket = socket
  }

  /**
   * Sends `build(requestId)`, in a frame of its own, then `streamed` values (index in the
   * request and bytes) in chunks; resolves with the matching reply.
   */
  request(build: (request: number) => PeerRequest, streamed: [index: number, bytes: Uint8Array][] = []): Promise<PeerReply> {
    if (this.failure) return Promise.reject(this.failure)
    const request = this.nextRequest++
    return new Promise((resolve, reject) => {
      this.waiting.set(request, { resolve, reject })
      const send = (channel: Channel<PeerRequest, PeerReply>) => {
        channel.sendFrame(encode([build(request)]))
        if (streamed.length > 0) void this.stream(channel, request, streamed)
      }
      if (this.channel) send(this.channel)
      else this.queued!.push(send)
    })
  }

  close(): void {
    this.shut(new PeerUnavailableError(this.worker, 'the client closed the connection'))
  }

  /** Chunks of the values of `request`, one value after another, until they are sent or the worker answered (a refusal). */
  private async stream(channel: Channel<PeerRequest, PeerReply>, request: number, streamed: [number, Uint8Array][]): Promise<void> {
    const unanswered = {
      drained: (lowWater: number) => (this.waiting.has(request) ? channel.drained(lowWater) : Promise.resolve(false)),
      sendFrame: (frame: Buffer) => channel.sendFrame(frame),
    }
    for (const [index, bytes] of streamed) if (!(await sendChunks(unanswered, request, index, bytes))) return
  }

  private ready(channel: Channel<PeerRequest, PeerReply>): void {
    this.channel = channel
    for (const send of this.queued ?? []) send(channel)
    this.queued = null
  }

  private receive(reply: PeerReply): void {
    if (reply[0] === 'challenge' || reply[0] === 'authenticated') return
    if (reply[0] === 'chunk') return this.chunk(reply[1], reply[2], reply[3], reply[4])
    const waiter = this.waiting.get(reply[1])
    if (waiter === undefined) return
    this.waiting.delete(reply[1])
    if (reply[0] === 'data' && Array.isArray(reply[2]) && reply[2].some((v) => typeof v === 'number')) this.announced(reply[1], waiter, reply[2])
    else waiter.resolve(reply)
  }

  /** A 'data' reply naming values by size: their buffers are made now (for sizes this client takes), the reply resolves once they are full. */
  private announced(request: number, waiter: Waiter, values: (Uint8Array | number | null)[]): void {
    const data = new ArrivingData(waiter, new Array(values.length))
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (typeof v !== 'number') {
        data.values[i] = v
        continue
      }
      const why = refusedSize(v, this.maxValueBytes, `value ${i} of the reply`)
      if (why === null) {
        const value = new ChunkedValue(v, true)
        if (value.complete) data.values[i] = value.bytes
        else {
          data.arriving.set(i, value)
          data.kept++
        }
      } else if (Number.isSafeInteger(v) && v > 0) {
        // Refused: the reply does not wait for it; its chunks, if they come, are counted and dropped.
        data.values[i] = new ValueRefusedError('SKEIN_VALUE_TOO_LARGE', `worker ${this.worker.name}: ${why} (the memory of the client's machine)`)
        data.arriving.set(i, new ChunkedValue(v, false))
      } else data.values[i] = new ValueRefusedError('SKEIN_BAD_REPLY', `worker ${this.worker.name}: ${why}`)
    }
    if (data.arriving.size > 0) this.arrivingData.set(request, data)
    if (data.kept === 0) data.waiter.resolve(['data', request, data.values as (Uint8Array | null)[]])
  }

  private chunk(request: unknown, index: unknown, offset: unknown, bytes: unknown): void {
    const data = typeof request === 'number' ? this.arrivingData.get(request) : undefined
    const value = typeof index === 'number' ? data?.arriving.get(index) : undefined
    const why = value === undefined ? `a chunk for value ${String(index).slice(0, 20)} of request ${String(request).slice(0, 20)}, which is not arriving` : value.add(offset, bytes)
    if (why !== null) return this.shut(new PeerUnavailableError(this.worker, `bad reply: ${why}`))
    if (!value!.complete) return
    data!.arriving.delete(index as number)
    if (data!.arriving.size === 0) this.arrivingData.delete(request as number)
    if (value!.bytes === null) return
    data!.values[index as number] = value!.bytes
    if (--data!.kept === 0) data!.waiter.resolve(['data', request as number, data!.values as (Uint8Array | null)[]])
  }

  private shut(error: Error): void {
    if (this.failure) return
    this.failure = error
    this.onGone(this)
    for (const waiter of this.waiting.values()) waiter.reject(error)
    for (const data of this.arrivingData.values()) if (data.kept > 0) data.waiter.reject(error)
    this.waiting.clear()
    this.arrivingData.clear()
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate()
  }
}

/** Connections to workers' peer servers, opened on first use and kept. */
export class PeerPool {
  private readonly maxValueBytes = clientMaxValueBytes()

  constructor(
    private readonly credentials: Credentials,
    private readonly tls: ResolvedTls | null,
  ) {}

  private readonly workers = new Map<number, WorkerDescription>()
  private readonly connections = new Map<number, PeerConnection>()

  /** Replaces the worker table; connections to workers no longer listed are closed. */
  setWorkers(table: readonly WorkerInfo[]): void {
    this.workers.clear()
    for (const [id, name, address, resources] of table) this.workers.set(id, { id, name, address, resources: resources ?? {} })
    for (const [id, connection] of this.connections) if (!this.workers.has(id)) connection.close()
  }

  list(): WorkerDescription[] {
    return [...this.workers.values()]
  }

  has(worker: number): boolean {
    return this.workers.has(worker)
  }

  /**
   * Values of `keys` held by `worker`, encoded; null for a key it does not hold; a
   * ValueRefusedError for one too large for this client (or announced with a size that is none).
   */
  async get(worker: number, keys: string[]): Promise<(Uint8Array | null | ValueRefusedError)[]> {
    const reply = await this.request(worker, (request) => ['get', request, keys])
    if (reply[0] !== 'data' || !Array.isArray(reply[2]) || reply[2].length !== keys.length) throw this.unexpected(worker, reply, 'data')
    return reply[2].map((v) => (typeof v === 'number' ? null : v))
  }

  /**
   * Places encoded values on `worker` in one put: inline up to CHUNK_BYTES in all, the others
   * in chunks after it. Resolves with the stored size of each.
   */
  async put(worker: number, entries: [string, Uint8Array][]): Promise<number[]> {
    const inline = inlinePlan(entries.map((e) => e[1].byteLength))
    const streamed: [number, Uint8Array][] = []
    const announced = entries.map(([key, bytes], i): [string, Uint8Array | number] => {
      if (inline[i]) return [key, bytes]
      streamed.push([i, bytes])
      return [key, bytes.byteLength]
    })
    const reply = await this.request(worker, (request) => ['put', request, announced], streamed)
    if (reply[0] !== 'put-done' || !Array.isArray(reply[2]) || reply[2].length !== entries.length) throw this.unexpected(worker, reply, 'put-done')
    return reply[2]
  }

  closeAll(): void {
    for (const connection of this.connections.values()) connection.close()
  }

  private request(worker: number, build: (request: number) => PeerRequest, streamed?: [number, Uint8Array][]): Promise<PeerReply> {
    let connection = this.connections.get(worker)
    if (connection === undefined) {
      const description = this.workers.get(worker)
      if (description === undefined) return Promise.reject(new SkeinError('SKEIN_UNKNOWN_WORKER', `worker ${worker} is not in the scheduler's worker table`))
      connection = new PeerConnection(description, this.credentials, this.tls, this.maxValueBytes, (gone) => {
        if (this.connections.get(gone.worker.id) === gone) this.connections.delete(gone.worker.id)
      })
      this.connections.set(worker, connection)
    }
    return connection.request(build, streamed)
  }

  private unexpected(worker: number, reply: PeerReply, expected: string): Error {
    const description = this.workers.get(worker)
    const who = description ? `worker ${description.name}` : `worker ${worker}`
    if (reply[0] === 'error') return new SkeinError(reply[2], `${who} refused the request: ${reply[3]}`)
    return new SkeinError('SKEIN_BAD_REPLY', `${who} answered with '${String(reply[0])}' where '${expected}' of matching length was expected`)
  }
}
