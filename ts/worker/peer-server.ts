import type http from 'node:http'
import type { WebSocket } from 'ws'
import {
  Channel,
  DEFAULT_ADMISSION_LIMITS,
  encode,
  MAX_FRAME_BYTES,
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
const CLOSE_POLICY = 1008
/** After this many bad requests an authenticated peer is disconnected instead of answered. */
const MAX_STRIKES = 20
/** A peer that stops reading its replies is disconnected once this much waits for it (values are up to a frame each). */
const MAX_QUEUED_BYTES = 1024 * 2 ** 20

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
  ) {
    this.refused = rateLimited(log)
  }

  /** With `tls`, it serves wss:// (and requires peers' certificates when `tls.requireClientCert`). `request` answers plain HTTP requests (GET /metrics). */
  static async listen(host: string, store: DataStore, credentials: Credentials, tls: ResolvedTls | null, log: Log, request?: http.RequestListener): Promise<PeerServer> {
    const peers = new PeerServer(store, credentials, log)
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
    let strikes = 0
    const channel: Channel<PeerReply, PeerRequest> = new Channel<PeerReply, PeerRequest>(
      socket,
      (request) => {
        if (handshake.role !== null) {
          if (this.serve(channel, request) || ++strikes < MAX_STRIKES) return
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
        if (handshake.role === null || ++strikes >= MAX_STRIKES) channel.close(CLOSE_POLICY, 'bad frames')
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
  private serve(channel: Channel<PeerReply, PeerRequest>, m: PeerRequest): boolean {
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
      const nbytes = m[2].map(([key, bytes]) => {
        this.store.putScattered(key, bytes)
        return bytes.byteLength
      })
      channel.send(['put-done', request, nbytes])
      return true
    }
    channel.send(['error', request, BAD_MESSAGE, `a worker serves ['get', request, keys] and ['put', request, [key, bytes][]] (keys of at most ${MAX_KEY_BYTES} bytes), not '${String(m[0]).slice(0, 32)}' with these fields`])
    return false
  }
}

function sendData(channel: Channel<PeerReply, PeerRequest>, request: number, values: (Uint8Array | null)[]): void {
  let size = 0
  for (const bytes of values) size += bytes === null ? 1 : 5 + bytes.byteLength
  channel.sendEncodedAt1(encodeData(request, values, size))
}

/**
 * ['data', request, values] written in one pass into one buffer from offset 1 (byte 0 is
 * left spare for the channel): values as bin, or nil. `size` bounds the values' bytes.
 */
function encodeData(request: number, values: (Uint8Array | null)[], size: number): Buffer {
  const head = encode(request)
  const buf = Buffer.allocUnsafe(7 + head.length + 5 + size)
  buf[1] = 0x93
  buf[2] = 0xa4 // fixstr 4
  buf.write('data', 3, 'latin1')
  head.copy(buf, 7)
  let pos = 7 + head.length
  buf[pos] = 0xdd
  buf.writeUInt32BE(values.length, pos + 1)
  pos += 5
  for (const v of values) {
    if (v === null) {
      buf[pos++] = 0xc0
      continue
    }
    const n = v.byteLength
    if (n < 0x100) {
      buf[pos] = 0xc4
      buf[pos + 1] = n
      pos += 2
    } else {
      buf[pos] = 0xc6
      buf.writeUInt32BE(n, pos + 1)
      pos += 5
    }
    buf.set(v, pos)
    pos += n
  }
  return buf.subarray(0, pos)
}

function isKey(k: unknown): k is string {
  return typeof k === 'string' && !keyTooLong(k)
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every(isKey)
}

function isEntries(v: unknown): v is [string, Uint8Array][] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && isKey(e[0]) && e[1] instanceof Uint8Array)
}
