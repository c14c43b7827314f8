import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Connection } from './connection'
import type { DashboardUpdate, PrefixProgressRow, WorkerRow } from '../dashboard'
import type { NativeCore } from './native'
import type { TaskStreamRing } from './task-stream'

/** Updates per second at most (the bound): one timer, one JSON text for every page. */
export const UPDATE_INTERVAL_MS = 100
/**
 * Runs one update carries at most (the latest; the rest are counted as dropped): 10 000 a second
 * at ten updates a second, more than a page can draw, and little to encode.
 */
export const MAX_RUNS_PER_UPDATE = 1000
/** Prefixes listed at most, the busiest first. */
const MAX_PREFIX_ROWS = 50
const LOOP_RESOLUTION_MS = 10
/** A page that joins gets the runs of this last stretch at once. */
const BACKLOG_MS = 60_000
/** A prefix with nothing live stays listed (complete) this long, then leaves the list. */
const LINGER_MS = 10_000

/** What the feed reads: state the scheduler keeps anyway. */
export interface FeedSource {
  core: NativeCore
  taskStream: TaskStreamRing
  workers(): Iterable<Connection>
  clients(): number
}

interface PrefixActivity {
  /** Its forgotten total when it last became busy: `done` counts from there. */
  baseline: number
  /** When it was last seen with live tasks (ms). */
  lastLive: number
}

/**
 * Builds the dashboard's updates while at least one page watches, and nothing otherwise: the
 * first subscriber starts the timer, the run record and the event-loop monitor; the last one
 * stops them all. Each update reads counters (per state, per prefix, per worker) and the runs
 * recorded since the previous one: its cost does not grow with the number of tasks.
 */
export class DashboardFeed {
  private readonly subscribers = new Set<(text: string) => void>()
  private timer: NodeJS.Timeout | undefined
  private loopDelay: IntervalHistogram | undefined
  /** Index (in the ring's order) of the first run not yet sent. */
  private cursor = 0
  private lastUpdate = 0
  private prefixCount = -1
  private readonly activity = new Map<string, PrefixActivity>()
  /** The last update sent: a page that joins later gets it at once, with the last minute of runs. */
  private last: DashboardUpdate | undefined

  constructor(private readonly source: FeedSource) {}

  get watching(): number {
    return this.subscribers.size
  }

  /** `send` gets every update's JSON text until the returned function is called. */
  subscribe(send: (text: string) => void): () => void {
    this.subscribers.add(send)
    if (this.subscribers.size === 1) this.start()
    else if (this.last !== undefined) send(JSON.stringify(this.backlog(this.last)))
    // A new page needs every prefix name: the next update carries them all.
    this.prefixCount = -1
    return () => {
      if (this.subscribers.delete(send) && this.subscribers.size === 0) this.stop()
    }
  }

  close(): void {
    this.subscribers.clear()
    this.stop()
  }

  private start(): void {
    this.source.taskStream.watch()
    this.cursor = this.source.taskStream.total
    this.lastUpdate = Date.now()
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
    this.loopDelay.enable()
    this.timer = setInterval(() => this.publish(), UPDATE_INTERVAL_MS)
    this.timer.unref()
  }

  private stop(): void {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    this.loopDelay?.disable()
    this.loopDelay = undefined
    this.source.taskStream.unwatch()
    this.last = undefined
  }

  /** What a page that joins now needs: the last update, with every prefix name and the runs of the last minute (the latest MAX_RUNS_PER_UPDATE). */
  private backlog(last: DashboardUpdate): DashboardUpdate {
    const { runs, prefixes, dropped } = this.source.taskStream.window(last.now - BACKLOG_MS, MAX_RUNS_PER_UPDATE, () => this.source.core.prefixTotals().map((p) => p.prefix))
    return { ...last, runs: Array.from(runs), prefixNames: prefixes, dropped }
  }

  private publish(): void {
    try {
      this.last = this.update()
    } catch {
      // The core failed (the scheduler is ending, and says why): nothing to show.
      return
    }
    const text = JSON.stringify(this.last)
    for (const send of this.subscribers) send(text)
  }

  /** One update: everything the page shows, as of now. */
  update(): DashboardUpdate {
    const { core, taskStream } = this.source
    const now = Date.now()
    const seconds = Math.max(0.001, (now - this.lastUpdate) / 1000)
    this.lastUpdate = now
    const c = core.counts()
    const totals = core.prefixTotals()
    const total = taskStream.total
    const fresh = total - this.cursor
    const { runs, dropped } = this.takeRuns()
    const h = this.loopDelay
    // The monitor's samples are whole timer intervals: the delay is what exceeds its resolution.
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) : 0)
    const loopDelayMs = h === undefined ? { p50: 0, p99: 0, max: 0 } : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
    h?.reset()
    const names = totals.length === this.prefixCount ? null : totals.map((p) => p.prefix)
    this.prefixCount = totals.length
    return {
      now,
      scheduler: {
        tasks: { released: c.released, waiting: c.waiting, queued: c.queued, noWorker: c.noWorker, processing: c.processing, memory: c.memory, erred: c.erred },
        tasksPerSecond: fresh / seconds,
        workers: c.workers,
        clients: this.source.clients(),
        loopDelayMs,
        transitions: core.stats().transitions,
      },
      prefixes: this.prefixRows(totals, now),
      workers: this.workerRows(now),
      runs,
      prefixNames: names,
      dropped,
    }
  }

  private takeRuns(): { runs: number[]; dropped: number } {
    const ring = this.source.taskStream
    const { runs, skipped } = ring.from(this.cursor, MAX_RUNS_PER_UPDATE)
    this.cursor = ring.total
    return { runs: Array.from(runs), dropped: skipped }
  }

  private prefixRows(totals: ReturnType<NativeCore['prefixTotals']>, now: number): PrefixProgressRow[] {
    const rows: PrefixProgressRow[] = []
    for (const p of totals) {
      if (p.prefix === '') continue // scattered data: no computation to follow
      const live = p.released + p.waiting + p.queued + p.noWorker + p.processing + p.memory + p.erred
      let a = this.activity.get(p.prefix)
      if (live > 0) {
        if (a === undefined || now - a.lastLive > LINGER_MS) {
          a = { baseline: p.forgotten, lastLive: now }
          this.activity.set(p.prefix, a)
        }
        a.lastLive = now
      } else if (a === undefined || now - a.lastLive > LINGER_MS) continue
      rows.push({
        prefix: p.prefix,
        waiting: p.waiting,
        queued: p.queued,
        noWorker: p.noWorker,
        processing: p.processing,
        memory: p.memory,
        erred: p.erred,
        released: p.released,
        done: p.forgotten - a.baseline,
      })
    }
    const size = (r: PrefixProgressRow) => r.waiting + r.queued + r.noWorker + r.processing + r.memory + r.erred + r.released + r.done
    return rows.length > MAX_PREFIX_ROWS ? rows.sort((x, y) => size(y) - size(x)).slice(0, MAX_PREFIX_ROWS) : rows
  }

  private workerRows(now: number): WorkerRow[] {
    const rows: WorkerRow[] = []
    for (const w of this.source.workers()) {
      rows.push({
        id: w.id,
        name: w.name,
        address: w.address,
        slots: w.slots,
        executing: w.usage.executing,
        ready: w.usage.ready,
        memory: { ...w.memory },
        cpu: w.usage.cpu,
        sent: w.usage.sent,
        received: w.usage.received,
        lastSeenMs: now - w.lastHeartbeat,
        paused: w.paused,
      })
    }
    return rows
  }
}
