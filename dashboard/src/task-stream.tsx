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
    // Runs that raised are black (tableau20 has a red of its own), and listed as 'error' in the tooltip.
    color: { condition: { test: 'datum.erred', value: '#111111' }, field: 'prefix', type: 'nominal', title: 'task prefix', scale: { scheme: 'tableau20' } },
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
  const latest = bars.length > MAX_BARS ? bars.slice(bars.length - MAX_BARS) : bars
  // A run that raised has no duration (workers report none): it is drawn a sliver wide, to be seen.
  let first = Infinity
  let last = -Infinity
  for (const b of latest) {
    if (b.start < first) first = b.start
    if (b.end > last) last = b.end
  }
  const sliver = Math.max(1, (last - first) / 400)
  const shown = latest.map((b) => (b.erred && b.end - b.start < sliver ? { ...b, start: b.end - sliver } : b))
  return (
    <section class="wide" id="task-stream" data-bars={shown.length}>
      <h2>
        Task stream <span class="muted">({shown.length} runs{shown.length < bars.length ? ` of ${bars.length}, the latest` : ''}; black: raised; transfers in a lane of their own)</span>
      </h2>
      <VegaChart spec={SPEC} rows={packLanes(shown, workerName, workerSlots)} label="task-stream" />
    </section>
  )
}
