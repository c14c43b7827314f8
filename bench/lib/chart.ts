/**
 * The ratio chart: a vega-lite spec compiled to vega and rendered to SVG by
 * vega's headless View (no browser, no canvas).
 */
import type { Row } from './report'
import { HEADLINES } from './targets'

interface Bar {
  figure: string
  value: number
  target: number | null
  status: string
  label: string
}

const VS_PISCINA = 'vs piscina (no target)'

function ratioLabel(ratio: number): string {
  return ratio >= 10 ? `${Math.round(ratio)}x` : `${ratio.toFixed(2)}x`
}

/**
 * Bars of skein/Dask ratios and skein/piscina ratios (each figure's piscina bar
 * just below its Dask bar); without either, bars of skein's margin over its
 * absolute targets.
 */
function bars(rows: readonly Row[]): { bars: Bar[]; axis: string; legend: string } {
  const out: Bar[] = []
  for (const r of rows) {
    if (r.ratio !== null) {
      out.push({
        figure: `${r.workload}: ${r.label}`,
        value: r.ratio,
        target: r.targetRatio,
        status: r.targetRatio === null ? 'no ratio target' : r.ratio >= r.targetRatio ? 'met' : 'missed',
        label: ratioLabel(r.ratio),
      })
    }
    if (r.piscinaRatio !== null) {
      out.push({ figure: `${r.workload}: ${r.label}, vs piscina`, value: r.piscinaRatio, target: null, status: VS_PISCINA, label: ratioLabel(r.piscinaRatio) })
    }
  }
  if (out.length > 0) {
    const peers = rows.some((r) => r.ratio !== null) ? (rows.some((r) => r.piscinaRatio !== null) ? 'Dask distributed or piscina' : 'Dask distributed') : 'piscina'
    return { axis: `times better than ${peers} (log scale; tick = target)`, legend: 'ratio target', bars: out }
  }
  for (const r of rows) {
    const bound = HEADLINES.find((x) => x.workload === r.workload && x.label === r.label)?.bound
    // A log axis has no place for a bound or a figure of 0 (workers removed, a task not completed).
    if (bound === undefined || !(bound > 0) || !r.skein || !(r.skein.median > 0)) continue
    const margin = r.better === 'lower' ? bound / r.skein.median : r.skein.median / bound
    out.push({ figure: `${r.workload}: ${r.label}`, value: margin, target: 1, status: margin >= 1 ? 'met' : 'missed', label: `${margin.toFixed(2)}x` })
  }
  return { axis: 'skein alone: margin over the absolute target (>= 1 is met; log scale)', legend: 'absolute target', bars: out }
}

/** The vega-lite spec of the chart (exported for tests and for anyone who wants to restyle it). */
export function chartSpec(rows: readonly Row[], title: string): Record<string, unknown> {
  const { bars: values, axis, legend } = bars(rows)
  const y = { field: 'figure', type: 'nominal', sort: null, title: null, axis: { labelLimit: 600 } }
  // Bars grow from 1 (parity) on a log axis spanning whole decades around every value and target.
  const all = values.flatMap((b) => (b.target === null ? [b.value] : [b.value, b.target]))
  const lo = 10 ** Math.floor(Math.log10(Math.min(0.5, ...all)))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(2, ...all) * 1.5))
  const x = { field: 'value', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] }, title: axis }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: { step: 26 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y,
          x,
          x2: { datum: 1 },
          color: {
            field: 'status',
            type: 'nominal',
            title: legend,
            legend: { labelLimit: 300 },
            scale: { domain: ['met', 'missed', 'no ratio target', VS_PISCINA], range: ['#2e7d32', '#c62828', '#90a4ae', '#1565c0'] },
          },
        },
      },
      {
        mark: { type: 'tick', color: 'black', thickness: 2 },
        transform: [{ filter: 'datum.target != null' }],
        encoding: { y, x: { field: 'target', type: 'quantitative' } },
      },
      {
        mark: { type: 'rule', color: '#555', strokeDash: [3, 3] },
        encoding: { x: { datum: 1 } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: { y, x, text: { field: 'label' } },
      },
    ],
  }
}

/** Renders the chart to an SVG string with vega's headless View. */
export async function renderChart(rows: readonly Row[], title: string): Promise<string> {
  // vega and vega-lite are ES modules only; this file is CommonJS under tsx.
  const vega = await import('vega')
  const vegaLite = await import('vega-lite')
  const compiled = vegaLite.compile(chartSpec(rows, title) as unknown as Parameters<typeof vegaLite.compile>[0]).spec
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
