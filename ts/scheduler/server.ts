import type http from 'node:http'
import type { WebSocket } from 'ws'
import { WsServer, type AdmissionLimits, type ConnectionGuard, type ResolvedTls } from '../protocol'

export interface ServerHandlers {
  connection(socket: WebSocket, remote: string, guard: ConnectionGuard): void
  health(): unknown
  /** The Prometheus exposition (see metrics.ts). */
  metrics(): Promise<{ body: string; contentType: string }>
  /** One line per refused connection (already rate-limited by the caller). */
  refused(line: string): void
}

/**
 * One HTTP(S) server on one port: WebSocket upgrades for clients and workers (after admission),
 * `GET /health` for probes and `GET /metrics` for Prometheus. Both plain routes are read-only
 * counts, served without the token as probes and scrapers expect; neither shows a key or the token.
 */
export class SchedulerServer {
  private constructor(private readonly server: WsServer) {}

  static async listen(host: string, port: number, maxPayload: number, limits: AdmissionLimits, tls: ResolvedTls | null, handlers: ServerHandlers): Promise<SchedulerServer> {
    const server = await WsServer.listen(
      { host, port, maxPayload, limits, tls, request: (req, res) => respond(req, res, handlers), refused: handlers.refused },
      handlers.connection,
    )
    return new SchedulerServer(server)
  }

  get port(): number {
    return this.server.port
  }

  /** Bytes read and written on the port since it opened. */
  get bytes(): { read: number; written: number } {
    return this.server.bytes.totals
  }

  /** Connections now: all of them, and those still in their handshake. */
  get connections(): { total: number; pending: number } {
    return { total: this.server.admission.total, pending: this.server.admission.pending }
  }

  close(): Promise<void> {
    return this.server.close()
  }
}

function respond(req: http.IncomingMessage, res: http.ServerResponse, handlers: ServerHandlers): void {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method === 'GET' && path === '/health') {
    let body: string
    try {
      body = JSON.stringify(handlers.health())
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', message: (err as Error).message }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    return
  }
  if (req.method === 'GET' && path === '/metrics') {
    handlers.metrics().then(
      ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    )
    return
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('skein scheduler: try GET /health, GET /metrics or a WebSocket connection\n')
}
