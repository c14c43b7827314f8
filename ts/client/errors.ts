import { SkeinError } from '../protocol/errors'
import type { RemoteCause, RemoteFailure } from '../graph/remote-failure'

export { SkeinError, AuthenticationError, ProtocolVersionError, SecurityOptionsError } from '../protocol/errors'

/**
 * What user code threw on a worker, as it travelled: the remote name, message and stack, the
 * thrown Error's `code` (as `remoteCode`), its `cause` (an Error again) and its own enumerable
 * fields; a thrown non-Error in `thrown`. Empty when the failure was not a throw (`remote` null).
 */
export abstract class RemoteError extends SkeinError {
  readonly remoteName: string
  readonly remoteMessage: string
  readonly remoteStack: string
  /** The `code` of the Error that was thrown, if it had a string or number one. */
  readonly remoteCode: string | number | undefined
  /** The thrown Error's own enumerable fields (those that could travel). */
  readonly fields: Readonly<Record<string, unknown>>
  /** Whether a value that is not an Error was thrown; then `thrown` is that value. */
  readonly threwValue: boolean
  readonly thrown: unknown

  /** `where` names the remote stack appended to this one ("of KEY", "on worker NAME"). */
  constructor(code: string, message: string, remote: RemoteFailure | null, where: string) {
    super(code, message)
    this.remoteName = remote?.name ?? ''
    this.remoteMessage = remote?.message ?? ''
    this.remoteStack = remote?.stack ?? ''
    this.remoteCode = remote?.code
    this.fields = remote?.fields ?? {}
    this.threwValue = remote?.threwValue === true
    this.thrown = remote?.thrown
    if (remote?.cause !== undefined) this.cause = remoteCause(remote.cause)
    if (remote?.stack) this.stack = `${this.stack ?? ''}\n--- remote stack ${where} ---\n${remote.stack}`
  }
}

/**
 * A task threw on its worker (or a task it depends on did). `key` is the
 * task awaited; `causeKey` the task that threw, equal to `key` when it was
 * this one. The remote message and stack are kept as sent, and so is what
 * the thrown Error carried: its `code` (as `remoteCode`), its `cause` (an
 * Error cause comes back as an Error with the remote name, message and stack)
 * and its own enumerable fields (`fields`). A task that threw something other
 * than an Error has `threwValue` true and the value in `thrown`.
 */
export class TaskError extends RemoteError {
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
      remote,
      `of ${causeKey}`,
    )
  }
}

/** An Error cause as an Error again (name, message, stack, code, fields and its own cause), or the cause's value. */
function remoteCause(cause: RemoteCause): unknown {
  if (!('error' in cause)) return cause.value
  const remote = cause.error
  const error = new Error(remote.message) as Error & Record<string, unknown>
  Object.assign(error, remote.fields ?? {})
  error.name = remote.name
  error.stack = remote.stack || `${remote.name}: ${remote.message}`
  if (remote.code !== undefined) error.code = remote.code
  if (remote.cause !== undefined) error.cause = remoteCause(remote.cause)
  return error
}

/** How a worker was lost while it ran the task (see KilledWorkerError.deaths). */
export type WorkerDeathCause =
  /** The worker's connection closed: its process exited or was killed. */
  | 'died'
  /** The worker stopped heartbeating for longer than the scheduler's heartbeat timeout. */
  | 'unresponsive'
  /** The task ended the execution thread it ran on (process.exit, out of memory, a crash); the worker lived on. */
  | 'thread-died'

const CAUSE_NAMES: readonly WorkerDeathCause[] = ['died', 'unresponsive', 'thread-died']
const CAUSE_TEXT: Record<WorkerDeathCause, string> = {
  died: 'died',
  unresponsive: 'stopped answering',
  'thread-died': 'lost the thread it ran on',
}

/** The cause a wire code stands for ('died' for a code this client does not know). */
export function deathCause(code: number): WorkerDeathCause {
  return CAUSE_NAMES[code] ?? 'died'
}

/**
 * A task was running when its worker was lost, too many times (the scheduler's
 * `allowedFailures`); `deaths` says on which workers and how each was lost.
 */
export class KilledWorkerError extends SkeinError {
  /** The workers' names, one per death (a worker can appear more than once). */
  readonly workers: readonly string[]
  readonly deaths: readonly { worker: string; cause: WorkerDeathCause }[]

  constructor(
    readonly key: string,
    readonly causeKey: string,
    deaths: readonly { worker: string; cause: WorkerDeathCause }[],
  ) {
    super(
      'SKEIN_KILLED_WORKER',
      `task ${causeKey} was running when its worker was lost, ${deaths.length} time(s): ` +
        (deaths.map((d) => `${d.worker || 'unnamed'} ${CAUSE_TEXT[d.cause]}`).join(', ') || 'no worker named') +
        '; it is not retried again' +
        (key === causeKey ? '' : ` (awaited: ${key}, which depends on it)`),
    )
    this.deaths = deaths
    this.workers = deaths.map((d) => d.worker)
  }
}

/**
 * A task ran longer than its `timeoutMs`: its execution thread was stopped and
 * replaced (the worker lives on). Its dependents err with the same cause.
 */
export class TaskTimeoutError extends TaskError {
  override readonly code = 'SKEIN_TASK_TIMEOUT'
}

/**
 * A task's result was larger than its worker's memory limit: the task errs instead of its
 * result being lost on the way. Its dependents err with the same cause.
 */
export class ValueTooLargeError extends TaskError {
  override readonly code = 'SKEIN_VALUE_TOO_LARGE'
}

/**
 * A task could not get one of its inputs to the worker that runs it: fetching `input` failed
 * `workers.length` times (the scheduler's `allowedFailures`), with the input recomputed or
 * found elsewhere in between. The data is not lost; moving it fails (a worker that advertises
 * an address others cannot reach, a network that drops the transfer). `causeKey` is the task
 * that could not run; tasks depending on it err with the same cause.
 */
export class TransferError extends SkeinError {
  constructor(
    readonly key: string,
    readonly causeKey: string,
    readonly input: string,
    readonly workers: readonly string[],
    /** The last error a worker met fetching it (e.g. `connect EHOSTUNREACH 10.0.0.7:41779`), when it said. */
    readonly reason: string | null = null,
  ) {
    super(
      'SKEIN_TRANSFER_FAILED',
      `task ${causeKey} could not get its input ${input}: fetching it from ${[...new Set(workers)].join(', ')} failed ${workers.length} time${workers.length === 1 ? "" : "s"}` +
        (reason === null ? '' : ` (last error: ${reason})`) +
        `; check that workers can reach each other at the addresses they advertise` +
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

/** A wait for futures (`wait`, `future.result({ timeout })`) ran out of time; the futures go on. */
export class WaitTimeoutError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_TIMEOUT', message)
  }
}

/**
 * A Client.run function failed on worker `worker`. `code`: SKEIN_RUN_FAILED (it threw: the
 * remote fields are as in TaskError), SKEIN_RUN_TIMEOUT (it ran past `timeoutMs` and was
 * stopped, or its worker did not answer in time), SKEIN_RUN_WORKER_LOST (the worker left
 * before it answered), SKEIN_RUN_THREAD_DIED (it ended its thread), SKEIN_VALUE_TOO_LARGE
 * (its value was too large to send back) or SKEIN_TOO_MANY_RUNS (its worker was running too
 * many already).
 */
export class RunError extends RemoteError {
  constructor(
    readonly worker: string,
    code: string,
    message: string,
    remote: RemoteFailure | null,
  ) {
    super(code, message, remote, `on worker ${worker}`)
  }
}

/** `getClient()`, `secede()` or `rejoin()` was called outside a task running on a worker. */
export class NotInTaskError extends SkeinError {
  constructor(what: string) {
    super('SKEIN_NOT_IN_TASK', `${what}() works only inside a task running on a worker (a function submitted to the cluster); outside one, use Client.connect()`)
  }
}
