import { checkOptions, InvalidOptionsError } from '../protocol'
import { WaitTimeoutError } from './errors'
import { whileWaiting } from './in-task'
import type { Future } from './future'

/** When `wait` returns, as Dask's `wait(return_when=...)`. */
export type ReturnWhen = 'ALL_COMPLETED' | 'FIRST_COMPLETED' | 'FIRST_EXCEPTION'

export interface WaitOptions {
  /**
   * 'ALL_COMPLETED' (default): once every future is done; 'FIRST_COMPLETED': once any is;
   * 'FIRST_EXCEPTION': once any errs, is cancelled or loses its data, or all are done.
   */
  returnWhen?: ReturnWhen
  /** Rejects with WaitTimeoutError (SKEIN_TIMEOUT) after this many milliseconds. */
  timeout?: number
  /** Rejects with the signal's reason once it aborts. */
  signal?: AbortSignal
}

/** Futures split by whether they are done: finished (in memory), erred, cancelled or lost. */
export interface DoneAndNotDone<T> {
  done: Future<T>[]
  notDone: Future<T>[]
}

const RETURN_WHEN: readonly ReturnWhen[] = ['ALL_COMPLETED', 'FIRST_COMPLETED', 'FIRST_EXCEPTION']

const WAIT_OPTIONS = {
  returnWhen: { test: (v: unknown) => RETURN_WHEN.includes(v as ReturnWhen), expected: `one of ${RETURN_WHEN.map((r) => `'${r}'`).join(', ')}` },
  timeout: { test: isTimeout, expected: 'a number of milliseconds >= 0' },
  signal: { test: (v: unknown) => v instanceof AbortSignal, expected: 'an AbortSignal' },
} as const

function isTimeout(value: unknown): boolean {
  return typeof value === 'number' && value >= 0 && value <= 2 ** 31 - 1
}

/**
 * Waits until the futures are done, as `returnWhen` says, without fetching their values or
 * throwing their errors: `const { done, notDone } = await wait(futures, { returnWhen: 'FIRST_COMPLETED' })`.
 */
export function wait<T>(futures: Iterable<Future<T>>, options: WaitOptions = {}): Promise<DoneAndNotDone<T>> {
  try {
    checkOptions('wait', options, WAIT_OPTIONS, (message) => new InvalidOptionsError(message))
  } catch (err) {
    return Promise.reject(err)
  }
  const list = [...futures]
  const distinct = [...new Set(list)]
  const returnWhen = options.returnWhen ?? 'ALL_COMPLETED'
  const isDone = (f: Future<T>) => f.status !== 'pending'
  const split = (): DoneAndNotDone<T> => ({ done: list.filter(isDone), notDone: list.filter((f) => !isDone(f)) })
  const waiting = distinct.filter((f) => !isDone(f))
  let pending = waiting.length
  const failed = (f: Future<T>) => f.status === 'error' || f.status === 'cancelled' || f.status === 'lost'
  /** Whether to return now, `settled` being the future that just left 'pending' (none: at the start). */
  const satisfied = (settled: Future<T> | null): boolean => {
    if (pending === 0) return true
    if (returnWhen === 'FIRST_COMPLETED') return pending < distinct.length
    if (returnWhen === 'FIRST_EXCEPTION') return settled === null ? distinct.some(failed) : failed(settled)
    return false
  }
  if (satisfied(null)) return Promise.resolve(split())
  // Inside a task, the task gives up its slot while it waits.
  return whileWaiting(new Promise((resolve, reject) => {
    const undo: (() => void)[] = []
    const end = () => {
      for (const u of undo) u()
      undo.length = 0
    }
    for (const future of waiting) {
      undo.push(
        future.state.onSettled(() => {
          pending--
          if (!satisfied(future)) return
          end()
          resolve(split())
        }),
      )
    }
    undo.push(deadline('wait', () => `${pending} of ${distinct.length} futures were not done`, options, (error) => (end(), reject(error))))
  }))
}

/**
 * Calls `fail` once `options.timeout` passes or `options.signal` aborts; returns what cancels
 * both (call it once the wait is over).
 */
export function deadline(where: string, what: () => string, options: { timeout?: number; signal?: AbortSignal }, fail: (error: unknown) => void): () => void {
  const { timeout, signal } = options
  let timer: NodeJS.Timeout | undefined
  const onAbort = () => fail(signal!.reason)
  if (signal !== undefined) {
    if (signal.aborted) {
      queueMicrotask(onAbort)
      return () => {}
    }
    signal.addEventListener('abort', onAbort, { once: true })
  }
  if (timeout !== undefined) timer = setTimeout(() => fail(new WaitTimeoutError(`${where}: ${what()} within ${timeout} ms`)), timeout)
  return () => {
    if (timer !== undefined) clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

export const RESULT_OPTIONS = { timeout: WAIT_OPTIONS.timeout, signal: WAIT_OPTIONS.signal } as const
