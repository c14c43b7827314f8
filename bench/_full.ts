import { WORKLOADS, runSkein } from './skein'
async function main() {
  for (const w of WORKLOADS) {
    const t = performance.now()
    const r = await runSkein(w, { scale: 'full', runs: 2, warmup: true })
    console.log(w.name, r.error ?? JSON.stringify(Object.fromEntries(Object.entries(r.stats).map(([k,v])=>[k,Math.round(v.median)]))), (performance.now() - t).toFixed(0), 'ms')
  }
}
main()
