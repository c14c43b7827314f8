import { Presets, SingleBar } from 'cli-progress'
import type { OptionKind } from '../protocol/options-check'
import type { Future } from './future'

/** Where a set of futures stands. `done + erred + remaining === total` in every event. */
export interface ProgressEvent {
  /** Futures finished with a result. */
  done: number
  /** Futures that erred, were cancelled or were lost. */
  erred: number
  /** Futures still pending. */
  remaining: number
  total: number
}

export interface ProgressOptions {
  /** Draw a progress bar on `stream`; default: when `stream` is a TTY. (`true` draws on a non-TTY too, a line every 2 s and at the end.) */
  bar?: boolean
  /** Text before the bar (default 'tasks'). */
  label?: string
  /** Where the bar is drawn; default process.stderr. */
  stream?: NodeJS.WritableStream
}

export const PROGRESS_OPTIONS: Record<keyof ProgressOptions, OptionKind> = {
  bar: 'boolean',
  label: 'string',
  stream: { test: (v) => typeof (v as { write?: unknown } | null)?.write === 'function', expected: 'a writable stream' },
}

/**
 * Progress of a set of futures: an async iterator of ProgressEvents that ends once every future is
 * done (finished, erred, cancelled or lost), and a promise of the last event. Events are snapshots:
 * a consumer slower than the futures gets the latest one, never a stale or decreasing count.
 * With `bar`, a cli-progress bar follows the same counts until the end.
 */
export class Progress implements AsyncIterableIterator<ProgressEvent>, PromiseLike<ProgressEvent> {
  private done = 0
  private erred = 0
  private readonly total: number
  /** The last event yielded (null before the first). */
  private yielded: ProgressEvent | null = null
  private wake: (() => void) | null = null
  private stopped = false
  private readonly bar: SingleBar | null
  private readonly finished: Promise<ProgressEvent>
  private resolveFinished!: (event: ProgressEvent) => void

  constructor(futures: readonly Future[], options: ProgressOptions) {
    this.total = futures.length
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve))
    const stream = options.stream ?? process.stderr
    const tty = (stream as { isTTY?: boolean }).isTTY === true
    const drawn = options.bar ?? tty
    const format = `${(options.label ?? 'tasks').slice(0, 40)} {bar} {value}/{total} ({erred} erred)`
    this.bar = drawn ? new SingleBar({ format, stream: stream as NodeJS.WriteStream, hideCursor: tty, noTTYOutput: !tty }, Presets.shades_classic) : null
    this.bar?.start(this.total, 0, { erred: 0 })
    for (const future of futures) {
      future.state.onSettled(() => this.settled(future.status === 'finished'))
    }
    if (this.done + this.erred === this.total) this.end()
  }

  /** Resolves with the last event, once every future is done. */
  then<R1 = ProgressEvent, R2 = never>(onfulfilled?: ((value: ProgressEvent) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.finished.then(onfulfilled, onrejected)
  }

  async next(): Promise<IteratorResult<ProgressEvent, undefined>> {
    for (;;) {
      const event = this.snapshot()
      if (this.yielded !== null && this.yielded.remaining === 0) return { done: true, value: undefined }
      if (this.stopped) return { done: true, value: undefined }
      if (this.yielded === null || event.done !== this.yielded.done || event.erred !== this.yielded.erred) {
        this.yielded = event
        return { done: false, value: event }
      }
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  /** Stops iterating (the bar, if any, keeps following the futures). */
  async return(): Promise<IteratorResult<ProgressEvent, undefined>> {
    this.stopped = true
    this.wakeUp()
    return { done: true, value: undefined }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ProgressEvent> {
    return this
  }

  private snapshot(): ProgressEvent {
    return { done: this.done, erred: this.erred, remaining: this.total - this.done - this.erred, total: this.total }
  }

  private settled(finished: boolean): void {
    if (finished) this.done++
    else this.erred++
    this.bar?.update(this.done + this.erred, { erred: this.erred })
    this.wakeUp()
    if (this.done + this.erred === this.total) this.end()
  }

  private end(): void {
    this.bar?.stop()
    this.resolveFinished(this.snapshot())
  }

  private wakeUp(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }
}
