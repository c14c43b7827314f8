/**
 * The smoke mode of every benchmark (bench/): tiny sizes, warm-up and one
 * run each, through the same code `npm run bench` and `npm run
 * bench:compare` use, so the benchmarks cannot rot. No timing is asserted;
 * every workload checks its own results for exactness. Needs no Python; the
 * Dask and piscina columns are rendered from stand-ins.
 */
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { renderChart } from '../bench/lib/chart'
import { readCriterion } from '../bench/lib/criterion'
import { buildRows, formatTable } from '../bench/lib/report'
import { WORKLOADS, peerName, runSkein, type SideResult } from '../bench/skein'

const results: Record<string, SideResult> = {}

/**
 * The workloads' progress lines (warm-up repeats, per-run figures: hundreds of lines) show only
 * with SKEIN_BENCH_VERBOSE=1, so that a failure elsewhere in `npm test` stands out; a failing
 * smoke test still shows its assertion and the result's error.
 */
const verbose = process.env.SKEIN_BENCH_VERBOSE === '1'

for (const workload of WORKLOADS) {
  test.serial(`smoke: ${workload.name} runs and its results are exact`, async (t) => {
    const result = await runSkein(workload, { scale: 'smoke', runs: 1, warmup: true, log: verbose ? (line) => t.log(line.trim()) : () => {} })
    t.is(result.error, undefined)
    t.is(result.runs.length, 1)
    if (workload.warmup !== false) t.truthy(result.warmup)
    for (const [metric, stat] of Object.entries(result.stats)) t.true(Number.isFinite(stat.median), `${workload.name} ${metric}`)
    if (workload.once) t.truthy(result.once)
    if (workload.name.startsWith('memory-pressure')) {
      const run = result.runs[0]
      t.is(run.exact, 1, `${workload.name} completed with the exact total`)
      t.true(run.peakRssMaxMiB >= run.peakRssMinMiB && run.peakRssMinMiB > 0, `${workload.name}: peaks of both workers`)
      // At smoke size only the spilling-only variant spills (a 0.1% target: every block); the other stays under every threshold.
      if (workload.name === 'memory-pressure-spill-only') t.true(run.spillWrites > 0, 'spill files were seen')
      else t.is(run.spillWrites, 0)
    }
    results[workload.name] = result
  })
}

/** A stand-in for a peer's side: the skein figures of the workloads it runs, `factor` times worse, under their peer names. */
function standIn(side: 'dask' | 'piscina', factor: number): Record<string, SideResult> {
  const out: Record<string, SideResult> = {}
  for (const w of WORKLOADS.filter((w) => w[side] && results[w.name])) {
    const r = results[w.name]
    const stats = Object.fromEntries(
      Object.entries(r.stats).map(([metric, s]) => {
        const f = metric === 'tasksPerSec' ? 1 / factor : factor
        return [metric, { median: s.median * f, min: s.min * f, max: s.max * f }]
      }),
    )
    out[peerName(w)] = { ...r, stats }
  }
  return out
}

test.serial('the report table and the vega chart render from the smoke results, with and without Dask and piscina figures', async (t) => {
  t.is(Object.keys(results).length, WORKLOADS.length, 'every smoke run succeeded')
  const rows = buildRows(results, standIn('dask', 500), standIn('piscina', 2))
  const noop = rows.find((r) => r.workload === 'noop-map-100k')!
  t.true(Math.abs(noop.ratio! - 500) < 1e-6)
  t.true(Math.abs(noop.piscinaRatio! - 2) < 1e-6)
  t.is(noop.status, 'met', '500x passes the 300x target')
  t.is(rows.find((r) => r.workload === 'noop-map-1m' && r.unit === 'tasks/s')!.dask, null, 'noop-map-1m is skein only')
  t.is(rows.find((r) => r.workload === 'inc-1000')!.piscina, null, 'piscina runs only the worker_threads workloads')
  const oneProcess = rows.find((r) => r.workload === 'cpu-1ms-1x2' && r.unit === 'x')!
  const twoProcesses = rows.find((r) => r.workload === 'cpu-1ms' && r.unit === 'x')!
  t.deepEqual([oneProcess.dask, oneProcess.piscina], [twoProcesses.dask, twoProcesses.piscina], 'the 1x2 shape is compared with the peers of cpu-1ms')
  t.truthy(oneProcess.dask)
  for (const name of ['tree-reduce-10k', 'shuffle-100x100']) {
    const one = rows.find((r) => r.workload === `${name}-1x2`)!
    t.is(one.dask, rows.find((r) => r.workload === name)!.dask, `${name}-1x2 is compared with the Dask run of ${name}`)
    t.truthy(one.dask)
  }
  const table = formatTable(rows)
  for (const w of WORKLOADS) t.true(table.includes(w.name), w.name)
  t.true(table.includes('piscina median'))
  t.false(formatTable(rows, { dask: false, piscina: false }).includes('Dask median'))

  const noted = buildRows({ ...results, 'memory-pressure': { ...results['memory-pressure'], notes: ['did not finish within 90 s: 2 of 2 workers paused (3 runs)'] } }, null)
  t.deepEqual(noted.find((r) => r.workload === 'memory-pressure')!.notes, ['skein: did not finish within 90 s: 2 of 2 workers paused (3 runs)'])
  t.true(formatTable(noted, { dask: false, piscina: false }).endsWith('notes:\n  memory-pressure: skein: did not finish within 90 s: 2 of 2 workers paused (3 runs)'), 'a run that did not complete is said once, under notes')

  const svg = await renderChart(rows, 'smoke')
  t.regex(svg, /^<svg[^>]*>/)
  t.true(svg.includes('noop-map-100k: throughput'))
  t.true(svg.includes('latency: round trip, median, vs piscina'))
  const alone = await renderChart(buildRows(results, null), 'smoke, skein alone')
  t.regex(alone, /^<svg[^>]*>/)
})

test('the Criterion summary reads criterion estimates files', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-criterion-'))
  const dir = path.join(root, 'target', 'criterion', 'throughput', 'independent_1M', 'new')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'benchmark.json'), JSON.stringify({ full_id: 'throughput/independent/1M', throughput: { Elements: 1_000_000 } }))
  fs.writeFileSync(path.join(dir, 'estimates.json'), JSON.stringify({ median: { point_estimate: 500_000_000 } }))
  const saved = process.env.CARGO_TARGET_DIR
  delete process.env.CARGO_TARGET_DIR
  try {
    const [bench] = readCriterion(root)
    t.is(bench.id, 'throughput/independent/1M')
    t.is(bench.perSecond, 2_000_000)
  } finally {
    if (saved !== undefined) process.env.CARGO_TARGET_DIR = saved
    fs.rmSync(root, { recursive: true, force: true })
  }
})
