import type { RemoteFailure } from '../graph'

/** Base of every error skein raises on the client; `code` is stable, the message is for people. */
export class SkeinError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }

  override get name(): string {
    return this.constructor.name
  }
}

/**
 * A task threw on its worker (or a task it depends on did). `key` is the
 * task awaited; `causeKey` the task that threw, equal to `key` when it was
 * this one. The remote message and stack are kept as sent.
 */
export class TaskError extends SkeinError {
  readonly remoteName: string
  readonly remoteMessage: string
  readonly remoteStack: string

  constructor(
    readonly key: string,
    readonly causeKey: string,
    remote: RemoteFailure,
  ) {
    super(
      'SKEIN_TASK_FAILED',
      key === causeKey
        ? `task ${key} failed: ${remote.name}: ${remote.message}`
        : `task ${key} failed because its dependency ${causeKey} failed: ${remote.name}: ${remote.message}`,
    )
    this.remoteName = remote.name
    this.remoteMessage = remote.message
    this.remoteStack = remote.stack
    if (remote.stack) this.stack = `${this.stack ?? ''}\n--- remote stack of ${causeKey} ---\n${remote.stack}`
  }
}

/** A task was running on workers that died, too many times; `workers` names them. */
export class KilledWorkerError extends SkeinError {
  constructor(
    readonly key: string,
    readonly causeKey: string,
    readonly workers: readonly string[],
  ) {
    super(
      'SKEIN_KILLED_WORKER',
      `task ${causeKey} was running on workers that died (${workers.join(', ') || 'unnamed'}); it is not retried again` +
        (key === causeKey ? '' : ` (awaited: ${key}, which depends on it)`),
    )
  }
}

/** Scattered data whose only holder left; it cannot be recomputed. */
export class LostDataError extends SkeinError {
  constructor(
    readonly key: string,
    readonly causeKey: string,
  ) {
    super(
      'SKEIN_LOST_DATA',
      `data ${causeKey} was lost: the only worker holding it left, and scattered data cannot be recomputed` +
        (key === causeKey ? '' : ` (awaited: ${key}, which depends on it)`),
    )
  }
}

export class CancelledError extends SkeinError {
  constructor(readonly key: string) {
    super('SKEIN_CANCELLED', `task ${key} was cancelled`)
  }
}

/** The scheduler refused a request; `code` is the scheduler's, e.g. SKEIN_CYCLE or SKEIN_UNKNOWN_DEPENDENCY. */
export class SchedulerError extends SkeinError {}

/** The connection to the scheduler is gone (closed by `client.close()` or dropped). */
export class ConnectionClosedError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_CONNECTION_CLOSED', message)
  }
}

/** A future was used after `release()`. */
export class ReleasedFutureError extends SkeinError {
  constructor(readonly key: string) {
    super('SKEIN_RELEASED', `the future for ${key} was released and can no longer be awaited or used as an argument`)
  }
}

/** No worker joined within the time allowed. */
export class NoWorkersError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_NO_WORKERS', message)
  }
}
