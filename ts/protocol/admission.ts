import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/** What a server allows connections that have not authenticated yet, and how many connections at all. */
export interface AdmissionLimits {
  /** A connection must finish its handshake (challenge, auth, hello) within this; default 10 000 ms. */
  helloTimeoutMs: number
  /** Bytes a connection may send before it has authenticated; default 64 KiB. */
  maxPreAuthBytes: number
  /** Connections at once that have not finished their handshake; default 256. */
  maxPendingConnections: number
  /** Connections at once in all; default 10 000. */
  maxConnections: number
  /** Browser Origins allowed to connect (exact match, e.g. 'https://dash.example'); others are refused. Default none. */
  allowedOrigins: readonly string[]
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = {
  helloTimeoutMs: 10_000,
  maxPreAuthBytes: 64 * 1024,
  maxPendingConnections: 256,
  maxConnections: 10_000,
  allowedOrigins: [],
}

/** A refused upgrade: the HTTP status and why. */
export type Refusal = [status: number, reason: string]

/**
 * Counts a server's connections and decides, from the upgrade request alone
 * (before any WebSocket exists), whether one more may open: browsers from
 * Origins not allowed, and connections beyond the caps, are refused.
 */
export class Admission {
  private pendingCount = 0
  private totalCount = 0

  constructor(readonly limits: AdmissionLimits) {}

  get pending(): number {
    return this.pendingCount
  }

  get total(): number {
    return this.totalCount
  }

  check(req: IncomingMessage): Refusal | null {
    const origin = req.headers.origin
    // Node parties send no Origin; a browser always does, and a page must not reach the cluster unless allowed.
    if (origin !== undefined && !this.limits.allowedOrigins.includes(origin)) return [403, `Origin '${origin.slice(0, 100)}' is not allowed`]
    if (this.totalCount >= this.limits.maxConnections) return [503, `already ${this.totalCount} connections (maxConnections)`]
    if (this.pendingCount >= this.limits.maxPendingConnections) return [503, `already ${this.pendingCount} connections in their handshake (maxPendingConnections)`]
    return null
  }

  /**
   * Starts watching a connection that was just admitted (`raw`: its TCP socket, null in-process).
   * `violated` is called once if it overstays its handshake or sends too much before authenticating.
   */
  admit(raw: Socket | null, violated: (reason: string) => void): ConnectionGuard {
    this.pendingCount++
    this.totalCount++
    return new ConnectionGuard(this, raw, violated)
  }

  /** @internal */
  settled(wasPending: boolean): void {
    if (wasPending) this.pendingCount--
  }

  /** @internal */
  closed(wasPending: boolean): void {
    if (wasPending) this.pendingCount--
    this.totalCount--
  }
}

/**
 * One connection's limits until its handshake is done: a deadline, and a
 * budget of raw bytes counted off the TCP socket as they arrive, so a huge
 * frame is cut off before it is buffered, let alone decoded.
 */
export class ConnectionGuard {
  private pending = true
  private open = true
  private received = 0
  private readonly timer: NodeJS.Timeout
  private readonly count = (chunk: Buffer) => {
    this.received += chunk.length
    if (this.received > this.admission.limits.maxPreAuthBytes) {
      this.violation(`sent more than ${this.admission.limits.maxPreAuthBytes} bytes before authenticating`)
    }
  }

  constructor(
    private readonly admission: Admission,
    private readonly raw: Socket | null,
    private readonly violated: (reason: string) => void,
  ) {
    this.timer = setTimeout(() => this.violation(`did not finish its handshake within ${admission.limits.helloTimeoutMs} ms`), admission.limits.helloTimeoutMs)
    this.timer.unref()
    raw?.on('data', this.count)
  }

  /** The handshake is done: no deadline or byte budget from now on. */
  passed(): void {
    if (!this.pending) return
    this.pending = false
    this.stopWatching()
    this.admission.settled(true)
  }

  /** The connection closed (call exactly once). */
  closed(): void {
    if (!this.open) return
    this.open = false
    this.stopWatching()
    this.admission.closed(this.pending)
    this.pending = false
  }

  private violation(reason: string): void {
    if (!this.pending) return
    this.stopWatching()
    this.violated(reason)
  }

  private stopWatching(): void {
    clearTimeout(this.timer)
    this.raw?.off('data', this.count)
  }
}

/**
 * A log that keeps at most `perMinute` lines a minute and then says how many
 * it dropped: refusing a flood of strangers must not become a flood of lines.
 */
export function rateLimited(log: (line: string) => void, perMinute = 60): (line: string) => void {
  let windowStart = 0
  let written = 0
  let dropped = 0
  return (line) => {
    const now = Date.now()
    if (now - windowStart >= 60_000) {
      if (dropped > 0) log(`(${dropped} similar line(s) dropped in the last minute)`)
      windowStart = now
      written = 0
      dropped = 0
    }
    if (written < perMinute) {
      written++
      log(line)
    } else dropped++
  }
}
