/**
 * What the dashboard page gets over its WebSocket (JSON), and what a performance report
 * inlines: one shape for both, so the page draws either. Types only: the page's bundle
 * (dashboard/) imports them too.
 */

/** Tasks of one prefix: live ones per state, and `done`: finished and let go since it last became busy. */
export interface PrefixProgressRow {
  prefix: string
  waiting: number
  queued: number
  noWorker: number
  processing: number
  memory: number
  erred: number
  released: number
  done: number
}

export interface WorkerRow {
  id: number
  name: string
  address: string
  slots: number
  /** Tasks running on its execution threads, and ready ones waiting for a slot (as of its last heartbeat). */
  executing: number
  ready: number
  /** Bytes: values kept (managed), of which on disk (spilled), and the process's resident set. */
  memory: { managed: number; spilled: number; process: number }
  /** CPU use of the worker process since its previous heartbeat, in percent of one core. */
  cpu: number
  /** Bytes its peer server sent and received (values fetched by peers and clients, inputs put). */
  sent: number
  received: number
  /** Milliseconds since its last heartbeat. */
  lastSeenMs: number
  paused: boolean
}

export interface SchedulerRow {
  tasks: { released: number; waiting: number; queued: number; noWorker: number; processing: number; memory: number; erred: number }
  /** Runs that ended per second, over the last update interval. */
  tasksPerSecond: number
  workers: number
  clients: number
  /** Delay of the scheduler thread's event loop since the previous update (ms). */
  loopDelayMs: { p50: number; p99: number; max: number }
  transitions: number
}

/** One update: the full state of the small parts, and the runs that ended since the previous one. */
export interface DashboardUpdate {
  /** The scheduler's clock at this update (ms since the epoch). */
  now: number
  scheduler: SchedulerRow
  prefixes: PrefixProgressRow[]
  workers: WorkerRow[]
  /** New runs: [worker id, prefix id, start ms, end ms, erred (0/1), ...]. */
  runs: number[]
  /** Prefix names by prefix id; sent in full whenever a new one appeared, else null. */
  prefixNames: string[] | null
  /** Runs that ended but are not in any update (more than the page may get in one). */
  dropped: number
}

/** A key's story, answered to the page's search. */
export interface StoryReply {
  story: { key: string; state: string | null; transitions: [from: string, to: string, stimulus: string][] }
}

/** The data a performance report inlines (see performanceReport). */
export interface ReportData {
  title: string
  start: number
  end: number
  runs: number[]
  prefixes: string[]
  workers: [id: number, name: string, slots: number][]
  dropped: number
}
