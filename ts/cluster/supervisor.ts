import type { ChildProcess } from 'node:child_process'
import type { Log } from '../log'
import { WorkerExitCode } from '../worker'

export interface SupervisorOptions {
  /** Restarts allowed per worker slot within any 60 s window; past that the slot stays down. */
  maxRestartsPerMinute: number
  /** One notice per restart or give-up. */
  log: Log
  /** A slot stays down: `code` and `signal` are its last process's. */
  ended?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void
}

/**
 * Exit codes a new process would only repeat: the scheduler refused the worker (token, TLS,
 * options), or no scheduler answered for the worker's whole death timeout (it waited and
 * reconnected by itself up to then; the supervisor does not add a second, endless retry loop).
 */
const FINAL_EXIT_CODES: ReadonlySet<number> = new Set([WorkerExitCode.refused, WorkerExitCode.gone])

const KILL_AFTER_MS = 3000

const WINDOW_MS = 60_000

/** One worker name and the process currently running it. */
class Slot {
  /** Start times of restarts in the last minute, oldest first. */
  readonly restarts: number[] = []

  constructor(
    readonly name: string,
    public child: ChildProcess,
  ) {}
}

/**
 * Keeps worker processes running (LocalCluster's, `skein worker --nworkers`),
 * like Dask's nanny: a worker process that exits while supervised is started
 * again under the same name (the scheduler sees a new worker), at most
 * `maxRestartsPerMinute` times per slot. A worker process whose scheduler goes
 * away does not exit: it waits for the scheduler and rejoins by itself, so the
 * two never both start a worker of one name; one that gives up (or is refused)
 * exits with a code that is not restarted. `stop()` ends supervision before the
 * workers are stopped.
 */
export class Supervisor {
  private readonly slots: Slot[] = []
  private watching = false
  private total = 0

  constructor(
    private readonly spawn: (name: string) => ChildProcess,
    private readonly options: SupervisorOptions,
  ) {}

  /** Starts a worker process named `name`; it is restarted once `watch()` was called. */
  add(name: string): ChildProcess {
    const slot = new Slot(name, this.spawn(name))
    this.slots.push(slot)
    this.follow(slot)
    return slot.child
  }

  /** From now on, a worker process that exits is restarted. */
  watch(): void {
    this.watching = true
  }

  /** No more restarts (call before stopping the workers). */
  stop(): void {
    this.watching = false
  }

  /** The current process of every slot. */
  get children(): ChildProcess[] {
    return this.slots.map((s) => s.child)
  }

  /** Each slot's worker name and current process id. */
  get processes(): { name: string; pid: number }[] {
    return this.slots.map((s) => ({ name: s.name, pid: s.child.pid ?? -1 }))
  }

  /** Slots whose process runs. */
  get running(): number {
    return this.slots.filter((s) => s.child.exitCode === null && s.child.signalCode === null).length
  }

  /** Stops supervising, then every worker process: SIGTERM, and SIGKILL for one still there after 3 s. */
  async close(): Promise<void> {
    this.stop()
    await Promise.all(this.children.map(stopChild))
  }

  /** Restarts so far, all slots together. */
  get restarts(): number {
    return this.total
  }

  private follow(slot: Slot): void {
    const child = slot.child
    child.on('error', (err) => this.options.log(`worker ${slot.name} (pid ${child.pid}): ${err.message}`, 'error', { worker: slot.name }))
    child.once('exit', (code, signal) => {
      if (!this.watching || slot.child !== child) return
      const now = Date.now()
      while (slot.restarts.length > 0 && now - slot.restarts[0] > WINDOW_MS) slot.restarts.shift()
      const how = signal ?? `code ${code}`
      if (code !== null && FINAL_EXIT_CODES.has(code)) {
        this.options.log(`worker ${slot.name} (pid ${child.pid}) exited (${how}); not restarting it: a new process would fail the same way`, 'error', { worker: slot.name })
        this.options.ended?.(slot.name, code, signal)
        return
      }
      if (slot.restarts.length >= this.options.maxRestartsPerMinute) {
        this.options.log(
          `worker ${slot.name} (pid ${child.pid}) exited (${how}) after ${slot.restarts.length} restarts in the last minute; not restarting it`,
          'error',
          { worker: slot.name },
        )
        this.options.ended?.(slot.name, code, signal)
        return
      }
      slot.restarts.push(now)
      this.total++
      slot.child = this.spawn(slot.name)
      this.options.log(`worker ${slot.name} (pid ${child.pid}) exited (${how}); restarted as pid ${slot.child.pid}`, 'warn', { worker: slot.name })
      this.follow(slot)
    })
  }
}

/** Stops a worker process: SIGTERM, then SIGKILL if it is still there after KILL_AFTER_MS. */
export function stopChild(child: ChildProcess): Promise<void> {
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
