import type { ForwardedTaskOutput, TaskOutputLine } from '../protocol'
import type { Connection } from './connection'

/** Lines one client is sent per second at most; the rest are counted and said dropped. */
const MAX_LINES_PER_CLIENT_SECOND = 5000

/** A client that asked for the lines tasks print, and its budget of lines this second. */
class Subscriber {
  windowStart = 0
  sent = 0
  dropped = 0

  constructor(readonly conn: Connection) {}
}

/**
 * Forwards the lines tasks print to the clients that asked for them (Dask's forward_logging):
 * workers send them only while at least one client wants them ('forward-logs', said to every
 * worker when the first client asks and when the last one stops or leaves, and to each worker
 * that joins meanwhile), and each client gets at most MAX_LINES_PER_CLIENT_SECOND a second.
 */
export class TaskOutputRelay {
  private readonly subscribers = new Map<Connection, Subscriber>()

  constructor(private readonly workers: () => Iterable<Connection>) {}

  /** Client `conn` wants the lines (on) or no longer (off). */
  subscribe(conn: Connection, on: boolean): void {
    const before = this.subscribers.size
    if (on && !this.subscribers.has(conn)) this.subscribers.set(conn, new Subscriber(conn))
    else if (!on) this.subscribers.delete(conn)
    this.changed(before)
  }

  /** A worker was admitted: it is told to send its lines if anyone wants them. */
  workerJoined(conn: Connection): void {
    if (this.subscribers.size > 0) conn.send(['forward-logs', true])
  }

  /** A connection closed: a client that wanted lines no longer does. */
  closed(conn: Connection): void {
    const before = this.subscribers.size
    if (this.subscribers.delete(conn)) this.changed(before)
  }

  /** Lines from worker `name`: to every client that wants them, within its budget. */
  relay(name: string, lines: TaskOutputLine[], dropped: number): void {
    const now = Date.now()
    for (const s of this.subscribers.values()) {
      if (now - s.windowStart >= 1000) {
        s.windowStart = now
        s.sent = 0
      }
      const room = Math.max(0, MAX_LINES_PER_CLIENT_SECOND - s.sent)
      const sent = lines.length <= room ? lines : lines.slice(0, room)
      s.dropped += dropped + lines.length - sent.length
      if (sent.length === 0) continue
      s.sent += sent.length
      s.conn.send(['task-output', name, sent, s.dropped] satisfies ForwardedTaskOutput)
      s.dropped = 0
    }
  }

  private changed(before: number): void {
    const after = this.subscribers.size
    if ((before === 0) === (after === 0)) return
    for (const w of this.workers()) w.send(['forward-logs', after > 0])
  }
}
