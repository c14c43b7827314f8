import http from 'node:http'
import https from 'node:https'
import net, { type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { Admission, type AdmissionLimits, type ConnectionGuard } from './admission'
import { PortBytes } from './port-bytes'
import { clientCertificateRefusal, tlsServerOptions, type ResolvedTls } from './tls'

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
  /** Serve TLS (wss://, https:// for plain requests) with these; null: plain ws://. */
  tls: ResolvedTls | null
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
  /** Bytes in and out of the port (for metrics). */
  readonly bytes: PortBytes

  private constructor(
    private readonly http: http.Server,
    /** The listening server: `http` itself, or with TLS the plain TCP server in front of it (see TlsFront). */
    private readonly listener: net.Server,
    private readonly front: TlsFront | null,
    private readonly wss: WebSocketServer,
    admission: Admission,
    bytes: PortBytes,
  ) {
    this.admission = admission
    this.bytes = bytes
  }

  static async listen(options: WsServerOptions, onConnection: OnConnection): Promise<WsServer> {
    const admission = new Admission(options.limits)
    const tls = options.tls
    const request = options.request ?? notFound
    const server =
      tls === null
        ? http.createServer(request)
        : https.createServer(tlsServerOptions(tls, options.limits.helloTimeoutMs), (req, res) => {
            const refusal = clientCertificateRefusal(req.socket, tls)
            if (refusal === null) return request(req, res)
            res.writeHead(403, { 'content-type': 'text/plain', 'skein-code': 'SKEIN_TLS', connection: 'close' }).end(`${refusal}\n`)
          })
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload, perMessageDeflate: false })
    server.on('upgrade', (req: http.IncomingMessage, raw: Duplex, head: Buffer) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`
      raw.on('error', () => raw.destroy())
      const uncertified = clientCertificateRefusal(req.socket, tls)
      if (uncertified !== null) {
        options.refused(`refused a connection from ${remote}: ${uncertified}`)
        refuse(raw, 403, uncertified, 'SKEIN_TLS')
        return
      }
      const refusal = admission.check(req)
      if (refusal !== null) {
        options.refused(`refused a connection from ${remote}: ${refusal[1]}`)
        refuse(raw, refusal[0], refusal[1])
        return
      }
      // With TLS this is the TLSSocket, whose 'data' are the bytes it decrypted: what ws will parse.
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
    if (tls !== null) {
      server.on('tlsClientError', (err: Error & { code?: string }, socket: Socket) => {
        // Resets are port scanners and parties that gave up (or that did not trust this server's certificate); other TLS failures are worth a line.
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') options.refused(`refused a TLS connection from ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ').trim())
        socket.destroy()
      })
    }
    const front = tls === null ? null : new TlsFront(server as https.Server, options.limits.helloTimeoutMs)
    const listener = front?.server ?? server
    const bytes = new PortBytes()
    bytes.watch(listener)
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject)
      listener.listen(options.port, options.host, () => {
        listener.off('error', reject)
        resolve()
      })
    })
    listener.on('error', () => {})
    server.on('error', () => {})
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      // A wss:// party at a plain port lands here (its ClientHello is no HTTP): a plain answer is what
      // makes its TLS fail with "wrong version number" instead of a bare reset.
      if (err.code !== 'ECONNRESET' && socket.writable) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        setTimeout(() => socket.destroy(), 1000).unref()
      } else socket.destroy()
    })
    return new WsServer(server, listener, front, wss, admission, bytes)
  }

  get port(): number {
    return (this.listener.address() as AddressInfo).port
  }

  /** Ends every connection and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    this.front?.destroyAll()
    await new Promise<void>((resolve) => this.listener.close(() => resolve()))
  }
}

/** The first byte of a TLS connection: a handshake record (the ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16

/**
 * The TCP server in front of an https server. It reads a connection's first bytes: a TLS
 * ClientHello goes on to the https server (the bytes put back, so TLS sees them); anything else is
 * a plain ws:// or http:// party at a TLS port, which gets a plain HTTP 400 that says to use
 * wss:// instead of a TLS alert it could not read.
 */
class TlsFront {
  readonly server: net.Server
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly tls: https.Server,
    private readonly timeoutMs: number,
  ) {
    this.server = net.createServer((socket) => this.sniff(socket))
  }

  /** Every connection, in TLS or not yet: the https server does not know those still in their TLS handshake. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  private sniff(socket: Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const timer = setTimeout(() => socket.destroy(), this.timeoutMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer)
      socket.pause()
      socket.unshift(chunk)
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        this.tls.emit('connection', socket)
        return
      }
      refuse(socket, 400, 'this port speaks TLS: connect with wss:// (https:// for GET /health)', 'SKEIN_TLS')
      // What the party still sends is dropped, not buffered, until the close.
      socket.resume()
      setTimeout(() => socket.destroy(), this.timeoutMs).unref()
    })
  }
}

/** A plain HTTP response that ends the connection; `code` (a SKEIN_ code) lets skein's parties report it as such. */
function refuse(raw: Duplex, status: number, reason: string, code?: string): void {
  const body = `${reason}\n`
  const header = code === undefined ? '' : `Skein-Code: ${code}\r\n`
  raw.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n${header}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

function notFound(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
}
