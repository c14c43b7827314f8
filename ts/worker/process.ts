import os from 'node:os'
import { SkeinError, type TlsOptions } from '../protocol'
import { createLogger, type LogLevel } from '../log'
import { DEFAULT_DEATH_TIMEOUT_MS, SchedulerUnreachableError } from './scheduler-wait'
import { Worker, type WorkerOptions } from './worker'

/** The `tls` option from --tls-* flags (files), or undefined when none is given; Worker checks the rest. */
export function tlsFromArgs(cert: string | undefined, key: string | undefined, ca: string | undefined, requireClientCert: boolean | undefined): TlsOptions | undefined {
  if (cert === undefined && key === undefined && ca === undefined && !requireClientCert) return undefined
  const tls: TlsOptions = {}
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (ca !== undefined) tls.ca = ca
  if (requireClientCert) tls.requireClientCert = true
  return tls
}

/**
 * Exit codes of a worker process. A supervisor restarts one that `failed`; one that was
 * `refused` or found its scheduler `gone` would only fail the same way again.
 */
export const WorkerExitCode = {
  /** Stopped by a signal, or its parent went away. */
  stopped: 0,
  /** Past its memory's terminate threshold, or it could not start for another reason. */
  failed: 1,
  /** The scheduler refused it (token, TLS, name, options) or its options are wrong. */
  refused: 2,
  /** No scheduler answered within the death timeout. */
  gone: 3,
} as const

export interface WorkerProcessOptions extends WorkerOptions {
  /** Its ready line at debug, not info (LocalCluster's workers). */
  quiet?: boolean
  /** Records below this level are not written (default SKEIN_LOG_LEVEL, else info); ignored when `log` is given. */
  logLevel?: LogLevel
}

/**
 * Runs a worker as this process's only job: logs one line when ready, exits on
 * SIGINT/SIGTERM and (when forked with an IPC channel) when the parent goes away,
 * so it never outlives it. A worker that loses its scheduler is replaced by a
 * fresh one (same name, no data: the scheduler that comes back knows none of it)
 * that waits up to the death timeout for the scheduler; past that the process
 * exits with WorkerExitCode.gone.
 */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  if (process.send) process.on('disconnect', () => process.exit(WorkerExitCode.stopped))
  // The token is the worker's, not its tasks': they (and what they start) do not inherit it.
  const token = options.token ?? (options.tokenFile === undefined ? process.env.SKEIN_TOKEN || undefined : undefined)
  delete process.env.SKEIN_TOKEN
  const { quiet, logLevel, ...workerOptions } = options
  // One name for every worker this process runs, so a restarted scheduler sees the same one come back.
  const name = options.name ?? `${os.hostname()}-${process.pid}`
  // JSON lines on stderr unless it is a terminal; a LocalCluster parses them and logs them itself.
  const root = createLogger(options.log ?? { level: logLevel }, 'skein worker').child({ pid: process.pid })
  const log = root.child({ component: name })
  const base: WorkerOptions = { ...workerOptions, name, token, log: root }
  const waitMs = options.deathTimeoutMs ?? DEFAULT_DEATH_TIMEOUT_MS
  let worker: Worker | undefined
  let stopping = false
  const stop = () => {
    stopping = true
    // Between workers (waiting for the scheduler) there is nothing to close.
    if (worker === undefined) process.exit(WorkerExitCode.stopped)
    void worker.close().then(() => process.exit(WorkerExitCode.stopped))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let lostAt = 0
  for (;;) {
    try {
      worker = await Worker.start({ ...base, rejoining: lostAt !== 0 })
    } catch (err) {
      const e = err as Error
      log.error({ scheduler: options.scheduler }, `${lostAt === 0 ? '' : 'lost its scheduler and '}${e.message}`)
      process.exit(e instanceof SchedulerUnreachableError ? WorkerExitCode.gone : e instanceof SkeinError ? WorkerExitCode.refused : WorkerExitCode.failed)
    }
    if (stopping) return stop()
    if (lostAt === 0) {
      log[quiet ? 'debug' : 'info']({ address: worker.address, scheduler: options.scheduler }, `(id ${worker.id}) ready: ${worker.slots} slot(s), peer server ${worker.address}, scheduler ${options.scheduler}`)
    } else {
      log.info({ address: worker.address, scheduler: options.scheduler }, `rejoined the scheduler at ${options.scheduler} after ${((Date.now() - lostAt) / 1000).toFixed(1)} s as id ${worker.id}, peer server ${worker.address}`)
    }
    await worker.closed
    if (stopping) return
    if (!worker.lostScheduler) process.exit(worker.exitCode)
    lostAt = Date.now()
    worker = undefined
    log.warn({ scheduler: options.scheduler }, `lost the scheduler at ${options.scheduler}; waiting up to ${(waitMs / 1000).toFixed(1)} s for it (--death-timeout), then joining afresh without the data it held`)
  }
}
