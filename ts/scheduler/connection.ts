import type WebSocket from 'ws'
import { Channel, type ConnectionGuard, type ErrorReply, type SendLimit, type ServerHandshake, type WorkerMemory, type WorkerUsage } from '../protocol'

/** After this many protocol violations a connection is closed instead of answered. */
const MAX_STRIKES = 20

export const enum Role {
  Pending,
  Client,
  Worker,
}

/**
 * One socket on the scheduler port. It starts Pending: it must answer the
 * scheduler's challenge (authenticate), then say hello, which makes it a
 * client or a worker; `id` is then the core's id for it.
 */
export class Connection {
  role = Role.Pending
  id = -1
  name = ''
  /** A worker's peer server address. */
  address = ''
  /** The resources a worker declared. */
  resources: Record<string, number> | null = null
  /** When the scheduler last checked this worker's peer server after a peer could not reach it (ms). */
  lastRecheck = -Infinity
  /** A worker's memory as of its last heartbeat (zeros until it reports). */
  memory: WorkerMemory = { managed: 0, spilled: 0, process: 0 }
  /** A worker's usage as of its last heartbeat (zeros until it reports), and when that was (ms since the epoch). */
  usage: WorkerUsage = { cpu: 0, sent: 0, received: 0, executing: 0, ready: 0 }
  lastHeartbeat = Date.now()
  /** A worker's execution slots. */
  slots = 0
  /** A worker that said its memory is past its pause threshold. */
  paused = false
  /** Set when the core already dropped this worker (heartbeat timeout), so closing must not remove it twice. */
  removedByCore = false
  private strikes = 0
  readonly channel: Channel<unknown[], unknown[]>

  constructor(
    socket: WebSocket,
    readonly remote: string,
    readonly handshake: ServerHandshake,
    /** Limits until the hello is done; null for an in-process connection (no socket to watch). */
    readonly guard: ConnectionGuard | null,
    onMessage: (conn: Connection, message: unknown[]) => void,
    onBadFrame: (conn: Connection, error: Error) => void,
    maxQueuedBytes: number,
    onOverflow: (conn: Connection, queuedBytes: number) => void,
  ) {
    const limit: SendLimit = { maxQueuedBytes, overflow: (bytes) => onOverflow(this, bytes) }
    this.channel = new Channel<unknown[], unknown[]>(
      socket,
      (message) => onMessage(this, message),
      (error) => onBadFrame(this, error),
      limit,
    )
  }

  get label(): string {
    if (this.role === Role.Worker) return `worker ${this.id} '${this.name}' (${this.remote})`
    if (this.role === Role.Client) return `client ${this.id} (${this.remote})`
    return `connection from ${this.remote}`
  }

  send(message: unknown[]): void {
    this.channel.send(message)
  }

  /**
   * One message of a batch the native core encoded (see instructions.ts), once the batch is
   * decoded. The byte before it, the last of its bin header, is not read again: a message that
   * makes a frame alone gets its frame header there and leaves without being copied into a frame.
   */
  sendEncoded(message: Uint8Array): void {
    this.channel.sendEncodedAt1(Buffer.from(message.buffer, message.byteOffset - 1, message.byteLength + 1))
  }

  sendError(request: number, code: string, message: string): void {
    const reply: ErrorReply = ['error', request, code, message]
    this.channel.send(reply)
  }

  /** Counts a protocol violation; false once the peer has misbehaved too often to keep. */
  strike(): boolean {
    return ++this.strikes < MAX_STRIKES
  }

  /** Whether messages from it are still read (not once it is being closed). */
  get isOpen(): boolean {
    return this.channel.isOpen
  }

  close(code: number, reason: string): void {
    try {
      this.channel.close(code, reason.slice(0, 120))
    } catch {
      this.channel.socket.terminate()
    }
  }
}
