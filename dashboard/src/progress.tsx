import type { TopLevelSpec } from 'vega-lite'
import type { PrefixProgressRow } from '../../ts/dashboard/types'
import { VegaChart } from './vega-chart'

const STATES = ['done', 'memory', 'erred', 'processing', 'queued', 'waiting', 'no-worker'] as const
const COLORS = ['#9ecae1', '#3182bd', '#d62728', '#31a354', '#fdae6b', '#d9d9d9', '#756bb1']

const SPEC: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  autosize: { type: 'fit-x', contains: 'padding' },
  height: { step: 18 },
  data: { name: 'table' },
  mark: { type: 'bar', tooltip: true },
  encoding: {
    y: { field: 'prefix', type: 'nominal', title: null, sort: null },
    x: { field: 'count', type: 'quantitative', stack: 'normalize', title: 'share of the prefix', axis: { format: '%' } },
    color: { field: 'state', type: 'nominal', title: null, scale: { domain: [...STATES], range: COLORS }, legend: { orient: 'top', direction: 'horizontal' } },
    order: { field: 'order', type: 'quantitative' },
    tooltip: [{ field: 'prefix' }, { field: 'state' }, { field: 'count' }],
  },
}

/** Finished: let go after running (done), or kept (memory), or erred; released tasks count as done too. */
export function completed(r: PrefixProgressRow): number {
  return r.done + r.released + r.memory + r.erred
}

export function total(r: PrefixProgressRow): number {
  return completed(r) + r.processing + r.queued + r.waiting + r.noWorker
}

/** Progress per task prefix: a bar each, split by state, and the counts. */
export function Progress({ rows }: { rows: readonly PrefixProgressRow[] }) {
  const data = rows.flatMap((r) => {
    const counts = [r.done + r.released, r.memory, r.erred, r.processing, r.queued, r.waiting, r.noWorker]
    return STATES.map((state, order) => ({ prefix: r.prefix, state, count: counts[order], order }))
  })
  return (
    <section id="progress">
      <h2>Progress per task prefix</h2>
      {rows.length === 0 ? <p class="muted">no tasks</p> : <VegaChart spec={SPEC} rows={data} label="progress" />}
      <table>
        <thead>
          <tr>
            <th>prefix</th>
            <th>done</th>
            <th>memory</th>
            <th>erred</th>
            <th>processing</th>
            <th>queued</th>
            <th>waiting</th>
            <th>total</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.prefix} class="prefix-row" data-prefix={r.prefix} data-completed={completed(r)} data-total={total(r)}>
              <td>{r.prefix}</td>
              <td>{r.done + r.released}</td>
              <td>{r.memory}</td>
              <td class={r.erred > 0 ? 'error' : ''}>{r.erred}</td>
              <td>{r.processing}</td>
              <td>{r.queued}</td>
              <td>{r.waiting + r.noWorker}</td>
              <td>{total(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
