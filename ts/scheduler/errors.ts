import { SkeinError } from '../client'

/** `new Scheduler(options)` got an option it does not know, or a value of the wrong type. */
export class SchedulerOptionsError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}

/**
 * The scheduler's thread died (an uncaught error in the scheduler, or the
 * thread ended): its workers and clients were disconnected and every call on
 * the Scheduler fails with this error.
 */
export class SchedulerCrashedError extends SkeinError {
  constructor(readonly reason: string) {
    super('SKEIN_SCHEDULER_CRASHED', `the scheduler thread crashed: ${reason}`)
  }
}

/** A call that waits for the scheduler's thread got no answer in time (the thread is stuck). */
export class SchedulerUnresponsiveError extends SkeinError {
  constructor(what: string, waitedMs: number) {
    super('SKEIN_SCHEDULER_UNRESPONSIVE', `the scheduler thread did not answer ${what} within ${waitedMs} ms`)
  }
}

/** A call on a Scheduler after close(). */
export class SchedulerClosedError extends SkeinError {
  constructor(what: string) {
    super('SKEIN_SCHEDULER_CLOSED', `${what}: the scheduler is closed`)
  }
}

/** A client's shipped function was refused: keeping its source would pass a bound on function sources. */
export class FunctionQuotaError extends SkeinError {
  constructor(hash: string, name: string, bytes: number, why: string) {
    super('SKEIN_FUNCTION_QUOTA', `shipped function ${JSON.stringify(name.slice(0, 100))} (hash ${JSON.stringify(hash.slice(0, 64))}, ${bytes} bytes) refused: ${why}`)
  }
}

/**
 * An event log could not be read or written. `code`: SKEIN_EVENT_LOG_CORRUPT (a block fails its
 * checksum or a record its layout), SKEIN_EVENT_LOG_TRUNCATED (the file ends inside a block),
 * SKEIN_EVENT_LOG_NOT_A_LOG, SKEIN_EVENT_LOG_VERSION or SKEIN_EVENT_LOG_IO. `offset`: the byte
 * offset in the file where reading stopped, when known.
 */
export class EventLogError extends SkeinError {
  constructor(
    code: string,
    message: string,
    readonly offset: number | undefined,
  ) {
    super(code, message)
  }
}
