/** A run drawn as a bar: where and when it ran, and in which lane (a worker's slot) it is drawn. */
export interface Bar {
  worker: number
  prefix: string
  start: number
  end: number
  erred: boolean
  /** An input fetched from a peer (on the worker's I/O thread, not a slot), not a task run. */
  transfer: boolean
}

/** The prefix id the scheduler gives transfers (see ts/scheduler/task-stream.ts). */
const TRANSFER = -1

export interface PlacedBar extends Bar {
  lane: string
  /** The legend entry: the prefix, or 'error' for a run that raised. */
  label: string
  seconds: number
}

/** Bars that overlap by this much still share a lane: their times are when the scheduler heard of them, give or take a batch. */
const OVERLAP_MS = 2

/** One lane per slot of each worker: each bar goes to the first lane of its worker that is free by its start. */
export function packLanes(bars: readonly Bar[], workerName: (id: number) => string, workerSlots: (id: number) => number): PlacedBar[] {
  const sorted = [...bars].sort((a, b) => a.start - b.start)
  const lanes = new Map<number, number[]>()
  const placed: PlacedBar[] = []
  for (const bar of sorted) {
    if (bar.transfer) {
      // Fetches run beside the slots, several at once: one lane of their own per worker.
      placed.push({ ...bar, lane: `${workerName(bar.worker)} transfers`, label: 'transfer', seconds: (bar.end - bar.start) / 1000 })
      continue
    }
    let ends = lanes.get(bar.worker)
    if (ends === undefined) lanes.set(bar.worker, (ends = []))
    let lane = ends.findIndex((end) => end <= bar.start + OVERLAP_MS)
    if (lane === -1 && ends.length >= workerSlots(bar.worker)) {
      // Every slot's lane is taken by a bar that seems to end a little later: the times are when the
      // scheduler heard, give or take a batch, so the bar goes where the overlap is least.
      lane = ends.indexOf(Math.min(...ends))
    }
    if (lane === -1) {
      lane = ends.length
      ends.push(bar.end)
    } else ends[lane] = bar.end
    placed.push({ ...bar, lane: `${workerName(bar.worker)} #${lane}`, label: bar.erred ? 'error' : bar.prefix, seconds: (bar.end - bar.start) / 1000 })
  }
  return placed
}

/** Bars from a flat run list: [worker, prefix id, start, end, erred, ...]. */
export function barsOf(runs: ArrayLike<number>, prefixes: readonly string[]): Bar[] {
  const bars: Bar[] = []
  for (let i = 0; i + 4 < runs.length; i += 5) {
    const transfer = runs[i + 1] === TRANSFER
    bars.push({ worker: runs[i], prefix: transfer ? 'transfer' : (prefixes[runs[i + 1]] ?? '?'), start: runs[i + 2], end: runs[i + 3], erred: runs[i + 4] === 1, transfer })
  }
  return bars
}
