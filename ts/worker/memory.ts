import type { WorkerMemory } from '../protocol'
import { garbageCollector } from './gc'
import type { Log } from './log'
import type { MemorySettings } from './memory-options'
import type { DataStore } from './store'

/** How often process memory is measured. */
export const MONITOR_INTERVAL_MS = 100
/** A paused worker resumes once process memory is this fraction of the limit below the pause threshold. */
const RESUME_HYSTERESIS = 0.05
/** At most one forced garbage collection this often: a full collection stops the I/O thread. */
const GC_INTERVAL_MS = 1000
/** Time the engine takes to give collected buffers back to the system. */
const RELEASE_WAIT_MS = 300
/** The same warning about memory that cannot be spilled, at most this often. */
const WARN_INTERVAL_MS = 30_000

export interface MemoryHost {
  readonly store: DataStore
  readonly log: Log
  /** Process memory crossed the pause threshold (true) or dropped back under it (false). */
  paused(paused: boolean): void
  /** Process memory crossed the terminate threshold: the worker must end now. */
  terminate(reason: string): void
}

/**
 * Watches the worker's process memory against its limit, as Dask's worker
 * memory manager does: past `spill` it spills stored values until memory is
 * back under `target`, past `pause` it stops new tasks from starting, past
 * `terminate` it ends the worker. Spilling past `target` by managed bytes
 * alone is the data store's own job.
 */
export class MemoryMonitor {
  private timer: NodeJS.Timeout | undefined
  private isPaused = false
  private peak = 0
  /** Values were spilled for process memory and not collected since. */
  private spilledUncollected = false
  /** Until then, the memory of the last spill may still be on its way back to the system. */
  private releasedAt = 0
  private lastGc = 0
  /** The store's spill count at the last collection. */
  private spillsCollected = 0
  private lastWarning = -WARN_INTERVAL_MS
  private readonly gc = garbageCollector()

  constructor(
    private readonly settings: MemorySettings,
    private readonly host: MemoryHost,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), MONITOR_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  get paused(): boolean {
    return this.isPaused
  }

  /** The highest process memory measured so far. */
  get peakProcess(): number {
    return this.peak
  }

  /** What the worker's heartbeats report. */
  sample(): WorkerMemory {
    return { managed: this.host.store.nbytes, spilled: this.host.store.spilledBytes, process: this.measure() }
  }

  private measure(): number {
    const rss = process.memoryUsage.rss()
    if (rss > this.peak) this.peak = rss
    return rss
  }

  private check(): void {
    const { limit, target, spill, pause, terminate } = this.settings
    let rss = this.measure()
    if (terminate !== false && rss > terminate * limit) {
      this.stop()
      this.host.terminate(`process memory ${mib(rss)} is past the terminate threshold (${percent(terminate)} of the ${mib(limit)} memory limit)`)
      return
    }
    if (spill !== false && rss > spill * limit) rss = this.spill(rss, (target === false ? spill : target) * limit)
    else if (target !== false && rss > target * limit && this.host.store.spills !== this.spillsCollected) {
      // Values the store spilled past its target leave memory only once collected.
      if (this.collect(true)) this.spillsCollected = this.host.store.spills
    }
    if (pause === false) return
    if (!this.isPaused && rss > pause * limit) {
      this.isPaused = true
      this.host.log(`paused: process memory ${mib(rss)} is past the pause threshold (${percent(pause)} of the ${mib(limit)} memory limit); no new task starts until it drops`)
      this.host.paused(true)
    } else if (this.isPaused && rss < (pause - RESUME_HYSTERESIS) * limit) {
      this.isPaused = false
      this.host.log(`resumed: process memory ${mib(rss)} is back under ${percent(pause - RESUME_HYSTERESIS)} of the memory limit`)
      this.host.paused(false)
    } else if (this.isPaused) this.collect(true)
  }

  /**
   * Spills least recently used values until memory should be back at `floor`. Spilled bytes
   * leave the process only once written, collected and given back to the system (on threads
   * of the engine, after the collection): until that was measured, nothing more is spilled for
   * process memory, or every tick would spill again for the same excess.
   */
  private spill(rss: number, floor: number): number {
    const store = this.host.store
    if (store.writing > 0) return rss
    const now = Date.now()
    if (this.spilledUncollected) {
      this.spilledUncollected = false
      this.collect(false)
      this.releasedAt = now + RELEASE_WAIT_MS
      return rss
    }
    if (now < this.releasedAt) return rss
    if (store.spillBytes(rss - floor) > 0) {
      this.spilledUncollected = true
      return rss
    }
    this.collect(true)
    if (now - this.lastWarning >= WARN_INTERVAL_MS) {
      this.lastWarning = now
      this.host.log(
        `process memory ${mib(rss)} is past the spill threshold (${percent(this.settings.spill as number)} of the ${mib(this.settings.limit)} memory limit) and nothing more can be spilled (${mib(store.nbytes)} of stored values in memory, in use by tasks): the rest is held by running tasks or not yet given back to the system`,
      )
    }
    return rss
  }

  /** A full garbage collection, unless `throttled` and one ran less than GC_INTERVAL_MS ago. */
  private collect(throttled: boolean): boolean {
    const now = Date.now()
    if (this.gc === null || (throttled && now - this.lastGc < GC_INTERVAL_MS)) return false
    this.lastGc = now
    this.gc()
    return true
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`
}
