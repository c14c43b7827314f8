// Reads a .cpuprofile into what the summary scripts walk: nodes by id, each node's parent,
// and the sampled time (us) spent in each node itself.
import fs from 'node:fs'

export function loadProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const dt = new Map()
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0))
  return { p, byId, parent, dt }
}
