/**
 * `npm run bench`: the skein benchmarks alone, on a LocalCluster of 2 worker
 * processes x 1 slot; prints the table (absolute targets only: ratios need
 * `npm run bench:compare`).
 */
import { Command, Option } from 'commander'
import os from 'node:os'
import path from 'node:path'
import { formatTable, buildRows } from './lib/report'
import { machine, writeJson, type Report } from './lib/results'
import { commonOptions, scaleOf, selected } from './lib/options'
import { runSkein, type SideResult } from './skein'

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
  for (const workload of selected(options.only)) {
    process.stderr.write(`${workload.name} (size ${workload.sizes[scale].toLocaleString('en-US')}, ${workload.tasks(workload.sizes[scale]).toLocaleString('en-US')} tasks)\n`)
    skein[workload.name] = await runSkein(workload, { scale, runs: options.runs, warmup: options.warmup })
  }
  const rows = buildRows(skein, null)
  console.log(`\nskein benchmarks (${scale} sizes), LocalCluster 2 workers x 1 slot, median of ${options.runs} run${options.runs === 1 ? '' : 's'}`)
  console.log(formatTable(rows))
  if (options.json) {
    const report: Report = {
      schema: 1,
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      host: os.hostname(),
      machine: machine(),
      scale,
      cluster: 'LocalCluster.start({ workers: 2, slotsPerWorker: 1 })',
      skein,
      dask: null,
      daskNote: 'skein alone (npm run bench)',
      daskVersions: null,
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
