import { encodeTaskFailure } from '../graph/remote-failure'
import { MAX_RUN_RESULT_BYTES, RunOutcome, SkeinError, type RunResult, type RunResults } from '../protocol'
import type { Connection } from './connection'

/** Runs a client may have in flight at once; more are refused (SKEIN_TOO_MANY_RUNS). */
export const MAX_RUNS_PER_CLIENT = 16
/** Bytes of all the answers to one run; answers past it are replaced by errors. */
export const MAX_RUN_RESULTS_BYTES = 128 * 2 ** 20
/** A worker that enforces the timeout itself answers by then; past this much more, it counts as not answering. */
const ANSWER_GRACE_MS = 2000

const TOO_MANY_RUNS = 'SKEIN_TOO_MANY_RUNS'

/** One 'run' in flight: the workers it went to, and their answers so far. */
class PendingRun {
  readonly results: RunResult[] = []
  /** Workers yet to answer, by connection. */
  readonly waiting = new Set<Connection>()
  bytes = 0
  timer: NodeJS.Timeout | undefined

  constructor(
    readonly id: number,
    readonly client: Connection,
    readonly request: number,
  ) {}
}

/**
 * Client.run in the scheduler: sends the function to each worker asked for, collects one
 * answer per worker, and answers the client once every worker answered, left, or let the
 * timeout pass. Never decodes a payload or a value.
 */
export class Runs {
  private nextId = 1
  private readonly pending = new Map<number, PendingRun>()
  private readonly perClient = new Map<Connection, number>()

  /** Starts a run on `workers`; refuses (with SKEIN_TOO_MANY_RUNS) a client with too many in flight. */
  start(client: Connection, request: number, payload: Uint8Array, workers: readonly Connection[], context: boolean, timeoutMs: number): void {
    const inFlight = this.perClient.get(client) ?? 0
    if (inFlight >= MAX_RUNS_PER_CLIENT) {
      throw new SkeinError(TOO_MANY_RUNS, `a client may have at most ${MAX_RUNS_PER_CLIENT} runs in flight; wait for one to finish`)
    }
    if (workers.length === 0) {
      client.send(['run-results', request, []] satisfies RunResults)
      return
    }
    const run = new PendingRun(this.nextId++, client, request)
    this.pending.set(run.id, run)
    this.perClient.set(client, inFlight + 1)
    for (const worker of workers) {
      run.waiting.add(worker)
      worker.send(['run', run.id, payload, context, timeoutMs])
    }
    if (timeoutMs > 0) {
      run.timer = setTimeout(() => {
        for (const worker of run.waiting) run.results.push([worker.name, RunOutcome.TimedOut, `worker '${worker.name}' did not answer within ${timeoutMs} ms`])
        run.waiting.clear()
        this.finish(run)
      }, timeoutMs + ANSWER_GRACE_MS)
      run.timer.unref()
    }
  }

  /** Worker `worker` answered run `id` (an answer nobody waits for any more is dropped). */
  answered(worker: Connection, id: number, outcome: RunOutcome.Returned | RunOutcome.Raised, bytes: Uint8Array): void {
    const run = this.pending.get(id)
    if (run === undefined || !run.waiting.delete(worker)) return
    const size = bytes.byteLength
    if (size > MAX_RUN_RESULT_BYTES || run.bytes + size > MAX_RUN_RESULTS_BYTES) {
      const why = size > MAX_RUN_RESULT_BYTES ? `${size} bytes (at most ${MAX_RUN_RESULT_BYTES} per worker)` : `${size} bytes more than the ${MAX_RUN_RESULTS_BYTES} bytes all answers of a run may take`
      const error = new SkeinError('SKEIN_VALUE_TOO_LARGE', `the answer of worker '${worker.name}' is too large: ${why}`)
      run.results.push([worker.name, RunOutcome.Raised, encodeTaskFailure(error)])
    } else {
      run.bytes += size
      run.results.push([worker.name, outcome, bytes])
    }
    if (run.waiting.size === 0) this.finish(run)
  }

  /** `worker` left: the runs waiting for it get a WorkerLost answer for it. */
  workerLeft(worker: Connection): void {
    for (const run of [...this.pending.values()]) {
      if (!run.waiting.delete(worker)) continue
      run.results.push([worker.name, RunOutcome.WorkerLost, `worker '${worker.name}' left before it answered`])
      if (run.waiting.size === 0) this.finish(run)
    }
  }

  /** `client` left: its runs are forgotten (answers still on their way are dropped). */
  clientLeft(client: Connection): void {
    for (const run of [...this.pending.values()]) if (run.client === client) this.forget(run)
  }

  close(): void {
    for (const run of [...this.pending.values()]) this.forget(run)
  }

  private finish(run: PendingRun): void {
    this.forget(run)
    if (run.client.isOpen) run.client.send(['run-results', run.request, run.results] satisfies RunResults)
  }

  private forget(run: PendingRun): void {
    if (!this.pending.delete(run.id)) return
    if (run.timer !== undefined) clearTimeout(run.timer)
    const left = (this.perClient.get(run.client) ?? 1) - 1
    if (left <= 0) this.perClient.delete(run.client)
    else this.perClient.set(run.client, left)
  }
}
