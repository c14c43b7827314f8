/**
 * `npm run bench:compare`: every workload on skein and on Dask distributed,
 * and the worker_threads ones (cpu-1ms, cpu-100ms, latency, noop-map-100k)
 * on piscina, same machine, same run, interleaved workload by workload.
 * Prints one table, writes bench/results/<date>-<host>.json and renders the
 * ratios to bench/results/<date>-<host>.svg (vega-lite). `--quick` runs a
 * tenth of every size (results named <date>-<host>-quick.*).
 */
import { Command } from 'commander'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { renderChart } from './lib/chart'
import { existingCriterion, formatCriterion, runCriterion, type CriterionSummary } from './lib/criterion'
import { ensureVenv, findPython, runDask } from './lib/dask'
import { commonOptions, notRunAt, scaleOf, selected } from './lib/options'
import { buildRows, formatTable } from './lib/report'
import { machine, resultBase, writeJson, type Report } from './lib/results'
import { PISCINA_SHAPE, piscinaVersion, runPiscina } from './piscina'
import { CLUSTER, describeCluster, peerName, runSkein, type SideResult } from './skein'

interface Options {
  quick?: boolean
  only?: string[]
  runs: number
  withCriterion?: boolean
  dask: boolean
  piscina: boolean
  python?: string
  outDir: string
}

const ROOT = path.join(__dirname, '..')
const log = (line: string) => process.stderr.write(`${line}\n`)

/** The venv python, or why Dask will not run. */
async function daskPython(options: Options): Promise<{ python: string | null; note: string | null }> {
  if (!options.dask) return { python: null, note: 'skipped (--no-dask)' }
  const system = findPython(options.python)
  if (!system) {
    const note = `python3 not found${options.python ? ` (--python ${options.python})` : ''}: running skein alone; install Python 3 to compare with Dask`
    log(note)
    return { python: null, note }
  }
  try {
    return { python: await ensureVenv(system, log), note: null }
  } catch (err) {
    const note = `cannot set up the Dask environment: ${(err as Error).message}; running skein alone`
    log(note)
    return { python: null, note }
  }
}

async function main(): Promise<number> {
  const program = new Command('bench:compare').description('skein vs Dask distributed, side by side')
  for (const option of commonOptions()) program.addOption(option)
  program
    .option('--with-criterion', 'also run the Criterion benches of the core (cargo bench -p skein-core; minutes)')
    .option('--no-dask', 'leave Dask out')
    .option('--no-piscina', 'leave piscina out')
    .option('--python <command>', 'the Python 3 that makes bench/.venv (default python3)')
    .option('--out-dir <dir>', 'where the JSON and SVG go', path.join(ROOT, 'bench', 'results'))
    .parse()
  const options = program.opts<Options>()
  const scale = scaleOf(options)
  const started = performance.now()
  const { python, note: daskNote } = await daskPython(options)

  const skein: Record<string, SideResult> = {}
  const dask: Record<string, SideResult> | null = python ? {} : null
  const piscina: Record<string, SideResult> | null = options.piscina ? {} : null
  let daskVersions: Record<string, string> | null = null
  for (const name of notRunAt(options.only, scale)) log(`${name}: not run at ${scale} scale`)
  for (const workload of selected(options.only, scale)) {
    const size = workload.sizes[scale]!
    const tasks = workload.tasks(size)
    const peer = peerName(workload)
    log(`${workload.name} (size ${size.toLocaleString('en-US')}, ${tasks.toLocaleString('en-US')} tasks)`)
    skein[workload.name] = await runSkein(workload, { scale, runs: options.runs, warmup: true, log })
    if (dask && python && workload.dask) {
      // Dask's warm-up is a run at the next smaller scale: its full-size runs take minutes.
      const warmupSize = workload.warmup === false ? 0 : (workload.sizes[scale === 'full' ? 'quick' : 'smoke'] ?? 0)
      const result = await runDask(python, { workload: peer, size, runs: options.runs, warmupSize }, log)
      const { versions, ...side } = result as SideResult & { versions?: Record<string, string> }
      daskVersions ??= versions ?? null
      dask[peer] = side
    }
    if (piscina && workload.piscina) {
      piscina[peer] = await runPiscina({ workload: peer, size, tasks }, { runs: options.runs, warmup: true, log })
    }
  }

  let criterion: CriterionSummary
  try {
    criterion = options.withCriterion ? await runCriterion(ROOT, log) : existingCriterion(ROOT)
  } catch (err) {
    criterion = { ...existingCriterion(ROOT), note: `cargo bench failed (${(err as Error).message}); older figures if any` }
  }

  const rows = buildRows(skein, dask, piscina)
  const base = resultBase(options.outDir, scale)
  const report: Report = {
    schema: 2,
    command: `npm run bench:compare -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    host: os.hostname(),
    machine: machine(),
    scale,
    cluster: `skein: ${describeCluster(CLUSTER)} unless a workload's shape says otherwise; Dask: LocalCluster(n_workers=2, threads_per_worker=1, processes=True); piscina: ${PISCINA_SHAPE}`,
    skein,
    dask,
    daskNote,
    daskVersions,
    piscina,
    piscinaNote: piscina ? null : 'skipped (--no-piscina)',
    piscinaVersion: piscina ? piscinaVersion() : null,
    rows,
    criterion,
    durationSeconds: (performance.now() - started) / 1000,
  }
  writeJson(`${base}.json`, report)
  const peers = [dask && `Dask distributed ${daskVersions?.distributed ?? ''}`, piscina && `piscina ${report.piscinaVersion}`].filter(Boolean).join(' and ') || 'its targets'
  const title = `skein vs ${peers}, ${scale} sizes, ${os.hostname()} (${report.machine.cpus} cores), ${report.date.slice(0, 10)}`
  fs.writeFileSync(`${base}.svg`, await renderChart(rows, title.replace(/\s+/g, ' ')))

  const runs = `median of ${options.runs} run${options.runs === 1 ? '' : 's'} (Dask: 3 where one run takes over a minute)`
  console.log(`\nskein vs ${peers}, ${scale} sizes, 2 workers x 1 slot/thread each unless the figure names another shape (piscina: 2 threads), ${runs}`)
  if (daskNote) console.log(`Dask: ${daskNote}`)
  if (report.piscinaNote) console.log(`piscina: ${report.piscinaNote}`)
  console.log(formatTable(rows, { dask: dask !== null, piscina: piscina !== null }))
  console.log(`\n${formatCriterion(criterion)}`)
  console.log(`\nwrote ${path.relative(process.cwd(), `${base}.json`)} and ${path.relative(process.cwd(), `${base}.svg`)} (${Math.round(report.durationSeconds)} s)`)
  const failed = [...Object.values(skein), ...Object.values(dask ?? {}), ...Object.values(piscina ?? {})].some((r) => r.error)
  return failed ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
