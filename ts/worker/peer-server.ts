import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { Channel, MAX_FRAME_BYTES, type PeerReply, type PeerRequest } from '../protocol'
import type { Log } from './log'
import type { DataStore } from './store'

const BAD_MESSAGE = 'SKEIN_BAD_MESSAGE'

/**
 * The worker's own port: peers and clients 'get' data from it, clients 'put'
 * scattered data on it. The scheduler never carries data.
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
      for (let i = 0; i < keys.length; i++) values[i] = this.store.bytes(keys[i]) ?? null
      channel.send(['data', request, values])
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

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((k) => typeof k === 'string')
}

function isEntries(v: unknown): v is [string, Uint8Array][] {
  return Array.isArray(v) && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[1] instanceof Uint8Array)
}
