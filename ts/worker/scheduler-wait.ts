import { ConnectionRefusedError, SkeinError } from '../protocol'

/** How long a worker waits for its scheduler by default, at start and after losing it (Dask's death timeout). */
export const DEFAULT_DEATH_TIMEOUT_MS = 60_000

const FIRST_RETRY_MS = 100
const MAX_RETRY_MS = 5000
/** An attempt gets at least this long to connect and be welcomed, even when the deadline is nearer. */
const MIN_ATTEMPT_MS = 2000

/**
 * The worker waited its whole death timeout for the scheduler and never got an answer:
 * nothing listened there, or the connection kept failing before the scheduler welcomed it.
 */
export class SchedulerUnreachableError extends SkeinError {
  constructor(
    /** The scheduler's address. */
    readonly address: string,
    /** Milliseconds the worker tried for. */
    readonly waitedMs: number,
    readonly attempts: number,
    /** Why the last attempt failed. */
    readonly lastError: Error,
  ) {
    super(
      'SKEIN_SCHEDULER_UNREACHABLE',
      `cannot reach the scheduler at ${address}: tried ${attempts} time(s) over ${(waitedMs / 1000).toFixed(1)} s (the death timeout); last error: ${lastError.message}`,
    )
  }
}

/**
 * The pause before retry `n` (0 for the first): 100 ms doubling up to 5 s, each a random
 * fraction between half and all of that, so workers that lost the same scheduler do not all
 * call it at the same instant.
 */
export function retryDelayMs(n: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(n, 16))
  return ceiling * (0.5 + 0.5 * random())
}

export interface WaitOptions {
  address: string
  /** Give up once this long has passed without a welcome (0: one attempt). */
  timeoutMs: number
  /**
   * The worker joined this scheduler before: its old registration may still be there until the
   * scheduler notices the old connection is gone, so a refusal of the name is worth a retry.
   */
  rejoining: boolean
  /** The worker was closed meanwhile: stop trying. */
  stopped: () => boolean
}

/**
 * Calls `attempt` until it resolves, with backoff between failures, for up to
 * `timeoutMs`. Only failures to connect, and a scheduler too busy to accept
 * (HTTP 503: its connection caps), are retried: a scheduler that answered and
 * refused (a wrong token, TLS, bad options) would refuse again, so that error
 * is thrown at once.
 */
export async function joinWithin(attempt: (timeoutMs: number) => Promise<void>, options: WaitOptions): Promise<void> {
  const start = Date.now()
  for (let n = 0; ; n++) {
    const remaining = options.timeoutMs - (Date.now() - start)
    try {
      return await attempt(Math.max(remaining, MIN_ATTEMPT_MS))
    } catch (err) {
      if (options.stopped() || !retryable(err as Error, options.rejoining)) throw err
      const waited = Date.now() - start
      if (waited >= options.timeoutMs) throw new SchedulerUnreachableError(options.address, waited, n + 1, err as Error)
      // The last attempt comes at the deadline, not a whole backoff before it.
      const delay = Math.min(retryDelayMs(n), options.timeoutMs - waited)
      await new Promise((resolve) => setTimeout(resolve, delay))
      if (options.stopped()) throw err
    }
  }
}

/** HTTP statuses that say "not now" (a scheduler at its connection caps, a proxy with no scheduler behind it yet), not "never". */
const BUSY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504])

function retryable(err: Error, rejoining: boolean): boolean {
  if (err instanceof ConnectionRefusedError) return BUSY_STATUSES.has(err.status)
  if (!(err instanceof SkeinError)) return true
  return rejoining && err.code === 'SKEIN_DUPLICATE_WORKER'
}
