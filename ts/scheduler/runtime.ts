import type WebSocket from 'ws'
import { Credentials, DEFAULT_ADMISSION_LIMITS, MAX_FRAME_BYTES, type AdmissionLimits, type WorkerInfo } from '../protocol'
import type { SchedulerRead } from './backend'
import type { Log } from './log'
import { NativeCore, type CoreStats, type NativeCoreOptions } from './native'
import { DEFAULT_DASHBOARD_PORT, parseDashboardAddress, type RuntimeOptions } from './options'
import { DashboardFeed } from './dashboard-feed'
import { DashboardServer } from './dashboard-server'
import { TaskStreamRing } from './task-stream'
import { storyOf } from './story'
import { DEFAULT_FUNCTION_LIMITS } from './functions'
import { PeerReachability } from './reachability'
import { SchedulerMetrics } from './metrics'
import { isCorePanic, Router } from './router'
import { SchedulerServer } from './server'

/** See SchedulerOptions.maxSendQueueBytes. */
const DEFAULT_MAX_SEND_QUEUE_BYTES = 256 * 2 ** 20

export interface SchedulerHealth {
  status: 'ok'
  workers: number
  clients: number
  /**
   * Live tasks per state. `longRunning`: of the processing ones, those that seceded from their
   * worker's slot while they wait for tasks they submitted (no worker counts them against its slots).
   */
  tasks: { released: number; waiting: number; queued: number; noWorker: number; processing: number; memory: number; erred: number; longRunning: number }
  /** Totals since start: computes, workers removed, tasks rescheduled and results recomputed after worker loss, steals. */
  stats: SchedulerStats
  /** The workers' memory as they last reported it (bytes, summed: kept values, of which spilled to disk, and process RSS), and how many are paused. */
  memory: { managed: number; spilled: number; process: number; paused: number }
  /** Shipped function sources kept for the connected clients that registered them, and their bytes. */
  functions: { sources: number; bytes: number }
}

/** Totals since the scheduler started (see `Scheduler.stats()`). */
export type SchedulerStats = CoreStats

export interface RuntimeHooks {
  log: Log
  workersChanged(workers: readonly WorkerInfo[]): void
  /**
   * The native core failed for good (a panic inside it, which is a bug): every connection was
   * closed with the reason; whoever runs this runtime ends the scheduler and reports `reason`.
   */
  fatal(reason: string): void
}

/** WebSocket close code of a server that met an unexpected condition. */
const INTERNAL_ERROR = 1011

/**
 * The scheduler itself, on the thread that runs it: the native core, the
 * router, the port and the timer. The public `Scheduler` starts one of these
 * on a thread of its own and talks to it by messages (see thread.ts).
 */
export class SchedulerRuntime {
  private readonly core: NativeCore
  private readonly router: Router
  private server: SchedulerServer | undefined
  private metrics: SchedulerMetrics | undefined
  private readonly taskStream: TaskStreamRing
  private readonly feed: DashboardFeed
  private dashboard: DashboardServer | undefined
  private timer: NodeJS.Timeout | undefined
  private failed = false

  constructor(
    private readonly options: RuntimeOptions,
    private readonly hooks: RuntimeHooks,
  ) {
    this.core = new NativeCore(coreOptions(options))
    this.taskStream = new TaskStreamRing(this.core)
    const credentials = options.token === null ? Credentials.none : Credentials.fromToken(options.token, "the scheduler's token")
    this.router = new Router(this.core, credentials, options.maxSendQueueBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES, hooks.log, options.verbose ?? false, {
      workersChanged: hooks.workersChanged,
      fatal: (error) => this.fatal(error),
      requireTlsPeers: options.tls !== undefined && options.tls !== null,
      reachability: new PeerReachability(credentials, options.tls ?? null),
      taskStream: this.taskStream,
    })
    this.feed = new DashboardFeed({
      core: this.core,
      taskStream: this.taskStream,
      workers: () => this.router.workerConnections,
      clients: () => this.router.clientCount,
    })
    this.router.functions.setLimits({
      perClient: options.maxFunctionBytesPerClient ?? DEFAULT_FUNCTION_LIMITS.perClient,
      total: options.maxFunctionBytes ?? DEFAULT_FUNCTION_LIMITS.total,
    })
  }

  /** Opens the port; resolves with its number. */
  async listen(host: string, port: number): Promise<number> {
    if (this.server) throw new Error(`the scheduler already listens on port ${this.server.port}`)
    this.server = await SchedulerServer.listen(host, port, this.options.maxFrameBytes ?? MAX_FRAME_BYTES, admissionLimits(this.options), this.options.tls ?? null, {
      connection: (socket, remote, guard) => this.router.accept(socket, remote, guard),
      health: () => this.health(),
      metrics: () => this.scrape(),
      refused: this.router.refused,
    })
    this.timer = setInterval(() => this.tick(), this.options.tickIntervalMs ?? 100)
    this.timer.unref()
    if (this.options.dashboard !== false) await this.openDashboard(host)
    return this.server.port
  }

  /** The dashboard's port, or null when it is off (or could not open). */
  get dashboardPort(): number | null {
    return this.dashboard?.port ?? null
  }

  private async openDashboard(schedulerHost: string): Promise<void> {
    const [host, port] = this.options.dashboardAddress === undefined ? [null, DEFAULT_DASHBOARD_PORT] : parseDashboardAddress(this.options.dashboardAddress)
    try {
      this.dashboard = await DashboardServer.listen({
        host: host ?? schedulerHost,
        port,
        token: this.options.token,
        tls: this.options.tls ?? null,
        feed: this.feed,
        story: (key) => ({ key, state: this.core.state(key), transitions: storyOf(this.core, key) }),
        log: this.hooks.log,
      })
    } catch (err) {
      // The scheduler serves on without it: the dashboard is for watching, not for working.
      this.hooks.log(`the dashboard cannot listen on ${host ?? schedulerHost}:${port}: ${(err as Error).message}; the scheduler runs without it`)
    }
  }

  /** Serves one more connection that did not come through the port (an in-process client). */
  accept(socket: WebSocket, remote: string): void {
    this.router.accept(socket, remote, null)
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
        longRunning: this.core.longRunning(),
      },
      stats: this.stats(),
      functions: { sources: this.router.functions.size, bytes: this.router.functions.bytes },
      memory: this.router.workerMemory,
    }
  }

  stats(): SchedulerStats {
    return this.core.stats()
  }

  /** The Prometheus exposition for GET /metrics; the metrics (and their event-loop monitor) start with the first scrape. */
  private scrape(): Promise<{ body: string; contentType: string }> {
    this.metrics ??= new SchedulerMetrics({
      counts: () => this.core.counts(),
      prefixTotals: () => this.core.prefixTotals(),
      stats: () => this.core.stats(),
      longRunning: () => this.core.longRunning(),
      workers: () => this.router.workerCount,
      clients: () => this.router.clientCount,
      workerMemory: () => this.router.workerMemory,
      connections: () => this.server?.connections ?? { total: 0, pending: 0 },
      portBytes: () => this.server?.bytes ?? { read: 0, written: 0 },
    })
    return this.metrics.scrape()
  }

  state(key: string): string | null {
    return this.core.state(key)
  }

  /** One of the reads a Scheduler answers synchronously. */
  read(what: SchedulerRead, key: string | undefined): unknown {
    switch (what) {
      case 'health':
        return this.health()
      case 'stats':
        return this.stats()
      case 'state':
        return this.state(key!)
      case 'workers':
        return this.workers
      case 'dashboard':
        return this.dashboardPort
    }
  }

  /** Closes every connection and the port. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.metrics?.close()
    this.metrics = undefined
    this.feed.close()
    const dashboard = this.dashboard
    this.dashboard = undefined
    if (dashboard) await dashboard.close()
    this.router.closeAll()
    this.closeEventLog()
    const server = this.server
    this.server = undefined
    if (server) await server.close()
  }

  /** Writes the rest of the event log, if there is one; a failed write is logged (recording stopped there). */
  private closeEventLog(): void {
    try {
      this.core.closeEventLog()
    } catch (err) {
      this.hooks.log(`the event log is incomplete: ${(err as Error).message}`)
    }
  }

  private tick(): void {
    try {
      this.router.tick()
    } catch (err) {
      if (isCorePanic(err)) this.fatal(err as Error)
      else this.hooks.log(`internal error in the timer tick: ${(err as Error).message}`, 'error')
    }
  }

  /** The core is poisoned: nothing can be scheduled any more. Every party is told why, then the scheduler ends. */
  private fatal(error: Error): void {
    if (this.failed) return
    this.failed = true
    const reason = `the scheduler's core failed (a bug in skein; please report it): ${error.message}`
    this.hooks.log(reason, 'error')
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.router.closeAll(INTERNAL_ERROR, 'the scheduler failed')
    this.closeEventLog()
    this.hooks.fatal(reason)
  }
}

function admissionLimits(options: RuntimeOptions): AdmissionLimits {
  const d = DEFAULT_ADMISSION_LIMITS
  return {
    helloTimeoutMs: options.helloTimeoutMs ?? d.helloTimeoutMs,
    maxPreAuthBytes: d.maxPreAuthBytes,
    maxConnections: options.maxConnections ?? d.maxConnections,
    maxPendingConnections: options.maxPendingConnections ?? d.maxPendingConnections,
    allowedOrigins: options.allowedOrigins ?? d.allowedOrigins,
  }
}

function coreOptions(options: RuntimeOptions): NativeCoreOptions | null {
  const core = { ...options.core }
  if (options.heartbeatTimeoutMs !== undefined) core.heartbeatTimeout = options.heartbeatTimeoutMs / 1000
  if (options.workStealing !== undefined) core.workStealing = options.workStealing
  if (options.eventLog !== undefined) core.eventLog = options.eventLog
  return core
}
