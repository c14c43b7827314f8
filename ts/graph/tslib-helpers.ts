/**
 * The helpers tsc emits into downlevelled function bodies (tslib's names and
 * semantics), except generators and async iteration (tslib-generator.ts,
 * tslib-async-iteration.ts). Module-interop and decorator helpers are not
 * here: a shipped function cannot import, and a decorated class inside one is
 * better written as a module function.
 */

type AnyFunction = (...args: any[]) => any
type Indexable = Record<PropertyKey, any>

const hasOwn = Object.prototype.hasOwnProperty
const isEnumerable = Object.prototype.propertyIsEnumerable

/** `__extends`: ES5 class inheritance, statics and prototype chain. */
export function extendsClass(derived: AnyFunction, base: AnyFunction | null): void {
  if (typeof base !== 'function' && base !== null) {
    throw new TypeError(`Class extends value ${String(base)} is not a constructor or null`)
  }
  Object.setPrototypeOf(derived, base)
  if (base === null) {
    derived.prototype = Object.create(null)
    return
  }
  const prototype = Object.create(base.prototype)
  // An own, enumerable `constructor`, as tslib's `function __() { this.constructor = d }` makes it.
  prototype.constructor = derived
  derived.prototype = prototype
}

/** `__assign`: object spread; tslib uses Object.assign wherever it exists. */
export const assign = Object.assign

/** `__rest`: object rest, the own enumerable properties of `source` not named in `excluded`. */
export function rest(source: any, excluded: PropertyKey[]): Indexable {
  const target: Indexable = {}
  for (const key in source) if (hasOwn.call(source, key) && excluded.indexOf(key) < 0) target[key] = source[key]
  if (source != null) {
    for (const symbol of Object.getOwnPropertySymbols(source)) {
      if (excluded.indexOf(symbol) < 0 && isEnumerable.call(source, symbol)) target[symbol] = source[symbol]
    }
  }
  return target
}

/** `__awaiter`: an async function as a generator driven by promises of class `P` (default Promise). */
export function awaiter(thisArg: unknown, args: ArrayLike<unknown> | undefined, P: PromiseConstructor | undefined, generator: AnyFunction): Promise<unknown> {
  const PromiseClass = P || Promise
  const adopt = (value: unknown) => (value instanceof PromiseClass ? value : new PromiseClass((resolve) => resolve(value)))
  return new PromiseClass((resolve, reject) => {
    let iterator: Iterator<unknown>
    const fulfilled = (value: unknown) => {
      try {
        advance(iterator.next(value))
      } catch (err) {
        reject(err)
      }
    }
    const rejected = (reason: unknown) => {
      try {
        advance(iterator.throw!(reason))
      } catch (err) {
        reject(err)
      }
    }
    const advance = (result: IteratorResult<unknown>) => {
      if (result.done) resolve(result.value)
      else adopt(result.value).then(fulfilled, rejected)
    }
    iterator = generator.apply(thisArg, (args || []) as unknown[])
    advance(iterator.next())
  })
}

/** `__values`: an iterator over `o`, falling back to indexes for array-likes (downlevelled for-of). */
export function values(o: any): Iterator<unknown> {
  const method = o[Symbol.iterator]
  if (method) return method.call(o)
  if (o && typeof o.length === 'number') {
    let source = o
    let index = 0
    return {
      next() {
        if (source && index >= source.length) source = undefined
        return { value: source && source[index++], done: !source } as IteratorResult<unknown>
      },
    }
  }
  throw new TypeError('Object is not iterable.')
}

/** `__read`: the first `n` values of an iterable (all without `n`), closing its iterator if it stopped early. */
export function read(o: any, n?: number): unknown[] {
  const method = o[Symbol.iterator]
  if (!method) return o
  const iterator = method.call(o)
  const taken: unknown[] = []
  let result: IteratorResult<unknown> | undefined
  let failure: { error: unknown } | undefined
  try {
    while ((n === undefined || n-- > 0) && !(result = iterator.next() as IteratorResult<unknown>).done) taken.push(result.value)
  } catch (error) {
    failure = { error }
  } finally {
    try {
      const close = result && !result.done ? iterator.return : undefined
      if (close) close.call(iterator)
    } finally {
      if (failure) throw failure.error
    }
  }
  return taken
}

/** `__spread` (before TypeScript 4.2): the concatenated values of iterables. */
export function spread(...iterables: unknown[]): unknown[] {
  let all: unknown[] = []
  for (const iterable of iterables) all = all.concat(read(iterable))
  return all
}

/** `__spreadArrays` (before TypeScript 4.2): the concatenated elements of arrays, holes read as undefined. */
export function spreadArrays(...arrays: ArrayLike<unknown>[]): unknown[] {
  let length = 0
  for (const array of arrays) length += array.length
  const all = new Array(length)
  let k = 0
  for (const array of arrays) for (let j = 0; j < array.length; j++, k++) all[k] = array[j]
  return all
}

/** `__spreadArray`: `to` concatenated with `from`; packing (or two arguments) turns holes of `from` into undefined. */
export function spreadArray(to: unknown[], from: ArrayLike<unknown>, pack?: boolean): unknown[] {
  let packed: unknown[] | undefined
  if (pack || arguments.length === 2) {
    for (let i = 0; i < from.length; i++) {
      if (packed || !(i in from)) {
        if (!packed) packed = Array.prototype.slice.call(from, 0, i)
        packed[i] = from[i]
      }
    }
  }
  return to.concat(packed || Array.prototype.slice.call(from))
}

/** `__makeTemplateObject`: the strings array of a downlevelled tagged template. */
export function makeTemplateObject(cooked: string[], raw: string[]): TemplateStringsArray {
  Object.defineProperty(cooked, 'raw', { value: raw })
  return cooked as unknown as TemplateStringsArray
}

/** `__classPrivateFieldGet`: reads a #private field (kind 'f'), accessor ('a') or method ('m'). */
export function classPrivateFieldGet(receiver: object, state: any, kind?: string, f?: any): unknown {
  if (kind === 'a' && !f) throw new TypeError('Private accessor was defined without a getter')
  const declared = typeof state === 'function' ? receiver === state && !!f : state.has(receiver)
  if (!declared) throw new TypeError('Cannot read private member from an object whose class did not declare it')
  if (kind === 'm') return f
  if (kind === 'a') return f.call(receiver)
  return f ? f.value : state.get(receiver)
}

/** `__classPrivateFieldSet`: writes a #private field or accessor; returns the value. */
export function classPrivateFieldSet(receiver: object, state: any, value: unknown, kind?: string, f?: any): unknown {
  if (kind === 'm') throw new TypeError('Private method is not writable')
  if (kind === 'a' && !f) throw new TypeError('Private accessor was defined without a setter')
  const declared = typeof state === 'function' ? receiver === state && !!f : state.has(receiver)
  if (!declared) throw new TypeError('Cannot write private member to an object whose class did not declare it')
  if (kind === 'a') f.call(receiver, value)
  else if (f) f.value = value
  else state.set(receiver, value)
  return value
}

/** `__classPrivateFieldIn`: `#field in receiver`. */
export function classPrivateFieldIn(state: any, receiver: unknown): boolean {
  if (receiver === null || (typeof receiver !== 'object' && typeof receiver !== 'function')) {
    throw new TypeError("Cannot use 'in' operator on non-object")
  }
  return typeof state === 'function' ? receiver === state : state.has(receiver)
}

/** `__setFunctionName`: names a function as its binding would (`[description]` for a symbol, an optional 'get'/'set' prefix). */
export function setFunctionName(f: AnyFunction, name: string | symbol, prefix?: string): AnyFunction {
  const text = typeof name === 'symbol' ? (name.description ? `[${name.description}]` : '') : name
  return Object.defineProperty(f, 'name', { configurable: true, value: prefix ? `${prefix} ${text}` : text })
}

/** `__propKey`: a computed property key, a symbol as is, anything else as a string. */
export function propKey(x: unknown): string | symbol {
  return typeof x === 'symbol' ? x : ''.concat(x as string)
}

/** The state tsc's `using` lowering keeps per block: resources to dispose and the error that ended the block. */
interface DisposalScope {
  stack: { value?: unknown; dispose?: AnyFunction; async: boolean }[]
  error: unknown
  hasError: boolean
}

/** `__addDisposableResource`: registers the value of a `using` (or `await using`) declaration. */
export function addDisposableResource(env: DisposalScope, value: any, async: boolean): unknown {
  if (value === null || value === undefined) {
    if (async) env.stack.push({ async: true })
    return value
  }
  if (typeof value !== 'object' && typeof value !== 'function') throw new TypeError('Object expected.')
  let dispose: AnyFunction | undefined
  let syncDispose: AnyFunction | undefined
  if (async) {
    if (!Symbol.asyncDispose) throw new TypeError('Symbol.asyncDispose is not defined.')
    dispose = value[Symbol.asyncDispose]
  }
  if (dispose === undefined) {
    if (!Symbol.dispose) throw new TypeError('Symbol.dispose is not defined.')
    dispose = value[Symbol.dispose]
    if (async) syncDispose = dispose
  }
  if (typeof dispose !== 'function') throw new TypeError('Object not disposable.')
  if (syncDispose) dispose = rejectingDispose(syncDispose)
  env.stack.push({ value, dispose, async })
  return value
}

/** `__disposeResources`: disposes a block's resources in reverse order; a promise when any disposal is async. */
export function disposeResources(env: DisposalScope): Promise<void> | undefined {
  const fail = (err: unknown) => {
    env.error = env.hasError ? suppressedError(err, env.error, 'An error was suppressed during disposal.') : err
    env.hasError = true
  }
  // Bit 1: a null `await using` was met (dispose asynchronously all the same); bit 2: an async disposal ran.
  let awaited = 0
  const next = (): Promise<void> | undefined => {
    let resource
    while ((resource = env.stack.pop())) {
      try {
        if (!resource.async && awaited === 1) {
          awaited = 0
          env.stack.push(resource)
          return Promise.resolve().then(next)
        }
        if (resource.dispose) {
          const result = resource.dispose.call(resource.value)
          if (resource.async) {
            awaited |= 2
            return Promise.resolve(result).then(next, (err) => {
              fail(err)
              return next()
            })
          }
        } else {
          awaited |= 1
        }
      } catch (err) {
        fail(err)
      }
    }
    if (awaited === 1) return env.hasError ? Promise.reject(env.error) : Promise.resolve()
    if (env.hasError) throw env.error
    return undefined
  }
  return next()
}

type SuppressedErrorConstructor = new (error: unknown, suppressed: unknown, message: string) => Error

/** SuppressedError where the runtime has it (not Node 20), else an Error shaped like one. */
/** `await using` of a sync disposable: the dispose function, with its throw turned into a rejection. */
export function rejectingDispose(inner: AnyFunction): AnyFunction {
  return function (this: unknown) {
    try {
      inner.call(this)
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

export function suppressedError(error: unknown, suppressed: unknown, message: string): Error {
  const Native = (globalThis as { SuppressedError?: SuppressedErrorConstructor }).SuppressedError
  if (typeof Native === 'function') return new Native(error, suppressed, message)
  const made = new Error(message) as Error & { error: unknown; suppressed: unknown }
  made.name = 'SuppressedError'
  made.error = error
  made.suppressed = suppressed
  return made
}
