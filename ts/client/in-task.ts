/**
 * What a task running on a worker can do with its cluster: get a client
 * connected to the worker's scheduler, and give up its slot while it waits.
 * The worker's execution thread installs the runtime behind these (see
 * ts/worker/task-runtime.ts) under a global symbol, so every copy of skein a
 * task's module imports finds the same one.
 */
import type { Client } from './client'
import { NotInTaskError } from './errors'

/** Where an execution thread keeps its task runtime. */
export const TASK_RUNTIME = Symbol.for('skein.task-runtime')

/** @internal What an execution thread provides to the tasks it runs. */
export interface TaskRuntime {
  getClient(): Promise<Client>
  secede(): void
  rejoin(): Promise<void>
  /** `waiting`, during which the calling task gives up its slot (see whileWaiting). */
  waitFor<T>(waiting: Promise<T>): Promise<T>
}

function runtime(): TaskRuntime | undefined {
  return (globalThis as { [TASK_RUNTIME]?: TaskRuntime })[TASK_RUNTIME]
}

/**
 * Inside a task: a client connected to the worker's scheduler, with the worker's credentials
 * (token, TLS). Every task on the same execution thread shares one client and one connection,
 * opened by the first call. A task that waits on it (a future's result, `gather`, `wait`,
 * `asCompleted`) gives up its worker slot meanwhile and takes it back once the wait is over.
 * Outside a task it rejects with NotInTaskError (SKEIN_NOT_IN_TASK).
 */
export function getClient(): Promise<Client> {
  const rt = runtime()
  return rt === undefined ? Promise.reject(new NotInTaskError('getClient')) : rt.getClient()
}

/**
 * Inside a task: gives up its worker slot until `rejoin()` (Dask's `secede`), so another task
 * can run there while this one waits for something that is not a future of `getClient()`'s
 * client (those secede by themselves). The scheduler stops counting it against the worker.
 */
export function secede(): void {
  const rt = runtime()
  if (rt === undefined) throw new NotInTaskError('secede')
  rt.secede()
}

/**
 * Inside a task: takes a slot of its worker back after `secede()`; resolves once the thread's
 * slot is free (the task runs on as soon as the task using it ends or waits).
 */
export function rejoin(): Promise<void> {
  const rt = runtime()
  return rt === undefined ? Promise.reject(new NotInTaskError('rejoin')) : rt.rejoin()
}

/**
 * @internal The promise a client method returns for a wait: inside a task, the task gives up
 * its slot while `waiting` is pending and takes it back before the promise settles. Elsewhere
 * `waiting` itself.
 */
export function whileWaiting<T>(waiting: Promise<T>): Promise<T> {
  const rt = runtime()
  return rt === undefined ? waiting : rt.waitFor(waiting)
}
