// Inclusive time of frames named NAME, split by the nearest caller outside msgpackr/ws/node internals.
//   node bench/profile/callers.mjs FILE.cpuprofile NAME
import fs from 'node:fs'
const [file, name] = process.argv.slice(2)
const p = JSON.parse(fs.readFileSync(file, 'utf8'))
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const dt = new Map()
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
const out = new Map()
const ours = (n) => /\/(client|scheduler|worker|graph|profile)\//.test(n.callFrame.url) || /channel/.test(n.callFrame.url)
for (const [id, t] of dt) {
  let cur = id, hit = false
  for (; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur).callFrame.functionName === name) { hit = true; break }
  if (!hit) continue
  let c = parent.get(cur)
  while (c !== undefined && !ours(byId.get(c))) c = parent.get(c)
  const n = c === undefined ? null : byId.get(c)
  const l = n ? `${n.callFrame.functionName} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : '?'
  out.set(l, (out.get(l) ?? 0) + t)
}
for (const [l, t] of [...out].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(t / 1000).toFixed(1).padStart(8)} ms  ${l}`)
