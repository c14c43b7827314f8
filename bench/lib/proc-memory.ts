/**
 * Resident memory of other processes from Linux's /proc: the current RSS, the
 * peak (VmHWM) and resetting that peak, so a run's peak is its own. Elsewhere
 * (or for a process that has exited) the reads give null.
 */
import fs from 'node:fs'

export interface ProcMemory {
  /** Resident bytes now (VmRSS). */
  rss: number
  /** Highest resident bytes since the process started or since resetPeak (VmHWM). */
  peak: number
}

export function procMemory(pid: number): ProcMemory | null {
  let status: string
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)
  const peak = /VmHWM:\s+(\d+) kB/.exec(status)
  if (!rss || !peak) return null
  return { rss: Number(rss[1]) * 1024, peak: Number(peak[1]) * 1024 }
}

/** Resets the process's VmHWM to its current RSS (writing 5 to clear_refs, Linux 4.0+); false when that is not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

export const MiB = 2 ** 20
