import type http from 'node:http'
import type { WebSocket } from 'ws'
import {
  Channel,
  CHUNK_BYTES,
  ChunkedValue,
  dataFrame,
  DEFAULT_ADMISSION_LIMITS,
  inlinePlan,
  MAX_FRAME_BYTES,
  refusedSize,
  sendChunks,
  MAX_KEY_BYTES,
  keyTooLong,
  rateLimited,
  ServerHandshake,
  SkeinError,
  WsServer,
  type ConnectionGuard,
  type Credentials,
  type PeerReply,
  type PeerRequest,
  type ResolvedTls,
} from '../protocol'
import type { Log } from './log'
import type { DataStore } from './store'

const BAD_MESSAGE = 'SKEIN_BAD_MESSAGE'
const TOO_LARGE = 'SKEIN_VALUE_TOO_LARGE'
const CLOSE_POLICY = 1008
/** After this many bad requests an authenticated peer is disconnected instead of answered. */
const MAX_STRIKES = 20
/** A peer that stops reading its replies is disconnected once this much waits for it (replies are up to a chunk each). */
const MAX_QUEUED_BYTES = 1024 * 2 ** 20
/** Refused puts remembered per connection, so that the chunks already on their way are dropped quietly. */
const MAX_REFUSED_PUTS = 1024

/** A 'put' whose large values are still arriving in chunks. */
class IncomingPut {
  /** Values still arriving, by index in the put. */
  readonly arriving = new Map<number, ChunkedValue>()

  constructor(
    readonly keys: string[],
    readonly nbytes: number[],
  ) {}
}

/** What one connection to the peer server has under way. */
class PeerSession {
  strikes = 0
  readonly puts = new Map<number, IncomingPut>()
  /** Bytes of the values arriving in chunks, allocated already. */
  arrivingBytes = 0
  readonly refusedPuts = new Set<number>()

  refuse(request: number): void {
    if (this.refusedPuts.size >= MAX_REFUSED_PUTS) this.refusedPuts.clear()
    this.refusedPuts.add(request)
  }
}

/**
 * The worker's own port: peers and clients 'get' data from it, clients 'put'
 * scattered data on it, once they proved they hold the cluster's token (the
 * same handshake as the scheduler's). The scheduler carries only small
 * results inline (see INLINE_RESULT_MAX_BYTES).
 */
export class PeerServer {
  private server!: WsServer
  private readonly refused: Log

  private constructor(
    private readonly store: DataStore,
    private readonly credentials: Credentials,
    private readonly log: Log,
    private readonly maxValueBytes: number,
  ) {
    this.refused = rateLimited(log)
  }

  /**
   * With `tls`, it serves wss:// (and requires peers' certificates when `tls.requireClientCert`).
   * Values put on it may be up to `maxValueBytes` (the worker's memory limit) each, and in all
   * while they arrive on one connection. `request` answers plain HTTP requests (GET /metrics).
   */
  static async listen(host: string, store: DataStore, credentials: Credentials, tls: ResolvedTls | null, log: Log, maxValueBytes: number, request?: http.RequestListener): Promise<PeerServer> {
    const peers = new PeerServer(store, credentials, log, maxValueBytes)
    peers.server = await WsServer.listen(
      { host, port: 0, maxPayload: MAX_FRAME_BYTES, limits: DEFAULT_ADMISSION_LIMITS, tls, request, refused: (line) => peers.refused(`peer server: ${line}`) },
      (socket, remote, guard) => peers.accept(socket, remote, guard),
    )
    return peers
  }

  get port(): number {
    return this.server.port
  }

  /** Bytes read and written on the port since it opened. */
  get bytes(): { read: number; written: number } {
    return this.server.bytes.totals
  }

  close(): void {
    void this.server.close()
  }

  private accept(socket: WebSocket, remote: string, guard: ConnectionGuard): void {
    const handshake = new ServerHandshake(this.credentials, 'worker', ['peer'])
    const session = new PeerSession()
    const channel: Channel<PeerReply, PeerRequest> = new Channel<PeerReply, PeerRequest>(
      socket,
      (request) => {
        if (handshake.role !== null) {
          if (this.serve(channel, session, request) || ++session.strikes < MAX_STRIKES) return
          this.log(`peer connection from ${remote}: ${MAX_STRIKES} bad requests; closing it`)
          channel.close(CLOSE_POLICY, 'too many bad requests')
          return
        }
        try {
          channel.send(handshake.answer(request))
          guard.passed()
        } catch (err) {
          const e = err as SkeinError
          channel.send(['error', -1, e instanceof SkeinError ? e.code : BAD_MESSAGE, e.message])
          this.refused(`peer server: refused ${remote}: ${e.message}`)
          channel.close(CLOSE_POLICY, e.message.slice(0, 120))
        }
      },
      (err) => {
        channel.send(['error', -1, BAD_MESSAGE, err.message])
        // Before the handshake, one bad frame is enough to end it.
        if (handshake.role === null || ++session.strikes >= MAX_STRIKES) channel.close(CLOSE_POLICY, 'bad frames')
      },
      {
        maxQueuedBytes: MAX_QUEUED_BYTES,
        overflow: (bytes) => {
          this.log(`peer connection from ${remote}: stopped reading; ${(bytes / 2 ** 20).toFixed(1)} MiB wait to be sent to it; disconnecting it`)
          socket.terminate()
        },
      },
    )
    socket.on('error', (err) => (handshake.role === null ? this.refused : this.log)(`peer connection from ${remote}: ${err.message}`))
    channel.send(handshake.challenge())
    channel.flushNow()
  }

  /** Answers one request; false when it was not one this server serves. */
  private serve(channel: Channel<PeerReply, PeerRequest>, session: PeerSession, m: PeerRequest): boolean {
    const request = typeof m[1] === 'number' ? m[1] : -1
    if (m[0] === 'get' && m.length === 3 && isStrings(m[2])) {
      const keys = m[2]
      const values: (Uint8Array | null)[] = new Array(keys.length)
      let reads: Promise<void>[] | null = null
      for (let i = 0; i < keys.length; i++) {
        const bytes = this.store.read(keys[i])
        if (bytes instanceof Promise) (reads ??= []).push(bytes.then((b) => void (values[i] = b)))
        else values[i] = bytes
      }
      if (reads === null) sendData(channel, request, values)
      // Spilled values are read from disk first; replies carry their request id, so order does not matter.
      else void Promise.all(reads).then(() => channel.isOpen && sendData(channel, request, values))
      return true
    } else if (m[0] === 'put' && m.length === 3 && isEntries(m[2])) {
      return this.put(channel, session, request, m[2])
    } else if (m[0] === 'chunk' && m.length === 5 && typeof m[2] === 'number') {
      return this.chunk(channel, session, request, m[2], m[3], m[4])
    }
    channel.send(['error', request, BAD_MESSAGE, `a worker serves ['get', request, keys], ['put', request, [key, bytes or size][]] (keys of at most ${MAX_KEY_BYTES} bytes) and ['chunk', request, index, offset, bytes], not '${String(m[0]).slice(0, 32)}' with these fields`])
    return false
  }

  /** Stores the inline values of a put; those announced by size are stored as their chunks complete them. */
  private put(channel: Channel<PeerReply, PeerRequest>, session: PeerSession, request: number, entries: [string, Uint8Array | number][]): boolean {
    if (session.puts.has(request)) {
      channel.send(['error', request, BAD_MESSAGE, `put ${request} is still arriving; a request id is used once at a time`])
      return false
    }
    let arriving = 0
    for (const [key, value] of entries) {
      const size = typeof value === 'number' ? value : value.byteLength
      const why = refusedSize(size, this.maxValueBytes, `the value of ${key.slice(0, 200)}`)
      if (why !== null) {
        const notASize = typeof value === 'number' && !(Number.isSafeInteger(value) && value >= 0)
        return this.refusePut(channel, session, request, notASize ? BAD_MESSAGE : TOO_LARGE, notASize ? why : `${why} (this worker's memory limit)`)
      }
      if (typeof value === 'number') arriving += value
    }
    if (arriving > 0 && session.arrivingBytes + arriving > this.maxValueBytes) {
      return this.refusePut(channel, session, request, TOO_LARGE, `the values arriving on this connection would take ${session.arrivingBytes + arriving} bytes; this worker takes at most ${this.maxValueBytes} bytes (its memory limit) at once`)
    }
    const put = new IncomingPut(
      entries.map((e) => e[0]),
      entries.map((e) => (typeof e[1] === 'number' ? e[1] : e[1].byteLength)),
    )
    for (let i = 0; i < entries.length; i++) {
      const [key, value] = entries[i]
      if (typeof value === 'number') put.arriving.set(i, new ChunkedValue(value, true))
      else this.store.putScattered(key, value)
    }
    session.arrivingBytes += arriving
    // Empty values announced by size need no chunk.
    for (const [i, value] of put.arriving) if (value.complete) this.arrived(session, put, i, value)
    if (put.arriving.size === 0) channel.send(['put-done', request, put.nbytes])
    else session.puts.set(request, put)
    return true
  }

  private chunk(channel: Channel<PeerReply, PeerRequest>, session: PeerSession, request: number, index: number, offset: unknown, bytes: unknown): boolean {
    const put = session.puts.get(request)
    const value = put?.arriving.get(index)
    if (put === undefined || value === undefined) {
      if (session.refusedPuts.has(request)) return true
      channel.send(['error', request, BAD_MESSAGE, `a chunk for value ${index} of put ${request}, which is not arriving here`])
      return false
    }
    const why = value.add(offset, bytes)
    if (why !== null) {
      session.puts.delete(request)
      for (const v of put.arriving.values()) session.arrivingBytes -= v.size
      this.refusePut(channel, session, request, BAD_MESSAGE, `put ${request}, value ${index} (${put.keys[index].slice(0, 200)}): ${why}`)
      return false
    }
    if (!value.complete) return true
    this.arrived(session, put, index, value)
    if (put.arriving.size > 0) return true
    session.puts.delete(request)
    channel.send(['put-done', request, put.nbytes])
    return true
  }

  private arrived(session: PeerSession, put: IncomingPut, index: number, value: ChunkedValue): void {
    put.arriving.delete(index)
    session.arrivingBytes -= value.size
    this.store.putScattered(put.keys[index], value.bytes!)
  }

  /** Answers `request` with an error; chunks already sent for it are dropped without complaint. */
  private refusePut(channel: Channel<PeerReply, PeerRequest>, session: PeerSession, request: number, code: string, message: string): boolean {
    session.refuse(request)
    channel.send(['error', request, code, message])
    return code !== BAD_MESSAGE
  }
}

/** Replies of at most this many bytes of values share frames with the other messages of their turn. */
const SMALL_REPLY_BYTES = 2 ** 20

/**
 * Sends ['data', request, values]; a large one in a frame of its own: values inline up to CHUNK_BYTES in
 * all, the rest by size and then in chunks (values one after another).
 */
function sendData(channel: Channel<PeerReply, PeerRequest>, request: number, values: (Uint8Array | null)[]): void {
  let total = 0
  for (const v of values) if (v !== null) total += v.byteLength
  if (total <= SMALL_REPLY_BYTES) {
    // Replies in one turn leave together, as one frame: byte 0 of the frame buffer is spare for that.
    channel.sendEncodedAt1(dataFrame(request, values))
    return
  }
  if (total <= CHUNK_BYTES) {
    channel.sendFrame(dataFrame(request, values))
    return
  }
  const inline = inlinePlan(values.map((v) => (v === null ? 0 : v.byteLength)))
  const streamed: number[] = []
  const announced = values.map((v, i) => {
    if (v === null || inline[i]) return v
    streamed.push(i)
    return v.byteLength
  })
  channel.sendFrame(dataFrame(request, announced))
  void streamValues(channel, request, values, streamed)
}

async function streamValues(channel: Channel<PeerReply, PeerRequest>, request: number, values: (Uint8Array | null)[], indices: number[]): Promise<void> {
  for (const i of indices) if (!(await sendChunks(channel, request, i, values[i]!))) return
}

function isKey(k: unknown): k is string {
  return typeof k === 'string' && !keyTooLong(k)
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every(isKey)
}

function isEntries(v: unknown): v is [string, Uint8Array | number][] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && isKey(e[0]) && (e[1] instanceof Uint8Array || typeof e[1] === 'number'))
}
