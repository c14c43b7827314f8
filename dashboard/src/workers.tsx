import type { TopLevelSpec } from 'vega-lite'
import type { WorkerRow } from '../../ts/dashboard/types'
import { bytes } from './format'
import { VegaChart } from './vega-chart'

const KINDS = ['managed', 'spilled', 'unmanaged']

const SPEC: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  autosize: { type: 'fit-x', contains: 'padding' },
  height: { step: 16 },
  data: { name: 'table' },
  mark: { type: 'bar', tooltip: true },
  encoding: {
    y: { field: 'worker', type: 'nominal', title: null, sort: null },
    x: { field: 'bytes', type: 'quantitative', stack: 'zero', title: 'memory (bytes)', axis: { format: '~s' } },
    color: { field: 'kind', type: 'nominal', title: 'memory', scale: { domain: KINDS, range: ['#3182bd', '#9467bd', '#c7c7c7'] } },
    tooltip: [{ field: 'worker' }, { field: 'kind' }, { field: 'bytes', format: '~s' }],
  },
}

/** Workers: slots busy, tasks, memory (managed in memory, spilled to disk, the rest of the process), CPU, bytes, last heartbeat. */
export function Workers({ rows }: { rows: readonly WorkerRow[] }) {
  const memory = rows.flatMap((w) => {
    const inMemory = Math.max(0, w.memory.managed - w.memory.spilled)
    return [
      { worker: w.name, kind: 'managed', bytes: inMemory },
      { worker: w.name, kind: 'spilled', bytes: w.memory.spilled },
      { worker: w.name, kind: 'unmanaged', bytes: Math.max(0, w.memory.process - inMemory) },
    ]
  })
  return (
    <section id="workers">
      <h2>Workers ({rows.length})</h2>
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>slots busy</th>
            <th>ready</th>
            <th>memory</th>
            <th>spilled</th>
            <th>process</th>
            <th>CPU</th>
            <th>sent</th>
            <th>received</th>
            <th>last heard</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((w) => (
            <tr key={w.id} class="worker-row" data-worker={w.name}>
              <td title={w.address}>
                {w.name}
                {w.paused ? <span class="error"> (paused)</span> : null}
              </td>
              <td>
                {w.executing} / {w.slots}
              </td>
              <td>{w.ready}</td>
              <td>{bytes(w.memory.managed)}</td>
              <td>{bytes(w.memory.spilled)}</td>
              <td>{bytes(w.memory.process)}</td>
              <td>{w.cpu.toFixed(0)}%</td>
              <td>{bytes(w.sent)}</td>
              <td>{bytes(w.received)}</td>
              <td>{(w.lastSeenMs / 1000).toFixed(1)} s</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 0 ? <VegaChart spec={SPEC} rows={memory} label="memory" /> : null}
    </section>
  )
}
