import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

export interface ServerHandlers {
  connection(socket: WebSocket, remote: string): void
  health(): unknown
}

/** One HTTP server on one port: WebSocket upgrades for clients and workers, `GET /health` for probes. */
export class SchedulerServer {
  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
  ) {}

  static async listen(host: string, port: number, maxPayload: number, handlers: ServerHandlers): Promise<SchedulerServer> {
    const server = http.createServer((req, res) => respond(req, res, handlers))
    const wss = new WebSocketServer({ server, maxPayload, perMessageDeflate: false })
    wss.on('connection', (socket, req) => {
      handlers.connection(socket, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`)
    })
    // Errors of the listening server surface from listen(); later ones must not crash the process.
    wss.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', () => {})
    server.on('clientError', (_err, socket) => socket.destroy())
    return new SchedulerServer(server, wss)
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
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
  res.writeHead(404, { 'content-type': 'text/plain' }).end('skein scheduler: try GET /health or a WebSocket connection\n')
}
