// Inclusive time per (function, file) frame, top N: where each stage's time goes, callees included.
//   node bench/profile/stages.mjs FILE.cpuprofile [--top 50]
import fs from 'node:fs'
import { parseArgs } from 'node:util'
const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '50' } } })
for (const file of positionals) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const dt = new Map()
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
  const label = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`
  const incl = new Map()
  let busy = 0
  for (const [id, t] of dt) {
    if (byId.get(id).callFrame.functionName === '(idle)') continue
    busy += t
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur))
      if (seen.has(l)) continue
      seen.add(l)
      incl.set(l, (incl.get(l) ?? 0) + t)
    }
  }
  console.log(`== ${file}: busy ${(busy / 1000).toFixed(0)} ms`)
  for (const [l, t] of [...incl].filter(([l]) => !l.includes('node:') && !l.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))) {
    console.log(`${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / busy).toFixed(1).padStart(5)}%  ${l}`)
  }
}
