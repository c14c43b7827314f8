import { WORKLOADS, runSkein } from './skein'
async function main() {
  for (const w of WORKLOADS) {
    const t = performance.now()
    const r = await runSkein(w, { scale: 'smoke', runs: 1, warmup: true })
    console.log(w.name, r.error ?? JSON.stringify(r.stats), (performance.now() - t).toFixed(0), 'ms')
  }
}
main()
