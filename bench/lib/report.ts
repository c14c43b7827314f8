import { WORKLOADS, peerName } from '../skein'
import type { SideResult } from './measure'
import type { Stat } from './stats'
import { HEADLINES, describeTarget, type Headline } from './targets'

export type Status = 'met' | 'missed' | 'n/a' | 'error' | ''

/** One line of the report: a headline figure on every side and its target. */
export interface Row {
  workload: string
  label: string
  unit: string
  better: Headline['better']
  skein: Stat | null
  dask: Stat | null
  /** How many times better skein is than Dask (Dask / skein when lower is better), from the medians. */
  ratio: number | null
  piscina: Stat | null
  /** How many times better skein is than piscina, as `ratio`. */
  piscinaRatio: number | null
  target: string
  /** The bound or ratio the target asks for, for the chart. */
  targetRatio: number | null
  status: Status
  /** Why a side has no figure (error text), if any. */
  note?: string
  /** What the runs of each side said about themselves (a run that did not complete, and why), prefixed with the side. */
  notes?: string[]
}

/** Results of one side, keyed by workload name (Dask and piscina: by the skein workload's `peer`). */
export type Side = Record<string, SideResult>

function pick(side: SideResult | undefined, h: Headline): Stat | null {
  if (!side || side.error) return null
  if (h.fromOnce) {
    const v = side.once?.[h.metric]
    return v === undefined ? null : { median: v, min: v, max: v }
  }
  return side.stats[h.metric] ?? null
}

function timesBetter(skein: Stat | null, other: Stat | null, better: Headline['better']): number | null {
  if (!skein || !other || !(skein.median > 0) || !(other.median > 0)) return null
  return better === 'higher' ? skein.median / other.median : other.median / skein.median
}

/** The name Dask and piscina know a skein workload by. */
function peerOf(workload: string): string {
  const known = WORKLOADS.find((w) => w.name === workload)
  return known ? peerName(known) : workload
}

/** The report rows from the skein results and, where they ran, the Dask and piscina results. */
export function buildRows(skein: Side, dask: Side | null, piscina: Side | null = null): Row[] {
  const rows: Row[] = []
  for (const h of HEADLINES) {
    const peer = peerOf(h.workload)
    // A shape variant (cpu-1ms-1x2) has a row only where skein ran it; its peers' figures are its workload's.
    if (!skein[h.workload] && (peer !== h.workload || (!dask?.[peer] && !piscina?.[peer]))) continue
    const s = pick(skein[h.workload], h)
    const d = pick(dask?.[peer], h)
    const p = pick(piscina?.[peer], h)
    const ratio = timesBetter(s, d, h.better)
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
    const errors = [
      skein[h.workload]?.error && `skein: ${skein[h.workload].error}`,
      dask?.[peer]?.error && `dask: ${dask[peer].error}`,
      piscina?.[peer]?.error && `piscina: ${piscina[peer].error}`,
    ]
    const notes = [
      ...(skein[h.workload]?.notes ?? []).map((n) => `skein: ${n}`),
      ...(dask?.[peer]?.notes ?? []).map((n) => `dask: ${n}`),
      ...(piscina?.[peer]?.notes ?? []).map((n) => `piscina: ${n}`),
    ]
    rows.push({
      workload: h.workload,
      label: h.label,
      unit: h.unit,
      better: h.better,
      skein: s,
      dask: d,
      ratio,
      piscina: p,
      piscinaRatio: timesBetter(s, p, h.better),
      target: describeTarget(h),
      targetRatio: h.ratio ?? null,
      status,
      ...(errors.some(Boolean) ? { note: errors.filter(Boolean).join('; ') } : {}),
      ...(notes.length ? { notes } : {}),
    })
  }
  return rows
}

/** A figure with about three significant digits and thousands separators; counts without decimals. */
export function formatValue(value: number, unit: string): string {
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2
  const number = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
  return unit ? `${number} ${unit}` : number
}

export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '-'
  return `${ratio >= 10 ? Math.round(ratio).toLocaleString('en-US') : ratio.toFixed(2)}x`
}

/** The one table: workload, the medians of skein and of each peer that ran (Dask, piscina), skein's ratio to each, target, met/missed. */
export function formatTable(rows: readonly Row[], peers: { dask: boolean; piscina: boolean } = { dask: true, piscina: true }): string {
  const columns: { header: string; numeric?: boolean; cell: (r: Row) => string }[] = [
    { header: 'workload', cell: (r) => r.workload },
    { header: 'figure', cell: (r) => r.label },
    { header: 'skein median', numeric: true, cell: (r) => (r.skein ? formatValue(r.skein.median, r.unit) : 'error') },
    ...(peers.dask
      ? [
          { header: 'Dask median', numeric: true, cell: (r: Row) => (r.dask ? formatValue(r.dask.median, r.unit) : '-') },
          { header: 'vs Dask', numeric: true, cell: (r: Row) => formatRatio(r.ratio) },
        ]
      : []),
    ...(peers.piscina
      ? [
          { header: 'piscina median', numeric: true, cell: (r: Row) => (r.piscina ? formatValue(r.piscina.median, r.unit) : '-') },
          { header: 'vs piscina', numeric: true, cell: (r: Row) => formatRatio(r.piscinaRatio) },
        ]
      : []),
    { header: 'target', cell: (r) => r.target || '-' },
    { header: 'status', cell: (r) => r.status || '-' },
  ]
  const body = rows.map((r) => columns.map((c) => c.cell(r)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...body.map((row) => row[i].length)))
  const line = (cells: string[]) => cells.map((cell, i) => (columns[i].numeric ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd()
  const errors = rows.filter((r) => r.note).map((r) => `  ${r.workload}: ${r.note}`)
  const notes = rows.flatMap((r) => (r.notes ?? []).map((n) => `  ${r.workload}: ${n}`))
  return [
    line(columns.map((c) => c.header)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    ...(errors.length ? ['', 'errors:', ...new Set(errors)] : []),
    ...(notes.length ? ['', 'notes:', ...new Set(notes)] : []),
  ].join('\n')
}
