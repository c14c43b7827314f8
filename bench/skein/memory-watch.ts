import fs from 'node:fs'
import path from 'node:path'
import type { LocalCluster } from 'skein'
import { procMemory, resetPeak } from '../lib/proc-memory'

/** How often the worker processes and the spill directory are looked at. */
const SAMPLE_MS = 20

/** What a MemoryWatch saw between start and stop. */
export interface MemorySeen {
  /** Each worker's peak RSS (the highest of its processes, restarted ones included), bytes, by worker name. */
  peakByWorker: Map<string, number>
  /** The highest worker RSS when the watch started, bytes. */
  baseline: number
  /** Whether every worker's peak was reset at the start (else peaks are since the process started). */
  peaksReset: boolean
  /** Spill files seen and the bytes written to them (each file's largest size seen). */
  spillFiles: number
  spilledBytes: number
  /** The most bytes in spill files at one time. */
  spilledPeakBytes: number
}

/**
 * Watches a LocalCluster's worker processes (their RSS peaks, from /proc, as
 * the Dask side does for its workers) and its local directory (the spill files
 * its workers write there) every SAMPLE_MS while a run goes on.
 */
export class MemoryWatch {
  private readonly peaks = new Map<string, number>()
  private readonly files = new Map<string, number>()
  private spilledPeakBytes = 0
  private readonly timer: NodeJS.Timeout
  readonly baseline: number
  private readonly peaksReset: boolean

  constructor(private readonly cluster: LocalCluster) {
    let baseline = 0
    let reset = true
    for (const { pid } of cluster.workerProcesses) {
      reset = resetPeak(pid) && reset
      baseline = Math.max(baseline, procMemory(pid)?.rss ?? 0)
    }
    this.baseline = baseline
    this.peaksReset = reset
    this.sample()
    this.timer = setInterval(() => this.sample(), SAMPLE_MS)
  }

  stop(): MemorySeen {
    clearInterval(this.timer)
    this.sample()
    let spilledBytes = 0
    for (const size of this.files.values()) spilledBytes += size
    return {
      peakByWorker: new Map(this.peaks),
      baseline: this.baseline,
      peaksReset: this.peaksReset,
      spillFiles: this.files.size,
      spilledBytes,
      spilledPeakBytes: this.spilledPeakBytes,
    }
  }

  private sample(): void {
    for (const { name, pid } of this.cluster.workerProcesses) {
      const memory = procMemory(pid)
      if (memory) this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, memory.peak, memory.rss))
    }
    let onDisk = 0
    for (const file of filesUnder(this.cluster.localDirectory)) {
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0
      onDisk += size
      // Every spill goes to a new file (a worker numbers them), so the files seen are the spills.
      this.files.set(file, Math.max(this.files.get(file) ?? 0, size))
    }
    this.spilledPeakBytes = Math.max(this.spilledPeakBytes, onDisk)
  }
}

function filesUnder(dir: string): string[] {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    // Removed meanwhile (a worker's directory goes when it stops).
    return []
  }
  return entries.flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}
