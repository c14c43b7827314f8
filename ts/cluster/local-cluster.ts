import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createLogger, isLogLevel, noticesTo, type LogOption } from '../log'
import { resolveTls, SecurityOptionsError, type ResolvedTls, type TlsOptions } from '../protocol'
import { Scheduler, type SchedulerOptions } from '../scheduler'
import { checkResources, formatResources, machineMemory, MemoryOptionsError, resolveMemory, type MemoryFractions } from '../worker'
import { inheritedExecArgv } from './inherited-exec-argv'
import { workerEntry } from './paths'
import { stopChild, Supervisor } from './supervisor'
import { workerProcessEnv } from './worker-env'
import { forkWorker } from './worker-fork'

export interface LocalClusterOptions {
  /**
   * Worker processes to start. Default: enough processes of up to 8 slots for one slot per
   * core (one process on machines of up to 8 cores); `slotsPerWorker` given alone, as many
   * as fit the cores.
   */
  workers?: number
  /**
   * Execution threads per worker process: tasks each runs in parallel. Default: 1 when
   * `workers` is given, otherwise the cores divided among the default processes.
   */
  slotsPerWorker?: number
  /** Interface for the scheduler and the workers' peer servers (default 127.0.0.1). */
  host?: string
  /** Scheduler port (default 0: a free port). */
  port?: number
  /** How long to wait for every worker to join (default 30 s). */
  startTimeoutMs?: number
  /** Options of the embedded scheduler. */
  scheduler?: SchedulerOptions
  /**
   * A worker process that dies is restarted under the same name, at most this many times
   * per worker within a minute (default 10); 0 leaves dead workers dead.
   */
  maxRestartsPerMinute?: number
  /**
   * The scheduler removes workers silent this long (default 30 000 ms, or
   * `scheduler.heartbeatTimeoutMs`); workers heartbeat at a quarter of it, at most once a second.
   */
  heartbeatTimeoutMs?: number
  /**
   * Where the cluster's log records go: its own (component 'cluster': workers restarted), its
   * worker processes' (component: the worker's name; lines their tasks print come with the
   * task's `key`), and its scheduler's unless `scheduler.log` is given. A function receives
   * `(msg, record)`; or settings `{ level, destination, format }`, a pino logger, or false for
   * none. The workers are told the level, so what it hides they do not even write. Default:
   * stderr at SKEIN_LOG_LEVEL, else info.
   */
  log?: LogOption
  /**
   * Node flags of the worker processes (and so of their execution threads). Default: the
   * module-loader flags of this process (`--import tsx`, `--require ...`, `--loader ...`), so
   * `.ts` module functions import on workers as they do here; `[]` starts plain Node.
   */
  workerExecArgv?: readonly string[]
  /**
   * TLS for the scheduler and the workers' peer servers (wss://), with mutual TLS when
   * `requireClientCert`: the scheduler serves with these, and the worker processes are given the
   * same files, so `cert`, `key` and `ca` must be file paths here. The cluster's in-process client
   * needs nothing: clients of this process use the scheduler's settings by default.
   */
  tls?: TlsOptions
  /**
   * Memory each worker process may use: bytes, or a string such as '2GiB' (default: the
   * machine's memory divided by the number of worker processes). See `memory`.
   */
  memoryLimit?: number | string
  /**
   * Thresholds as fractions of `memoryLimit` (false switches one off): spill stored values to
   * disk past `target` (0.6) of it in stored values or `spill` (0.7) in process memory, start no
   * new task past `pause` (0.8), and past `terminate` (0.95) the worker process exits and is
   * started again (its results are computed again where needed).
   */
  memory?: MemoryFractions
  /**
   * Where the cluster makes its directory for the workers' spilled values, removed when the
   * cluster closes (default: the OS temp directory).
   */
  localDirectory?: string
  /**
   * What each worker process offers to tasks that declare resource needs, e.g. { GPU: 1 }:
   * a task submitted with `resources: { GPU: 1 }` runs only where one is free.
   */
  resources?: Record<string, number>
  /**
   * Where the scheduler serves its dashboard ('host:port' or ':port'; default ':8787', a free
   * port when taken), or false for none. Same as `scheduler.dashboardAddress` / `scheduler.dashboard`.
   */
  dashboardAddress?: string | false
}

/**
 * A scheduler in this process and worker child processes on this machine.
 * A worker process that dies is restarted under its name (see
 * `maxRestartsPerMinute`). The workers exit when the cluster closes or its
 * scheduler crashes, and also when this process dies (they watch their IPC
 * channel); one whose scheduler connection drops otherwise rejoins it.
 */
export class LocalCluster {
  private closing: Promise<void> | undefined
  private readonly killOnExit = () => {
    for (const child of this.supervisor.children) child.kill('SIGKILL')
    removeDirectory(this.localDirectory)
  }

  private constructor(
    readonly scheduler: Scheduler,
    readonly address: string,
    private readonly supervisor: Supervisor,
    /** Execution threads of each worker process. */
    readonly slotsPerWorker: number,
    /** Memory each worker process may use, in bytes. */
    readonly memoryLimit: number,
    /** The cluster's directory, where each worker process makes its own for spilled values. */
    readonly localDirectory: string,
  ) {
    process.on('exit', this.killOnExit)
  }

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 0)) {
      throw new Error(`LocalCluster: workers must be a non-negative integer, not ${options.workers}`)
    }
    if (options.slotsPerWorker !== undefined && !(Number.isInteger(options.slotsPerWorker) && options.slotsPerWorker >= 1)) {
      throw new Error(`LocalCluster: slotsPerWorker must be a positive integer, not ${options.slotsPerWorker}`)
    }
    const { count, slots } = defaultShape(options.workers, options.slotsPerWorker, os.availableParallelism())
    const maxRestarts = options.maxRestartsPerMinute ?? 10
    if (!(maxRestarts >= 0)) throw new Error(`LocalCluster: maxRestartsPerMinute must be a non-negative number, not ${options.maxRestartsPerMinute}`)
    if (options.workerExecArgv !== undefined && !(Array.isArray(options.workerExecArgv) && options.workerExecArgv.every((a) => typeof a === 'string'))) {
      throw new Error('LocalCluster: workerExecArgv must be an array of strings')
    }
    const workerExecArgv = options.workerExecArgv === undefined ? inheritedExecArgv() : [...options.workerExecArgv]
    const memory = resolveMemory(options.memoryLimit, options.memory, Math.floor(machineMemory() / Math.max(1, count)), 'LocalCluster')
    const parentDirectory = options.localDirectory ?? os.tmpdir()
    if (typeof parentDirectory !== 'string' || !isDirectory(parentDirectory)) {
      throw new MemoryOptionsError(`LocalCluster: localDirectory must be an existing directory, not ${typeof parentDirectory === 'string' ? `'${parentDirectory.slice(0, 200)}'` : typeof parentDirectory}`)
    }
    const resources = options.resources === undefined ? undefined : checkResources(options.resources, 'LocalCluster: resources')
    const host = options.host ?? '127.0.0.1'
    // Fails here, before anything started, when skein is not built.
    workerEntry()
    const timeoutMs = options.heartbeatTimeoutMs ?? options.scheduler?.heartbeatTimeoutMs
    if (options.tls !== undefined && options.scheduler?.tls !== undefined) {
      throw new SecurityOptionsError("LocalCluster: give 'tls' or 'scheduler.tls', not both (the workers use the same settings)")
    }
    const tlsOptions = options.tls ?? options.scheduler?.tls
    const tlsArgs = tlsOptions === undefined ? [] : workerTlsArgs(resolveTls(tlsOptions, 'LocalCluster', 'scheduler'))
    const dashboard = options.dashboardAddress === undefined ? {} : options.dashboardAddress === false ? { dashboard: false } : { dashboardAddress: options.dashboardAddress }
    const schedulerOptions = { ...options.scheduler, ...dashboard, ...(timeoutMs === undefined ? {} : { heartbeatTimeoutMs: timeoutMs }), ...(tlsOptions === undefined ? {} : { tls: tlsOptions }) }
    const logger = createLogger(options.log, 'LocalCluster')
    const scheduler = new Scheduler({ ...schedulerOptions, log: options.scheduler?.log ?? logger })
    await scheduler.listen({ host, port: options.port ?? 0 })
    const address = scheduler.address
    // The cluster's own directory: it goes on close even when a worker process could not remove its own (killed).
    const localDirectory = fs.mkdtempSync(path.join(parentDirectory, 'skein-cluster-'))
    const args = [address, '--slots', String(slots), '--host', host, '--quiet', '--log-level', isLogLevel(logger.level) ? logger.level : 'trace', ...tlsArgs, '--memory-limit', String(memory.limit), '--local-directory', localDirectory]
    if (options.memory !== undefined) {
      const { target, spill, pause, terminate } = memory
      args.push('--memory', JSON.stringify({ target, spill, pause, terminate }))
    }
    if (resources !== undefined && Object.keys(resources).length > 0) args.push('--resources', formatResources(resources))
    if (timeoutMs !== undefined) args.push('--heartbeat-ms', String(Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)))))
    const supervisor = new Supervisor(
      // The token travels in the environment (not the command line, which every user can read);
      // the parent's module loaders (tsx...) go along, so module functions written in TypeScript import on workers.
      (name) => forkWorker(name, args, workerProcessEnv(scheduler.token), workerExecArgv, logger),
      { maxRestartsPerMinute: maxRestarts, log: noticesTo(logger.child({ component: 'cluster' })) },
    )
    // Nothing will listen at this address again: the workers would only wait for it (their death timeout), and restarting them fail to connect.
    scheduler.once('crashed', () => void supervisor.close())
    const children: ChildProcess[] = []
    for (let i = 0; i < count; i++) children.push(supervisor.add(`local-${i}`))
    const cluster = new LocalCluster(scheduler, address, supervisor, slots, memory.limit, localDirectory)
    try {
      await Promise.race([scheduler.waitForWorkers(count, options.startTimeoutMs ?? 30_000), ...children.map(exitedEarly)])
    } catch (err) {
      await cluster.close()
      throw err
    }
    supervisor.watch()
    return cluster
  }

  /** Process ids of the worker processes (restarted ones replace the dead). */
  get workers(): number[] {
    return this.supervisor.children.map((c) => c.pid ?? -1)
  }

  /** Each worker's name and current process id. */
  get workerProcesses(): { name: string; pid: number }[] {
    return this.supervisor.processes
  }

  /** The scheduler's dashboard (http://host:port/status), or null when it is off; see Scheduler.dashboardLink. */
  get dashboardLink(): string | null {
    return this.scheduler.dashboardLink
  }

  /** Worker processes restarted after they died, since the cluster started. */
  get restarts(): number {
    return this.supervisor.restarts
  }

  /** Stops supervising, then stops the workers (waiting for them to exit) and the scheduler. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  /** `await using` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private async shutdown(): Promise<void> {
    this.supervisor.stop()
    await Promise.all(this.supervisor.children.map(stopChild))
    process.off('exit', this.killOnExit)
    removeDirectory(this.localDirectory)
    await this.scheduler.close()
  }
}

/** Slots one worker process gets at most by default: one I/O thread serves them all. */
const MAX_DEFAULT_SLOTS = 8

/**
 * The default shape: one slot per core, in as few processes as hold at most MAX_DEFAULT_SLOTS
 * each. Measured on 2 cores (README, Slots and execution threads): one process with two slots
 * ran no-op maps 5% and tree reductions 17% faster than two processes with one slot (data moves
 * between threads of one process without a socket), 1 ms CPU tasks 2% faster, and single-task
 * latency the same.
 */
export function defaultShape(workers: number | undefined, slotsPerWorker: number | undefined, cores: number): { count: number; slots: number } {
  const c = Math.max(1, cores)
  if (workers !== undefined) return { count: workers, slots: slotsPerWorker ?? 1 }
  if (slotsPerWorker !== undefined) return { count: Math.max(1, Math.floor(c / slotsPerWorker)), slots: slotsPerWorker }
  const count = Math.ceil(c / MAX_DEFAULT_SLOTS)
  return { count, slots: Math.ceil(c / count) }
}

/** The worker processes' --tls-* flags: they read the same files (paths, not keys, on a command line). */
function workerTlsArgs(tls: ResolvedTls): string[] {
  const args: string[] = []
  for (const field of ['cert', 'key', 'ca'] as const) {
    if (tls[field] === null) continue
    const file = tls.files[field]
    if (file === undefined) throw new SecurityOptionsError(`LocalCluster: 'tls.${field}' must be a file path, not PEM: the worker processes read the same files`)
    args.push(`--tls-${field}`, file)
  }
  if (tls.requireClientCert) args.push('--tls-require-client-cert')
  return args
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory()
  } catch {
    return false
  }
}

function removeDirectory(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true })
  } catch {
    // Not ours to fail a close over: a leftover temp directory is all it costs.
  }
}

function exitedEarly(child: ChildProcess): Promise<never> {
  return new Promise((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start a worker process: ${err.message}`)))
    child.once('exit', (code, signal) => reject(new Error(`worker process ${child.pid} exited before joining the scheduler (${signal ?? `code ${code}`})`)))
  })
}

