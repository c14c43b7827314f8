import type { InProcessSocket, WorkerInfo } from '../protocol'
import type { SchedulerCrashedError } from './errors'
import type { LogFields, NoticeLevel } from '../log'
import type { SchedulerHealth } from './runtime'

/** Small reads of the scheduler's state that the Scheduler answers synchronously. */
export type SchedulerRead = 'health' | 'stats' | 'state' | 'workers' | 'dashboard'

export interface BackendEvents {
  log(line: string, level?: NoticeLevel, fields?: LogFields): void
  workers(workers: readonly WorkerInfo[]): void
  crashed(error: SchedulerCrashedError): void
}

/**
 * Where a Scheduler's SchedulerRuntime runs: on a thread of its own
 * (SchedulerThread, the default) or on the caller's thread (InlineScheduler).
 */
export interface SchedulerBackend {
  /** The error every call fails with once the scheduler died, if it did. */
  readonly crashed: SchedulerCrashedError | undefined
  /** Opens the port; resolves with its number. From then on the scheduler keeps the process alive, as a listening server does. */
  listen(host: string, port: number): Promise<number>
  /**
   * Closes every connection and the port, and releases what the scheduler ran on; resolves with
   * the state at that moment, or undefined if the scheduler had crashed.
   */
  close(): Promise<SchedulerHealth | undefined>
  read(what: SchedulerRead, key?: string): unknown
  /** A new in-process connection: the client's end; the other is served by the scheduler. */
  connect(): InProcessSocket
}
