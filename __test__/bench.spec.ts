/**
 * The smoke mode of every benchmark (bench/): tiny sizes, one warm-up and
 * one run each, through the same code `npm run bench` and `npm run
 * bench:compare` use, so the benchmarks cannot rot. No timing is asserted;
 * every workload checks its own results for exactness. Needs no Python.
 */
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { renderChart } from '../bench/lib/chart'
import { readCriterion } from '../bench/lib/criterion'
import { buildRows, formatTable } from '../bench/lib/report'
import { WORKLOADS, runSkein, type SideResult } from '../bench/skein'

const results: Record<string, SideResult> = {}

for (const workload of WORKLOADS) {
  test.serial(`smoke: ${workload.name} runs and its results are exact`, async (t) => {
    const result = await runSkein(workload, { scale: 'smoke', runs: 1, warmup: true, log: (line) => t.log(line.trim()) })
    t.is(result.error, undefined)
    t.is(result.runs.length, 1)
    t.truthy(result.warmup)
    for (const [metric, stat] of Object.entries(result.stats)) t.true(Number.isFinite(stat.median), `${workload.name} ${metric}`)
    if (workload.once) t.truthy(result.once)
    results[workload.name] = result
  })
}

test.serial('the report table and the vega chart render from the smoke results, with and without Dask figures', async (t) => {
  t.is(Object.keys(results).length, WORKLOADS.length, 'every smoke run succeeded')
  // A stand-in for the Dask side: the skein figures, 500x worse.
  const dask: Record<string, SideResult> = {}
  for (const w of WORKLOADS.filter((w) => w.dask)) {
    const r = results[w.name]
    const stats = Object.fromEntries(
      Object.entries(r.stats).map(([metric, s]) => {
        const f = metric === 'tasksPerSec' ? 1 / 500 : 500
        return [metric, { median: s.median * f, min: s.min * f, max: s.max * f }]
      }),
    )
    dask[w.name] = { ...r, stats }
  }
  const rows = buildRows(results, dask)
  const noop = rows.find((r) => r.workload === 'noop-map-100k')!
  t.true(Math.abs(noop.ratio! - 500) < 1e-6)
  t.is(noop.status, 'met', '500x passes the 300x target')
  t.is(rows.find((r) => r.workload === 'noop-map-1m' && r.unit === 'tasks/s')!.dask, null, 'noop-map-1m is skein only')
  const table = formatTable(rows)
  for (const w of WORKLOADS) t.true(table.includes(w.name), w.name)

  const svg = await renderChart(rows, 'smoke')
  t.regex(svg, /^<svg[^>]*>/)
  t.true(svg.includes('noop-map-100k: throughput'))
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
