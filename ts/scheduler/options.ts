import { checkOptions, isPlainObject, type OptionKind, type ResolvedTls, type TlsOptions } from '../protocol'
import { isLogOption, LOG_OPTION_EXPECTED, type LogOption } from '../log'
import type { NativeCoreOptions } from './native'
import { SchedulerOptionsError } from './errors'

export interface SchedulerOptions {
  /** Options of the native scheduling core (heartbeat timeout, saturation, ...). */
  core?: NativeCoreOptions
  /** Milliseconds between core timer ticks (heartbeat timeouts, work stealing). Default 100. */
  tickIntervalMs?: number
  /**
   * Workers silent (no heartbeat) this long are removed and their work rescheduled.
   * Default 30 000; overrides `core.heartbeatTimeout` (seconds). Workers heartbeat every
   * second by default, and a synchronous task blocks its worker's heartbeats while it runs.
   */
  heartbeatTimeoutMs?: number
  /** Move queued tasks from saturated workers to idle ones (default true); overrides `core.workStealing`. */
  workStealing?: boolean
  /** Frames larger than this are refused and their connection closed. Default MAX_FRAME_BYTES (256 MiB). */
  maxFrameBytes?: number
  /**
   * Bytes of shipped function sources (UTF-8, with their names) one client connection may have
   * registered; past it a function is refused with SKEIN_FUNCTION_QUOTA. Default 64 MiB.
   */
  maxFunctionBytesPerClient?: number
  /** Bytes of shipped function sources all connected clients together may have registered. Default 512 MiB. */
  maxFunctionBytes?: number
  /**
   * Where its log records go (component 'scheduler'): refused input and trouble at `warn`, workers
   * and clients joining and leaving at `info` with `verbose`, else at `debug`. A function receives
   * `(msg, record)`; or settings `{ level, destination, format }`, a pino logger, or false for none.
   * Default: stderr at SKEIN_LOG_LEVEL, else info (see README, Logging). Written on the thread
   * that created the Scheduler, so a record can arrive late while that thread is busy.
   */
  log?: LogOption
  /** Log workers and clients joining and leaving at info, not debug (the standalone CLI scheduler does). Default false. */
  verbose?: boolean
  /**
   * Run the scheduler on a thread of its own (default true), where nothing the calling thread
   * does can stall it. `false` runs it on the calling thread, as one more part of its event loop:
   * a lone task's round trip from an in-process client is then about 80 us shorter (two fewer
   * hops between threads), but while that thread is busy the scheduler waits too, and a wait
   * longer than the heartbeat timeout can cost workers whose heartbeats it could not read.
   */
  thread?: boolean
  /**
   * The cluster's shared secret: every client, worker and peer connection must prove it holds it
   * (by HMAC challenge; it never crosses the wire). At least 16 characters. Default: a random
   * token made at start, readable as `scheduler.token`.
   */
  token?: string
  /** Read the token from this file instead. */
  tokenFile?: string
  /**
   * Accept connections without a token. Anyone who can reach the port can then run code on the
   * workers: only for a network where everyone is trusted. Logged as a warning at listen().
   */
  insecure?: boolean
  /** Browser Origins allowed to connect (exact match); a WebSocket from any other page is refused. Default none. */
  allowedOrigins?: string[]
  /** A connection must authenticate and say hello within this; default 10 000 ms. */
  helloTimeoutMs?: number
  /** Connections at once in all (default 10 000) and still in their handshake (default 256); more are refused. */
  maxConnections?: number
  maxPendingConnections?: number
  /**
   * A client or worker that stops reading is disconnected (with a log line) once more than this
   * waits to be sent to it; default 256 MiB. Nothing else waits for it meanwhile.
   */
  maxSendQueueBytes?: number
  /**
   * Serve TLS: the address becomes wss://, clients and workers verify the scheduler's certificate
   * against their CA. `cert` and `key` are required (file paths or PEM); with `requireClientCert`,
   * every client and worker must present a certificate signed by `ca` (mutual TLS). The token
   * handshake still runs inside TLS.
   */
  tls?: TlsOptions
  /**
   * Record every event that enters the scheduling core into this file (created, or emptied if it
   * exists), compactly and in order, with a digest of every batch of messages the core sent out:
   * `skein replay FILE` then runs the same events through a fresh core and checks it sends the
   * same. About 110 bytes per no-op task (README: Event log and replay); the last tick interval's events are lost if the process dies.
   */
  eventLog?: string
  /**
   * Serve the dashboard (a live web page of the task stream, progress per task prefix, workers
   * and the scheduler) on a port of its own; default true. With a token, the page asks for it.
   */
  dashboard?: boolean
  /**
   * Where the dashboard listens: 'host:port', or ':port' on the scheduler's host. Default ':8787'
   * (when that port is taken, a free one: see `scheduler.dashboardLink`); ':0' always picks a free one.
   */
  dashboardAddress?: string
}

/**
 * The options the scheduler itself runs with, wherever it runs: all but where, and the log callback
 * (which stays on the caller's thread); the token resolved (null: insecure).
 */
export type RuntimeOptions = Omit<SchedulerOptions, 'log' | 'thread' | 'token' | 'tokenFile' | 'insecure' | 'tls'> & { token: string | null; tls?: ResolvedTls | null }

/** The options of the native core, by kind (also what a replay's `core` may override). */
export const CORE_OPTIONS: Record<keyof NativeCoreOptions, OptionKind> = {
  allowedFailures: 'number',
  saturationHorizon: 'number',
  maxTasksPerSlot: 'number',
  defaultTaskDuration: 'number',
  bandwidth: 'number',
  heartbeatTimeout: 'number',
  validate: 'boolean',
  workStealing: 'boolean',
  stealMinDuration: 'number',
  stallTimeout: 'number',
  eventLog: 'string',
}

const OPTIONS: Record<keyof SchedulerOptions, OptionKind> = {
  core: 'object',
  tickIntervalMs: 'number',
  heartbeatTimeoutMs: 'number',
  workStealing: 'boolean',
  maxFrameBytes: 'number',
  maxFunctionBytesPerClient: 'number',
  maxFunctionBytes: 'number',
  log: { test: isLogOption, expected: LOG_OPTION_EXPECTED },
  verbose: 'boolean',
  thread: 'boolean',
  token: 'string',
  tokenFile: 'string',
  insecure: 'boolean',
  allowedOrigins: 'strings',
  helloTimeoutMs: 'number',
  maxConnections: 'number',
  maxPendingConnections: 'number',
  maxSendQueueBytes: 'number',
  tls: 'object',
  eventLog: 'string',
  dashboard: 'boolean',
  dashboardAddress: 'string',
}

/**
 * Refuses unknown options and values of the wrong type here, synchronously: the core is built on
 * the scheduler's thread, where a bad option would only surface later as a crash.
 */
export function checkSchedulerOptions(options: unknown): asserts options is SchedulerOptions {
  const fail = (message: string) => new SchedulerOptionsError(message)
  checkOptions('Scheduler', options, OPTIONS, fail)
  if (!isPlainObject(options)) return
  if (options.core !== undefined) checkOptions('Scheduler', options.core, CORE_OPTIONS, fail, 'core.')
  if (options.insecure === true && (options.token !== undefined || options.tokenFile !== undefined)) {
    throw new SchedulerOptionsError(`Scheduler options 'insecure' and '${options.token !== undefined ? 'token' : 'tokenFile'}' contradict each other: an insecure scheduler checks no token`)
  }
  if (options.dashboardAddress !== undefined) parseDashboardAddress(options.dashboardAddress as string)
  for (const name of ['tickIntervalMs', 'heartbeatTimeoutMs', 'maxFrameBytes', 'helloTimeoutMs', 'maxConnections', 'maxPendingConnections', 'maxSendQueueBytes', 'maxFunctionBytesPerClient', 'maxFunctionBytes'] as const) {
    const value = options[name] as number | undefined // a number: checkOptions saw to that
    if (value !== undefined && !(value > 0)) throw new SchedulerOptionsError(`Scheduler option '${name}' must be a positive number, not ${value}`)
  }
}

/** The dashboard's port when none is given, as Dask's. */
export const DEFAULT_DASHBOARD_PORT = 8787

/** 'host:port', ':port' or 'port' as [host or null (the scheduler's), port]; throws SchedulerOptionsError naming what is wrong. */
export function parseDashboardAddress(address: string): [host: string | null, port: number] {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(address.trim())
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new SchedulerOptionsError(`Scheduler option 'dashboardAddress' must be 'host:port' or ':port' (port 0 to 65535), not '${address.slice(0, 100)}'`)
  }
  const host = m[1] === undefined || m[1] === '' ? null : m[1].replace(/^\[(.*)\]$/, '$1')
  return [host, port]
}
