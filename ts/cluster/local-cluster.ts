import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { Scheduler, type SchedulerOptions } from '../scheduler'
import { inheritedExecArgv } from './inherited-exec-argv'
import { workerEntry } from './paths'
import { Supervisor } from './supervisor'

export interface LocalClusterOptions {
  /** Worker processes to start (default: one per core, os.availableParallelism()). */
  workers?: number
  /** Execution threads per worker process: tasks each runs in parallel (default 1). */
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
  /** Receives a line per restarted worker (default: stderr). */
  log?: (line: string) => void
  /**
   * Node flags of the worker processes (and so of their execution threads). Default: the
   * module-loader flags of this process (`--import tsx`, `--require ...`, `--loader ...`), so
   * `.ts` module functions import on workers as they do here; `[]` starts plain Node.
   */
  workerExecArgv?: readonly string[]
}

/**
 * A scheduler in this process and worker child processes on this machine.
 * A worker process that dies is restarted under its name (see
 * `maxRestartsPerMinute`). The workers exit when the cluster closes, and also
 * when this process dies: they watch their IPC channel and their scheduler
 * connection.
 */
export class LocalCluster {
  private closing: Promise<void> | undefined
  private readonly killOnExit = () => {
    for (const child of this.supervisor.children) child.kill('SIGKILL')
  }

  private constructor(
    readonly scheduler: Scheduler,
    readonly address: string,
    private readonly supervisor: Supervisor,
  ) {
    process.on('exit', this.killOnExit)
  }

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const count = options.workers ?? os.availableParallelism()
    const slots = options.slotsPerWorker ?? 1
    if (!Number.isInteger(count) || count < 0) throw new Error(`LocalCluster: workers must be a non-negative integer, not ${options.workers}`)
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`LocalCluster: slotsPerWorker must be a positive integer, not ${options.slotsPerWorker}`)
    const maxRestarts = options.maxRestartsPerMinute ?? 10
    if (!(maxRestarts >= 0)) throw new Error(`LocalCluster: maxRestartsPerMinute must be a non-negative number, not ${options.maxRestartsPerMinute}`)
    if (options.workerExecArgv !== undefined && !(Array.isArray(options.workerExecArgv) && options.workerExecArgv.every((a) => typeof a === 'string'))) {
      throw new Error('LocalCluster: workerExecArgv must be an array of strings')
    }
    const workerExecArgv = options.workerExecArgv === undefined ? inheritedExecArgv() : [...options.workerExecArgv]
    const host = options.host ?? '127.0.0.1'
    const entry = workerEntry()
    const timeoutMs = options.heartbeatTimeoutMs ?? options.scheduler?.heartbeatTimeoutMs
    const scheduler = new Scheduler(timeoutMs === undefined ? options.scheduler : { ...options.scheduler, heartbeatTimeoutMs: timeoutMs })
    await scheduler.listen({ host, port: options.port ?? 0 })
    const address = scheduler.address
    const args = [address, '--slots', String(slots), '--host', host, '--quiet']
    if (timeoutMs !== undefined) args.push('--heartbeat-ms', String(Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4)))))
    const log = options.log ?? ((line: string) => process.stderr.write(`skein LocalCluster: ${line}\n`))
    const supervisor = new Supervisor(
      (name) =>
        fork(entry, [...args, '--name', name], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          // The parent's module loaders (tsx...), so module functions written in TypeScript import on workers.
          execArgv: workerExecArgv,
        }),
      { maxRestartsPerMinute: maxRestarts, log },
    )
    // Workers leave when their scheduler dies; restarting them would only fail to connect, again and again.
    scheduler.once('crashed', () => supervisor.stop())
    const children: ChildProcess[] = []
    for (let i = 0; i < count; i++) children.push(supervisor.add(`local-${i}`))
    const cluster = new LocalCluster(scheduler, address, supervisor)
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

  /** Worker processes restarted after they died, since the cluster started. */
  get restarts(): number {
    return this.supervisor.restarts
  }

  /** Stops supervising, then stops the workers (waiting for them to exit) and the scheduler. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    this.supervisor.stop()
    await Promise.all(this.supervisor.children.map(stopChild))
    process.off('exit', this.killOnExit)
    await this.scheduler.close()
  }
}

function exitedEarly(child: ChildProcess): Promise<never> {
  return new Promise((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start a worker process: ${err.message}`)))
    child.once('exit', (code, signal) => reject(new Error(`worker process ${child.pid} exited before joining the scheduler (${signal ?? `code ${code}`})`)))
  })
}

const KILL_AFTER_MS = 3000

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
