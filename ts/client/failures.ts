import { decodeTaskFailure } from '../graph'
import type { WireFailure } from '../protocol'
import { KilledWorkerError, LostDataError, SkeinError, TaskError } from './errors'

/** The error a future of `key` rejects with, given why the scheduler says it erred. */
export function failureError(key: string, causeKey: string, failure: WireFailure): SkeinError {
  switch (failure[0]) {
    case 0:
      return new TaskError(key, causeKey, decodeTaskFailure(failure[1]))
    case 1:
      return new KilledWorkerError(key, failure[1], failure[2])
    case 2:
      return new LostDataError(key, failure[1])
    default:
      return new SkeinError('SKEIN_BAD_REPLY', `task ${key} erred for a reason this client does not know (kind ${String((failure as unknown[])[0])})`)
  }
}
