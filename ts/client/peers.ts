import WebSocket from 'ws'
import { Channel, connectionError, openSocket, PartyHandshake, type Credentials, type PeerReply, type PeerRequest, type ResolvedTls, type WorkerInfo } from '../protocol'
import { SkeinError } from './errors'

/** A worker as the client knows it from the scheduler's table. */
export interface WorkerDescription {
  id: number
  name: string
  /** ws:// (wss:// with TLS) address of the worker's peer server, where data is fetched and placed. */
  address: string
}

type Waiter = { resolve: (reply: PeerReply) => void; reject: (error: Error) => void }

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
  private queued: PeerRequest[] | null = []
  private channel: Channel<PeerRequest, PeerReply> | null = null
  private failure: Error | null = null
  private readonly socket: WebSocket

  constructor(
    readonly worker: WorkerDescription,
    credentials: Credentials,
    tls: ResolvedTls | null,
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

  /** Sends `build(requestId)` and resolves with the matching reply. */
  request(build: (request: number) => PeerRequest): Promise<PeerReply> {
    if (this.failure) return Promise.reject(this.failure)
    const request = this.nextRequest++
    return new Promise((resolve, reject) => {
      this.waiting.set(request, { resolve, reject })
      const message = build(request)
      if (this.channel) {
        this.channel.send(message)
        // Callers batch per turn (one get per worker per fetch flush): send without another trip around the loop.
        this.channel.flushNow()
      } else this.queued!.push(message)
    })
  }

  close(): void {
    this.shut(new PeerUnavailableError(this.worker, 'the client closed the connection'))
  }

  private ready(channel: Channel<PeerRequest, PeerReply>): void {
    this.channel = channel
    // One frame each, as request() sends them: puts of large values must not share a frame.
    for (const request of this.queued ?? []) {
      channel.send(request)
      channel.flushNow()
    }
    this.queued = null
  }

  private receive(reply: PeerReply): void {
    if (reply[0] === 'challenge' || reply[0] === 'authenticated') return
    const waiter = this.waiting.get(reply[1])
    if (waiter === undefined) return
    this.waiting.delete(reply[1])
    waiter.resolve(reply)
  }

  private shut(error: Error): void {
    if (this.failure) return
    this.failure = error
    this.onGone(this)
    for (const waiter of this.waiting.values()) waiter.reject(error)
    this.waiting.clear()
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate()
  }
}

/** Connections to workers' peer servers, opened on first use and kept. */
export class PeerPool {
  constructor(
    private readonly credentials: Credentials,
    private readonly tls: ResolvedTls | null,
  ) {}

  private readonly workers = new Map<number, WorkerDescription>()
  private readonly connections = new Map<number, PeerConnection>()

  /** Replaces the worker table; connections to workers no longer listed are closed. */
  setWorkers(table: readonly WorkerInfo[]): void {
    this.workers.clear()
    for (const [id, name, address] of table) this.workers.set(id, { id, name, address })
    for (const [id, connection] of this.connections) if (!this.workers.has(id)) connection.close()
  }

  list(): WorkerDescription[] {
    return [...this.workers.values()]
  }

  has(worker: number): boolean {
    return this.workers.has(worker)
  }

  /** Values of `keys` held by `worker`, encoded; null for a key it does not hold. */
  async get(worker: number, keys: string[]): Promise<(Uint8Array | null)[]> {
    const reply = await this.request(worker, (request) => ['get', request, keys])
    if (reply[0] !== 'data' || !Array.isArray(reply[2]) || reply[2].length !== keys.length) throw this.unexpected(worker, reply, 'data')
    return reply[2]
  }

  /** Places encoded values on `worker`; resolves with the stored size of each. */
  async put(worker: number, entries: [string, Uint8Array][]): Promise<number[]> {
    const reply = await this.request(worker, (request) => ['put', request, entries])
    if (reply[0] !== 'put-done' || !Array.isArray(reply[2]) || reply[2].length !== entries.length) throw this.unexpected(worker, reply, 'put-done')
    return reply[2]
  }

  closeAll(): void {
    for (const connection of this.connections.values()) connection.close()
  }

  private request(worker: number, build: (request: number) => PeerRequest): Promise<PeerReply> {
    let connection = this.connections.get(worker)
    if (connection === undefined) {
      const description = this.workers.get(worker)
      if (description === undefined) return Promise.reject(new SkeinError('SKEIN_UNKNOWN_WORKER', `worker ${worker} is not in the scheduler's worker table`))
      connection = new PeerConnection(description, this.credentials, this.tls, (gone) => {
        if (this.connections.get(gone.worker.id) === gone) this.connections.delete(gone.worker.id)
      })
      this.connections.set(worker, connection)
    }
    return connection.request(build)
  }

  private unexpected(worker: number, reply: PeerReply, expected: string): Error {
    const description = this.workers.get(worker)
    const who = description ? `worker ${description.name}` : `worker ${worker}`
    if (reply[0] === 'error') return new SkeinError(reply[2], `${who} refused the request: ${reply[3]}`)
    return new SkeinError('SKEIN_BAD_REPLY', `${who} answered with '${String(reply[0])}' where '${expected}' of matching length was expected`)
  }
}
