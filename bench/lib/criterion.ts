/**
 * The Criterion benches of the scheduler core (crates/skein-core/benches),
 * summarised from criterion's own files: target/criterion/<id>/new/
 * benchmark.json (id, throughput) and estimates.json (median, in ns).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export interface CriterionBench {
  id: string
  medianNs: number
  /** Elements per iteration, when the bench declares a throughput. */
  elements: number | null
  /** Elements per second at the median. */
  perSecond: number | null
  /** When criterion wrote the estimate. */
  measuredAt: string
}

export interface CriterionSummary {
  /** true when this invocation ran `cargo bench` (--with-criterion). */
  ranNow: boolean
  benches: CriterionBench[]
  /** stdout of the memory bench (a plain harness that prints bytes per task), when it ran now. */
  memoryReport: string | null
  note: string
}

function targetDir(root: string): string {
  return process.env.CARGO_TARGET_DIR ?? path.join(root, 'target')
}

/** Every benchmark.json + estimates.json pair under target/criterion, sorted by id. */
export function readCriterion(root: string): CriterionBench[] {
  const base = path.join(targetDir(root), 'criterion')
  if (!fs.existsSync(base)) return []
  const out: CriterionBench[] = []
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const full = path.join(dir, entry.name)
      const estimates = path.join(full, 'estimates.json')
      if (entry.name === 'new' && fs.existsSync(estimates) && fs.existsSync(path.join(full, 'benchmark.json'))) {
        const bench = JSON.parse(fs.readFileSync(path.join(full, 'benchmark.json'), 'utf8'))
        const est = JSON.parse(fs.readFileSync(estimates, 'utf8'))
        const medianNs: number = est.median.point_estimate
        const elements: number | null = bench.throughput?.Elements ?? null
        out.push({
          id: bench.full_id,
          medianNs,
          elements,
          perSecond: elements === null ? null : elements / (medianNs / 1e9),
          measuredAt: fs.statSync(estimates).mtime.toISOString(),
        })
      } else if (entry.name !== 'report' && entry.name !== 'base' && entry.name !== 'change') {
        walk(full)
      }
    }
  }
  walk(base)
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

function cargo(root: string, args: string[], capture: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('cargo', args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d
      process.stderr.write(d)
    })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`cargo ${args.join(' ')} exited with ${code}`))))
  })
}

/** Runs the core's benches now (minutes), then reads the estimates. */
export async function runCriterion(root: string, log: (line: string) => void): Promise<CriterionSummary> {
  log('cargo bench -p skein-core (Criterion benches of the core; this takes a few minutes)')
  await cargo(root, ['bench', '-p', 'skein-core', '--bench', 'throughput', '--bench', 'placement'], false)
  const memoryReport = (await cargo(root, ['bench', '-p', 'skein-core', '--bench', 'memory'], true)).trim()
  return { ranNow: true, benches: readCriterion(root), memoryReport, note: 'run by this invocation (--with-criterion)' }
}

/** The estimates already on disk, saying they were not run now. */
export function existingCriterion(root: string): CriterionSummary {
  const benches = readCriterion(root)
  const note =
    benches.length === 0
      ? 'Criterion benches not run (no target/criterion estimates): pass --with-criterion to run `cargo bench -p skein-core`'
      : `Criterion benches not run by this invocation; figures from the last \`cargo bench\` (${benches.map((b) => b.measuredAt).sort().at(-1)}); pass --with-criterion to rerun`
  return { ranNow: false, benches, memoryReport: null, note }
}

export function formatCriterion(summary: CriterionSummary): string {
  const lines = [`Criterion benches of skein-core (${summary.note}):`]
  for (const b of summary.benches) {
    const time = b.medianNs >= 1e6 ? `${(b.medianNs / 1e6).toFixed(2)} ms` : `${(b.medianNs / 1e3).toFixed(2)} us`
    const rate = b.perSecond === null ? '' : `  ${Math.round(b.perSecond).toLocaleString('en-US')} elements/s (${(b.medianNs / b.elements!).toFixed(0)} ns each)`
    lines.push(`  ${b.id.padEnd(34)} median ${time.padStart(11)}${rate}`)
  }
  if (summary.memoryReport) lines.push('  memory bench:', ...summary.memoryReport.split('\n').map((l) => `    ${l}`))
  return lines.join('\n')
}
