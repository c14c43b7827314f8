import { CallTemplate } from './call-template'
import { replaceDependencies } from './dependencies'
import { InvalidTaskError } from './errors'
import { functionHandle, type FunctionHandle, type ModuleFunction } from './functions'
import { hashedKey, nextNonce } from './hash'
import { encodePlainPayload, encodeTaskPayload } from './payload'
import { DEPENDENCY, type Args, type Dependency, type Fn, type ResultOf, type TypedKey } from './types'

/** How one task is keyed and placed. Every field is optional. */
export interface TaskOptions {
  /** Use this key instead of a content hash of function and arguments. */
  key?: string
  /** `false` gives every call its own key, so equal calls run separately. Default `true`. */
  pure?: boolean
  /** Higher runs first among ready tasks. An integer; default 0. */
  priority?: number
  /** Names of the workers allowed to run the task. */
  restrictions?: readonly string[]
  /**
   * With `restrictions`: they become a preference (Dask's `allow_other_workers`). A named worker
   * runs the task whenever one is connected (and not paused); when none is, any worker does,
   * instead of the task waiting for one. Only with `restrictions`; default `false`.
   */
  allowOtherWorkers?: boolean
  /** Amounts of named worker resources the task holds while it runs, e.g. `{ gpu: 1 }`. */
  resources?: Readonly<Record<string, number>>
  /**
   * A run longer than this many milliseconds is stopped (its execution thread is replaced)
   * and the task errs with TaskTimeoutError (code SKEIN_TASK_TIMEOUT). Default: no limit.
   */
  timeoutMs?: number
  /**
   * Times the task runs again, on any worker, after it throws, before it errs (Dask's
   * `retries`). Worker deaths while it runs count apart (the scheduler's `allowedFailures`).
   * An integer from 0 to 1000; default 0.
   */
  retries?: number
}

/**
 * One node of a task graph: a function, its arguments, and the explicit
 * list of keys it depends on. Build with {@link task}; run with
 * `client.compute`. Passing a Task as an argument of another makes it a
 * dependency.
 */
export class Task<T = unknown> implements Dependency<T> {
  /** @internal use task() or taskWith() */
  constructor(
    readonly key: string,
    /** The function's name; groups tasks for duration estimates. */
    readonly name: string,
    readonly fn: FunctionHandle,
    /** The arguments with each dependency replaced by a KeyRef. */
    readonly args: readonly unknown[],
    /** Keys this task needs, each once. */
    readonly dependencies: readonly string[],
    /** The Task objects among the arguments, which compute() submits along with this one. */
    readonly upstream: readonly Task[],
    /** Function reference + arguments as workers receive them. */
    readonly payload: Buffer,
    readonly priority: number,
    readonly restrictions: readonly string[] | null,
    readonly resources: Readonly<Record<string, number>> | null,
    /** The key was given by the user (option key), not derived from function and arguments. */
    readonly explicitKey = false,
    /** Some dependency was given as a bare KeyRef: its key may name any task, also one submitted later in the same graph. */
    readonly looseRefs = false,
    /** Runs again after it throws, this many times at most (TaskOptions.retries). */
    readonly retries = 0,
    /** Its restrictions are a preference (TaskOptions.allowOtherWorkers). */
    readonly allowOtherWorkers = false,
  ) {}

  /** @internal scratch of the graph walk (orderGraph): the walk that last saw this task, and the task's position in it. */
  walk = 0
  /** @internal */
  position = -1;

  [DEPENDENCY](): TypedKey<T> {
    return this.key
  }
}

/** Builds a task: `task(add, 1, task(inc, 2))`. A Task or Future among the arguments is a dependency. */
export function task<F extends Fn>(fn: F | ModuleFunction<F>, ...args: Args<F>): Task<ResultOf<F>> {
  return buildTask(fn, args, undefined)
}

/** Builds a task with options: `taskWith({ key: 'total', priority: 1 }, sum, a, b)`. */
export function taskWith<F extends Fn>(options: TaskOptions, fn: F | ModuleFunction<F>, ...args: Args<F>): Task<ResultOf<F>> {
  return buildTask(fn, args, options)
}

const NO_TASKS: readonly Task[] = Object.freeze([])

/** @internal shared by task(), taskWith() and the client's submit/map. */
export function buildTask<T>(fn: Fn | ModuleFunction, args: readonly unknown[], options: TaskOptions | undefined): Task<T> {
  const handle = functionHandle(fn)
  const name = handle.name
  const replaced = replaceDependencies(args, name)
  if (options !== undefined) checkTaskOptions(name, options)
  const timeoutMs = options === undefined ? undefined : checkTimeout(name, options.timeoutMs)
  const payload =
    timeoutMs === undefined
      ? (encodePlainPayload(handle.refBytes, replaced.args) ?? encodeTaskPayload(handle.ref, replaced.args))
      : encodeTaskPayload(handle.ref, replaced.args, { timeoutMs })
  const upstream = replaced.sources.length === 0 ? NO_TASKS : replaced.sources.filter((s): s is Task => s instanceof Task)
  const looseRefs = replaced.keys.length > replaced.sources.length
  if (options === undefined) {
    return new Task(hashedKey(name, payload), name, handle, replaced.args, replaced.keys, upstream, payload, 0, null, null, false, looseRefs)
  }
  return new Task(
    taskKey(name, payload, options),
    name,
    handle,
    replaced.args,
    replaced.keys,
    upstream,
    payload,
    checkPriority(name, options.priority),
    checkRestrictions(name, options.restrictions),
    checkResources(name, options.resources),
    options.key !== undefined,
    looseRefs,
    checkRetries(name, options.retries),
    checkAllowOtherWorkers(name, options),
  )
}

/**
 * @internal What the tasks `fn(item)` of a map with these options share (see GraphWriter.addCall),
 * or null when its tasks need buildTask: an impure key or a run option in the payload. Checks
 * `fn` and the options as buildTask does, in its order; the caller calls it at its first item,
 * where buildTask would have.
 */
export function callTemplate(fn: Fn | ModuleFunction, options: TaskOptions | undefined): CallTemplate | null {
  const handle = functionHandle(fn)
  if (options === undefined) return new CallTemplate(handle, 0, null, null, 0, false)
  const name = handle.name
  checkTaskOptions(name, options)
  if (checkTimeout(name, options.timeoutMs) !== undefined || options.key !== undefined || options.pure === false) return null
  return new CallTemplate(
    handle,
    checkPriority(name, options.priority),
    checkRestrictions(name, options.restrictions),
    checkResources(name, options.resources),
    checkRetries(name, options.retries),
    checkAllowOtherWorkers(name, options),
  )
}

function taskKey(name: string, payload: Buffer, options: TaskOptions): string {
  if (options.key !== undefined) {
    if (typeof options.key !== 'string' || options.key === '') throw new InvalidTaskError(`task ${name}: option key must be a non-empty string`)
    return options.key
  }
  if (options.pure === false) return hashedKey(name, Buffer.concat([payload, nextNonce()]))
  return hashedKey(name, payload)
}

const TASK_OPTIONS: ReadonlySet<string> = new Set<keyof TaskOptions>(['key', 'pure', 'priority', 'restrictions', 'resources', 'timeoutMs', 'retries', 'allowOtherWorkers'])

/** As Dask, which refuses allow_other_workers without workers: alone it would mean nothing. */
function checkAllowOtherWorkers(name: string, options: TaskOptions): boolean {
  const allow = options.allowOtherWorkers
  if (allow === undefined) return false
  if (typeof allow !== 'boolean') throw new InvalidTaskError(`task ${name}: option allowOtherWorkers must be a boolean, got ${String(allow)}`)
  if (allow && options.restrictions === undefined) throw new InvalidTaskError(`task ${name}: option allowOtherWorkers needs restrictions (the workers to prefer)`)
  return allow
}

const MAX_RETRIES = 1000

function checkRetries(name: string, retries: number | undefined): number {
  if (retries === undefined) return 0
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
    throw new InvalidTaskError(`task ${name}: option retries must be an integer from 0 to ${MAX_RETRIES}, got ${String(retries)}`)
  }
  return retries
}

/** Unknown options are refused (JavaScript callers have no compiler); the values are checked one by one below. */
function checkTaskOptions(name: string, options: TaskOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidTaskError(`task ${name}: options must be an object, not ${options === null ? 'null' : typeof options}`)
  for (const option in options) {
    if (!TASK_OPTIONS.has(option)) throw new InvalidTaskError(`task ${name}: unknown option '${option}' (known: ${[...TASK_OPTIONS].join(', ')})`)
  }
  if (options.pure !== undefined && typeof options.pure !== 'boolean') throw new InvalidTaskError(`task ${name}: option pure must be a boolean, got ${String(options.pure)}`)
}

function checkTimeout(name: string, timeoutMs: number | undefined): number | undefined {
  if (timeoutMs === undefined) return undefined
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) {
    throw new InvalidTaskError(`task ${name}: option timeoutMs must be a positive number of milliseconds (at most 2^31-1), got ${String(timeoutMs)}`)
  }
  return timeoutMs
}

const I32_MIN = -(2 ** 31)
const I32_MAX = 2 ** 31 - 1

function checkPriority(name: string, priority: number | undefined): number {
  if (priority === undefined) return 0
  if (!Number.isInteger(priority) || priority < I32_MIN || priority > I32_MAX) {
    throw new InvalidTaskError(`task ${name}: option priority must be a 32-bit integer, got ${String(priority)}`)
  }
  return priority
}

function checkRestrictions(name: string, restrictions: readonly string[] | undefined): readonly string[] | null {
  if (restrictions === undefined) return null
  if (!Array.isArray(restrictions) || restrictions.some((r) => typeof r !== 'string')) {
    throw new InvalidTaskError(`task ${name}: option restrictions must be an array of worker names`)
  }
  return restrictions
}

function checkResources(name: string, resources: Readonly<Record<string, number>> | undefined): Readonly<Record<string, number>> | null {
  if (resources === undefined) return null
  if (typeof resources !== 'object' || resources === null) {
    throw new InvalidTaskError(`task ${name}: option resources must be an object of resource name to amount`)
  }
  for (const [resource, amount] of Object.entries(resources)) {
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      throw new InvalidTaskError(`task ${name}: resource ${resource} must be a finite number >= 0, got ${String(amount)}`)
    }
  }
  return resources
}
