import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import { Counter, Gauge, Registry } from 'prom-client'
import type { CoreCounts, CoreStats, PrefixTotals } from './native'

/** A prefix's live tasks per state. */
export type PrefixCounts = Omit<PrefixTotals, 'forgotten'>

/** Per-prefix series beyond this many prefixes are summed under prefix="(other)", so a graph with many function names cannot blow up a scrape. */
export const MAX_PREFIX_SERIES = 50

const STATES = ['released', 'waiting', 'queued', 'no-worker', 'processing', 'memory', 'erred'] as const
type StateName = (typeof STATES)[number]
type ByState = Record<StateName, number>

/** What a scrape reads: state the scheduler keeps anyway, read only when Prometheus asks. */
export interface SchedulerMetricsSource {
  counts(): Omit<CoreCounts, 'workers' | 'clients'>
  prefixTotals(): PrefixTotals[]
  stats(): CoreStats
  /** Processing tasks seceded from their worker's slot. */
  longRunning(): number
  workers(): number
  clients(): number
  workerMemory(): { managed: number; spilled: number; process: number; paused: number }
  connections(): { total: number; pending: number }
  /** Bytes read from and written to the scheduler's port (TCP, all connections since start). */
  portBytes(): { read: number; written: number }
}

/**
 * The scheduler's Prometheus metrics (`GET /metrics`). Every value is computed at scrape time from
 * state the scheduler already keeps: nothing here runs per task. The per-prefix series read the
 * core's per-prefix counters (a pass over the prefixes, not the tasks).
 */
export class SchedulerMetrics {
  readonly registry = new Registry()
  private readonly loopDelay: IntervalHistogram
  /** Read once per scrape for the families that use it. */
  private prefixes: PrefixTotals[] = []

  constructor(private readonly source: SchedulerMetricsSource) {
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 })
    this.loopDelay.enable()
    const registers = [this.registry]
    const loopDelay = this.loopDelay
    const prefixes = () => this.prefixes

    new Gauge({
      name: 'skein_scheduler_tasks',
      help: 'Live tasks per state',
      labelNames: ['state'],
      registers,
      collect() {
        const c = source.counts()
        setByState(this, toByState(c))
      },
    })
    new Gauge({
      name: 'skein_scheduler_prefix_tasks',
      help: `Live tasks per task prefix (function name) and state; beyond ${MAX_PREFIX_SERIES} prefixes, the smallest are summed under prefix="(other)"`,
      labelNames: ['prefix', 'state'],
      registers,
      collect() {
        this.reset()
        for (const [prefix, counts] of boundedPrefixes(prefixes().filter((p) => liveTasks(p) > 0))) setByState(this, counts, prefix)
      },
    })
    counter(registers, 'skein_scheduler_tasks_forgotten_total', 'Tasks forgotten (done with and dropped) since start', () => prefixes().reduce((sum, p) => sum + p.forgotten, 0))
    counter(registers, 'skein_scheduler_transitions_total', 'Task state transitions since start (rate() gives transitions per second)', () => source.stats().transitions)
    counter(registers, 'skein_scheduler_computes_total', 'Compute instructions sent to workers since start', () => source.stats().computes)
    counter(registers, 'skein_scheduler_steal_requests_total', 'Steal requests sent to workers since start', () => source.stats().stealRequests)
    counter(registers, 'skein_scheduler_steals_total', 'Tasks moved to another worker by work stealing since start', () => source.stats().stolen)
    counter(registers, 'skein_scheduler_steals_refused_total', 'Steal requests refused (the task had started) since start', () => source.stats().stealRefused)
    counter(registers, 'skein_scheduler_recomputes_total', 'Results recomputed because the last worker holding them was removed', () => source.stats().lostResults)
    counter(registers, 'skein_scheduler_rescheduled_tasks_total', 'Tasks that were processing on a removed worker (run again or erred)', () => source.stats().rescheduled)
    counter(registers, 'skein_scheduler_worker_removals_total', 'Workers removed since start (left, unresponsive or stalled)', () => source.stats().workersRemoved)
    counter(registers, 'skein_scheduler_heartbeat_timeouts_total', 'Workers removed for missing their heartbeats', () => source.stats().heartbeatTimeouts)
    counter(registers, 'skein_scheduler_stalled_worker_removals_total', 'Workers removed for sitting on their tasks', () => source.stats().stalledWorkers)
    counter(registers, 'skein_scheduler_executor_deaths_total', 'Execution threads a task ended while its worker lived on', () => source.stats().executorsDied)
    counter(registers, 'skein_scheduler_stalls_total', 'Timer ticks so late that the scheduler itself had stalled', () => source.stats().stalls)
    counter(registers, 'skein_scheduler_received_bytes_total', "Bytes received on the scheduler's port (TCP)", () => source.portBytes().read)
    counter(registers, 'skein_scheduler_sent_bytes_total', "Bytes sent on the scheduler's port (TCP)", () => source.portBytes().written)
    gauge(registers, 'skein_scheduler_long_running_tasks', "Processing tasks that gave their worker's slot up while they wait for tasks they submitted", () => source.longRunning())
    gauge(registers, 'skein_scheduler_workers', 'Connected workers', () => source.workers())
    gauge(registers, 'skein_scheduler_workers_paused', 'Workers paused by their memory monitor', () => source.workerMemory().paused)
    gauge(registers, 'skein_scheduler_clients', 'Connected clients', () => source.clients())
    gauge(registers, 'skein_scheduler_connections', "Open connections to the scheduler's port (clients, workers and those still in their handshake)", () => source.connections().total)
    new Gauge({
      name: 'skein_scheduler_worker_memory_bytes',
      help: "The workers' memory as they last reported it, summed: managed (values kept), spilled (of which on disk), process (resident set)",
      labelNames: ['kind'],
      registers,
      collect() {
        const m = source.workerMemory()
        this.set({ kind: 'managed' }, m.managed)
        this.set({ kind: 'spilled' }, m.spilled)
        this.set({ kind: 'process' }, m.process)
      },
    })
    new Gauge({
      name: 'skein_scheduler_event_loop_delay_seconds',
      help: "Delay of the scheduler thread's event loop since the previous scrape (p50, p99, max)",
      labelNames: ['stat'],
      registers,
      collect() {
        const h = loopDelay
        const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0)
        this.set({ stat: 'p50' }, seconds(h.percentile(50)))
        this.set({ stat: 'p99' }, seconds(h.percentile(99)))
        this.set({ stat: 'max' }, seconds(h.max))
        h.reset()
      },
    })
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    this.prefixes = this.source.prefixTotals()
    return { body: await this.registry.metrics(), contentType: this.registry.contentType }
  }

  close(): void {
    this.loopDelay.disable()
  }
}

function counter(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset()
      this.inc(read())
    },
  })
}

function gauge(registers: Registry[], name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read())
    },
  })
}

function toByState(c: Omit<PrefixCounts, 'prefix'>): ByState {
  return {
    released: c.released,
    waiting: c.waiting,
    queued: c.queued,
    'no-worker': c.noWorker,
    processing: c.processing,
    memory: c.memory,
    erred: c.erred,
  }
}

function liveTasks(p: PrefixCounts): number {
  return p.released + p.waiting + p.queued + p.noWorker + p.processing + p.memory + p.erred
}

function setByState(gauge: Gauge, counts: ByState, prefix?: string): void {
  for (const state of STATES) gauge.set(prefix === undefined ? { state } : { prefix, state }, counts[state])
}

/** The largest MAX_PREFIX_SERIES prefixes by live tasks, the rest summed as '(other)'. */
export function boundedPrefixes(prefixes: readonly PrefixCounts[]): [string, ByState][] {
  const sorted = prefixes.length > MAX_PREFIX_SERIES ? [...prefixes].sort((a, b) => liveTasks(b) - liveTasks(a)) : prefixes
  const out: [string, ByState][] = sorted.slice(0, MAX_PREFIX_SERIES).map((p) => [p.prefix, toByState(p)])
  if (sorted.length > MAX_PREFIX_SERIES) {
    const other: ByState = { released: 0, waiting: 0, queued: 0, 'no-worker': 0, processing: 0, memory: 0, erred: 0 }
    for (const p of sorted.slice(MAX_PREFIX_SERIES)) {
      const s = toByState(p)
      for (const state of STATES) other[state] += s[state]
    }
    out.push(['(other)', other])
  }
  return out
}
