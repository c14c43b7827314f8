import type WebSocket from 'ws'
import type { NativeCore } from './native'
import { MAX_TASK_STREAM_RUNS, rateLimited, ServerHandshake, type ConnectionGuard, type Credentials, type TaskStream, type WorkerInfo, type Workers } from '../protocol'
import { Connection, Role } from './connection'
import { SkeinError } from '../protocol'
import { Datasets, FireAndForget } from './datasets'
import { FunctionRegistry } from './functions'
import { decodeMessages } from './instructions'
import type { LogFields } from '../log'
import type { Log } from './log'
import { asBuffer, checkClientMessage, checkHello, checkWorkerMessage, ProtocolError } from './validate'
import { HANDSHAKE } from '../protocol'
import { storyOf } from './story'
import { TaskOutputRelay } from './task-output'
import { WORKER_UNREACHABLE, type PeerReachability } from './reachability'
import { Runs } from './runs'
import { Replications } from './replications'
import type { TaskStreamRing } from './task-stream'

const MALFORMED_FRAME = 'SKEIN_MALFORMED_FRAME'
const UNKNOWN_FUNCTION = 'SKEIN_UNKNOWN_FUNCTION'
const UNKNOWN_WORKER = 'SKEIN_UNKNOWN_WORKER'
const INTERNAL = 'SKEIN_INTERNAL'
const CLOSE_POLICY = 1008
/** A holder reported unreachable is checked by the scheduler at most this often. */
const RECHECK_MS = 5000
/** Longest a worker's 'free' waits for a compute to travel with (see dispatch). */
const FREE_DELAY_MS = 5
/** Longest a submit's 'done' waits for the client's next message to travel with (see clientMessage). */
const DONE_DELAY_MS = 5

export const now = (): number => performance.now() / 1000
/** Milliseconds since the epoch, with the monotonic clock's resolution: the task stream's clock. */
export const wallNow = (): number => performance.timeOrigin + performance.now()

/** The last `capacity` notes by key: a bounded memory of refusals. */
class RecentNotes {
  private readonly notes = new Map<string, string>()

  constructor(private readonly capacity: number) {}

  remember(key: string, note: string): void {
    this.notes.delete(key)
    this.notes.set(key, note)
    if (this.notes.size > this.capacity) this.notes.delete(this.notes.keys().next().value!)
  }

  get(key: string): string | undefined {
    return this.notes.get(key)
  }
}

/** The code of the native core's errors after a panic inside it (a bug): the core refuses every later call. */
export const CORE_PANIC = 'SKEIN_CORE_PANIC'

export function isCorePanic(err: unknown): boolean {
  return err instanceof Error && (err as Error & { code?: string }).code === CORE_PANIC
}

export interface RouterHooks {
  workersChanged(workers: readonly WorkerInfo[]): void
  /** The core failed for good (a panic inside it): the scheduler must shut down. */
  fatal(error: Error): void
  /** This scheduler speaks TLS: workers must serve their data over TLS too (wss:// peer addresses). */
  requireTlsPeers: boolean
  /** Checks that a joining worker's peer address answers before it is admitted. */
  reachability: PeerReachability
  /** The record of ended runs (dashboard, performance reports): filled after each batch of worker events while recording. */
  taskStream: TaskStreamRing
}

/**
 * Routes every message on the scheduler port into the native core and sends
 * the core's instructions out, once per event-loop turn, as per-worker and
 * per-client messages. Nothing a peer sends can throw out of here: a bad
 * message earns that connection an error reply (and, if it keeps at it or
 * never said hello, a close) and a log line.
 */
export class Router {
  private readonly workers = new Map<number, Connection>()
  private readonly clients = new Map<number, Connection>()
  private readonly pending = new Set<Connection>()
  /** Workers that said hello, whose peer address is being checked; they may send nothing until welcomed. */
  private readonly admitting = new Set<Connection>()
  readonly functions = new FunctionRegistry()
  private readonly datasets: Datasets
  private readonly fireAndForget: FireAndForget
  /** The lines tasks print, to the clients that asked for them. */
  private readonly taskOutput = new TaskOutputRelay(() => this.workers.values())
  private readonly runs = new Runs()
  private readonly replications: Replications
  /** Why the last few function registrations were refused, for the workers that then ask for them. */
  private readonly refusedFunctions = new RecentNotes(1024)
  private workerList: WorkerInfo[] = []
  /** Clients that asked for runs to be recorded (a performance report under way). */
  private readonly recordingClients = new Set<number>()
  private flushScheduled = false
  private readonly onMessage = (conn: Connection, m: unknown[]) => this.handle(conn, m)
  private readonly onBadFrame = (conn: Connection, err: Error) => this.badFrame(conn, err)
  private readonly onOverflow = (conn: Connection, bytes: number) => {
    this.log(`${conn.label}: stopped reading; ${(bytes / 2 ** 20).toFixed(1)} MiB wait to be sent to it (maxSendQueueBytes ${(this.maxSendQueueBytes / 2 ** 20).toFixed(1)} MiB); disconnecting it`)
    conn.channel.socket.terminate()
  }
  private readonly flush = () => this.flushInstructions()

  /** Workers joining and leaving: worth a line from a standalone scheduler, noise from an embedded one. */
  private readonly info: (line: string, fields?: LogFields) => void
  /** Connections refused before they authenticated: strangers can cause any number of these. */
  readonly refused: Log

  constructor(
    private readonly core: NativeCore,
    private readonly credentials: Credentials,
    /** A client or worker with more than this waiting to be sent to it (it stopped reading) is disconnected. */
    private readonly maxSendQueueBytes: number,
    private readonly log: Log,
    verbose: boolean,
    private readonly hooks: RouterHooks,
  ) {
    // Embedded schedulers keep them at debug: seen only when asked for.
    this.info = (line, fields) => log(line, verbose ? 'info' : 'debug', fields)
    this.refused = rateLimited(log)
    this.datasets = new Datasets(core, this.functions)
    this.fireAndForget = new FireAndForget(core, this.functions)
    this.replications = new Replications(core)
  }

  get workerCount(): number {
    return this.workers.size
  }

  get clientCount(): number {
    return this.clients.size
  }

  /** Memory the workers last reported (bytes, summed), and how many are paused. */
  get workerMemory(): { managed: number; spilled: number; process: number; paused: number } {
    const total = { managed: 0, spilled: 0, process: 0, paused: 0 }
    for (const w of this.workers.values()) {
      total.managed += w.memory.managed
      total.spilled += w.memory.spilled
      total.process += w.memory.process
      if (w.paused) total.paused++
    }
    return total
  }

  get liveWorkers(): readonly WorkerInfo[] {
    return this.workerList
  }

  /** The workers' connections (name, slots, memory and usage as last reported), for the dashboard. */
  get workerConnections(): Iterable<Connection> {
    return this.workers.values()
  }

  /** Serves a new connection: it gets the challenge at once and must authenticate and say hello before `guard`'s limits run out. */
  accept(socket: WebSocket, remote: string, guard: ConnectionGuard | null): void {
    const handshake = new ServerHandshake(this.credentials, 'scheduler', ['client', 'worker'])
    const conn = new Connection(socket, remote, handshake, guard, this.onMessage, this.onBadFrame, this.maxSendQueueBytes, this.onOverflow)
    this.pending.add(conn)
    socket.on('error', (err) => (conn.role === Role.Pending ? this.refused : this.log)(`${conn.label}: ${err.message}; closing it`))
    socket.on('close', () => this.guard(conn, () => this.closed(conn)))
    conn.send(handshake.challenge())
    conn.channel.flushNow()
  }

  /** Runs the periodic core timer (heartbeat timeouts, stealing). */
  tick(): void {
    this.core.tick(now())
    this.scheduleFlush()
  }

  /** Ends every connection: at once, or (with a code) by a close that tells the party why. */
  closeAll(code?: number, reason?: string): void {
    this.hooks.reachability.cancelAll()
    this.runs.close()
    for (const conn of [...this.pending, ...this.clients.values(), ...this.workers.values()]) {
      if (code === undefined) conn.channel.socket.terminate()
      else conn.close(code, reason ?? '')
    }
  }

  private handle(conn: Connection, m: unknown[]): void {
    this.guard(conn, () => {
      if (conn.role === Role.Client) this.clientMessage(conn, m)
      else if (conn.role === Role.Worker) this.workerMessage(conn, m)
      else if (conn.handshake.role === null) conn.send(conn.handshake.answer(m))
      else if (this.admitting.has(conn)) throw new ProtocolError(HANDSHAKE, `a worker must wait for its 'welcome' (its peer address is being checked), but it sent '${String(m[0]).slice(0, 32)}'`)
      else this.hello(conn, m)
    })
  }

  private guard(conn: Connection, action: () => void): void {
    try {
      action()
    } catch (err) {
      if (isCorePanic(err)) this.hooks.fatal(err as Error)
      else if (err instanceof ProtocolError || (err instanceof SkeinError && conn.role === Role.Pending)) this.violation(conn, err.code, err.message)
      else {
        // A bug of ours, not the peer's: keep serving, but say so loudly.
        const e = err as Error
        this.log(`internal error while serving ${conn.label}: ${e.stack ?? e.message}`, 'error')
        conn.sendError(-1, INTERNAL, `the scheduler failed to handle a message: ${e.message}`)
      }
    }
  }

  private badFrame(conn: Connection, err: Error): void {
    this.violation(conn, MALFORMED_FRAME, err.message)
  }

  private violation(conn: Connection, code: string, message: string): void {
    conn.sendError(-1, code, message)
    if (conn.role === Role.Pending) {
      this.refused(`${conn.label}: ${message}; closing it`)
      conn.close(CLOSE_POLICY, message)
    } else if (!conn.strike()) {
      this.log(`${conn.label}: ${message}; too many bad messages, closing it`)
      conn.close(CLOSE_POLICY, 'too many bad messages')
    } else {
      this.log(`${conn.label}: ${message}`)
    }
  }

  private hello(conn: Connection, m: unknown[]): void {
    const hello = checkHello(m, conn.handshake.role!)
    conn.guard?.passed()
    if (hello[0] === 'hello-client') {
      conn.id = this.core.addClient()
      conn.name = hello[1]
      conn.role = Role.Client
      this.pending.delete(conn)
      this.clients.set(conn.id, conn)
      conn.send(['welcome', conn.id])
      this.info(`${conn.label} '${conn.name}' joined`, { client: conn.name })
      conn.send(['workers', this.workerList] satisfies Workers)
      return
    }
    const [, name, slots, address, resources] = hello
    if (this.hooks.requireTlsPeers && !address.startsWith('wss://')) {
      // Its peers and clients would fetch results from it in clear text.
      throw new ProtocolError(HANDSHAKE, `this scheduler uses TLS, but worker '${name}' serves its data at ${address.slice(0, 100)} without it: give the worker tls.cert and tls.key (skein worker --tls-cert/--tls-key)`)
    }
    // A worker nobody can fetch from would take tasks whose results are then lost to every
    // dependent and client: it is refused at the door instead, with the reason on both sides.
    this.admitting.add(conn)
    void this.hooks.reachability.check(address).then((unreachable) =>
      this.guard(conn, () => {
        this.admitting.delete(conn)
        if (!conn.isOpen) return
        if (unreachable === null) return this.admitWorker(conn, name, slots, address, resources)
        const why = `worker '${name}' advertises its peer server at ${address.slice(0, 100)}, but the scheduler cannot reach it: ${unreachable}. Peers and clients fetch its results there: give the worker an address they can reach (skein worker --host/--advertise-host)`
        conn.sendError(-1, WORKER_UNREACHABLE, why)
        this.log(`${conn.label}: refused: ${why}`)
        conn.close(CLOSE_POLICY, `peer address ${address.slice(0, 60)} unreachable`)
      }),
    )
  }

  private admitWorker(conn: Connection, name: string, slots: number, address: string, resources: Record<string, number> | null): void {
    let id: number
    try {
      id = this.core.addWorker(name, slots, resources, now())
    } catch (err) {
      if (isCorePanic(err)) throw err
      const e = err as Error & { code?: string }
      conn.sendError(-1, e.code ?? INTERNAL, e.message)
      this.log(`${conn.label}: refused worker '${name}': ${e.message}`)
      conn.close(CLOSE_POLICY, e.message)
      return
    }
    conn.id = id
    conn.name = name
    conn.address = address
    conn.resources = resources
    conn.role = Role.Worker
    conn.slots = slots
    this.pending.delete(conn)
    this.workers.set(id, conn)
    this.hooks.taskStream.nameWorker(id, name, slots)
    conn.send(['welcome', id])
    this.info(`${conn.label} joined with ${slots} slot(s), peer server ${address}`, { worker: name, address })
    this.taskOutput.workerJoined(conn)
    this.workersChanged()
    this.scheduleFlush()
  }

  private clientMessage(conn: Connection, m: unknown[]): void {
    const msg = checkClientMessage(m)
    const client = conn.id
    switch (msg[0]) {
      case 'submit': {
        const [, request, graph, wanted] = msg
        if (wanted instanceof Uint32Array) {
          // The reply carries the wanted keys' task ids: 'memory' messages name tasks by id.
          // The instruction flush is scheduled before the reply's frame, so the new tasks' compute
          // leaves for the workers first and they start while the client is being answered.
          this.scheduleFlush()
          try {
            const ids = this.core.submitGraphIndexed(client, asBuffer(graph), wanted)
            // The client waits on the tasks' news, not on this reply (it only maps keys to ids, and
            // comes first in the frame that carries their news): a lone task's reply and result then
            // wake the client (another thread, or process) once, not twice.
            conn.channel.sendLater(['done', request, ids], DONE_DELAY_MS)
          } catch (err) {
            if (isCorePanic(err)) throw err
            const e = err as Error & { code?: string }
            conn.sendError(request, e.code ?? INTERNAL, e.message)
          }
        } else {
          this.request(conn, request, () => this.core.submitGraph(client, asBuffer(graph), wanted))
        }
        break
      }
      case 'want':
        this.request(conn, -1, () => this.core.wantKeys(client, msg[1]))
        break
      case 'release':
        this.request(conn, -1, () => this.core.releaseKeys(client, msg[1]))
        break
      case 'release-tasks':
        this.request(conn, -1, () => this.core.releaseTasks(client, msg[1]))
        break
      case 'cancel':
        this.request(conn, -1, () => this.core.cancelKeys(client, msg[1]))
        break
      case 'scattered':
        this.request(conn, msg[1], () => {
          for (const [key, worker] of msg[2]) {
            if (!this.workers.has(worker)) throw Object.assign(new Error(`scattered key '${key}': worker ${worker} is not connected`), { code: UNKNOWN_WORKER })
          }
          for (const [key, worker, nbytes] of msg[2]) this.core.addScattered(client, key, worker, nbytes)
        })
        break
      case 'fn':
        this.request(conn, -1, () => {
          try {
            this.functions.register(client, msg[1], msg[2], msg[3])
          } catch (err) {
            // Its tasks will reach workers that ask for it: they are told why it is missing.
            this.refusedFunctions.remember(msg[1].slice(0, 64), (err as Error).message)
            throw err
          }
        })
        break
      case 'publish':
        this.request(conn, msg[1], () => this.datasets.publish(client, msg[2], msg[3], msg[4], msg[5]))
        break
      case 'unpublish':
        this.request(conn, msg[1], () => this.datasets.unpublish(msg[2]))
        break
      case 'get-dataset': {
        const request = msg[1]
        this.request(conn, -1, () => {
          const { value, keys, ids } = this.datasets.get(msg[2], client)
          conn.send(['dataset', request, value, keys, ids])
        }, request)
        break
      }
      case 'list-datasets':
        conn.send(['datasets', msg[1], this.datasets.names()])
        break
      case 'fire-and-forget':
        this.request(conn, -1, () => this.fireAndForget.hold(client, msg[1]))
        break
      case 'story':
        conn.send(['story', msg[1], storyOf(this.core, msg[2])])
        break
      case 'forward-logs':
        this.taskOutput.subscribe(conn, msg[1])
        break
      case 'run': {
        const [, request, payload, names, context, timeoutMs] = msg
        this.request(conn, -1, () => this.runs.start(conn, request, payload, this.workersNamed(names), context, timeoutMs), request)
        break
      }
      case 'replicate':
        this.request(conn, -1, () => this.replications.start(conn, msg[1], msg[2], msg[3], msg[4], this.workers), msg[1])
        break
      case 'who-has': {
        const request = msg[1]
        this.request(conn, -1, () => conn.send(['who-has', request, this.core.whoHas(msg[2]).map((ids) => ids.map((id) => this.workers.get(id)?.name ?? String(id)))]), request)
        break
      }
      case 'task-stream':
        this.taskStream(conn, msg[1], msg[2], msg[3])
        break
      case 'retry': {
        const request = msg[1]
        this.request(conn, -1, () => conn.send(['retried', request, this.core.retryKeys(client, msg[2])]), request)
        break
      }
      case 'heartbeat':
        break
    }
  }

  /** The live workers of these names (each once), or all of them; an unknown name throws. */
  private workersNamed(names: string[] | null): Connection[] {
    if (names === null) return [...this.workers.values()]
    const byName = new Map([...this.workers.values()].map((w) => [w.name, w]))
    const named = new Set<Connection>()
    for (const name of names) {
      const worker = byName.get(name)
      if (worker === undefined) throw new SkeinError(UNKNOWN_WORKER, `no live worker is named '${name.slice(0, 256)}' (connected: ${[...byName.keys()].slice(0, 20).join(', ') || 'none'})`)
      named.add(worker)
    }
    return [...named]
  }

  /** Answers a client's 'task-stream' request, and starts or stops recording runs for it. */
  private taskStream(conn: Connection, request: number, since: number, record: boolean): void {
    const ring = this.hooks.taskStream
    if (record && !this.recordingClients.has(conn.id)) {
      this.recordingClients.add(conn.id)
      ring.watch()
    }
    const { runs, prefixes, workers, dropped } = ring.window(since, MAX_TASK_STREAM_RUNS, () => this.core.prefixTotals().map((p) => p.prefix))
    if (!record && this.recordingClients.delete(conn.id)) ring.unwatch()
    conn.send(['task-stream', request, wallNow(), runs, prefixes, workers, dropped] satisfies TaskStream)
  }

  /** Runs a core call for a client; the core's refusal (cycle, unknown key...) goes back with its code, and is not a protocol violation. */
  private request(conn: Connection, request: number, call: () => unknown, replyTo = request): void {
    try {
      call()
      if (request !== -1) conn.send(['done', request])
    } catch (err) {
      if (isCorePanic(err)) throw err
      const e = err as Error & { code?: string }
      conn.sendError(replyTo, e.code ?? INTERNAL, e.message)
    }
    this.scheduleFlush()
  }

  private workerMessage(conn: Connection, m: unknown[]): void {
    const msg = checkWorkerMessage(m)
    switch (msg[0]) {
      case 'events': {
        let rejected: string[]
        try {
          rejected = this.core.workerEvents(conn.id, asBuffer(msg[1]))
          if (this.hooks.taskStream.recording) this.hooks.taskStream.drain(wallNow())
        } catch (err) {
          if (isCorePanic(err)) throw err
          const e = err as Error & { code?: string }
          throw new ProtocolError(e.code ?? MALFORMED_FRAME, `'events' message: ${e.message}`)
        }
        if (rejected.length > 0) this.log(`${conn.label}: ${rejected.length} event(s) rejected, first: ${rejected[0]}`)
        this.scheduleFlush()
        break
      }
      case 'fn?': {
        const source = this.functions.lookup(msg[1])
        if (source) conn.send(source)
        else {
          const refused = this.refusedFunctions.get(msg[1])
          const why = refused === undefined ? 'no connected client registered it' : `its registration was refused: ${refused}`
          conn.sendError(-1, UNKNOWN_FUNCTION, `the scheduler holds no shipped function with hash ${msg[1].slice(0, 64)}: ${why}`)
        }
        break
      }
      case 'heartbeat':
        this.core.heartbeat(conn.id, now())
        conn.lastHeartbeat = Date.now()
        if (msg.length === 2 || msg.length === 3) conn.memory = msg[1]
        if (msg.length === 3) {
          conn.usage = msg[2]
          if (msg[2].transfers !== undefined && this.hooks.taskStream.recording) this.hooks.taskStream.addTransfers(conn.id, msg[2].transfers)
        }
        break
      case 'paused':
        if (msg[1] !== conn.paused) this.info(`${conn.label} ${msg[1] ? 'paused: its memory is past its pause threshold; no new tasks go to it' : 'resumed'}`)
        conn.paused = msg[1]
        this.core.setPaused(conn.id, msg[1])
        this.scheduleFlush()
        break
      case 'unreachable':
        this.recheck(conn, msg[1], msg[2])
        break
      case 'task-output':
        this.taskOutput.relay(conn.name, msg[1], msg[2])
        break
      case 'run-result':
        this.runs.answered(conn, msg[1], msg[2], msg[3])
        break
      case 'replicated':
        this.replications.reported(conn, msg[1])
        this.scheduleFlush()
        break
    }
  }

  /**
   * Worker `reporter` could not reach worker `holderId`'s peer server at all. The scheduler
   * checks for itself (at most once per holder per RECHECK_MS): a holder it cannot reach
   * either is removed (its connection closed: its tasks and the data only it held go
   * elsewhere, as after any death), instead of every fetch from it failing until the
   * dependents err. One the scheduler reaches is left alone (a partition between workers: the
   * fetches fail and the dependents err with TransferError, bounded).
   */
  private recheck(reporter: Connection, holderId: number, why: string): void {
    const holder = this.workers.get(holderId)
    if (holder === undefined || holder === reporter) return
    const now = Date.now()
    if (holder.lastRecheck > now - RECHECK_MS) return
    holder.lastRecheck = now
    void this.hooks.reachability.check(holder.address).then((unreachable) =>
      this.guard(holder, () => {
        if (!holder.isOpen || this.workers.get(holderId) !== holder) return
        if (unreachable === null) {
          this.refused(`${reporter.label} cannot reach ${holder.label} at ${holder.address} (${why}), but the scheduler can: the network between those workers is broken`)
          return
        }
        this.log(`${holder.label} at ${holder.address} cannot be reached by ${reporter.label} (${why}) nor by the scheduler (${unreachable}): removed; its tasks and the data only it held go to other workers`, 'warn', { worker: holder.name, address: holder.address })
        holder.close(CLOSE_POLICY, 'peer server unreachable')
      }),
    )
  }

  private closed(conn: Connection): void {
    this.pending.delete(conn)
    this.taskOutput.closed(conn)
    this.admitting.delete(conn)
    if (conn.role === Role.Client && this.clients.delete(conn.id)) {
      this.runs.clientLeft(conn)
      this.replications.clientLeft(conn)
      if (this.recordingClients.delete(conn.id)) this.hooks.taskStream.unwatch()
      this.core.removeClient(conn.id)
      this.functions.release(conn.id)
      this.scheduleFlush()
    } else if (conn.role === Role.Worker && this.workers.delete(conn.id)) {
      this.workerGone(conn)
      if (!conn.removedByCore) this.core.removeWorker(conn.id, now())
      this.info(`${conn.label} left`, { worker: conn.name })
      this.workersChanged()
      this.scheduleFlush()
    }
  }

  /** What a worker was doing for clients (runs, copies) fails with it. */
  private workerGone(conn: Connection): void {
    this.runs.workerLeft(conn)
    this.replications.workerLeft(conn)
  }

  private workersChanged(): void {
    this.workerList = [...this.workers.values()].map((w): WorkerInfo => [w.id, w.name, w.address, w.resources])
    const message: Workers = ['workers', this.workerList]
    for (const c of this.clients.values()) c.send(message)
    for (const w of this.workers.values()) w.send(message)
    this.hooks.workersChanged(this.workerList)
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flush)
  }

  private flushInstructions(): void {
    this.flushScheduled = false
    try {
      const bytes = this.core.takeMessages()
      if (bytes) this.dispatch(bytes)
    } catch (err) {
      const e = err as Error
      if (isCorePanic(e)) return this.hooks.fatal(e)
      this.log(`internal error while sending instructions: ${e.stack ?? e.message}`, 'error')
    }
  }

  private dispatch(bytes: Buffer): void {
    // Messages come ready to send: the tasks in them are never decoded here.
    const [workers, clients, removed] = decodeMessages(bytes)
    for (const [id, free, compute, steal] of workers) {
      const conn = this.workers.get(id)
      if (!conn) continue
      if (compute === null && steal === null) {
        // Only frees: nothing waits on them. They go with the next compute (a round trip of one
        // task then costs one write to its worker, not two), or after FREE_DELAY_MS.
        if (free !== null) conn.channel.sendEncodedLater(free, FREE_DELAY_MS)
        continue
      }
      // Free first: a key freed and recomputed in one batch must end up computed.
      if (free !== null) conn.sendEncoded(free)
      if (compute !== null) conn.sendEncoded(compute)
      // After compute: a task placed and asked back in one batch must be there to give up.
      if (steal !== null) conn.sendEncoded(steal)
      // This flush already runs once per turn, after everything the turn produced: send now.
      conn.channel.flushNow()
    }
    for (const [id, memory, erred, cancelled, retried] of clients) {
      const conn = this.clients.get(id)
      if (!conn) {
        if (this.fireAndForget.is(id)) this.fireAndForget.settled(memory, erred)
        continue
      }
      // First: the new run's news in this batch must find the old failure forgotten.
      if (retried !== undefined) conn.sendEncoded(retried)
      if (memory !== null) conn.sendEncoded(memory)
      if (erred !== null) conn.sendEncoded(erred)
      if (cancelled !== null) conn.sendEncoded(cancelled)
      conn.channel.flushNow()
    }
    if (removed.length > 0) {
      for (const id of removed) {
        const conn = this.workers.get(id)
        if (!conn) continue
        conn.removedByCore = true
        this.workers.delete(id)
        this.workerGone(conn)
        const why =
          this.core.removal(id) === 'stalled'
            ? 'held tasks without running or reporting any for the stall timeout (it heartbeats but sits on its work); removed, its tasks go to other workers'
            : 'missed its heartbeats; removed'
        this.log(`${conn.label} ${why}`, 'warn', { worker: conn.name })
        conn.close(CLOSE_POLICY, 'heartbeat timeout')
      }
      this.workersChanged()
    }
  }
}
