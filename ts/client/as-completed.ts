import { SkeinError } from '../protocol/errors'
import type { Future } from './future'
import { whileWaiting } from './in-task'

/**
 * One step of `asCompleted`. The future is wrapped because a Future is
 * awaitable: TypeScript types the variable of `for await` as the awaited
 * value, so a bare Future would be typed as its result.
 */
export interface Completed<T> {
  readonly future: Future<T>
}

/**
 * Yields each future once it leaves 'pending': finished, erred, cancelled or
 * lost, in the order that happens. Futures already done come first.
 */
/** `add` on an `asCompleted` iteration that has ended. */
export class AsCompletedEndedError extends SkeinError {
  constructor() {
    super('SKEIN_ITERATION_ENDED', 'asCompleted: cannot add a future once the iteration has ended')
  }
}

export class AsCompleted<T> implements AsyncIterableIterator<Completed<T>> {
  private readonly done: Completed<T>[] = []
  /** Index of the next future to yield (no shift(): that is O(n) per call). */
  private head = 0
  private remaining: number
  private wake: (() => void) | null = null
  private stopped = false
  /** The iteration returned its end: nothing more can be added. */
  private ended = false

  constructor(futures: Iterable<Future<T>>) {
    this.remaining = 0
    for (const future of futures) this.add(future)
  }

  /** Adds a future to those iterated over (while the iteration has not ended). */
  add(future: Future<T>): void {
    if (this.stopped || (this.remaining === 0 && this.ended)) throw new AsCompletedEndedError()
    this.remaining++
    future.state.onSettled(() => {
      if (this.stopped) return
      this.done.push({ future })
      const wake = this.wake
      this.wake = null
      wake?.()
    })
  }

  async next(): Promise<IteratorResult<Completed<T>, undefined>> {
    while (this.head === this.done.length) {
      if (this.remaining === 0 || this.stopped) {
        this.ended = true
        return { done: true, value: undefined }
      }
      // Inside a task, the task gives up its slot while it waits.
      await whileWaiting(new Promise<void>((resolve) => (this.wake = resolve)))
    }
    this.remaining--
    return { done: false, value: this.done[this.head++] }
  }

  async return(): Promise<IteratorResult<Completed<T>, undefined>> {
    this.stopped = true
    this.wake?.()
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Completed<T>> {
    return this
  }
}
