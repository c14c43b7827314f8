import type { TopLevelSpec } from 'vega-lite'
import type { ReportData } from '../../ts/dashboard/types'
import { seconds } from './format'
import { barsOf, type Bar } from './lanes'
import { TaskStream } from './task-stream'
import { VegaChart } from './vega-chart'

interface PrefixTiming {
  prefix: string
  runs: number
  erred: number
  total: number
  mean: number
  max: number
}

interface WorkerUse {
  name: string
  slots: number
  runs: number
  busy: number
  /** Busy seconds over slots x the report's span. */
  share: number
}

function prefixTimings(bars: readonly Bar[]): PrefixTiming[] {
  const by = new Map<string, PrefixTiming>()
  for (const b of bars) {
    if (b.transfer) continue
    const s = (b.end - b.start) / 1000
    const t = by.get(b.prefix) ?? { prefix: b.prefix, runs: 0, erred: 0, total: 0, mean: 0, max: 0 }
    t.runs++
    if (b.erred) t.erred++
    t.total += s
    t.max = Math.max(t.max, s)
    by.set(b.prefix, t)
  }
  return [...by.values()].map((t) => ({ ...t, mean: t.total / t.runs })).sort((a, b) => b.total - a.total)
}

function workerUse(bars: readonly Bar[], data: ReportData): WorkerUse[] {
  const span = Math.max(0.001, (data.end - data.start) / 1000)
  return data.workers.map(([id, name, slots]) => {
    const mine = bars.filter((b) => b.worker === id && !b.transfer)
    const busy = mine.reduce((sum, b) => sum + (b.end - b.start) / 1000, 0)
    return { name, slots, runs: mine.length, busy, share: busy / (Math.max(1, slots) * span) }
  })
}

const TIMING_SPEC: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  autosize: { type: 'fit-x', contains: 'padding' },
  height: { step: 18 },
  data: { name: 'table' },
  mark: { type: 'bar', tooltip: true },
  encoding: {
    y: { field: 'prefix', type: 'nominal', title: null, sort: null },
    x: { field: 'total', type: 'quantitative', title: 'seconds of compute' },
    color: { field: 'prefix', type: 'nominal', legend: null, scale: { scheme: 'tableau20' } },
  },
}

/** A performance report: the runs of a window, their timings per prefix, and how busy each worker was. */
export function Report({ data }: { data: ReportData }) {
  const bars = barsOf(data.runs, data.prefixes)
  const transfers = bars.filter((b) => b.transfer).length
  const names = new Map(data.workers.map(([id, name]) => [id, name]))
  const slots = new Map(data.workers.map(([id, , n]) => [id, n]))
  const timings = prefixTimings(bars)
  const use = workerUse(bars, data)
  return (
    <>
      <header>
        <strong>skein performance report</strong>
        <span>{data.title}</span>
        <span class="muted">
          {new Date(data.start).toISOString()}, {seconds((data.end - data.start) / 1000)}, {bars.length - transfers} runs, {transfers} transfers
          {data.dropped > 0 ? `, ${data.dropped} more not recorded` : ''}
        </span>
      </header>
      <main>
        <TaskStream bars={bars} workerName={(id) => names.get(id) ?? `worker ${id}`} workerSlots={(id) => slots.get(id) ?? 1} />
        <section id="timings">
          <h2>Time per task prefix</h2>
          <VegaChart spec={TIMING_SPEC} rows={timings} label="timings" />
          <table>
            <thead>
              <tr>
                <th>prefix</th>
                <th>runs</th>
                <th>erred</th>
                <th>total</th>
                <th>mean</th>
                <th>max</th>
              </tr>
            </thead>
            <tbody>
              {timings.map((t) => (
                <tr key={t.prefix} data-prefix={t.prefix} data-runs={t.runs}>
                  <td>{t.prefix}</td>
                  <td>{t.runs}</td>
                  <td class={t.erred > 0 ? 'error' : ''}>{t.erred}</td>
                  <td>{seconds(t.total)}</td>
                  <td>{seconds(t.mean)}</td>
                  <td>{seconds(t.max)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section id="worker-use">
          <h2>Workers</h2>
          <table>
            <thead>
              <tr>
                <th>worker</th>
                <th>slots</th>
                <th>runs</th>
                <th>busy</th>
                <th>of its slots' time</th>
              </tr>
            </thead>
            <tbody>
              {use.map((w) => (
                <tr key={w.name} data-worker={w.name}>
                  <td>{w.name}</td>
                  <td>{w.slots}</td>
                  <td>{w.runs}</td>
                  <td>{seconds(w.busy)}</td>
                  <td>{(100 * w.share).toFixed(0)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </main>
    </>
  )
}
