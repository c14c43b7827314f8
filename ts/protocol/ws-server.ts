import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { Admission, type AdmissionLimits, type ConnectionGuard } from './admission'

export interface WsServerOptions {
  host: string
  port: number
  /** Largest frame accepted after authentication (ws closes the connection beyond it). */
  maxPayload: number
  limits: AdmissionLimits
  /** Plain HTTP requests (not upgrades); default 404. */
  request?: http.RequestListener
  /** One line per refused connection (rate-limit it: strangers can cause many). */
  refused: (line: string) => void
}

/** Called for each admitted connection; `guard.passed()` once its handshake is done. */
export type OnConnection = (socket: WebSocket, remote: string, guard: ConnectionGuard) => void

/**
 * An HTTP server whose WebSocket upgrades go through admission first:
 * browsers from Origins not allowed and connections beyond the caps get an
 * HTTP error before any WebSocket exists; admitted ones are watched until
 * their handshake is done (see ConnectionGuard).
 */
export class WsServer {
  readonly admission: Admission

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    admission: Admission,
  ) {
    this.admission = admission
  }

  static async listen(options: WsServerOptions, onConnection: OnConnection): Promise<WsServer> {
    const admission = new Admission(options.limits)
    const server = http.createServer(options.request ?? notFound)
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, perMessageDeflate: false })
    server.on('upgrade', (req: http.IncomingMessage, raw: Duplex, head: Buffer) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`
      raw.on('error', () => raw.destroy())
      const refusal = admission.check(req)
      if (refusal !== null) {
        options.refused(`refused a connection from ${remote}: ${refusal[1]}`)
        refuse(raw, refusal[0], refusal[1])
        return
      }
      const tcp = raw as Socket
      // Counted from the upgrade on: the handshake's frames included, nothing from before.
      const guard = admission.admit(tcp, (reason) => {
        options.refused(`closed the connection from ${remote}: it ${reason}`)
        tcp.destroy()
      })
      tcp.once('close', () => guard.closed())
      wss.handleUpgrade(req, raw, head, (socket) => onConnection(socket, remote, guard))
    })
    // Errors of the listening server surface from listen(); later ones must not crash the process.
    wss.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', () => {})
    server.on('clientError', (_err, socket) => socket.destroy())
    return new WsServer(server, wss, admission)
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port
  }

  /** Ends every connection and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }
}

function refuse(raw: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`
  raw.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

function notFound(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
}
