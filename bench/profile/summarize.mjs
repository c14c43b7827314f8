// Summarises a .cpuprofile: self time per function and inclusive time of selected frames.
//   node bench/profile/summarize.mjs FILE.cpuprofile [--top 40] [--incl name1,name2]
import { loadProfile } from './profile.mjs'
import { parseArgs } from 'node:util'

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, incl: { type: 'string', default: '' } } })
for (const file of positionals) {
  const { byId, parent, dt } = loadProfile(file)
  let total = 0
  const self = new Map()
  const label = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`
  for (const [id, t] of dt) {
    total += t
    const l = label(byId.get(id))
    self.set(l, (self.get(l) ?? 0) + t)
  }
  const incl = new Map()
  const wanted = opts.incl ? opts.incl.split(',') : []
  for (const [id, t] of dt) {
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur).callFrame.functionName
      if (wanted.includes(name) && !seen.has(name)) { seen.add(name); incl.set(name, (incl.get(name) ?? 0) + t) }
    }
  }
  const idle = self.get('(idle) :0') ?? 0
  console.log(`== ${file}: ${(total / 1000).toFixed(0)} ms sampled, idle ${(idle / 1000).toFixed(0)} ms, busy ${((total - idle) / 1000).toFixed(0)} ms`)
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))
  for (const [l, t] of rows) console.log(`${(t / 1000).toFixed(1).padStart(9)} ms ${((100 * t) / (total - idle)).toFixed(1).padStart(5)}%  ${l}`)
  for (const [n, t] of incl) console.log(`incl ${n}: ${(t / 1000).toFixed(1)} ms ${((100 * t) / (total - idle)).toFixed(1)}% of busy`)
}
