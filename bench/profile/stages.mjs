// Inclusive time per (function, file) frame, top N: where each stage's time goes, callees included.
//   node bench/profile/stages.mjs FILE.cpuprofile [--top 50]
import { loadProfile } from './profile.mjs'
import { parseArgs } from 'node:util'
const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '50' } } })
for (const file of positionals) {
  const { byId, parent, dt } = loadProfile(file)
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
