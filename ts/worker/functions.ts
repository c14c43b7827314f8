import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { FUNCTION_HASH_MISMATCH, FunctionHashMismatchError } from '../graph/errors'
import { MODULE, SHIPPED, type FunctionRef } from '../graph/payload'
import { helperScope } from '../graph/shipped-helpers'
import { taskScope } from './task-scope'

type TaskFunction = (...args: unknown[]) => unknown
/** A function, or why it could not be had (kept, so later tasks fail at once). */
export type Loaded = TaskFunction | Error

/** What waits for a function: a task that names it. */
export interface NeedsFunction {
  fn: FunctionRef | null
}

export interface FunctionHost<T extends NeedsFunction> {
  /** Asks for a shipped function's source (answered by defineShipped or sourceRefused). */
  askSource(hash: string): void
  /** The function of a waiting task is now loaded (or failed to load). */
  loaded(task: T): void
}

// tsc (CommonJS) would turn import() into require(), which cannot load ES modules or file URLs.
export const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>

/**
 * The functions tasks name: shipped sources compiled once per hash, module
 * exports imported once per specifier and name. Lookups allocate nothing.
 */
export class FunctionCache<T extends NeedsFunction> {
  private readonly shipped = new Map<string, Loaded>()
  private readonly modules = new Map<string, Map<string, Loaded>>()
  private readonly waitingShipped = new Map<string, T[]>()
  private readonly waitingModules = new Map<string, T[]>()
  /** The last reference found loaded, and what it names: tasks of one map share one reference object. */
  private lastRef: FunctionRef | null = null
  private lastLoaded: Loaded | undefined = undefined

  constructor(private readonly host: FunctionHost<T>) {}

  lookup(ref: FunctionRef): Loaded | undefined {
    if (ref === this.lastRef) return this.lastLoaded
    const loaded = ref[0] === SHIPPED ? this.shipped.get(ref[1]) : this.modules.get(ref[1])?.get(ref[2])
    // What a reference names never changes once loaded.
    if (loaded !== undefined) {
      this.lastRef = ref
      this.lastLoaded = loaded
    }
    return loaded
  }

  /** Starts loading `ref` for `task`; the host hears back through `loaded`. */
  load(ref: FunctionRef, task: T): void {
    if (ref[0] === SHIPPED) {
      const waiting = this.waitingShipped.get(ref[1])
      if (waiting) return void waiting.push(task)
      this.waitingShipped.set(ref[1], [task])
      this.host.askSource(ref[1])
      return
    }
    const id = `${ref[1]}\0${ref[2]}`
    const waiting = this.waitingModules.get(id)
    if (waiting) return void waiting.push(task)
    this.waitingModules.set(id, [task])
    const [, specifier, exportName] = ref
    importExport(specifier, exportName).then(
      (fn) => this.settleModule(specifier, exportName, id, fn),
      (err: Error) => this.settleModule(specifier, exportName, id, err),
    )
  }

  /** The scheduler sent a shipped function's source. */
  defineShipped(hash: string, source: string, name: string): void {
    if (!this.shipped.has(hash)) this.shipped.set(hash, compileShipped(source, name))
    this.wake(this.waitingShipped, hash)
  }

  /** The source of `hash` cannot be had (`code` as in SourceRefusal). */
  sourceRefused(hash: string, code: string, reason: string): void {
    const name = this.waitingShipped.get(hash)?.[0]?.fn?.[2] ?? hash
    const error =
      code === FUNCTION_HASH_MISMATCH
        ? new FunctionHashMismatchError(reason)
        : new Error(`shipped function '${name}' is unknown to the scheduler (${reason}); the client must register it before submitting tasks that use it`)
    this.shipped.set(hash, error)
    this.wake(this.waitingShipped, hash)
  }

  private settleModule(specifier: string, exportName: string, id: string, loaded: Loaded): void {
    let exports = this.modules.get(specifier)
    if (!exports) this.modules.set(specifier, (exports = new Map()))
    exports.set(exportName, loaded)
    this.wake(this.waitingModules, id)
  }

  private wake(waiting: Map<string, T[]>, id: string): void {
    const tasks = waiting.get(id)
    if (!tasks) return
    waiting.delete(id)
    for (const task of tasks) this.host.loaded(task)
  }
}

/**
 * Compiles a shipped function's source, with the compiler helpers it mentions
 * in scope (see helperScope), and the task API it names (see taskScope). Pure: call it in the thread that runs the
 * function. Sloppy-mode `new Function` on purpose: the client may wrap a
 * source in a `with` block (see guardCaptured), which strict code rejects.
 */
export function compileShipped(source: string, name: string): Loaded {
  const compiler = helperScope(source)
  const task = taskScope(source, compiler.names)
  const helpers = task.names.length === 0 ? compiler : { names: [...compiler.names, ...task.names], values: [...compiler.values, ...task.values] }
  try {
    let fn: unknown
    try {
      fn = new Function(...helpers.names, `return (${source}\n)`)(...helpers.values)
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err
      // Method shorthand (`name(x) { ... }`) is only an expression inside an object literal.
      const holder = new Function(...helpers.names, `return ({ ${source}\n })`)(...helpers.values) as Record<string, unknown>
      fn = Object.values(holder)[0]
    }
    if (typeof fn !== 'function') return new Error(`shipped function '${name}' did not compile to a function`)
    return fn as TaskFunction
  } catch (err) {
    return new Error(`shipped function '${name}' cannot be compiled on the worker: ${(err as Error).message}; use a module function instead`)
  }
}

async function importExport(specifier: string, exportName: string): Promise<TaskFunction> {
  const mod = await importModule(specifier)
  let fn = mod[exportName]
  const fallback = mod.default
  if (typeof fn !== 'function' && fallback && typeof fallback === 'object') fn = (fallback as Record<string, unknown>)[exportName]
  if (typeof fn !== 'function') throw new Error(`module '${specifier}' has no function export '${exportName}'`)
  return fn as TaskFunction
}

async function importModule(specifier: string): Promise<Record<string, unknown>> {
  const target = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier
  try {
    return await dynamicImport(target)
  } catch (err) {
    const code = (err as { code?: string }).code
    const bare = !path.isAbsolute(specifier) && !specifier.startsWith('.') && !/^[a-z]+:/i.test(specifier)
    if (code !== 'ERR_MODULE_NOT_FOUND' || !bare) throw new Error(`cannot import module '${specifier}': ${(err as Error).message}`)
    // A package installed in the user's project rather than next to skein.
    const resolved = createRequire(path.join(process.cwd(), 'index.js')).resolve(specifier)
    return dynamicImport(pathToFileURL(resolved).href)
  }
}

/**
 * A shipped function that touches a variable from its defining scope throws a
 * ReferenceError on the worker; say what happened and what to do instead.
 */
export function explainFailure(err: unknown, ref: FunctionRef | null): unknown {
  if (!(err instanceof ReferenceError) || ref === null || ref[0] !== SHIPPED) return err
  const identifier = /^(\S+) is not defined/.exec(err.message)?.[1]
  if (!identifier) return err
  const explained = new ReferenceError(
    `shipped function '${ref[2]}' refers to '${identifier}', which is not defined on the worker: ` +
      `a shipped function must be self-contained (only its parameters and globals); use a module function for code that needs imports or outer variables`,
  )
  explained.stack = `${explained.name}: ${explained.message}\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`
  return explained
}

export function isFunctionRef(v: unknown): v is FunctionRef {
  return Array.isArray(v) && v.length === 3 && (v[0] === SHIPPED || v[0] === MODULE) && typeof v[1] === 'string' && typeof v[2] === 'string'
}
