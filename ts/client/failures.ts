import { decodeTaskFailure } from '../graph'
import type { WireFailure } from '../protocol'
import { deathCause, KilledWorkerError, LostDataError, SkeinError, TaskError, TaskTimeoutError, TransferError, ValueTooLargeError } from './errors'

const TIMEOUT = 'SKEIN_TASK_TIMEOUT'
const TOO_LARGE = 'SKEIN_VALUE_TOO_LARGE'

/** The error a future of `key` rejects with, given why the scheduler says it erred. */
export function failureError(key: string, causeKey: string, failure: WireFailure): SkeinError {
  switch (failure[0]) {
    case 0: {
      const remote = decodeTaskFailure(failure[1])
      if (remote.code === TIMEOUT) return new TaskTimeoutError(key, causeKey, remote)
      if (remote.code === TOO_LARGE) return new ValueTooLargeError(key, causeKey, remote)
      return new TaskError(key, causeKey, remote)
    }
    case 1: {
      const causes = failure[3] ?? []
      return new KilledWorkerError(
        key,
        failure[1],
        failure[2].map((worker, i) => ({ worker, cause: deathCause(causes[i]) })),
      )
    }
    case 2:
      return new LostDataError(key, failure[1])
    case 3:
      return new TransferError(key, causeKey, failure[1], failure[2], typeof failure[3] === 'string' ? failure[3] : null)
    default:
      return new SkeinError('SKEIN_BAD_REPLY', `task ${key} erred for a reason this client does not know (kind ${String((failure as unknown[])[0])})`)
  }
}
