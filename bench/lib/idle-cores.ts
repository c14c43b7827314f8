/**
 * How many cores the whole machine left idle during a run, from /proc/stat
 * (Linux; elsewhere no figure). On a shared machine this tells the two reasons
 * a CPU workload misses its ideal apart: idle cores mean the tasks were not
 * kept running in parallel; none idle means the cores were busy, with the
 * tasks or with someone else's work. bench/dask/workloads.py reads the same.
 */
import fs from 'node:fs'
import os from 'node:os'

/** [idle + iowait, all] clock ticks summed over every CPU, or null without /proc/stat. */
function machineTicks(): [number, number] | null {
  let line: string
  try {
    line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  } catch {
    return null
  }
  // cpu user nice system idle iowait irq softirq steal (guest time is inside user)
  const t = line.trim().split(/\s+/).slice(1, 9).map(Number)
  return [t[3] + t[4], t.reduce((a, b) => a + b, 0)]
}

/** Starts measuring; the returned function gives `{ idleCores }` since then (`{}` without /proc/stat). */
export function idleCoresSince(): () => Record<string, number> {
  const before = machineTicks()
  return (): Record<string, number> => {
    const after = machineTicks()
    if (!before || !after || after[1] === before[1]) return {}
    return { idleCores: ((after[0] - before[0]) / (after[1] - before[1])) * os.availableParallelism() }
  }
}
