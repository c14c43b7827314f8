import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { Channel, encode, MAX_FRAME_BYTES, type PeerReply, type PeerRequest } from '../protocol'
import type { Log } from './log'
import type { DataStore } from './store'

const BAD_MESSAGE = 'SKEIN_BAD_MESSAGE'

/**
 * The worker's own port: peers and clients 'get' data from it, clients 'put'
 * scattered data on it. The scheduler carries only small results inline (see INLINE_RESULT_MAX_BYTES).
 */
export class PeerServer {
  private constructor(
    private readonly wss: WebSocketServer,
    private readonly store: DataStore,
    private readonly log: Log,
  ) {
    wss.on('connection', (socket) => this.accept(socket))
  }

  static async listen(host: string, store: DataStore, log: Log): Promise<PeerServer> {
    const wss = new WebSocketServer({ host, port: 0, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve)
      wss.once('error', reject)
    })
    wss.on('error', (err) => log(`peer server: ${err.message}`))
    return new PeerServer(wss, store, log)
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port
  }

  close(): void {
    for (const socket of this.wss.clients) socket.terminate()
    this.wss.close()
  }

  private accept(socket: WebSocket): void {
    const channel: Channel<PeerReply, PeerRequest> = new Channel<PeerReply, PeerRequest>(
      socket,
      (request) => this.serve(channel, request),
      (err) => channel.send(['error', -1, BAD_MESSAGE, err.message]),
    )
    socket.on('error', (err) => this.log(`peer connection: ${err.message}`))
  }

  private serve(channel: Channel<PeerReply, PeerRequest>, m: PeerRequest): void {
    const request = typeof m[1] === 'number' ? m[1] : -1
    if (m[0] === 'get' && m.length === 3 && isStrings(m[2])) {
      const keys = m[2]
      const values: (Uint8Array | null)[] = new Array(keys.length)
      let size = 0
      for (let i = 0; i < keys.length; i++) {
        const bytes = this.store.bytes(keys[i]) ?? null
        values[i] = bytes
        size += bytes === null ? 1 : 5 + bytes.byteLength
      }
      channel.sendEncodedAt1(encodeData(request, values, size))
    } else if (m[0] === 'put' && m.length === 3 && isEntries(m[2])) {
      const nbytes = m[2].map(([key, bytes]) => {
        this.store.putScattered(key, bytes)
        return bytes.byteLength
      })
      channel.send(['put-done', request, nbytes])
    } else {
      channel.send(['error', request, BAD_MESSAGE, `a worker serves ['get', request, keys] and ['put', request, [key, bytes][]], not '${String(m[0]).slice(0, 32)}' with these fields`])
    }
  }
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

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((k) => typeof k === 'string')
}

function isEntries(v: unknown): v is [string, Uint8Array][] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[1] instanceof Uint8Array)
}
