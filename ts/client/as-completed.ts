import type { Future } from './future'

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
export class AsCompleted<T> implements AsyncIterableIterator<Completed<T>> {
  private readonly done: Completed<T>[] = []
  /** Index of the next future to yield (no shift(): that is O(n) per call). */
  private head = 0
  private remaining: number
  private wake: (() => void) | null = null
  private stopped = false

  constructor(futures: Iterable<Future<T>>) {
    const list = [...futures]
    this.remaining = list.length
    for (const future of list) {
      future.state.onSettled(() => {
        if (this.stopped) return
        this.done.push({ future })
        const wake = this.wake
        this.wake = null
        wake?.()
      })
    }
  }

  async next(): Promise<IteratorResult<Completed<T>, undefined>> {
    while (this.head === this.done.length) {
      if (this.remaining === 0 || this.stopped) return { done: true, value: undefined }
      await new Promise<void>((resolve) => (this.wake = resolve))
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
