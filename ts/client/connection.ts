import WebSocket from 'ws'
import {
  Channel,
  connectInProcess,
  connectionError,
  openSocket,
  PartyHandshake,
  SkeinError,
  type ClientToScheduler,
  type Credentials,
  type Dataset,
  type DatasetNames,
  type Story,
  type RunResults,
  type WhoHasReply,
  type TaskStream,
  type Retried,
  type Done,
  type ResolvedTls,
  type SchedulerToClient,
} from '../protocol'
import { ConnectionClosedError, SchedulerError } from './errors'

/** How long a closing handshake may take before the socket is cut. */
const CLOSE_GRACE_MS = 1000

/** A request's successful answer: 'done', or the reply that carries what was asked for. */
export type Reply = Done | Dataset | DatasetNames | Story | RunResults | WhoHasReply | TaskStream | Retried

type Waiter = { resolve: () => void; reject: (error: Error) => void; onDone: ((reply: Reply) => void) | undefined }

/** Messages the client handles itself; 'welcome', 'done' and 'error' are handled here. */
export type SchedulerEvent = Exclude<SchedulerToClient, ['welcome', ...unknown[]] | Reply | ['error', ...unknown[]]>

/**
 * The client's connection to the scheduler: the handshake (answer the
 * scheduler's challenge, check its proof, then hello and welcome),
 * request ids matched to their 'done' or 'error' reply, and one callback
 * when the connection ends for any reason.
 */
export class SchedulerConnection {
  private nextRequest = 1
  private readonly waiting = new Map<number, Waiter>()
  private closedError: ConnectionClosedError | null = null
  /** The last connection-level refusal from the scheduler, kept to explain a close. */
  private lastRefusal: string | null = null

  private constructor(
    readonly address: string,
    private readonly socket: WebSocket,
    private readonly channel: Channel<ClientToScheduler, SchedulerToClient>,
    private readonly onEvent: (event: SchedulerEvent) => void,
    private readonly onClose: (error: ConnectionClosedError) => void,
  ) {}

  /**
   * Opens the connection and completes the handshake; rejects after `timeoutMs`, or with
   * AuthenticationError / ProtocolVersionError when the two sides cannot trust or understand
   * each other, or TlsError when TLS fails. With `inProcess`, a scheduler of this process
   * listening on `address` is reached without the network.
   */
  static open(
    address: string,
    name: string,
    credentials: Credentials,
    tls: ResolvedTls | null,
    timeoutMs: number,
    inProcess: boolean,
    onEvent: (event: SchedulerEvent) => void,
    onClose: (error: ConnectionClosedError) => void,
  ): Promise<SchedulerConnection> {
    return new Promise((resolve, reject) => {
      let connection: SchedulerConnection | null = null
      let welcomed = false
      let failed = false
      const server = `the scheduler at ${address}`
      const handshake = new PartyHandshake(credentials, 'client', server)
      const socket = (inProcess ? connectInProcess(address) : null) ?? openSocket(address, tls, server)
      const fail = (reason: string | SkeinError) => {
        if (failed) return
        failed = true
        clearTimeout(timer)
        socket.terminate()
        reject(typeof reason === 'string' ? new ConnectionClosedError(`could not connect to the scheduler at ${address}: ${reason}`) : reason)
      }
      const timer = setTimeout(() => fail(`no welcome within ${timeoutMs} ms`), timeoutMs)
      socket.on('error', (err) => {
        if (welcomed) return
        const failure = connectionError(socket, err, server, address)
        fail(failure instanceof SkeinError ? failure : err.message)
      })
      socket.on('close', (code, reason) => {
        if (!welcomed) fail(`closed during the handshake (${code}${reason.length ? `: ${reason}` : ''})`)
        else connection!.closed(code, reason.toString())
      })
      // Listening from the start: the scheduler speaks first (its challenge), and an in-process one at once.
      const channel = new Channel<ClientToScheduler, SchedulerToClient>(
        socket,
        (message) => {
          if (welcomed) return connection!.receive(message)
          if (!handshake.done) {
            try {
              const auth = handshake.receive(message)
              if (auth !== null) channel.send(auth)
              // Nothing but the answer to its challenge goes to a server before it proved itself.
              else channel.send(['hello-client', name])
            } catch (err) {
              fail(err instanceof SkeinError ? err : (err as Error).message)
            }
            return
          }
          if (message[0] === 'welcome') {
            welcomed = true
            clearTimeout(timer)
            resolve(connection!)
          } else if (message[0] === 'error') {
            fail(`${message[2]}: ${message[3]}`)
          }
        },
        (err) => {
          connection?.refused(`bad frame from the scheduler: ${err.message}`)
        },
      )
      connection = new SchedulerConnection(address, socket, channel, onEvent, onClose)
    })
  }

  get isOpen(): boolean {
    return this.closedError === null
  }

  send(message: ClientToScheduler): void {
    if (this.closedError) throw this.closedError
    this.channel.send(message)
  }

  /**
   * Sends `build(requestId)`; resolves on ['done', id], rejects with SchedulerError on ['error', id, ...].
   * `onDone` sees the 'done' reply synchronously, before the messages after it in its frame are handled.
   */
  request(build: (request: number) => ClientToScheduler, onDone?: (reply: Reply) => void): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError)
    const request = this.nextRequest++
    return new Promise((resolve, reject) => {
      this.waiting.set(request, { resolve, reject, onDone })
      this.channel.send(build(request))
    })
  }

  /** Closes the socket; resolves once it is closed (forcibly after a second). */
  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) {
      this.closed(1000, '', 'the client was closed')
      return Promise.resolve()
    }
    const gone = new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve())
      setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref()
    })
    this.channel.close(1000, 'client closed')
    this.closed(1000, 'client closed', 'the client was closed')
    return gone
  }

  private receive(message: SchedulerToClient): void {
    switch (message[0]) {
      case 'done':
      case 'dataset':
      case 'datasets':
      case 'story':
      case 'run-results':
      case 'who-has':
      case 'task-stream':
      case 'retried':
        this.settle(message[1], null, message)
        return
      case 'error':
        if (message[1] >= 0 && this.waiting.has(message[1])) this.settle(message[1], new SchedulerError(message[2], message[3]))
        else this.refused(`${message[2]}: ${message[3]}`)
        return
      case 'welcome':
        return
      default:
        this.onEvent(message)
    }
  }

  private refused(description: string): void {
    this.lastRefusal = description
  }

  private settle(request: number, error: Error | null, done?: Reply): void {
    const waiter = this.waiting.get(request)
    if (waiter === undefined) return
    this.waiting.delete(request)
    if (error) waiter.reject(error)
    else {
      if (done !== undefined) waiter.onDone?.(done)
      waiter.resolve()
    }
  }

  private closed(code: number, reason: string, why?: string): void {
    if (this.closedError) return
    const detail = why ?? `the connection to the scheduler at ${this.address} closed (${code}${reason ? `: ${reason}` : ''})`
    this.closedError = new ConnectionClosedError(this.lastRefusal ? `${detail}; last scheduler error: ${this.lastRefusal}` : detail)
    for (const waiter of this.waiting.values()) waiter.reject(this.closedError)
    this.waiting.clear()
    this.onClose(this.closedError)
  }
}
