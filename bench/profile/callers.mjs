// Inclusive time of frames named NAME, split by the nearest caller outside msgpackr/ws/node internals.
//   node bench/profile/callers.mjs FILE.cpuprofile NAME
import { loadProfile } from './profile.mjs'
const [file, name] = process.argv.slice(2)
const { byId, parent, dt } = loadProfile(file)
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
