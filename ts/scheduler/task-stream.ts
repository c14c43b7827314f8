import type { NativeCore } from './native'

/** Runs kept: about 8 MiB of numbers, allocated when the first watcher arrives. */
export const TASK_STREAM_CAPACITY = 200_000
/** Fields per run in the ring and on the wire: worker id, prefix id, start ms, end ms, erred (0/1). */
export const RUN_FIELDS = 5
/** The prefix id of a transfer (an input fetched from a peer) in the ring: not a task prefix. */
export const TRANSFER = -1
/** Transfers come with a heartbeat, up to a second after they ended: a window's walk back looks this much further. */
const LATE_MS = 5000
/** Names of workers that left are kept for this many workers, so older runs still have a name. */
const MAX_WORKER_NAMES = 1024

/** What a reader of the ring gets: runs in the window, flat; their prefixes and workers by id. */
export interface TaskStreamWindow {
  /** [worker, prefix, start, end, erred, worker, ...], start/end in ms since the epoch. */
  runs: Float64Array
  /** Prefix names by prefix id (index). */
  prefixes: string[]
  /** [id, name, slots] of every worker a run in the window ran on. */
  workers: [id: number, name: string, slots: number][]
  /** Runs that ended in the window but were not kept (the ring or the core's buffer was full). */
  dropped: number
}

/**
 * The scheduler's record of runs that ended, for the dashboard's task stream and for
 * performance reports: a bounded ring, filled only while someone watches (the core records
 * nothing otherwise). Each batch of worker events is drained right after the core applied it
 * and stamped with the time it arrived: a run ended then, and started its duration before.
 */
export class TaskStreamRing {
  private ring: Float64Array | null = null
  /** Runs written since start; the ring holds the last `TASK_STREAM_CAPACITY` of them. */
  private written = 0
  /** When the core dropped runs (its buffer was full between two drains), and how many: the last 1000 times. */
  private readonly drops: [at: number, count: number][] = []
  private watchers = 0
  private readonly workerNames = new Map<number, [name: string, slots: number]>()

  constructor(private readonly core: NativeCore) {}

  /** Whether runs are being recorded (someone watches). */
  get recording(): boolean {
    return this.watchers > 0
  }

  /** Runs recorded since start (read by the dashboard for tasks per second). */
  get total(): number {
    return this.written
  }

  /** One more watcher (a dashboard page, a performance report); the first starts the record. */
  watch(): void {
    if (this.watchers++ === 0) {
      this.ring ??= new Float64Array(TASK_STREAM_CAPACITY * RUN_FIELDS)
      this.core.recordRuns(true)
    }
  }

  unwatch(): void {
    if (this.watchers === 0) return
    if (--this.watchers === 0) this.core.recordRuns(false)
  }

  /** Remembers a worker's name and slots, for runs that outlive its connection. */
  nameWorker(id: number, name: string, slots: number): void {
    this.workerNames.delete(id)
    this.workerNames.set(id, [name, slots])
    if (this.workerNames.size > MAX_WORKER_NAMES) this.workerNames.delete(this.workerNames.keys().next().value!)
  }

  /** Takes the runs the core recorded in the batch it just applied; `now` is when it arrived (ms). */
  drain(now: number): number {
    const flat = this.core.takeRuns()
    if (flat === null || this.ring === null) return 0
    const dropped = flat[0]
    if (dropped > 0) {
      this.drops.push([now, dropped])
      if (this.drops.length > 1000) this.drops.shift()
    }
    const count = (flat.length - 1) / 4
    for (let i = 0; i < count; i++) {
      const j = 1 + i * 4
      this.put(flat[j], flat[j + 1], now - flat[j + 2] * 1000, now, flat[j + 3])
    }
    return count
  }

  /** Inputs worker `worker` fetched ([start ms, end ms, bytes, ...], its clock), as its heartbeat reported them. */
  addTransfers(worker: number, transfers: readonly number[]): void {
    if (this.ring === null) return
    for (let i = 0; i + 2 < transfers.length; i += 3) this.put(worker, TRANSFER, transfers[i], transfers[i + 1], 0)
  }

  private put(worker: number, prefix: number, start: number, end: number, erred: number): void {
    const at = (this.written % TASK_STREAM_CAPACITY) * RUN_FIELDS
    const ring = this.ring!
    ring[at] = worker
    ring[at + 1] = prefix
    ring[at + 2] = start
    ring[at + 3] = end
    ring[at + 4] = erred
    this.written++
  }

  /** Index (in `written` order) of the first run kept. */
  private get oldest(): number {
    return Math.max(0, this.written - TASK_STREAM_CAPACITY)
  }

  /** The runs recorded from index `from` (in recording order, see `total`) on, at most the latest `limit`; `skipped`: those left out. */
  from(from: number, limit: number): { runs: Float64Array; skipped: number } {
    const first = Math.max(from, this.oldest, this.written - limit)
    const runs = new Float64Array(Math.max(0, this.written - first) * RUN_FIELDS)
    for (let i = first, k = 0; i < this.written; i++, k += RUN_FIELDS) {
      const at = (i % TASK_STREAM_CAPACITY) * RUN_FIELDS
      runs.set(this.ring!.subarray(at, at + RUN_FIELDS), k)
    }
    return { runs, skipped: Math.max(0, first - from) }
  }

  /** Runs that ended at or after `since` (ms), at most `limit` of them (the latest). */
  window(since: number, limit: number, prefixNames: () => string[]): TaskStreamWindow {
    const ring = this.ring
    let first = this.written
    if (ring !== null) {
      // Runs are in the order they arrived, nearly in end order (transfers come late): walk back from the newest.
      while (first > this.oldest && ring[((first - 1) % TASK_STREAM_CAPACITY) * RUN_FIELDS + 3] >= since - LATE_MS) first--
    }
    const kept: number[] = []
    for (let i = first; i < this.written; i++) if (ring![(i % TASK_STREAM_CAPACITY) * RUN_FIELDS + 3] >= since) kept.push(i)
    const skipped = Math.max(0, kept.length - limit)
    const runs = new Float64Array((kept.length - skipped) * RUN_FIELDS)
    const seen = new Set<number>()
    for (let k = skipped, out = 0; k < kept.length; k++, out += RUN_FIELDS) {
      const at = (kept[k] % TASK_STREAM_CAPACITY) * RUN_FIELDS
      runs.set(ring!.subarray(at, at + RUN_FIELDS), out)
      seen.add(ring![at])
    }
    const workers: TaskStreamWindow['workers'] = []
    for (const id of seen) {
      const [name, slots] = this.workerNames.get(id) ?? [`worker ${id}`, 1]
      workers.push([id, name, slots])
    }
    let droppedInWindow = 0
    for (const [at, count] of this.drops) if (at >= since) droppedInWindow += count
    return { runs, prefixes: prefixNames(), workers, dropped: skipped + droppedInWindow }
  }
}
