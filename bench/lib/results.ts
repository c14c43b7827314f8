import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { CriterionSummary } from './criterion'
import type { SideResult } from './measure'
import type { Row } from './report'

/** Everything one invocation measured, as written to bench/results/<date>-<host>.json. */
export interface Report {
  /** 2: piscina's side, the rows' piscina columns, each side's `shape` (issue 10). */
  schema: 2
  command: string
  date: string
  host: string
  machine: { cpus: number; cpuModel: string; memoryGB: number; platform: string; node: string; loadAverage: number[] }
  scale: string
  cluster: string
  skein: Record<string, SideResult>
  dask: Record<string, SideResult> | null
  /** Why Dask did not run, when it did not. */
  daskNote: string | null
  daskVersions: Record<string, string> | null
  /** piscina's results keyed by workload (cpu-1ms, cpu-100ms, latency, noop-map-100k), when it ran. */
  piscina: Record<string, SideResult> | null
  piscinaNote: string | null
  piscinaVersion: string | null
  rows: Row[]
  criterion: CriterionSummary | null
  durationSeconds: number
}

export function machine(): Report['machine'] {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  }
}

/** Local date YYYY-MM-DD. */
export function today(): string {
  const d = new Date()
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

/** bench/results/<date>-<host>[-<scale>] without extension; a quick run does not overwrite the full one. */
export function resultBase(dir: string, scale: string): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')
  return path.join(dir, `${today()}-${host}${scale === 'full' ? '' : `-${scale}`}`)
}

export function writeJson(file: string, report: Report): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // Written beside and renamed, so an interrupted run never leaves half a file.
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`)
  fs.renameSync(`${file}.tmp`, file)
}
