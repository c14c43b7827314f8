import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { pageHtml, readBundle, type StoryReply } from '../dashboard'
import type { ResolvedTls } from '../protocol'
import { DashboardAuth } from './dashboard-auth'
import type { DashboardFeed } from './dashboard-feed'
import type { Log } from './log'

/** Pages watching at once; more are refused (503). */
export const MAX_DASHBOARD_PAGES = 64
/** HTTP connections at once. */
const MAX_HTTP_CONNECTIONS = 256
/** A page's messages are small (a key to look up). */
const MAX_PAGE_MESSAGE_BYTES = 8 * 1024
/** A page that has this much waiting to be sent to it skips updates until it reads. */
const MAX_BUFFERED_BYTES = 4 * 2 ** 20
/** Story look-ups a page may make per second. */
const MAX_LOOKUPS_PER_SECOND = 20
const BUNDLE_PATH = '/dashboard.js'

export interface DashboardServerOptions {
  host: string
  port: number
  token: string | null
  /** With TLS, the dashboard is served over https with the scheduler's certificate. */
  tls: ResolvedTls | null
  feed: DashboardFeed
  story(key: string): StoryReply['story']
  /** Where the port it fell back to is said (as Dask warns). */
  log: Log
}

/**
 * The dashboard on a port of its own: the page (`/status`, `/task?key=`), its bundle, and one
 * WebSocket (`/ws`) per page for updates. With a token, every request must show it (see
 * DashboardAuth). Updates are built by the feed only while a page is open.
 */
export class DashboardServer {
  private bundle: string | undefined

  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
  ) {}

  static async listen(options: DashboardServerOptions): Promise<DashboardServer> {
    const auth = new DashboardAuth(options.token)
    const secure = options.tls !== null && options.tls.cert !== null && options.tls.key !== null
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAGE_MESSAGE_BYTES, perMessageDeflate: false })
    let dashboard: DashboardServer | undefined
    const handler: http.RequestListener = (req, res) => dashboard!.respond(req, res, auth, secure)
    const server = secure ? https.createServer({ cert: options.tls!.cert!, key: options.tls!.key! }, handler) : http.createServer(handler)
    dashboard = new DashboardServer(server, wss)
    server.maxConnections = MAX_HTTP_CONNECTIONS
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    server.on('clientError', (_err, socket) => socket.destroy())
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      socket.on('error', () => socket.destroy())
      const refusal = upgradeRefusal(req, auth, wss.clients.size)
      if (refusal !== null) {
        socket.end(`HTTP/1.1 ${refusal[0]} ${http.STATUS_CODES[refusal[0]]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${refusal[1]}\n`)
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, options))
    })
    wss.on('error', () => {})
    try {
      await listenOn(server, options.host, options.port)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) throw err
      // As Dask does: the usual port is taken (another cluster's dashboard, most likely): take a free one and say which.
      await listenOn(server, options.host, 0)
      options.log(`the dashboard's port ${options.port} is taken; the dashboard is at port ${(server.address() as AddressInfo).port} instead`)
    }
    server.on('error', () => {})
    return dashboard
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse, auth: DashboardAuth, secure: boolean): void {
    const url = new URL(req.url ?? '/', 'http://dashboard')
    res.setHeader('referrer-policy', 'no-referrer')
    res.setHeader('x-content-type-options', 'nosniff')
    res.setHeader('content-security-policy', "frame-ancestors 'none'")
    res.setHeader('cache-control', 'no-store')
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('the dashboard only answers GET\n')
      return
    }
    const given = url.searchParams.get('token')
    if (given !== null && auth.required) {
      if (!auth.matches(given)) return unauthorized(res)
      // The token leaves the address bar (and the history) at once; the cookie stands for it from now on.
      url.searchParams.delete('token')
      res.writeHead(303, { location: `${url.pathname}${url.search}`, 'set-cookie': auth.sessionCookie(secure) }).end()
      return
    }
    if (!auth.allows(req)) return unauthorized(res)
    switch (url.pathname) {
      case '/':
        res.writeHead(302, { location: '/status' }).end()
        return
      case '/status':
      case '/task':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageHtml('skein dashboard', { src: BUNDLE_PATH }))
        return
      case '/favicon.ico':
        res.writeHead(204).end()
        return
      case BUNDLE_PATH: {
        let bundle: string
        try {
          bundle = this.bundle ??= readBundle()
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`)
          return
        }
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle)
        return
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the dashboard is at /status\n')
    }
  }
}

function unauthorized(res: http.ServerResponse): void {
  res
    .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="skein dashboard"' })
    .end("this dashboard needs the cluster's token: open it once as /status?token=TOKEN (the token skein scheduler printed, or scheduler.token), or send Authorization: Bearer TOKEN\n")
}

/** Why a WebSocket upgrade is refused, or null. */
function upgradeRefusal(req: http.IncomingMessage, auth: DashboardAuth, pages: number): [number, string] | null {
  if (new URL(req.url ?? '/', 'http://dashboard').pathname !== '/ws') return [404, 'not found']
  // Only the dashboard's own pages: another site's page must not read it with the browser's cookie.
  const origin = req.headers.origin
  if (origin !== undefined && origin.replace(/^https?:\/\//, '') !== req.headers.host) return [403, `Origin '${origin.slice(0, 100)}' is not this dashboard`]
  if (!auth.allows(req)) return [401, 'the token is required']
  if (pages >= MAX_DASHBOARD_PAGES) return [503, `already ${pages} dashboard pages open`]
  return null
}

function serve(ws: WebSocket, options: DashboardServerOptions): void {
  const unsubscribe = options.feed.subscribe((text) => {
    if (ws.bufferedAmount <= MAX_BUFFERED_BYTES) ws.send(text)
  })
  let window = Date.now()
  let lookups = 0
  ws.on('message', (data, isBinary) => {
    const now = Date.now()
    if (now - window >= 1000) {
      window = now
      lookups = 0
    }
    if (isBinary || ++lookups > MAX_LOOKUPS_PER_SECOND) return
    let key: unknown
    try {
      key = (JSON.parse(String(data)) as { story?: unknown }).story
    } catch {
      return
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > 4096) return
    ws.send(JSON.stringify({ story: options.story(key) } satisfies StoryReply))
  })
  ws.on('error', () => ws.terminate())
  ws.on('close', unsubscribe)
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
