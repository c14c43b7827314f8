import type { SideResult } from '../skein/runner'
import type { Stat } from './stats'
import { HEADLINES, describeTarget, type Headline } from './targets'

export type Status = 'met' | 'missed' | 'n/a' | 'error' | ''

/** One line of the report: a headline figure on both sides and its target. */
export interface Row {
  workload: string
  label: string
  unit: string
  better: Headline['better']
  skein: Stat | null
  dask: Stat | null
  /** How many times better skein is than Dask (Dask / skein when lower is better), from the medians. */
  ratio: number | null
  target: string
  /** The bound or ratio the target asks for, for the chart. */
  targetRatio: number | null
  status: Status
  /** Why a side has no figure (error text), if any. */
  note?: string
}

function pick(side: SideResult | undefined, h: Headline): Stat | null {
  if (!side || side.error) return null
  if (h.fromOnce) {
    const v = side.once?.[h.metric]
    return v === undefined ? null : { median: v, min: v, max: v }
  }
  return side.stats[h.metric] ?? null
}

/** The report rows from the skein results and (if Dask ran) the Dask results, keyed by workload. */
export function buildRows(skein: Record<string, SideResult>, dask: Record<string, SideResult> | null): Row[] {
  const rows: Row[] = []
  for (const h of HEADLINES) {
    if (!skein[h.workload] && !dask?.[h.workload]) continue
    const s = pick(skein[h.workload], h)
    const d = pick(dask?.[h.workload], h)
    const ratio = s && d && s.median > 0 && d.median > 0 ? (h.better === 'higher' ? s.median / d.median : d.median / s.median) : null
    const verdicts: Status[] = []
    if (s && h.bound !== undefined) verdicts.push((h.better === 'lower' ? s.median <= h.bound : s.median >= h.bound) ? 'met' : 'missed')
    if (h.ratio !== undefined) verdicts.push(ratio === null ? 'n/a' : ratio >= h.ratio ? 'met' : 'missed')
    if (h.fractionOf) {
      const ref = skein[h.fractionOf.workload]?.stats[h.fractionOf.metric]
      verdicts.push(s && ref ? (s.median >= ref.median * h.fractionOf.fraction ? 'met' : 'missed') : 'n/a')
    }
    let status: Status = ''
    if (!s && skein[h.workload]?.error) status = 'error'
    else if (verdicts.includes('missed')) status = 'missed'
    else if (verdicts.includes('met')) status = 'met'
    else if (verdicts.length > 0) status = 'n/a'
    const errors = [skein[h.workload]?.error && `skein: ${skein[h.workload].error}`, dask?.[h.workload]?.error && `dask: ${dask[h.workload].error}`]
    rows.push({
      workload: h.workload,
      label: h.label,
      unit: h.unit,
      better: h.better,
      skein: s,
      dask: d,
      ratio,
      target: describeTarget(h),
      targetRatio: h.ratio ?? null,
      status,
      ...(errors.some(Boolean) ? { note: errors.filter(Boolean).join('; ') } : {}),
    })
  }
  return rows
}

/** A figure with about three significant digits and thousands separators. */
export function formatValue(value: number, unit: string): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '-'
  return `${ratio >= 10 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(2)}x`
}

/** The one table: workload, skein median, Dask median, ratio, target, met/missed. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['workload', 'figure', 'skein median', 'Dask median', 'ratio', 'target', 'status']
  const body = rows.map((r) => [
    r.workload,
    r.label,
    r.skein ? formatValue(r.skein.median, r.unit) : 'error',
    r.dask ? formatValue(r.dask.median, r.unit) : '-',
    formatRatio(r.ratio),
    r.target || '-',
    r.status || '-',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const numeric = new Set([2, 3, 4])
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.workload}: ${r.note}`)
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), ...(notes.length ? ['', 'errors:', ...new Set(notes)] : [])].join('\n')
}
