import test from 'ava'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { Client } from '../ts/client'
import { Scheduler } from '../ts/scheduler'
import { boundedPrefixes, MAX_PREFIX_SERIES } from '../ts/scheduler/metrics'
import { Worker } from '../ts/worker'
import { WorkerMetrics, type WorkerMetricsSource } from '../ts/worker/metrics'

interface Sample {
  labels?: Record<string, string>
  value?: string
  buckets?: Record<string, string>
  count?: string
  sum?: string
}
interface Family {
  name: string
  type: string
  metrics: Sample[]
}

/** GET /metrics, parsed by a Prometheus text-format parser, as families by name. */
async function scrape(httpAddress: string): Promise<{ families: Map<string, Family>; text: string; contentType: string }> {
  const res = await fetch(`${httpAddress}/metrics`)
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  const text = await res.text()
  const families = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]))
  return { families, text, contentType: res.headers.get('content-type') ?? '' }
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name)
  if (family === undefined) throw new Error(`no family ${name}`)
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  if (sample === undefined) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`)
  return Number(sample.value ?? sample.count)
}

const http = (ws: string) => ws.replace(/^ws:/, 'http:')

function inc(x: number): number {
  return x + 1
}
function total(...xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0)
}

test('GET /metrics on the scheduler and on each worker: Prometheus families with the counts of a known graph, no token', async (t) => {
  await using scheduler = await new Scheduler().listen()
  const token = scheduler.token!
  await using a = await Worker.start({ scheduler: scheduler.address, name: 'metrics-a', log: () => {} })
  await using b = await Worker.start({ scheduler: scheduler.address, name: 'metrics-b', log: () => {} })
  await using client = await Client.connect(scheduler.address)
  await client.waitForWorkers(2)

  // Inputs pinned to each worker, so the sum on 'metrics-a' must fetch the ten that live on 'metrics-b'.
  const onA = client.map(inc, Array.from({ length: 10 }, (_, i) => i), { restrictions: ['metrics-a'] })
  const onB = client.map(inc, Array.from({ length: 10 }, (_, i) => 100 + i), { restrictions: ['metrics-b'] })
  const sum = client.submitWith({ restrictions: ['metrics-a'] }, total, ...onA, ...onB)
  t.is(await sum, 55 + 1055)

  const { families, text, contentType } = await scrape(http(scheduler.address))
  t.regex(contentType, /^text\/plain; version=0\.0\.4/)
  t.false(text.includes(token), 'the token never appears')
  t.is(value(families, 'skein_scheduler_workers'), 2)
  t.is(value(families, 'skein_scheduler_clients'), 1)
  t.is(families.get('skein_scheduler_tasks')?.type, 'GAUGE')
  t.is(value(families, 'skein_scheduler_tasks', { state: 'memory' }), 21)
  t.is(value(families, 'skein_scheduler_tasks', { state: 'processing' }), 0)
  t.is(value(families, 'skein_scheduler_prefix_tasks', { prefix: 'inc', state: 'memory' }), 20)
  t.is(value(families, 'skein_scheduler_prefix_tasks', { prefix: 'total', state: 'memory' }), 1)
  t.is(families.get('skein_scheduler_transitions_total')?.type, 'COUNTER')
  // Each task went at least released -> waiting -> processing -> memory.
  t.true(value(families, 'skein_scheduler_transitions_total') >= 21 * 3)
  t.true(value(families, 'skein_scheduler_computes_total') >= 21)
  t.true(value(families, 'skein_scheduler_received_bytes_total') > 0)
  t.true(value(families, 'skein_scheduler_sent_bytes_total') > 0)
  for (const name of ['skein_scheduler_steals_total', 'skein_scheduler_recomputes_total', 'skein_scheduler_worker_removals_total']) t.is(value(families, name), 0, name)
  t.true(value(families, 'skein_scheduler_event_loop_delay_seconds', { stat: 'max' }) >= 0)

  // Released: the tasks are forgotten and the counts follow.
  const before = value(families, 'skein_scheduler_tasks_forgotten_total')
  for (const f of [...onA, ...onB, sum]) f.release()
  let after = families
  for (let i = 0; i < 200 && value(after, 'skein_scheduler_tasks', { state: 'memory' }) > 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    after = (await scrape(http(scheduler.address))).families
  }
  t.is(value(after, 'skein_scheduler_tasks', { state: 'memory' }), 0)
  t.is(value(after, 'skein_scheduler_tasks_forgotten_total') - before, 21)
  t.false(after.get('skein_scheduler_prefix_tasks')!.metrics.some((m) => m.labels?.prefix === 'inc'), 'no series for a prefix with no live task')

  // The workers: the one that ran the sum fetched the ten inputs held by the other.
  const worker = await scrape(http(a.address))
  t.false(worker.text.includes(token))
  t.is(value(worker.families, 'skein_worker_slots'), 1)
  t.is(value(worker.families, 'skein_worker_tasks', { state: 'executing' }), 0)
  t.is(value(worker.families, 'skein_worker_tasks', { state: 'ready' }), 0)
  t.true(value(worker.families, 'skein_worker_memory_bytes', { kind: 'process' }) > 0)
  t.is(value(worker.families, 'skein_worker_memory_bytes', { kind: 'spilled' }), 0)
  t.is(value(worker.families, 'skein_worker_transfers_total', { outcome: 'ok' }), 10)
  t.is(value(worker.families, 'skein_worker_transfers_total', { outcome: 'failed' }), 0)
  t.true(value(worker.families, 'skein_worker_transfer_received_bytes_total') > 0)
  const durations = worker.families.get('skein_worker_transfer_duration_seconds')!
  t.is(durations.type, 'HISTOGRAM')
  t.is(Number(durations.metrics[0].count), 10)
  const other = await scrape(http(b.address))
  t.true(value(other.families, 'skein_worker_peer_sent_bytes_total') > 0, "b served its values from its peer port")
})

test('/metrics is read-only: other methods and paths get no metrics, and a request with a wrong token is treated like one without', async (t) => {
  await using scheduler = await new Scheduler().listen()
  const base = http(scheduler.address)
  t.is((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status, 404)
  t.is((await fetch(`${base}/metrics/../health`)).status, 200)
  const withWrongToken = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer not-the-token' } })
  t.is(withWrongToken.status, 200)
  t.false((await withWrongToken.text()).includes(scheduler.token!))
  await using worker = await Worker.start({ scheduler: scheduler.address, name: 'metrics-ro', log: () => {} })
  t.is((await fetch(`${http(worker.address)}/health`)).status, 404)
  t.is((await fetch(`${http(worker.address)}/metrics`, { method: 'DELETE' })).status, 404)
  t.is((await fetch(`${http(worker.address)}/metrics`)).status, 200)
})

test('per-prefix series are bounded: past 50 prefixes the smallest are summed under (other)', (t) => {
  const prefixes = Array.from({ length: 60 }, (_, i) => ({ prefix: `p${i}`, released: 0, waiting: i, queued: 0, noWorker: 0, processing: 0, memory: 1, erred: 0 }))
  const series = boundedPrefixes(prefixes)
  t.is(series.length, MAX_PREFIX_SERIES + 1)
  t.is(series[0][0], 'p59', 'largest first')
  const other = series.at(-1)!
  t.is(other[0], '(other)')
  // p0..p9 are the smallest: waiting 0+1+...+9, one in memory each.
  t.like(other[1], { waiting: 45, memory: 10 })
  t.deepEqual(boundedPrefixes(prefixes.slice(0, 3)).map(([p]) => p), ['p0', 'p1', 'p2'])
})

test('worker transfer metrics: counts, bytes and every duration reach the scrape, however many arrive between scrapes', async (t) => {
  const metrics = new WorkerMetrics()
  metrics.attach({ slots: 1, executing: () => 0, ready: () => 0, memory: () => ({ managed: 0, spilled: 0, process: 0 }) as ReturnType<WorkerMetricsSource['memory']>, paused: () => false, peerPortBytes: () => ({ read: 0, written: 0 }) })
  const families = async () => new Map((parsePrometheusTextFormat(await metrics.registry.metrics()) as Family[]).map((f) => [f.name, f]))
  const start = performance.now() - 3 // 3 ms ago: every duration lands between the 2.5 ms and the 1 s bucket
  // More than are kept unobserved between scrapes: the overflow is observed on the way, none lost.
  for (let i = 0; i < 2500; i++) metrics.transferArrived(start, 100)
  metrics.transferFailed()
  let f = await families()
  t.is(value(f, 'skein_worker_transfers_total', { outcome: 'ok' }), 2500)
  t.is(value(f, 'skein_worker_transfers_total', { outcome: 'failed' }), 1)
  t.is(value(f, 'skein_worker_transfer_received_bytes_total'), 250_000)
  const durations = f.get('skein_worker_transfer_duration_seconds')!.metrics[0]
  t.is(Number(durations.count), 2500)
  t.is(Number(durations.buckets!['0.0025']), 0)
  t.is(Number(durations.buckets!['1']), 2500)
  // A second scrape counts on from the first, and the heartbeat's list is bounded on its own.
  metrics.transferArrived(performance.now(), 7)
  f = await families()
  t.is(value(f, 'skein_worker_transfers_total', { outcome: 'ok' }), 2501)
  t.is(value(f, 'skein_worker_transfer_received_bytes_total'), 250_007)
  t.is(Number(f.get('skein_worker_transfer_duration_seconds')!.metrics[0].count), 2501)
  t.true(metrics.takeTransfers().length <= 3 * 2501)
})
