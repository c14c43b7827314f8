import { CLOSED, CLOSING, CONNECTING, OPEN, SocketSurface } from './socket-surface'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type WebSocket from 'ws'

/** ws's code for a connection that ended without a closing handshake. */
const ABNORMAL = 1006

/** Sent before the port closes, so the other end reports the code and reason a WebSocket would. */
type CloseNotice = [kind: 'close', code: number, reason: string]

/**
 * `send` options: `handOver` says the sender keeps no reference to the frame, so a frame that
 * owns its whole ArrayBuffer is moved to the other thread instead of copied.
 */
export interface PortSendOptions {
  binary?: boolean
  handOver?: boolean
}

/**
 * One end of a connection between two threads of one process, over a
 * MessagePort. A client whose scheduler runs in this process (on the
 * scheduler's own thread: a LocalCluster, or a Scheduler the program
 * started) talks to it through this instead of TCP: the same frames, with no
 * socket. (Measured here, a MessagePort round trip between two threads took
 * 55-62 us with idle gaps, a Unix socket 69-83 us.)
 *
 * A frame crosses as bytes of its own: moved when the sender hands over a
 * frame that owns its ArrayBuffer, otherwise copied once (exactly its bytes,
 * never the pool slab or codec buffer it is a view of).
 *
 * It has the part of ws's WebSocket that Channel and the connections use:
 * send, close, terminate, readyState, bufferedAmount and the 'open',
 * 'message' and 'close' events, with the same arguments. The port does not
 * keep the process alive: whoever owns the other thread decides that.
 */
export class PortSocket extends SocketSurface {
  readyState = OPEN
  private closeCode = ABNORMAL
  private closeReason = ''

  /**
   * Two connected ends: `socket` stays on this thread; `remote` is transferred to the thread that
   * serves it and wrapped there. `lostReason`: see the constructor.
   */
  static pair(lostReason?: string): { socket: PortSocket; remote: MessagePort } {
    const { port1, port2 } = new MessageChannel()
    return { socket: new PortSocket(port1, lostReason), remote: port2 }
  }

  /** `lostReason` is the close reason (code 1006) if the other end's thread dies without a word. */
  constructor(
    private readonly port: MessagePort,
    private readonly lostReason = 'the thread at the other end ended',
  ) {
    super()
    port.on('message', (data: Uint8Array | CloseNotice) => this.receive(data))
    port.once('close', () => this.ended())
    port.unref()
  }

  send(data: Uint8Array, options?: PortSendOptions): void {
    if (this.readyState !== OPEN) return
    const owned = options?.handOver === true && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    if (owned) {
      try {
        this.port.postMessage(data, [data.buffer as ArrayBuffer])
        return
      } catch {
        // An ArrayBuffer that cannot be detached (memory owned by a native addon) is copied instead.
      }
    }
    const copy = copyOf(data)
    this.port.postMessage(copy, [copy.buffer])
  }

  /** Both ends get 'close' with this code and reason, after the frames already sent. */
  close(code = 1000, reason = ''): void {
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    this.closeCode = code
    this.closeReason = reason
    this.port.postMessage(['close', code, reason] satisfies CloseNotice)
    this.port.close()
  }

  /** Ends the connection without a closing handshake: both ends see code 1006 (or `code`, on this end). */
  terminate(code = ABNORMAL, reason = ''): void {
    if (this.readyState === CLOSED) return
    // Said even so: a port that closes with no notice at all means that the other thread died.
    if (this.readyState === OPEN) this.port.postMessage(['close', ABNORMAL, ''] satisfies CloseNotice)
    this.readyState = CLOSING
    this.closeCode = code
    this.closeReason = reason
    this.port.close()
  }

  /** This end as the WebSocket type Channel and the connections are written against. */
  asWebSocket(): WebSocket {
    return this as unknown as WebSocket
  }

  private receive(data: Uint8Array | CloseNotice): void {
    if (this.readyState === CLOSED) return
    if (data instanceof Uint8Array) {
      this.emit('message', Buffer.from(data.buffer, data.byteOffset, data.byteLength), true)
      return
    }
    this.readyState = CLOSING
    this.closeCode = data[1]
    this.closeReason = data[2]
  }

  private ended(): void {
    if (this.readyState === CLOSED) return
    if (this.readyState === OPEN) this.closeReason = this.lostReason
    this.readyState = CLOSED
    this.emit('close', this.closeCode, Buffer.from(this.closeReason))
  }
}

/** The bytes of `view` in an ArrayBuffer of their own (Buffer#slice would share the memory). */
function copyOf(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.prototype.slice.call(view) as Uint8Array<ArrayBuffer>
}

