import { replaceDependencies, type FunctionHandle } from '../graph'
import { decodeTaskFailure, encodeTaskPayload } from '../graph/payload'
import { assertEncodable, decode, InvalidOptionsError, RunOutcome, SkeinError, type RunResult } from '../protocol'
import { RunError } from './errors'

/** Options of `client.run`. */
export interface RunOptions {
  /** The function's arguments (values that encode: no futures, no functions). Default none. */
  args?: readonly unknown[]
  /** Names of the workers to run it on; default every connected worker. An unknown name is an error. */
  workers?: readonly string[]
  /**
   * `'raise'` (default): a failure on any worker rejects the call with its RunError.
   * `'return'`: that worker's entry is its RunError, the others' their values (Dask's on_error).
   */
  onError?: 'raise' | 'return'
  /**
   * Stop the function on a worker after this many milliseconds (its thread is ended): that
   * worker's entry is a RunError with code SKEIN_RUN_TIMEOUT. Default: no limit.
   */
  timeoutMs?: number
  /** Pass a WorkerContext (the worker's name, id, address and the keys it holds) as the last argument. Default false. */
  context?: boolean
}

const ON_ERROR = new Set(['raise', 'return'])
const RUN_CODES = new Set(['SKEIN_RUN_TIMEOUT', 'SKEIN_RUN_THREAD_DIED', 'SKEIN_VALUE_TOO_LARGE', 'SKEIN_TOO_MANY_RUNS'])

/** The payload workers run (function reference and arguments), after checking the options' values. */
export function runPayload(handle: FunctionHandle, options: RunOptions): Buffer {
  const args = options.args ?? []
  if (!Array.isArray(args)) throw new InvalidOptionsError(`run: option args must be an array, not ${typeof args}`)
  let dependencies: number
  try {
    dependencies = replaceDependencies(args, handle.name).keys.length
  } catch (err) {
    throw new InvalidOptionsError(`run: option args: ${(err as Error).message}`)
  }
  if (dependencies > 0) throw new InvalidOptionsError('run: option args may not hold futures or tasks (a run function gets plain values; gather them first)')
  try {
    assertEncodable(args, () => 'run: option args')
  } catch (err) {
    throw new SkeinError('SKEIN_UNENCODABLE', (err as Error).message)
  }
  if (options.onError !== undefined && !ON_ERROR.has(options.onError)) {
    throw new InvalidOptionsError(`run: option onError must be 'raise' or 'return', not ${JSON.stringify(options.onError)}`)
  }
  const timeout = options.timeoutMs
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0 && timeout <= 2 ** 31 - 1)) {
    throw new InvalidOptionsError(`run: option timeoutMs must be a positive number of milliseconds (at most 2^31-1), got ${String(timeout)}`)
  }
  return encodeTaskPayload(handle.ref, args as unknown[])
}

/** The workers' answers as one object keyed by worker name (in name order), or the first failure with onError 'raise'. */
export function runResults(results: readonly RunResult[], onError: 'raise' | 'return'): Record<string, unknown> {
  const sorted = [...results].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const out: Record<string, unknown> = {}
  for (const [worker, outcome, value] of sorted) {
    let entry: unknown
    if (outcome === RunOutcome.Returned) {
      try {
        entry = decode(value as Uint8Array)
      } catch (err) {
        entry = new RunError(worker, 'SKEIN_UNDECODABLE', `the value returned on worker ${worker} could not be decoded: ${(err as Error).message}`, null)
      }
    } else entry = runError(worker, outcome, value)
    if (entry instanceof RunError && onError === 'raise') throw entry
    out[worker] = entry
  }
  return out
}

function runError(worker: string, outcome: RunOutcome, value: Uint8Array | string): RunError {
  switch (outcome) {
    case RunOutcome.Raised: {
      const remote = decodeTaskFailure(value as Uint8Array)
      const code = typeof remote.code === 'string' && RUN_CODES.has(remote.code) ? remote.code : 'SKEIN_RUN_FAILED'
      return new RunError(worker, code, `run function failed on worker ${worker}: ${remote.name}: ${remote.message}`, remote)
    }
    case RunOutcome.WorkerLost:
      return new RunError(worker, 'SKEIN_RUN_WORKER_LOST', `run function got no answer from worker ${worker}: ${String(value)}`, null)
    case RunOutcome.TimedOut:
      return new RunError(worker, 'SKEIN_RUN_TIMEOUT', `run function got no answer from worker ${worker}: ${String(value)}`, null)
    default:
      return new RunError(worker, 'SKEIN_BAD_REPLY', `worker ${worker} answered the run in a way this client does not know (outcome ${String(outcome)})`, null)
  }
}
