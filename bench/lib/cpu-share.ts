/**
 * Where the machine's CPU went during a run, from /proc (Linux; elsewhere no
 * figures): `idleCores`, the cores the whole machine left idle, and `ownCores`,
 * the cores this process and its descendants used (skein's workers, piscina's
 * threads; run.py does the same for Dask's). On a shared machine these tell the
 * reasons a CPU workload misses its ideal apart: idle cores mean the tasks
 * were not kept running in parallel; none idle with fewer own cores than slots
 * mean someone else's work had the rest. bench/dask/workloads.py reads the same.
 */
import fs from 'node:fs'
import os from 'node:os'

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100

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

/** User + system clock ticks of process `root` and every live descendant, or null without /proc. */
function treeTicks(root: number): number | null {
  const parent = new Map<number, number>()
  const ticks = new Map<number, number>()
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return null
  }
  for (const name of entries) {
    let stat: string
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // pid (comm) state ppid ... utime stime: comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    parent.set(Number(name), Number(fields[1]))
    ticks.set(Number(name), Number(fields[11]) + Number(fields[12]))
  }
  let total = 0
  for (const [pid, own] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 0; p = parent.get(p)) {
      if (p === root) {
        total += own
        break
      }
    }
  }
  return total
}

/** Starts measuring; the returned function gives `{ idleCores, ownCores }` since then (`{}` without /proc). */
export function cpuShareSince(): () => Record<string, number> {
  const started = performance.now()
  const machine = machineTicks()
  const own = treeTicks(process.pid)
  return (): Record<string, number> => {
    const seconds = (performance.now() - started) / 1000
    const machineAfter = machineTicks()
    const ownAfter = treeTicks(process.pid)
    if (!machine || !machineAfter || machineAfter[1] === machine[1] || own === null || ownAfter === null) return {}
    return {
      idleCores: ((machineAfter[0] - machine[0]) / (machineAfter[1] - machine[1])) * os.availableParallelism(),
      ownCores: (ownAfter - own) / TICKS_PER_SECOND / seconds,
    }
  }
}
