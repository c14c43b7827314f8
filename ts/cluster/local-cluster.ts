import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { Scheduler, type SchedulerOptions } from '../scheduler'
import { workerEntry } from './paths'

export interface LocalClusterOptions {
  /** Worker processes to start (default: one per core, os.availableParallelism()). */
  workers?: number
  /** Tasks each worker runs at once (default 1). */
  slotsPerWorker?: number
  /** Interface for the scheduler and the workers' peer servers (default 127.0.0.1). */
  host?: string
  /** Scheduler port (default 0: a free port). */
  port?: number
  /** How long to wait for every worker to join (default 30 s). */
  startTimeoutMs?: number
  /** Options of the embedded scheduler. */
  scheduler?: SchedulerOptions
}

/**
 * A scheduler in this process and worker child processes on this machine.
 * The workers exit when the cluster closes, and also when this process dies:
 * they watch their IPC channel and their scheduler connection.
 */
export class LocalCluster {
  private closing: Promise<void> | undefined
  private readonly killOnExit = () => {
    for (const child of this.children) child.kill('SIGKILL')
  }

  private constructor(
    readonly scheduler: Scheduler,
    readonly address: string,
    private readonly children: ChildProcess[],
  ) {
    process.on('exit', this.killOnExit)
  }

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const count = options.workers ?? os.availableParallelism()
    const slots = options.slotsPerWorker ?? 1
    if (!Number.isInteger(count) || count < 0) throw new Error(`LocalCluster: workers must be a non-negative integer, not ${options.workers}`)
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`LocalCluster: slotsPerWorker must be a positive integer, not ${options.slotsPerWorker}`)
    const host = options.host ?? '127.0.0.1'
    const entry = workerEntry()
    const scheduler = new Scheduler(options.scheduler)
    await scheduler.listen({ host, port: options.port ?? 0 })
    const address = scheduler.address
    const children: ChildProcess[] = []
    for (let i = 0; i < count; i++) {
      children.push(
        fork(entry, [address, '--slots', String(slots), '--name', `local-${i}`, '--host', host, '--quiet'], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          // Workers run compiled JS; loaders of the parent (tsx under ava) would only slow them down.
          execArgv: [],
        }),
      )
    }
    const cluster = new LocalCluster(scheduler, address, children)
    try {
      await Promise.race([scheduler.waitForWorkers(count, options.startTimeoutMs ?? 30_000), ...children.map(exitedEarly)])
    } catch (err) {
      await cluster.close()
      throw err
    }
    return cluster
  }

  /** Process ids of the worker processes. */
  get workers(): number[] {
    return this.children.map((c) => c.pid ?? -1)
  }

  /** Stops the workers (waiting for them to exit) and the scheduler. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    await Promise.all(this.children.map(stopChild))
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
