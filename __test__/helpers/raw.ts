/**
 * A bare protocol connection for tests that must say what the Client never
 * would: garbage frames, wrong shapes, made-up keys and workers.
 */
import WebSocket from 'ws'
import { Channel, Credentials, inProcessToken, PartyHandshake, ServerHandshake, type PartyRole, type WireTask, type WorkerInfo } from '../../ts/protocol'
import { encodeTaskPayload, SHIPPED, type FunctionRef } from '../../ts/graph/payload'
import { functionHash } from '../../ts/graph/hash'

type Message = unknown[]

export class RawConnection {
  readonly received: Message[] = []
  closed = false
  readonly channel: Channel<Message, Message>
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = []
  private closeWaiters: (() => void)[] = []

  constructor(readonly socket: WebSocket) {
    this.channel = new Channel<Message, Message>(
      socket,
      (m) => this.deliver(m),
      () => {},
    )
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      for (const w of this.closeWaiters) w()
    })
  }

  /** `options`: more ws client options (say, `ca` for a wss:// server). */
  static open(address: string, options: WebSocket.ClientOptions = {}): Promise<RawConnection> {
    const socket = new WebSocket(address, { perMessageDeflate: false, ...options })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RawConnection(socket)))
      socket.once('error', reject)
    })
  }

  /**
   * Opens a connection and completes the handshake as `role`, proving `token` (null: none, for an
   * insecure server; default: the token of the scheduler this process runs at `address`). Rejects with the handshake's error (AuthenticationError...).
   */
  static async authenticated(
    address: string,
    role: PartyRole,
    token: string | null = inProcessToken(address) ?? null,
    options: WebSocket.ClientOptions = {},
  ): Promise<RawConnection> {
    const conn = await RawConnection.open(address, options)
    const handshake = new PartyHandshake(token === null ? Credentials.none : Credentials.fromToken(token, 'the test'), role, address)
    try {
      const auth = handshake.receive(await conn.next((m) => m[0] === 'challenge' || m[0] === 'error'))
      conn.send(auth!)
      handshake.receive(await conn.next((m) => m[0] === 'authenticated' || m[0] === 'error'))
    } catch (err) {
      conn.close()
      throw err
    }
    return conn
  }

  send(...messages: Message[]): void {
    for (const m of messages) this.channel.send(m)
  }

  sendRaw(bytes: Buffer | string): void {
    this.socket.send(bytes)
  }

  /** The first message (received or to come) that matches. */
  next(match: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const i = this.received.findIndex(match)
    if (i !== -1) return Promise.resolve(this.received.splice(i, 1)[0])
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`)), timeoutMs)
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m)
        },
      })
    })
  }

  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.closeWaiters.push(resolve))
  }

  close(): void {
    this.socket.terminate()
  }

  private deliver(m: Message): void {
    const i = this.waiters.findIndex((w) => w.match(m))
    if (i === -1) {
      this.received.push(m)
      return
    }
    const [w] = this.waiters.splice(i, 1)
    w.resolve(m)
  }
}

/** A raw connection after its client handshake, with the worker table it was sent. */
export class RawClient {
  private constructor(
    readonly conn: RawConnection,
    readonly id: number,
    readonly workers: WorkerInfo[],
  ) {}

  /** `token`: the scheduler's (default: that of the scheduler this process runs at `address`), null for none. */
  static async connect(address: string, token?: string | null): Promise<RawClient> {
    const conn = await RawConnection.authenticated(address, 'client', token)
    conn.send(['hello-client', 'raw-test'])
    const welcome = await conn.next((m) => m[0] === 'welcome')
    const table = await conn.next((m) => m[0] === 'workers')
    return new RawClient(conn, welcome[1] as number, table[1] as WorkerInfo[])
  }

  close(): void {
    this.conn.close()
  }
}

export interface ShippedFunction {
  hash: string
  source: string
  name: string
}

/** A function as the Client ships it: its source under the source's hash (the scheduler refuses any other). */
export function shipped(name: string, fn: (...args: never[]) => unknown): ShippedFunction {
  const source = fn.toString()
  return { hash: functionHash(source), source, name }
}

/** A task in the native graph layout, calling a shipped function. */
export function task(key: string, fn: ShippedFunction, args: unknown[], deps: string[] = []): WireTask {
  const ref: FunctionRef = [SHIPPED, fn.hash, fn.name]
  return [key, fn.name, encodeTaskPayload(ref, args), deps, 0, null, null]
}

/**
 * The server's side of the handshake for a fake server in a test (no token): wrap the fake's
 * message handler with it, and it answers the challenge before anything reaches the handler.
 */
export function acceptHandshake(socket: WebSocket, role: PartyRole, serve: (channel: Channel<Message, Message>, m: Message) => void): Channel<Message, Message> {
  const handshake = new ServerHandshake(Credentials.none, 'test server', [role])
  const channel: Channel<Message, Message> = new Channel<Message, Message>(
    socket,
    (m) => {
      if (handshake.role === null) channel.send(handshake.answer(m))
      else serve(channel, m)
    },
    () => {},
  )
  channel.send(handshake.challenge())
  return channel
}
