import type { TopLevelSpec } from 'vega-lite'
import { packLanes, type Bar } from './lanes'
import { VegaChart } from './vega-chart'

const SPEC: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  autosize: { type: 'fit-x', contains: 'padding' },
  height: { step: 12 },
  data: { name: 'table' },
  mark: { type: 'bar', tooltip: true },
  encoding: {
    x: { field: 'start', type: 'temporal', title: null, axis: { format: '%H:%M:%S' } },
    x2: { field: 'end' },
    y: { field: 'lane', type: 'nominal', title: null, sort: 'ascending' },
    color: { field: 'label', type: 'nominal', title: 'task prefix', scale: { scheme: 'tableau20' } },
    tooltip: [
      { field: 'prefix', title: 'prefix' },
      { field: 'lane', title: 'worker slot' },
      { field: 'seconds', title: 'seconds', format: '.4f' },
      { field: 'label', title: 'outcome' },
    ],
  },
}

/** Bars drawn at most (the latest): the page stays responsive with a fast stream. */
export const MAX_BARS = 5000

/** The task stream: a lane per worker slot, a bar per run coloured by prefix (errors as 'error'). */
export function TaskStream({ bars, workerName, workerSlots }: { bars: readonly Bar[]; workerName: (id: number) => string; workerSlots: (id: number) => number }) {
  const shown = bars.length > MAX_BARS ? bars.slice(bars.length - MAX_BARS) : bars
  return (
    <section class="wide" id="task-stream" data-bars={shown.length}>
      <h2>
        Task stream <span class="muted">({shown.length} runs{shown.length < bars.length ? ` of ${bars.length}, the latest` : ''})</span>
      </h2>
      <VegaChart spec={SPEC} rows={packLanes(shown, workerName, workerSlots)} label="task-stream" />
    </section>
  )
}
