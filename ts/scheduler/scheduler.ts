import { EventEmitter } from 'node:events'
import os from 'node:os'
import { MAX_FRAME_BYTES, registerInProcess, type WorkerInfo } from '../protocol'
import { stderrLog, type Log } from './log'
import { NativeCore, type CoreStats, type NativeCoreOptions } from './native'
import { Router } from './router'
import { SchedulerServer } from './server'

export interface SchedulerOptions {
  /** Options of the native scheduling core (heartbeat timeout, saturation, ...). */
  core?: NativeCoreOptions
  /** Milliseconds between core timer ticks (heartbeat timeouts, work stealing). Default 100. */
  tickIntervalMs?: number
  /**
   * Workers silent (no heartbeat) this long are removed and their work rescheduled.
   * Default 30 000; overrides `core.heartbeatTimeout` (seconds). Workers heartbeat every
   * second by default, and a synchronous task blocks its worker's heartbeats while it runs.
   */
  heartbeatTimeoutMs?: number
  /** Move queued tasks from saturated workers to idle ones (default true); overrides `core.workStealing`. */
  workStealing?: boolean
  /** Frames larger than this are refused and their connection closed. Default MAX_FRAME_BYTES (256 MiB). */
  maxFrameBytes?: number
  /** Receives one line per notice (refused input; with `verbose`, workers joining and leaving). Default: stderr. */
  log?: Log
  /** Also log workers joining and leaving (the standalone CLI scheduler does). Default false. */
  verbose?: boolean
}

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Default 127.0.0.1; use 0.0.0.0 to accept workers and clients from other machines. */
  host?: string
}

export interface SchedulerHealth {
  status: 'ok'
  workers: number
  clients: number
  tasks: { released: number; waiting: number; queued: number; noWorker: number; processing: number; memory: number; erred: number }
  /** Totals since start: computes, workers removed, tasks rescheduled and results recomputed after worker loss, steals. */
  stats: SchedulerStats
}

/** Totals since the scheduler started (see `Scheduler.stats()`). */
export type SchedulerStats = CoreStats

export interface SchedulerEvents {
  /** The list of live workers changed (a worker joined or left). */
  workers: [workers: readonly WorkerInfo[]]
}

/**
 * The scheduler: owns the native core and serves clients and workers on one
 * port. `new Scheduler()` needs no configuration; `listen()` opens the port.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly core: NativeCore
  private readonly router: Router
  private readonly options: SchedulerOptions
  private server: SchedulerServer | undefined
  private timer: NodeJS.Timeout | undefined
  private host = ''
  private unregisterInProcess: () => void = () => {}

  constructor(options: SchedulerOptions = {}) {
    super()
    this.options = options
    this.core = new NativeCore(coreOptions(options))
    this.router = new Router(this.core, options.log ?? stderrLog, options.verbose ?? false, {
      workersChanged: (workers) => this.emit('workers', workers),
    })
  }

  async listen(options: ListenOptions = {}): Promise<this> {
    if (this.server) throw new Error(`the scheduler already listens on ${this.address}`)
    this.host = options.host ?? '127.0.0.1'
    this.server = await SchedulerServer.listen(this.host, options.port ?? 0, this.options.maxFrameBytes ?? MAX_FRAME_BYTES, {
      connection: (socket, remote) => this.router.accept(socket, remote),
      health: () => this.health(),
    })
    this.timer = setInterval(() => this.tick(), this.options.tickIntervalMs ?? 100)
    this.timer.unref()
    // Clients of this process that connect to this address skip the network (see InProcessSocket).
    this.unregisterInProcess = registerInProcess(this.address, (socket, remote) => this.router.accept(socket, remote))
    return this
  }

  /** ws://host:port for clients and workers; a wildcard host is replaced by this machine's name. */
  get address(): string {
    if (!this.server) throw new Error('the scheduler is not listening yet: call listen() first')
    const wildcard = this.host === '0.0.0.0' || this.host === '::'
    const host = wildcard ? os.hostname() : this.host.includes(':') ? `[${this.host}]` : this.host
    return `ws://${host}:${this.server.port}`
  }

  get port(): number {
    if (!this.server) throw new Error('the scheduler is not listening yet: call listen() first')
    return this.server.port
  }

  get workers(): readonly WorkerInfo[] {
    return this.router.liveWorkers
  }

  health(): SchedulerHealth {
    const c = this.core.counts()
    return {
      status: 'ok',
      workers: this.router.workerCount,
      clients: this.router.clientCount,
      tasks: {
        released: c.released,
        waiting: c.waiting,
        queued: c.queued,
        noWorker: c.noWorker,
        processing: c.processing,
        memory: c.memory,
        erred: c.erred,
      },
      stats: this.stats(),
    }
  }

  /** Totals since start: computes, workers removed, tasks rescheduled and results recomputed after worker loss, steals. */
  stats(): SchedulerStats {
    return this.core.stats()
  }

  /** The state of a key in the core ('memory', 'processing', ...), or null if unknown. */
  state(key: string): string | null {
    return this.core.state(key)
  }

  /** Resolves once at least `count` workers are connected. */
  waitForWorkers(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.router.workerCount >= count) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onWorkers = (workers: readonly WorkerInfo[]) => {
        if (workers.length < count) return
        clearTimeout(timer)
        this.off('workers', onWorkers)
        resolve()
      }
      const timer = setTimeout(() => {
        this.off('workers', onWorkers)
        reject(new Error(`only ${this.router.workerCount} of ${count} workers joined the scheduler within ${timeoutMs} ms`))
      }, timeoutMs)
      this.on('workers', onWorkers)
    })
  }

  /** Closes every connection and the port. Workers exit when their scheduler connection drops. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.unregisterInProcess()
    this.unregisterInProcess = () => {}
    this.router.closeAll()
    const server = this.server
    this.server = undefined
    if (server) await server.close()
  }

  private tick(): void {
    try {
      this.router.tick()
    } catch (err) {
      ;(this.options.log ?? stderrLog)(`internal error in the timer tick: ${(err as Error).message}`)
    }
  }
}

function coreOptions(options: SchedulerOptions): NativeCoreOptions | null {
  const core = { ...options.core }
  if (options.heartbeatTimeoutMs !== undefined) core.heartbeatTimeout = options.heartbeatTimeoutMs / 1000
  if (options.workStealing !== undefined) core.workStealing = options.workStealing
  return core
}
