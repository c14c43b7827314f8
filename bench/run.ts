/**
 * `npm run bench`: the skein benchmarks alone, each on a fresh LocalCluster of
 * its shape (2 worker processes x 1 slot unless it says otherwise); prints the
 * table (absolute targets only: ratios need `npm run bench:compare`).
 */
import { Command, Option } from 'commander'
import os from 'node:os'
import path from 'node:path'
import { formatTable, buildRows } from './lib/report'
import { machine, writeJson, type Report } from './lib/results'
import { commonOptions, notRunAt, scaleOf, selected } from './lib/options'
import { CLUSTER, describeCluster, runSkein, type SideResult } from './skein'

interface Options {
  quick?: boolean
  smoke?: boolean
  only?: string[]
  runs: number
  warmup: boolean
  json?: string
}

async function main(): Promise<number> {
  const program = new Command('bench').description('skein benchmarks (skein alone)')
  for (const option of commonOptions()) program.addOption(option)
  program
    .addOption(new Option('--smoke', 'tiny sizes, to check the benchmark code works').conflicts('quick'))
    .option('--no-warmup', 'skip the warm-up run')
    .option('--json <file>', 'also write the results as JSON')
    .parse()
  const options = program.opts<Options>()
  const scale = scaleOf(options)
  const started = performance.now()
  const skein: Record<string, SideResult> = {}
  for (const name of notRunAt(options.only, scale)) process.stderr.write(`${name}: not run at ${scale} scale\n`)
  for (const workload of selected(options.only, scale)) {
    const size = workload.sizes[scale]!
    process.stderr.write(`${workload.name} (size ${size.toLocaleString('en-US')}, ${workload.tasks(size).toLocaleString('en-US')} tasks)\n`)
    skein[workload.name] = await runSkein(workload, { scale, runs: options.runs, warmup: options.warmup })
  }
  const rows = buildRows(skein, null)
  console.log(`\nskein benchmarks (${scale} sizes), LocalCluster 2 workers x 1 slot unless the figure names another shape, median of ${options.runs} run${options.runs === 1 ? '' : 's'}`)
  console.log(formatTable(rows, { dask: false, piscina: false }))
  if (options.json) {
    const report: Report = {
      schema: 2,
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      host: os.hostname(),
      machine: machine(),
      scale,
      cluster: `${describeCluster(CLUSTER)} unless a workload's shape says otherwise`,
      skein,
      dask: null,
      daskNote: 'skein alone (npm run bench)',
      daskVersions: null,
      piscina: null,
      piscinaNote: 'skein alone (npm run bench)',
      piscinaVersion: null,
      rows,
      criterion: null,
      durationSeconds: (performance.now() - started) / 1000,
    }
    writeJson(path.resolve(options.json), report)
    console.log(`\nwrote ${options.json}`)
  }
  return Object.values(skein).some((r) => r.error) ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
