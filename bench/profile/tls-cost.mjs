// What TLS costs (issue #11): a lone task's round trip and noop-map throughput, plain ws:// against wss://.
//   node bench/profile/tls-cost.mjs [--runs 3] [--latency 1000] [--tasks 100000] [--mutual]
// Each run starts a fresh LocalCluster (2 worker processes, 1 slot each) per configuration, the two
// configurations alternating (and their order flipping run to run) so both see the same machine load.
// The client connects over the network (inProcess: false), so client -> scheduler -> worker are all
// TLS connections in the TLS configuration. Prints every run and the median of the runs per figure.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const skein = await import(path.join(root, 'dist/index.js'))
const { LocalCluster, Client, createTestCertificates } = skein.default ?? skein

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    latency: { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '100000' },
    mutual: { type: 'boolean', default: false },
  },
})
const runs = Number(opts.runs)
const lone = Number(opts.latency)
const tasks = Number(opts.tasks)

const inc = (x) => x + 1
const noop = (i) => i
const sorted = (xs) => [...xs].sort((a, b) => a - b)
const median = (xs) => sorted(xs)[Math.floor((xs.length - 1) / 2)]
const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))]

const dir = mkdtempSync(path.join(tmpdir(), 'skein-tls-cost-'))
const certs = await createTestCertificates(dir, { hosts: ['127.0.0.1'] })
const configs = {
  ws: { cluster: {}, client: {} },
  wss: {
    cluster: { tls: { cert: certs.cert, key: certs.key, ca: certs.ca, requireClientCert: opts.mutual } },
    client: { tls: opts.mutual ? { ca: certs.ca, cert: certs.cert, key: certs.key } : { ca: certs.ca } },
  },
}

let base = 0
async function measure(name) {
  const config = configs[name]
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, ...config.cluster })
  const client = await Client.connect(cluster.address, { inProcess: false, ...config.client })
  try {
    // Warm-up: functions shipped and compiled on both workers, hot paths optimised.
    await client.gather(client.map(noop, Array.from({ length: 5000 }, (_, i) => -1 - i - base)))
    for (let i = 0; i < 300; i++) await client.submit(inc, -1 - i - base)
    base += 1e7
    const lat = []
    for (let i = 0; i < lone; i++) {
      const t0 = performance.now()
      const f = client.submit(inc, base + i)
      if ((await f) !== base + i + 1) throw new Error('latency: wrong result')
      lat.push((performance.now() - t0) * 1000)
      f.release()
    }
    base += 1e7
    const items = Array.from({ length: tasks }, (_, i) => base + i)
    const t0 = performance.now()
    const fs = client.map(noop, items)
    const values = await client.gather(fs)
    const ms = performance.now() - t0
    if (values[tasks - 1] !== items[tasks - 1]) throw new Error('noop-map: wrong result')
    for (const f of fs) f.release()
    return { 'latency median us': median(lat), 'latency p99 us': pct(lat, 0.99), 'noop-map tasks/s': (tasks / ms) * 1000 }
  } finally {
    await client.close()
    await cluster.close()
  }
}

const results = { ws: [], wss: [] }
for (let r = 0; r < runs; r++) {
  for (const name of r % 2 === 0 ? ['ws', 'wss'] : ['wss', 'ws']) {
    const result = await measure(name)
    results[name].push(result)
    console.log(`run ${r + 1} ${name}: ${Object.entries(result).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`)
  }
}
rmSync(dir, { recursive: true, force: true })

console.log(`\nmedians of ${runs} runs (${lone} lone tasks, ${tasks}-task noop map; wss${opts.mutual ? ' with client certificates' : ''}):`)
for (const figure of Object.keys(results.ws[0])) {
  const ws = median(results.ws.map((x) => x[figure]))
  const wss = median(results.wss.map((x) => x[figure]))
  console.log(`  ${figure.padEnd(20)} ws ${ws.toFixed(0).padStart(8)}   wss ${wss.toFixed(0).padStart(8)}   wss/ws ${(wss / ws).toFixed(2)}`)
}
