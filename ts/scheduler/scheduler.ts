import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import { credentialsFromOptions, generateToken, registerInProcess, resolveTls, type ResolvedTls, type WorkerInfo } from '../protocol'
import { EventLogError, SchedulerClosedError, type SchedulerCrashedError } from './errors'
import { createLogger, noticesTo, type Logger } from '../log'
import type { Log } from './log'
import { checkSchedulerOptions, type SchedulerOptions } from './options'
import type { SchedulerHealth, SchedulerStats } from './runtime'
import type { BackendEvents, SchedulerBackend } from './backend'
import { InlineScheduler } from './inline'
import { SchedulerThread } from './thread-handle'

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Default 127.0.0.1; use 0.0.0.0 to accept workers and clients from other machines. */
  host?: string
}

export interface SchedulerEvents {
  /** The list of live workers changed (a worker joined or left). */
  workers: [workers: readonly WorkerInfo[]]
  /** The scheduler's thread died; its workers and clients were disconnected. Also logged. */
  crashed: [error: SchedulerCrashedError]
}

/**
 * The scheduler: owns the native core and serves clients and workers on one
 * port. `new Scheduler()` needs no configuration; `listen()` opens the port.
 *
 * The scheduler runs on a thread of its own (a worker thread holding the
 * native core, the port and the timers); this object talks to it. So code
 * that keeps this thread busy, even for minutes, cannot delay heartbeats,
 * task placement or anything else the scheduler does. (`thread: false`
 * trades that for a shorter round trip: see SchedulerOptions.)
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly backend: SchedulerBackend
  private readonly log: Log
  private readonly logger: Logger
  private bound: { host: string; port: number } | undefined
  private listening: Promise<unknown> | undefined
  private closing: Promise<void> | undefined
  /** The state at close: what stats() and health() answer once the scheduler is gone. */
  private final: SchedulerHealth | undefined
  private unregisterInProcess: () => void = () => {}
  /** The cluster's token, or null when the scheduler runs insecure. */
  readonly token: string | null
  /** The TLS settings it serves with (read from their files), or null for plain ws://. */
  private readonly tls: ResolvedTls | null

  /** Throws SchedulerOptionsError (code SKEIN_INVALID_OPTIONS) for an unknown option or a value of the wrong type. */
  constructor(options: SchedulerOptions = {}) {
    super()
    checkSchedulerOptions(options)
    const { log, thread, token, tokenFile, insecure, tls, ...rest } = options
    this.logger = createLogger(log, 'Scheduler').child({ component: 'scheduler' })
    this.log = noticesTo(this.logger)
    // Read here, not on the scheduler's thread: a bad token file or certificate fails the constructor.
    const given = credentialsFromOptions({ token, tokenFile }, 'Scheduler')
    this.token = insecure === true ? null : (given?.token ?? generateToken())
    this.tls = tls === undefined ? null : resolveTls(tls, 'Scheduler', 'scheduler')
    const eventLog = rest.eventLog ?? rest.core?.eventLog
    if (eventLog !== undefined) checkEventLogWritable(eventLog)
    const runtimeOptions = { ...rest, token: this.token, tls: this.tls }
    const events: BackendEvents = {
      log: (line, level, fields) => this.log(line, level, fields),
      workers: (workers) => this.emit('workers', workers),
      crashed: (error) => {
        this.unregisterInProcess()
        this.log(`${error.message}; its workers and clients were disconnected`, 'error')
        this.emit('crashed', error)
      },
    }
    this.backend = thread === false ? new InlineScheduler(runtimeOptions, events) : new SchedulerThread(runtimeOptions, events)
  }

  async listen(options: ListenOptions = {}): Promise<this> {
    if (this.closing) throw new SchedulerClosedError('listen()')
    if (this.listening) throw new Error(`the scheduler already listens${this.bound ? ` on ${this.address}` : ''}`)
    const host = options.host ?? '127.0.0.1'
    const listening = this.backend.listen(host, options.port ?? 0)
    this.listening = listening
    try {
      this.bound = { host, port: await listening }
    } catch (err) {
      this.listening = undefined
      throw err
    }
    if (this.token === null) {
      this.log(`WARNING: the scheduler at ${this.address} runs without authentication (insecure): anyone who can reach its port can run code on its workers`)
    }
    // Clients of this process that connect to this address skip the network (see PortSocket), and know the token.
    this.unregisterInProcess = registerInProcess(this.address, () => this.backend.connect(), this.token, this.tls)
    return this
  }

  /** ws://host:port (wss:// with TLS) for clients and workers; a wildcard host is replaced by this machine's name. */
  get address(): string {
    if (!this.bound) throw new Error('the scheduler is not listening yet: call listen() first')
    const { host, port } = this.bound
    const wildcard = host === '0.0.0.0' || host === '::'
    const name = wildcard ? os.hostname() : host.includes(':') ? `[${host}]` : host
    return `${this.tls === null ? 'ws' : 'wss'}://${name}:${port}`
  }

  get port(): number {
    if (!this.bound) throw new Error('the scheduler is not listening yet: call listen() first')
    return this.bound.port
  }

  /**
   * The dashboard's address (http://host:port/status, https:// with TLS), or null when it is
   * off (`dashboard: false`) or could not open. With a token, open it once with `?token=`
   * appended (see README, Dashboard); the token is not part of this link.
   */
  get dashboardLink(): string | null {
    if (!this.bound) throw new Error('the scheduler is not listening yet: call listen() first')
    if (this.final) return null
    const port = this.backend.read('dashboard') as number | null
    if (port === null) return null
    const host = new URL(this.address).hostname
    return `${this.tls === null ? 'http' : 'https'}://${host}:${port}/status`
  }

  /**
   * The live workers, read from the scheduler's thread. This and the other reads of the
   * scheduler's state (health(), stats(), state()) wait for its answer: tens of microseconds,
   * longer while it is busy (say, with a big graph).
   */
  get workers(): readonly WorkerInfo[] {
    if (this.final) return []
    return this.backend.read('workers') as readonly WorkerInfo[]
  }

  /** After close(): the state at close. */
  health(): SchedulerHealth {
    return this.final ?? (this.backend.read('health') as SchedulerHealth)
  }

  /** Totals since start: computes, workers removed, tasks rescheduled and results recomputed after worker loss, steals. After close(): the totals at close. */
  stats(): SchedulerStats {
    return this.final?.stats ?? (this.backend.read('stats') as SchedulerStats)
  }

  /** The state of a key in the core ('memory', 'processing', ...), or null if unknown. */
  state(key: string): string | null {
    if (this.final) throw new SchedulerClosedError(`state('${key}')`)
    return this.backend.read('state', key) as string | null
  }

  /** Resolves once at least `count` workers are connected. */
  waitForWorkers(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.workers.length >= count) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer)
        this.off('workers', onWorkers)
        this.off('crashed', onCrashed)
      }
      const onCrashed = (error: SchedulerCrashedError) => {
        stop()
        reject(error)
      }
      const onWorkers = (workers: readonly WorkerInfo[]) => {
        if (workers.length < count) return
        stop()
        resolve()
      }
      const timer = setTimeout(() => {
        stop()
        reject(new Error(`only ${this.workers.length} of ${count} workers joined the scheduler within ${timeoutMs} ms`))
      }, timeoutMs)
      this.on('workers', onWorkers)
      this.on('crashed', onCrashed)
    })
  }

  /** Closes every connection and the port, and ends the scheduler's thread. Worker processes then wait for a scheduler at the same address for their death timeout (`skein worker --death-timeout`, default 60 s) and rejoin it, or exit with code 3. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /** `await using` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async shutdown(): Promise<void> {
    this.unregisterInProcess()
    this.unregisterInProcess = () => {}
    this.final = await this.backend.close()
  }
}

/** The core creates the event log on the scheduler's thread; a path it cannot write fails the constructor here instead. */
function checkEventLogWritable(path: string): void {
  try {
    fs.closeSync(fs.openSync(path, 'w'))
  } catch (err) {
    throw new EventLogError('SKEIN_EVENT_LOG_IO', `Scheduler option 'eventLog': cannot write ${path}: ${(err as Error).message}`, undefined)
  }
}
