/** A run drawn as a bar: where and when it ran, and in which lane (a worker's slot) it is drawn. */
export interface Bar {
  worker: number
  prefix: string
  start: number
  end: number
  erred: boolean
}

export interface PlacedBar extends Bar {
  lane: string
  /** The legend entry: the prefix, or 'error' for a run that raised. */
  label: string
  seconds: number
}

/**
 * One lane per slot of each worker: each bar goes to the first lane of its worker that is free
 * by its start (the worker's clock and ours differ a little, so a busy worker may need a lane
 * more than it has slots).
 */
export function packLanes(bars: readonly Bar[], workerName: (id: number) => string): PlacedBar[] {
  const sorted = [...bars].sort((a, b) => a.start - b.start)
  const lanes = new Map<number, number[]>()
  const placed: PlacedBar[] = []
  for (const bar of sorted) {
    let ends = lanes.get(bar.worker)
    if (ends === undefined) lanes.set(bar.worker, (ends = []))
    let lane = ends.findIndex((end) => end <= bar.start)
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
    bars.push({ worker: runs[i], prefix: prefixes[runs[i + 1]] ?? '?', start: runs[i + 2], end: runs[i + 3], erred: runs[i + 4] === 1 })
  }
  return bars
}
