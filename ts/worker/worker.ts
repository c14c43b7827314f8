import fs from 'node:fs'
import type { IncomingMessage } from 'node:http'
import os from 'node:os'
import {
  Channel,
  checkTlsAddress,
  connectionError,
  openSocket,
  PartyHandshake,
  partyCredentials,
  resolveTls,
  SkeinError,
  type Credentials,
  type ResolvedTls,
  type TlsOptions,
  WorkerEventKind,
  MAX_RUN_RESULT_BYTES,
  type HelloWorker,
  type SchedulerToWorker,
  type WireCompute,
  type WorkerContext,
  type WorkerInfo,
  type WorkerToScheduler,
} from '../protocol'
import { Fetcher } from './fetcher'
import { KeyTable, type KeySlot } from './keys'
import { createLogger, noticesTo, type Logger, type LogOption } from '../log'
import type { Log } from './log'
import type { ConsoleLine } from './task-console'
import { TaskOutputForwarder } from './task-output'
import { MemoryMonitor } from './memory'
import { machineMemory, MemoryOptionsError, resolveMemory, type MemoryFractions, type MemorySettings } from './memory-options'
import { EventOutbox } from './outbox'
import { PeerServer } from './peer-server'
import { WorkerMetrics } from './metrics'
import { ExecutionPool } from './pool'
import { DEFAULT_DEATH_TIMEOUT_MS, joinWithin } from './scheduler-wait'
import { SourceCache } from './sources'
import { SpillDirectory } from './spill-directory'
import { DataStore } from './store'
import { NO_INPUTS, Phase, TaskRecord } from './task'
import { MAX_CONTEXT_KEYS, RunThread } from './run-thread'
import { encodeTaskFailure } from '../graph/payload'
import type { TaskConnection } from './thread-state'
import { UsageSampler } from './usage'

export interface WorkerOptions {
  /** The scheduler's ws:// (or wss://) address. */
  scheduler: string
  /** Tasks run at once, each on an execution thread of its own (default 1). */
  slots?: number
  /** Unique among the scheduler's workers (default: host-pid-n). */
  name?: string
  /**
   * Interface of the peer server that serves data to peers and clients. Default: this machine's
   * address on its connection to the scheduler (the interface that routes there; 127.0.0.1 for a
   * scheduler on loopback).
   */
  host?: string
  /** Host peers use to reach the peer server (default: `host`, or for a wildcard `host` the address above). */
  advertiseHost?: string
  /** What this worker offers to tasks that declare resource needs, e.g. { gpu: 1 }. */
  resources?: Record<string, number>
  /** Default 1000 ms; the scheduler drops workers silent for its heartbeat timeout. */
  heartbeatIntervalMs?: number
  /**
   * How long `start()` waits for the scheduler to answer (default 60 000 ms, Dask's death
   * timeout): a scheduler that is not up yet, or restarting, is called again with backoff (0.1 s
   * doubling to 5 s). 0 tries once. A refusal (wrong token, TLS, bad options) fails at once.
   */
  deathTimeoutMs?: number
  /** The worker joins a scheduler it lost (a worker process starting afresh): a refusal of its name is retried too. */
  rejoining?: boolean
  /**
   * Where its log records go (component: its name): a function receiving `(msg, record)`,
   * settings `{ level, destination, format }`, a pino logger, or false for none. Default: stderr
   * at SKEIN_LOG_LEVEL, else info. Lines its tasks print (console.log...) are records too, with
   * the task's `key`.
   */
  log?: LogOption
  /**
   * The cluster's token, proven to the scheduler and required of every peer that fetches from
   * this worker. Default: the token of a scheduler this process started at that address, else
   * SKEIN_TOKEN, else SKEIN_TOKEN_FILE, else none (only an insecure scheduler accepts that).
   */
  token?: string
  /** Read the token from this file instead. */
  tokenFile?: string
  /**
   * TLS: the peer server serves wss:// with `cert` and `key` (both required), and the worker
   * verifies the scheduler and its peers against `ca` (default: the system's CAs), presenting
   * `cert` to servers that require client certificates. `requireClientCert` makes the peer server
   * require them too (mutual TLS). The scheduler's address must then be wss://.
   */
  tls?: TlsOptions
  /**
   * The memory this worker may use: bytes, or a string such as '2GiB' or '512MB' (default: the
   * machine's memory, or its container's). The thresholds in `memory` are fractions of it.
   */
  memoryLimit?: number | string
  /**
   * Fractions of `memoryLimit` (false switches one off): past `target` (0.6) of it in stored
   * values, the least recently used are spilled to disk; past `spill` (0.7) of it in process
   * memory, more are; past `pause` (0.8), no new task starts until memory drops; past
   * `terminate` (0.95), the worker stops (a worker process exits with code 1, and LocalCluster
   * starts it again).
   */
  memory?: MemoryFractions
  /** Where the worker makes its directory for spilled values, removed when it stops (default: the OS temp directory). */
  localDirectory?: string
}

let started = 0

/**
 * A worker: runs the tasks the scheduler sends, keeps their results, fetches
 * inputs from the peers that hold them and serves its own data. It waits up to
 * `deathTimeoutMs` for its scheduler at start, and stops when the scheduler
 * connection drops (`lostScheduler`): a worker process (`skein worker`,
 * LocalCluster's) then starts a fresh worker that waits for the scheduler
 * again. Use it in-process or via `dist/worker/main.js`.
 */
/** A holder this worker cannot reach is reported to the scheduler at most this often. */
const UNREACHABLE_REPORT_MS = 10_000
/** Characters of an error message sent as a reason (at most 900 bytes of UTF-8: the scheduler takes 1000). */
const MAX_REASON_LENGTH = 300
/** Client.run functions running at once on one worker, each on a thread of its own; more are refused. */
const MAX_RUN_THREADS = 16

export class Worker {
  readonly name: string
  readonly slots: number
  /** The id the scheduler gave this worker. */
  id = -1
  /** Resolves when the worker has stopped (scheduler gone or close() called). */
  readonly closed: Promise<void>

  private readonly log: Log
  private readonly logger: Logger
  /** The lines tasks print, to the scheduler while a client wants them. */
  private readonly forwarder = new TaskOutputForwarder((message) => {
    if (this.channel?.isOpen) this.channel.send(message)
  })
  /** Per key: the task listed for it and its stored data. */
  private readonly keys = new KeyTable()
  private readonly store: DataStore
  private readonly spillDirectory: SpillDirectory
  private readonly memory: MemoryMonitor
  /** Settings of the memory limit and its thresholds. */
  readonly memorySettings: MemorySettings
  private terminated = false
  private readonly peers = new Map<number, string>()
  /** When each holder was last reported unreachable to the scheduler. */
  private readonly unreachableReported = new Map<number, number>()
  private readonly sources: SourceCache
  private readonly outbox: EventOutbox
  private readonly pool: ExecutionPool
  private readonly fetcher: Fetcher
  /** Client.run functions running here. */
  private readonly runs = new Set<RunThread>()
  private readonly metrics = new WorkerMetrics()
  private readonly credentials: Credentials
  private readonly tls: ResolvedTls | null
  private channel!: Channel<WorkerToScheduler, SchedulerToWorker>
  private server: PeerServer | undefined
  private peerAddress = ''
  private heartbeat: NodeJS.Timeout | undefined
  private resolveClosed!: () => void
  private stopped = false
  private lost = false

  private constructor(private readonly options: WorkerOptions) {
    this.slots = options.slots ?? 1
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new Error(`worker slots must be a positive integer, not ${options.slots}`)
    const death = options.deathTimeoutMs
    if (death !== undefined && !(typeof death === 'number' && Number.isFinite(death) && death >= 0)) {
      throw new SkeinError('SKEIN_INVALID_OPTIONS', `Worker: deathTimeoutMs must be a non-negative number of milliseconds, not ${String(death).slice(0, 40)}`)
    }
    this.name = options.name ?? `${os.hostname()}-${process.pid}-${++started}`
    this.logger = createLogger(options.log, 'Worker').child({ component: this.name })
    this.log = noticesTo(this.logger)
    this.credentials = partyCredentials(options, options.scheduler, 'Worker')
    this.tls = options.tls === undefined ? null : resolveTls(options.tls, 'Worker', 'worker')
    checkTlsAddress(options.scheduler, this.tls, 'Worker')
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    this.memorySettings = resolveMemory(options.memoryLimit, options.memory, machineMemory(), 'Worker')
    const local = options.localDirectory ?? os.tmpdir()
    if (typeof local !== 'string' || !isDirectory(local)) {
      throw new MemoryOptionsError(`Worker: localDirectory must be an existing directory, not ${typeof local === 'string' ? `'${local.slice(0, 200)}'` : typeof local}`)
    }
    this.spillDirectory = new SpillDirectory(local, `skein-worker-${this.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`)
    const { limit, target } = this.memorySettings
    this.store = new DataStore(this.keys, (key) => this.pool.forget(key), {
      directory: this.spillDirectory,
      targetBytes: target === false ? Infinity : target * limit,
      log: this.log,
    })
    this.memory = new MemoryMonitor(this.memorySettings, {
      store: this.store,
      log: this.log,
      paused: (paused) => {
        this.pool.setPaused(paused)
        if (this.channel?.isOpen) this.channel.send(['paused', paused])
      },
      terminate: (reason) => {
        this.log(`${reason}: stopping the worker`)
        this.terminated = true
        this.stop()
      },
    })
    this.sources = new SourceCache((hash) => this.channel.send(['fn?', hash]))
    this.outbox = new EventOutbox((message) => {
      this.channel.sendEncodedAt1(message)
      // The outbox flushes once per turn already: no second trip around the event loop.
      this.channel.flushNow()
    })
    this.pool = new ExecutionPool(this.slots, {
      maxValueBytes: this.memorySettings.limit,
      sources: this.sources,
      log: this.log,
      connection: {
        scheduler: options.scheduler,
        token: this.credentials.token,
        tls: options.tls === undefined ? null : clientTls(options.tls),
        name: this.name,
      },
      finished: (task, memory, offset, length, duration) => {
        this.store.putResult(task.key, task.slot, memory.buffer, memory.byteOffset + offset, length)
        this.outbox.finished(task.task, task.run, length, duration, memory, offset)
      },
      // A Buffer, not a Uint8Array: only a Buffer encodes as MessagePack bin.
      erred: (task, failure) => this.outbox.push([WorkerEventKind.Erred, task.task, task.run, Buffer.from(failure.buffer, failure.byteOffset, failure.byteLength)]),
      executing: (task) => this.outbox.push([WorkerEventKind.Executing, task.task, task.run]),
      executorDied: (task) => this.outbox.push([WorkerEventKind.ExecutorDied, task.task, task.run]),
      longRunning: (task) => this.outbox.push([WorkerEventKind.LongRunning, task.task, task.run]),
      settled: (task) => this.settled(task),
      flush: () => this.outbox.flush(),
      inputsInMemory: (task) => this.inputsInMemory(task),
      broken: (reason) => {
        this.log(`cannot run tasks: ${reason}; leaving the cluster`, 'error')
        this.stop()
      },
      taskOutput: (line) => this.taskOutput(line),
    })
    const worker = this
    this.fetcher = new Fetcher(
      this.store,
      {
        get selfId() {
          return worker.id
        },
        maxValueBytes: this.memorySettings.limit,
        peerAddress: (id) => this.peers.get(id),
        arrived: (task, input, slot) => this.arrived(task, input, slot),
        fetched: (startedMs, bytes) => this.metrics.transferArrived(startedMs, bytes),
        unavailable: (key, depTask, holders, waiters, lastError) => this.unavailable(key, depTask, holders, waiters, lastError),
        unreachable: (holder, _address, why) => this.reportUnreachable(holder, why),
      },
      this.credentials,
      this.tls,
      this.log,
    )
    this.metrics.attach({
      slots: this.slots,
      executing: () => this.pool.active,
      ready: () => this.pool.queued,
      memory: () => this.memory.sample(),
      paused: () => this.memory.paused,
      peerPortBytes: () => this.server?.bytes ?? { read: 0, written: 0 },
    })
  }

  /** A line a task printed: a record with the worker's name and the task's key. */
  private taskOutput(printed: ConsoleLine): void {
    const { level, line, key, dropped } = printed
    if (dropped > 0) this.logger.warn({ worker: this.name }, `${dropped} line(s) printed by tasks were dropped (more than 10 000 a second on one thread)`)
    this.logger[level](key === null ? { worker: this.name } : { worker: this.name, key }, line)
    this.forwarder.add(printed)
  }

  /** Starts the peer server, joins the scheduler and resolves once welcomed. */
  static async start(options: WorkerOptions): Promise<Worker> {
    const worker = new Worker(options)
    await worker.connect()
    return worker
  }

  /** The peer server's ws:// (wss:// with TLS) address (for 'get' and 'put'). */
  get address(): string {
    return this.peerAddress
  }

  /**
   * The worker stopped because its scheduler connection closed (not by close(), its memory or
   * a broken pool): a worker process then starts a fresh worker that waits for the scheduler.
   */
  get lostScheduler(): boolean {
    return this.lost
  }

  /** 1 once the worker stopped itself past its memory's terminate threshold, else 0: the exit code of a worker process. */
  get exitCode(): number {
    return this.terminated ? 1 : 0
  }

  async close(): Promise<void> {
    this.stop()
    await this.closed
  }

  /** `await using` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async connect(): Promise<void> {
    try {
      // A worker whose slots cannot run yet would only hoard the tasks it is given.
      await this.pool.whenReady()
      await joinWithin((attemptMs) => this.join(attemptMs), {
        address: this.options.scheduler,
        timeoutMs: this.options.deathTimeoutMs ?? DEFAULT_DEATH_TIMEOUT_MS,
        rejoining: this.options.rejoining === true,
        stopped: () => this.stopped,
      })
      if (this.stopped) throw new Error(`worker '${this.name}' was closed while joining the scheduler`)
    } catch (err) {
      this.stop()
      throw err
    }
    const usage = new UsageSampler({ executing: () => this.pool.active, ready: () => this.pool.queued, peerPortBytes: () => this.server?.bytes ?? { read: 0, written: 0 }, takeTransfers: () => this.metrics.takeTransfers() })
    this.heartbeat = setInterval(() => this.channel.send(['heartbeat', this.memory.sample(), usage.sample()]), this.options.heartbeatIntervalMs ?? 1000)
    this.heartbeat.unref()
    this.memory.start()
  }

  /**
   * Opens the peer server. By default it listens on `local`, the address of this machine's end
   * of the scheduler connection: the interface that routes to the scheduler, which peers on the
   * scheduler's network can reach too (a loopback scheduler gives loopback), and never a
   * wildcard nobody asked for. It advertises that address, not a host name that may resolve
   * to 127.0.0.1 elsewhere.
   */
  private async listenForPeers(local: string): Promise<void> {
    const host = this.options.host ?? local
    const server = await PeerServer.listen(host, this.store, this.credentials, this.tls, this.log, this.memorySettings.limit, (req, res) => this.metrics.respond(req, res))
    if (this.stopped) {
      server.close()
      throw new Error('the worker stopped')
    }
    this.server = server
    const wildcard = host === '0.0.0.0' || host === '::'
    const advertised = this.options.advertiseHost ?? (wildcard ? local : host)
    this.peerAddress = `${this.tls === null ? 'ws' : 'wss'}://${advertised.includes(':') ? `[${advertised}]` : advertised}:${server.port}`
  }

  /** One attempt to connect and be welcomed within `timeoutMs`; after a welcome, a closed connection stops the worker. */
  private join(timeoutMs: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the worker stopped'))
    const server = `the scheduler at ${this.options.scheduler}`
    const socket = openSocket(this.options.scheduler, this.tls, server)
    const handshake = new PartyHandshake(this.credentials, 'worker', server)
    let local = '127.0.0.1'
    socket.once('upgrade', (response: IncomingMessage) => {
      const address = response.socket.localAddress
      if (address) local = address.startsWith('::ffff:') ? address.slice(7) : address
    })
    return new Promise<void>((resolve, reject) => {
      let welcomed = false
      let refusal: Error | null = null
      const timer = setTimeout(() => {
        refusal = new Error(`${server} did not welcome worker '${this.name}' within ${(timeoutMs / 1000).toFixed(1)} s`)
        socket.terminate()
      }, timeoutMs)
      const hello = () => {
        // Opened once: a worker that tries again keeps its peer server.
        const listening = this.server === undefined ? this.listenForPeers(local) : Promise.resolve()
        listening.then(
          () => this.channel.send(['hello-worker', this.name, this.slots, this.peerAddress, this.options.resources ?? null] satisfies HelloWorker),
          (err: Error) => {
            // Not worth a retry: the interface is wrong, not the scheduler late.
            refusal = new SkeinError('SKEIN_INVALID_OPTIONS', `worker '${this.name}' cannot open its peer server on ${this.options.host ?? local}: ${err.message}`)
            socket.terminate()
          },
        )
      }
      this.channel = new Channel<WorkerToScheduler, SchedulerToWorker>(
        socket,
        (message) => {
          if (!handshake.done) {
            try {
              const auth = handshake.receive(message)
              if (auth !== null) this.channel.send(auth)
              else hello()
            } catch (err) {
              refusal = err instanceof SkeinError ? err : new Error(`the scheduler at ${this.options.scheduler} refused worker '${this.name}': ${(err as Error).message}`)
              socket.terminate()
            }
            return
          }
          if (!welcomed && message[0] === 'welcome') {
            welcomed = true
            clearTimeout(timer)
            this.id = message[1]
            resolve()
          } else if (!welcomed && message[0] === 'error') {
            refusal = new SkeinError(String(message[2]), `the scheduler at ${this.options.scheduler} refused worker '${this.name}': ${message[3]}`)
            socket.terminate()
          } else {
            this.handle(message)
          }
        },
        (err) => this.log(`bad frame from the scheduler: ${err.message}`),
      )
      socket.on('error', (err) => {
        if (welcomed) return this.log(`scheduler connection: ${err.message}`)
        const failure = connectionError(socket, err, server, this.options.scheduler)
        // A plain failure to connect is retried, and named in SchedulerUnreachableError at the end.
        refusal ??= failure
      })
      socket.on('close', () => {
        clearTimeout(timer)
        if (!welcomed) return reject(refusal ?? new Error(`the scheduler at ${this.options.scheduler} closed the connection before welcoming worker '${this.name}'`))
        if (!this.stopped) this.lost = true
        this.stop()
      })
    })
  }

  private handle(message: SchedulerToWorker): void {
    try {
      switch (message[0]) {
        case 'compute':
          this.compute(message[1])
          break
        case 'free':
          this.free(message[1])
          break
        case 'steal':
          this.steal(message[1])
          break
        case 'workers':
          this.updatePeers(message[1])
          break
        case 'fn':
          this.sources.define(message[1], message[2], message[3])
          break
        case 'forward-logs':
          this.forwarder.forward(message[1])
          break
        case 'run':
          this.run(message[1], message[2], message[3], message[4])
          break
        case 'replicate':
          for (const [key, holders] of message[1]) {
            this.fetcher.copy(key, holders, (error) => {
              if (this.channel.isOpen) this.channel.send(['replicated', [[key, error?.slice(0, MAX_REASON_LENGTH) ?? null]]])
            })
          }
          break
        case 'error':
          if (message[2] === 'SKEIN_UNKNOWN_FUNCTION') this.sources.refuseOldest(message[3])
          else this.log(`the scheduler reports ${message[2]}: ${message[3]}`)
          break
      }
    } catch (err) {
      this.log(`failed to handle '${message[0]}' from the scheduler: ${(err as Error).stack ?? err}`)
    }
  }

  /**
   * Runs a Client.run function on a thread of its own (the I/O thread keeps heartbeating and
   * serving whatever it does) and answers 'run-result' `id` with its value or failure.
   */
  private run(id: number, payload: Uint8Array, context: boolean, timeoutMs: number): void {
    const answer = (outcome: 0 | 1, bytes: Uint8Array) => {
      // A Buffer, not a Uint8Array: only a Buffer encodes as MessagePack bin.
      if (this.channel.isOpen) this.channel.send(['run-result', id, outcome, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)])
    }
    if (this.runs.size >= MAX_RUN_THREADS) {
      const error = Object.assign(new Error(`worker '${this.name}' already runs ${MAX_RUN_THREADS} run functions; try again once they return`), { code: 'SKEIN_TOO_MANY_RUNS' })
      return answer(1, encodeTaskFailure(error))
    }
    const data = { payload, context: context ? this.context() : null, maxValueBytes: Math.min(this.memorySettings.limit, MAX_RUN_RESULT_BYTES) }
    let thread: RunThread
    try {
      thread = new RunThread(data, timeoutMs, this.sources, this.log, (outcome, bytes) => {
        this.runs.delete(thread)
        answer(outcome, bytes)
      })
    } catch (err) {
      // No thread (its entry is missing, or threads cannot start): the client still hears why.
      return answer(1, encodeTaskFailure(err))
    }
    this.runs.add(thread)
  }

  /** What a run function learns of this worker (`context: true`). */
  private context(): WorkerContext {
    return { name: this.name, id: this.id, address: this.peerAddress, keys: this.keys.heldKeys(MAX_CONTEXT_KEYS) }
  }

  private compute(batch: WireCompute[]): void {
    for (const wire of batch) {
      const slot = this.keys.slot(wire[2])
      const task = TaskRecord.from(wire, slot)
      const previous = slot.task
      // Listed before the previous run is dropped, so the slot is not pruned in between.
      slot.task = task
      if (previous !== null) this.drop(previous)
      if (task.deps.length > 0) this.gatherInputs(task)
      if (task.phase === Phase.Dropped) continue
      if (task.missing === 0) this.pool.enqueue(task)
      else task.phase = Phase.Fetching
    }
  }

  /** References the inputs held here and fetches the others. */
  private gatherInputs(task: TaskRecord): void {
    const deps = task.deps
    const inputs = (task.inputs = new Array<KeySlot | undefined>(deps.length))
    for (let i = 0; i < deps.length; i++) {
      const slot = this.store.retain(deps[i][0])
      if (slot !== undefined) {
        inputs[i] = slot
        if (slot.memory === null) this.restore(task, i, slot)
        continue
      }
      task.missing++
      this.fetcher.need(deps[i], task, i)
      // No holder could be asked: the task was reported missing and dropped (its inputs released) already.
      if (task.phase === Phase.Dropped) return
    }
  }

  private inputsInMemory(task: TaskRecord): boolean {
    const inputs = task.inputs
    let inMemory = true
    for (let i = 0; i < inputs.length; i++) {
      const slot = inputs[i]!
      if (slot.memory !== null) continue
      if (inMemory) task.phase = Phase.Fetching
      inMemory = false
      this.restore(task, i, slot)
    }
    return inMemory
  }

  /** Input `input` of `task` is spilled here: it counts as missing until read back into memory. */
  private restore(task: TaskRecord, input: number, slot: KeySlot): void {
    task.missing++
    this.store.restore(slot.key, slot).then((ok) => {
      // Dropped meanwhile: its reference is given back already.
      if (task.phase === Phase.Dropped || task.inputs[input] !== slot) return
      if (ok) {
        if (--task.missing === 0 && task.phase === Phase.Fetching) this.pool.enqueue(task)
        return
      }
      const dep = task.deps[input]
      this.outbox.push([WorkerEventKind.MissingData, task.task, task.run, dep[3], this.id])
      this.drop(task)
      this.outbox.flush()
    })
  }

  private arrived(task: TaskRecord, input: number, slot: KeySlot): void {
    task.inputs[input] = slot
    if (--task.missing === 0 && task.phase === Phase.Fetching) this.pool.enqueue(task)
  }

  /**
   * Tells the scheduler that `holder`'s peer server could not be reached at all (at most once
   * per holder per UNREACHABLE_REPORT_MS): it checks for itself and removes a worker nobody can
   * reach, so its data is recomputed elsewhere instead of failing every fetch.
   */
  private reportUnreachable(holder: number, why: string): void {
    const now = Date.now()
    if ((this.unreachableReported.get(holder) ?? -Infinity) > now - UNREACHABLE_REPORT_MS) return
    this.unreachableReported.set(holder, now)
    if (this.channel?.isOpen) this.channel.send(['unreachable', holder, why.slice(0, MAX_REASON_LENGTH)])
  }

  private unavailable(key: string, depTask: number, holders: number[], waiters: TaskRecord[], lastError: string | undefined): void {
    this.metrics.transferFailed()
    // The scheduler keeps the last reason for the client's TransferError.
    const reason = lastError?.slice(0, MAX_REASON_LENGTH)
    for (const task of waiters) {
      if (task.phase === Phase.Dropped) continue
      for (const holder of holders) {
        this.outbox.push(
          reason === undefined
            ? [WorkerEventKind.MissingData, task.task, task.run, depTask, holder]
            : [WorkerEventKind.MissingData, task.task, task.run, depTask, holder, reason],
        )
      }
      this.drop(task)
    }
    this.log(`no holder could give '${key}' (tried worker(s) ${holders.join(', ')}${reason === undefined ? '' : `; last error: ${reason}`}); reported it missing`)
  }

  private free(keys: string[]): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      const slot = this.keys.get(key)
      if (slot === undefined) continue
      if (slot.task !== null) this.drop(slot.task)
      this.store.free(key, slot)
    }
  }

  /** Gives up tasks the scheduler moves to another worker, unless handed to an execution thread; answers each. */
  private steal(requests: [task: number, run: number, key: string][]): void {
    for (const [id, run, key] of requests) {
      const task = this.keys.get(key)?.task ?? null
      const unstarted =
        task !== null &&
        task.task === id &&
        task.run === run &&
        (task.phase === Phase.Fetching || task.phase === Phase.Ready)
      if (unstarted) this.drop(task)
      this.outbox.push([WorkerEventKind.StealResponse, id, run, unstarted])
    }
    // Now: the thief waits for the answer.
    this.outbox.flush()
  }

  /**
   * Abandons a task: its outcome is not reported, and what it held is released. A task
   * running on an execution thread is stopped (the thread is replaced).
   */
  private drop(task: TaskRecord): void {
    this.unlist(task)
    const was = task.phase
    if (was === Phase.Dropped || was === Phase.Done) return
    task.phase = Phase.Dropped
    // A task handed to a thread keeps its inputs until the pool gives it back (settled()).
    if (was === Phase.Running) this.pool.cancel(task)
    else this.releaseInputs(task)
  }

  /** Called by the pool once per task that leaves it: finished, failed, stopped or dropped. */
  private settled(task: TaskRecord): void {
    this.unlist(task)
    this.releaseInputs(task)
  }

  /** Takes `task` off its key's slot if the slot still lists it. */
  private unlist(task: TaskRecord): void {
    const slot = task.slot
    if (slot.task !== task) return
    slot.task = null
    this.keys.prune(task.key, slot)
  }

  private releaseInputs(task: TaskRecord): void {
    const inputs = task.inputs
    for (let i = 0; i < inputs.length; i++) {
      const slot = inputs[i]
      const key = task.deps[i][0]
      if (slot !== undefined) this.store.release(key, slot)
      else this.fetcher.detach(key, task)
    }
    task.inputs = NO_INPUTS
  }

  private updatePeers(workers: WorkerInfo[]): void {
    const alive = new Set<number>()
    for (const [id, , address] of workers) {
      alive.add(id)
      this.peers.set(id, address)
    }
    for (const id of [...this.peers.keys()]) {
      if (alive.has(id)) continue
      this.peers.delete(id)
      this.fetcher.forgetPeer(id)
    }
  }

  private stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.memory.stop()
    this.pool.close()
    for (const run of this.runs) run.stop()
    this.runs.clear()
    this.store.close()
    this.spillDirectory.close()
    this.outbox.flush()
    this.forwarder.close()
    this.fetcher.close()
    this.metrics.close()
    this.server?.close()
    if (this.channel?.isOpen) this.channel.close()
    this.resolveClosed()
  }
}

/** What a client uses of the worker's TLS options: its CA, and its certificate for servers that require one. */
function clientTls(tls: TlsOptions): TaskConnection['tls'] {
  const { ca, cert, key } = tls
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) }
}

function isDirectory(path: string): boolean {
  try {
    return fs.statSync(path).isDirectory()
  } catch {
    return false
  }
}
