import { DEPENDENCY, type Dependency, type TypedKey } from '../graph'
import { checkOptions, InvalidOptionsError } from '../protocol'
import { ReleasedFutureError } from './errors'
import { deadline, RESULT_OPTIONS } from './wait'
import type { FutureStatus, KeyState } from './key-state'

/** Options of `future.result()`. */
export interface ResultOptions {
  /** Milliseconds to wait for the value at most. */
  timeout?: number
  /** Stops waiting once it aborts. */
  signal?: AbortSignal
}

/** What a Future needs from its client. */
export interface FutureOwner {
  resultOf(state: KeyState): Promise<unknown>
  cancelStates(states: KeyState[]): void
  letGo(future: Future, state: KeyState): void
  retry(futures: Future | Iterable<Future>): Promise<void>
}

/**
 * The result of a task that runs (or ran) on the cluster. Await it for the
 * value, which is fetched from a worker holding it and then cached. Pass it
 * as an argument of another task to make it a dependency. While any Future
 * of a key is alive (or until `release()`), the cluster keeps the result.
 */
export class Future<T = unknown> implements PromiseLike<T>, Dependency<T> {
  private released = false

  /** @internal futures come from a Client */
  constructor(
    /** @internal */ readonly state: KeyState,
    private readonly owner: FutureOwner,
  ) {}

  /** @internal */
  get isReleased(): boolean {
    return this.released
  }

  /** The task's key. */
  get key(): string {
    return this.state.key
  }

  get status(): FutureStatus {
    return this.state.status
  }

  /**
   * While the task is pending with restrictions or resources that no connected worker
   * satisfies: why (it waits for such a worker to join); else null. The client also emits an
   * 'unplaceable' event when that starts.
   */
  get unplaceable(): string | null {
    return this.state.unplaceable
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    const result = this.released && !this.state.hasValue
      ? Promise.reject(new ReleasedFutureError(this.key))
      : (this.owner.resultOf(this.state) as Promise<T>)
    return result.then(onfulfilled, onrejected)
  }

  /**
   * Awaits the value; like `await future` but a real Promise. With `timeout` (ms) it rejects with
   * WaitTimeoutError (SKEIN_TIMEOUT) if the value is not here by then, with `signal` once that
   * aborts (with its reason); the task itself goes on either way.
   */
  result(options?: ResultOptions): Promise<T> {
    if (options !== undefined) {
      try {
        checkOptions('Future.result', options, RESULT_OPTIONS, (message) => new InvalidOptionsError(message))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    const value = this.then()
    if (options === undefined) return value
    if (options.timeout === undefined && options.signal === undefined) return value
    return new Promise<T>((resolve, reject) => {
      const cancel = deadline('Future.result', () => `the value of '${this.key}' was not here`, options, reject)
      value.then(
        (v) => (cancel(), resolve(v)),
        (e: unknown) => (cancel(), reject(e)),
      )
    })
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onrejected)
  }

  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally)
  }

  /**
   * Runs the task again if it erred, with the erred tasks upstream that made it err (Dask's
   * `future.retry()`); once this resolves, awaiting the future waits for the new run. Does
   * nothing to a future that did not err. See `client.retry`.
   */
  retry(): Promise<void> {
    return this.owner.retry(this)
  }

  /** Stops the task if nothing else needs it; awaiting then rejects with CancelledError. */
  cancel(): void {
    this.owner.cancelStates([this.state])
  }

  /**
   * Lets go of the result: when no live Future of this key remains, the
   * cluster may forget it. Happens by itself when the Future is garbage
   * collected; call it to free memory sooner.
   */
  release(): void {
    if (this.released) return
    this.released = true
    this.owner.letGo(this, this.state)
  }

  [DEPENDENCY](): TypedKey<T> {
    if (this.released) throw new ReleasedFutureError(this.key)
    // The scheduler may have forgotten a cancelled key: say so now rather than as an unknown dependency later.
    if (this.state.status === 'cancelled' && this.state.error) throw this.state.error
    return this.state.key
  }

  /** Futures print as their key and status rather than their internals. */
  toString(): string {
    return `Future(${this.key}, ${this.status})`
  }
}
