import type { TopLevelSpec } from 'vega-lite'
import type { SchedulerRow } from '../../ts/dashboard/types'
import { VegaChart } from './vega-chart'

const SPEC: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  height: 80,
  data: { name: 'table' },
  mark: { type: 'area', line: true, opacity: 0.4 },
  encoding: {
    x: { field: 'at', type: 'temporal', title: null, axis: { format: '%H:%M:%S' } },
    y: { field: 'rate', type: 'quantitative', title: 'tasks/s' },
  },
}

/** The scheduler: tasks per state, tasks per second (and its last minute), clients, event-loop delay. */
export function SchedulerPanel({ row, history }: { row: SchedulerRow; history: readonly { at: number; rate: number }[] }) {
  const t = row.tasks
  const cells: [string, string | number][] = [
    ['workers', row.workers],
    ['clients', row.clients],
    ['tasks/s', row.tasksPerSecond.toFixed(0)],
    ['waiting', t.waiting],
    ['queued', t.queued],
    ['no worker', t.noWorker],
    ['processing', t.processing],
    ['memory', t.memory],
    ['erred', t.erred],
    ['released', t.released],
    ['transitions', row.transitions],
    ['event loop p50 / p99 / max', `${row.loopDelayMs.p50.toFixed(1)} / ${row.loopDelayMs.p99.toFixed(1)} / ${row.loopDelayMs.max.toFixed(1)} ms`],
  ]
  return (
    <section id="scheduler">
      <h2>Scheduler</h2>
      <table>
        <tbody>
          {cells.map(([name, value]) => (
            <tr key={name}>
              <td>{name}</td>
              <td data-stat={name}>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <VegaChart spec={SPEC} rows={history as object[]} label="rate" />
    </section>
  )
}
