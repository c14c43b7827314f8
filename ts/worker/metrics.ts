import type http from 'node:http'
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { MAX_HEARTBEAT_TRANSFERS, type WorkerMemory } from '../protocol'

/**
 * Transfer durations kept for the histogram until a scrape reads them; past this many they are
 * handed to it at once. A prom-client observe per transfer (and a labelled inc: it hashes its
 * labels) was a visible part of the I/O thread in all-to-all workloads, which fetch one small
 * input per task.
 */
const MAX_PENDING_DURATIONS = 1024

/** What a scrape reads from the worker: state it keeps anyway. */
export interface WorkerMetricsSource {
  slots: number
  /** Tasks handed to execution threads and not back yet. */
  executing(): number
  /** Ready tasks waiting for a free slot. */
  ready(): number
  memory(): WorkerMemory
  paused(): boolean
  /** Bytes read from and written to the peer port (TCP), where other workers and clients get and put data. */
  peerPortBytes(): { read: number; written: number }
}

/**
 * The worker's Prometheus metrics, served at `GET /metrics` on its peer port. Gauges are read at
 * scrape time; transfers (inputs fetched from other workers) are counted in plain numbers as
 * they arrive (the fetch carries its start), and prom-client reads them at scrape time.
 */
export class WorkerMetrics {
  readonly registry = new Registry()
  private source: WorkerMetricsSource | undefined
  private receivedBytes = 0
  private transfersOk = 0
  private transfersFailed = 0
  /** Durations (seconds) not yet observed by the histogram. */
  private pendingSeconds: number[] = []
  private readonly transferSeconds: Histogram
  private loopDelay: IntervalHistogram | undefined
  /** Transfers that arrived since the last heartbeat: [start ms, end ms (since the epoch), bytes, ...]. */
  private recent: number[] = []

  constructor() {
    const registers = [this.registry]
    const metrics = this
    new Counter({
      name: 'skein_worker_transfer_received_bytes_total',
      help: 'Bytes of inputs fetched from other workers',
      registers,
      collect() {
        this.reset()
        this.inc(metrics.receivedBytes)
      },
    })
    new Counter({
      name: 'skein_worker_transfers_total',
      help: 'Inputs fetched from other workers, by outcome (ok, or failed: no holder gave it)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset()
        this.inc({ outcome: 'ok' }, metrics.transfersOk)
        this.inc({ outcome: 'failed' }, metrics.transfersFailed)
      },
    })
    this.transferSeconds = new Histogram({
      name: 'skein_worker_transfer_duration_seconds',
      help: 'Time from asking for an input held elsewhere to having it (holders retried included)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
      collect() {
        metrics.observePending()
      },
    })
    const read = () => {
      if (metrics.source === undefined) throw new Error('the worker has not started')
      return metrics.source
    }
    new Gauge({
      name: 'skein_worker_tasks',
      help: 'Tasks on this worker: executing (handed to an execution thread) and ready (waiting for a free slot)',
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'executing' }, read().executing())
        this.set({ state: 'ready' }, read().ready())
      },
    })
    new Gauge({
      name: 'skein_worker_slots',
      help: 'Execution slots (threads)',
      registers,
      collect() {
        this.set(read().slots)
      },
    })
    new Gauge({
      name: 'skein_worker_memory_bytes',
      help: 'Memory: managed (values kept), spilled (of which on disk), process (resident set)',
      labelNames: ['kind'],
      registers,
      collect() {
        const m = read().memory()
        this.set({ kind: 'managed' }, m.managed)
        this.set({ kind: 'spilled' }, m.spilled)
        this.set({ kind: 'process' }, m.process)
      },
    })
    new Gauge({
      name: 'skein_worker_paused',
      help: '1 while the memory monitor has paused the worker (it starts no new task), else 0',
      registers,
      collect() {
        this.set(read().paused() ? 1 : 0)
      },
    })
    new Counter({
      name: 'skein_worker_peer_received_bytes_total',
      help: 'Bytes received on the peer port (requests, scattered data)',
      registers,
      collect() {
        this.reset()
        this.inc(read().peerPortBytes().read)
      },
    })
    new Counter({
      name: 'skein_worker_peer_sent_bytes_total',
      help: 'Bytes sent on the peer port (data served to other workers and clients)',
      registers,
      collect() {
        this.reset()
        this.inc(read().peerPortBytes().written)
      },
    })
    new Gauge({
      name: 'skein_worker_event_loop_delay_seconds',
      help: "Delay of the worker's I/O thread event loop since the previous scrape (p50, p99, max)",
      labelNames: ['stat'],
      registers,
      collect() {
        const h = (metrics.loopDelay ??= startLoopDelay())
        const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0)
        this.set({ stat: 'p50' }, seconds(h.percentile(50)))
        this.set({ stat: 'p99' }, seconds(h.percentile(99)))
        this.set({ stat: 'max' }, seconds(h.max))
        h.reset()
      },
    })
  }

  attach(source: WorkerMetricsSource): void {
    this.source = source
  }

  /** A fetch that started at `startMs` (performance.now()) arrived, `bytes` long. */
  transferArrived(startMs: number, bytes: number): void {
    this.receivedBytes += bytes
    this.transfersOk++
    const now = performance.now()
    this.pendingSeconds.push((now - startMs) / 1000)
    if (this.pendingSeconds.length >= MAX_PENDING_DURATIONS) this.observePending()
    if (this.recent.length < MAX_HEARTBEAT_TRANSFERS * 3) this.recent.push(performance.timeOrigin + startMs, performance.timeOrigin + now, bytes)
  }

  /** The transfers that arrived since the last call (at most MAX_HEARTBEAT_TRANSFERS), for the heartbeat. */
  takeTransfers(): number[] {
    const taken = this.recent
    this.recent = []
    return taken
  }

  /** No holder gave an input. */
  transferFailed(): void {
    this.transfersFailed++
  }

  private observePending(): void {
    const pending = this.pendingSeconds
    this.pendingSeconds = []
    for (const seconds of pending) this.transferSeconds.observe(seconds)
  }

  /** Serves GET /metrics (read-only counts, no token needed, like the scheduler's); anything else is 404. */
  respond(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('skein worker: try GET /metrics, or a WebSocket connection for data\n')
      return
    }
    this.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
    )
  }

  close(): void {
    this.loopDelay?.disable()
  }
}

function startLoopDelay(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  return h
}
