import { useEffect, useRef } from 'preact/hooks'
import { changeset, parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

interface Props {
  /** A vega-lite spec whose data is the named dataset 'table'. */
  spec: TopLevelSpec
  rows: object[]
  /** Set on the chart's element once drawn, for tests: how many rows it shows. */
  label?: string
}

/** A vega-lite chart (canvas) whose rows are replaced on every render; the spec is compiled once. */
export function VegaChart({ spec, rows, label }: Props) {
  const element = useRef<HTMLDivElement>(null)
  const view = useRef<View | null>(null)
  useEffect(() => {
    const v = new View(parse(compile(spec).spec), { renderer: 'canvas', container: element.current!, hover: true })
    view.current = v
    return () => {
      v.finalize()
      view.current = null
    }
  }, [])
  useEffect(() => {
    const v = view.current
    if (v === null) return
    v.change(
      'table',
      changeset()
        .remove(() => true)
        .insert(rows),
    )
    void v.runAsync().then(() => {
      if (element.current !== null) element.current.dataset.rows = String(rows.length)
    })
  }, [rows])
  return <div ref={element} class="chart" data-chart={label} style={{ width: '100%' }} />
}
