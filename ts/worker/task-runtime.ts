/**
 * An execution thread's side of `getClient()`, `secede()` and `rejoin()`
 * (ts/client/in-task.ts): one client per thread, shared by its tasks, and the
 * bookkeeping of which task waits.
 *
 * A thread runs one task at a time holding its slot; a task that waits on its
 * client gives the slot up (the executor may start another task meanwhile) and
 * takes it back before its wait resolves. Which task is waiting is read from an
 * AsyncLocalStorage, switched on the first time a task on this thread calls
 * `getClient()` or `secede()`: threads whose tasks never do pay nothing for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Client } from '../client/client'
import { NotInTaskError } from '../client/errors'
import { TASK_RUNTIME, type TaskRuntime } from '../client/in-task'
import type { TaskConnection } from './thread-state'

/** A task on the thread, as the runtime sees it. */
export interface WaitingJob {
  /** Holds the thread's slot now. */
  holdsSlot: boolean
  /** Its outcome is known: nothing of it is tracked any more. */
  done: boolean
  /** Waits on its client under way. */
  waits: number
  /** It called secede() and has not called rejoin() since. */
  seceded: boolean
}

/** What the executor does for the runtime. */
export interface SlotKeeper<J extends WaitingJob> {
  /** The task whose code runs now, as far as the executor knows (the one holding the slot). */
  jobNow(): J | null
  /** `job` gives its slot up (no-op if it holds none). */
  secede(job: J): void
  /** Resolves once `job` holds a slot again (at once if it does). */
  rejoin(job: J): Promise<void>
}

export class ThreadTaskRuntime<J extends WaitingJob> implements TaskRuntime {
  private storage: AsyncLocalStorage<J> | null = null
  private client: Promise<Client> | null = null

  constructor(
    private readonly keeper: SlotKeeper<J>,
    private readonly connection: TaskConnection,
  ) {}

  /** Installs this runtime where getClient() and the client's waits find it. */
  install(): void {
    ;(globalThis as { [TASK_RUNTIME]?: TaskRuntime })[TASK_RUNTIME] = this
  }

  /** Whether tasks must be started through `call` (some task on this thread used the runtime). */
  get tracking(): boolean {
    return this.storage !== null
  }

  /** Runs `fn(...args)` as `job`: waits started from it, now or later, are its own. */
  call(job: J, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    return this.storage!.run(job, fn, ...args)
  }

  getClient(): Promise<Client> {
    if (this.track() === null) return Promise.reject(new NotInTaskError('getClient'))
    this.client ??= this.connect()
    return this.client
  }

  secede(): void {
    const job = this.track()
    if (job === null) throw new NotInTaskError('secede')
    job.seceded = true
    this.keeper.secede(job)
  }

  rejoin(): Promise<void> {
    const job = this.current()
    if (job === null) return Promise.reject(new NotInTaskError('rejoin'))
    job.seceded = false
    // Its client waits still under way keep it seceded; the last to end takes the slot back.
    return job.waits > 0 ? Promise.resolve() : this.keeper.rejoin(job)
  }

  waitFor<T>(waiting: Promise<T>): Promise<T> {
    if (this.storage === null) return waiting
    const job = this.current()
    if (job === null) return waiting
    job.waits++
    let over = false
    // A value already here (or arriving within this turn) costs no secession.
    const timer = setImmediate(() => {
      if (!over && !job.done) this.keeper.secede(job)
    })
    const after = (): Promise<void> => {
      over = true
      clearImmediate(timer)
      job.waits--
      return job.waits === 0 && !job.seceded && !job.done ? this.keeper.rejoin(job) : Promise.resolve()
    }
    return waiting.then(
      (value) => after().then(() => value),
      (err: unknown) =>
        after().then(() => {
          throw err
        }),
    )
  }

  /** The task whose code calls now, or null (a callback that outlived its task). */
  private current(): J | null {
    const job = this.storage?.getStore() ?? this.keeper.jobNow()
    return job === undefined || job === null || job.done ? null : job
  }

  /** The calling task, tracked from now on: its later waits are told apart from other tasks'. */
  private track(): J | null {
    const job = this.current()
    if (this.storage === null) this.storage = new AsyncLocalStorage()
    // The first task to use the runtime was started untracked: from here on its continuations are.
    if (job !== null && this.storage.getStore() !== job) this.storage.enterWith(job)
    return job
  }

  private connect(): Promise<Client> {
    // Loaded here, on the first getClient(): threads whose tasks never call it do not load the client.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client } = require('../client/client') as typeof import('../client/client')
    const { scheduler, token, tls, name } = this.connection
    const connecting = Client.connect(scheduler, {
      name,
      inProcess: false,
      ...(token === null ? {} : { token }),
      ...(tls === null ? {} : { tls }),
    })
    // A failed connection is tried again by the next call.
    connecting.catch(() => (this.client = null))
    return connecting
  }
}
