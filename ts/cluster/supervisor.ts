import type { ChildProcess } from 'node:child_process'

export interface SupervisorOptions {
  /** Restarts allowed per worker slot within any 60 s window; past that the slot stays down. */
  maxRestartsPerMinute: number
  /** One line per restart or give-up. */
  log: (line: string) => void
}

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
 * Keeps LocalCluster's worker processes running, like Dask's nanny: a worker
 * process that exits while supervised is started again under the same name (the
 * scheduler sees a new worker), at most `maxRestartsPerMinute` times per slot.
 * `stop()` ends supervision before the cluster stops its workers.
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

  /** Restarts so far, all slots together. */
  get restarts(): number {
    return this.total
  }

  private follow(slot: Slot): void {
    const child = slot.child
    child.on('error', (err) => this.options.log(`worker ${slot.name} (pid ${child.pid}): ${err.message}`))
    child.once('exit', (code, signal) => {
      if (!this.watching || slot.child !== child) return
      const now = Date.now()
      while (slot.restarts.length > 0 && now - slot.restarts[0] > WINDOW_MS) slot.restarts.shift()
      const how = signal ?? `code ${code}`
      if (slot.restarts.length >= this.options.maxRestartsPerMinute) {
        this.options.log(
          `worker ${slot.name} (pid ${child.pid}) exited (${how}) after ${slot.restarts.length} restarts in the last minute; not restarting it`,
        )
        return
      }
      slot.restarts.push(now)
      this.total++
      slot.child = this.spawn(slot.name)
      this.options.log(`worker ${slot.name} (pid ${child.pid}) exited (${how}); restarted as pid ${slot.child.pid}`)
      this.follow(slot)
    })
  }
}
