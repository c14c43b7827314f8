import { CLOSED, CLOSING, CONNECTING, OPEN, SocketSurface } from './socket-surface'
import type WebSocket from 'ws'


class CloseMarker {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {}
}

/**
 * One end of a pair of sockets on one thread. A client whose scheduler runs
 * on the client's own thread (`new Scheduler({ thread: false })`) talks to it
 * through this pair: frames pass as the same Buffers, in order, delivered in
 * a microtask, with no system call, no copy and no trip around the event
 * loop. (A MessagePort to the same thread costs about 12 us a message more.)
 *
 * It has the part of ws's WebSocket that Channel and the connections use:
 * send, close, terminate, readyState, bufferedAmount and the 'open',
 * 'message' and 'close' events, with the same arguments.
 */
export class LocalSocket extends SocketSurface {
  readyState = CONNECTING
  private peer: LocalSocket | null = null
  private inbox: (Buffer | CloseMarker)[] = []
  private deliveryScheduled = false
  private readonly deliverNow = () => this.deliver()

  /** Two connected ends, both open. */
  static pair(): [LocalSocket, LocalSocket] {
    const a = new LocalSocket()
    const b = new LocalSocket()
    a.peer = b
    b.peer = a
    a.readyState = b.readyState = OPEN
    return [a, b]
  }

  send(data: Buffer, _options?: { binary?: boolean }): void {
    if (this.readyState !== OPEN) return
    this.peer!.enqueue(data)
  }

  /** Both ends get 'close' with this code and reason, after the frames already sent. */
  close(code = 1000, reason = ''): void {
    this.end(code, reason)
  }

  terminate(): void {
    this.end(1006, '')
  }

  /** This end as the WebSocket type Channel and the connections are written against. */
  asWebSocket(): WebSocket {
    return this as unknown as WebSocket
  }

  private end(code: number, reason: string): void {
    const peer = this.peer!
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    if (peer.readyState < CLOSING) peer.readyState = CLOSING
    peer.enqueue(new CloseMarker(code, reason))
    this.enqueue(new CloseMarker(code, reason))
  }

  private enqueue(item: Buffer | CloseMarker): void {
    if (this.readyState === CLOSED) return
    this.inbox.push(item)
    if (this.deliveryScheduled) return
    this.deliveryScheduled = true
    queueMicrotask(this.deliverNow)
  }

  private deliver(): void {
    this.deliveryScheduled = false
    const items = this.inbox
    this.inbox = []
    for (const item of items) {
      if (this.readyState === CLOSED) return
      if (item instanceof CloseMarker) {
        this.readyState = CLOSED
        this.emit('close', item.code, Buffer.from(item.reason))
      } else {
        this.emit('message', item, true)
      }
    }
  }
}
