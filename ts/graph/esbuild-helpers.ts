/**
 * The helpers esbuild (and so tsx) emits into function bodies it lowers: its
 * runtime's names and semantics. `__name` comes with every named inner
 * function under tsx (keepNames); the rest appear when code is bundled for an
 * older target, or for syntax Node lacks (`using`). Module-interop and
 * decorator helpers are not here: a shipped function cannot import, and a
 * decorated class inside one is better written as a module function.
 */
import { rejectingDispose, rest, suppressedError } from './tslib-helpers'

type AnyFunction = (...args: any[]) => any
type Indexable = Record<PropertyKey, any>
type Verb = 'next' | 'throw' | 'return'

const hasOwn = Object.prototype.hasOwnProperty
const isEnumerable = Object.prototype.propertyIsEnumerable

/** `__name`: keeps a function's or class's name through minifying and lowering. */
export function keepName<T extends object>(target: T, value: string): T {
  return Object.defineProperty(target, 'name', { value, configurable: true })
}

/** `__pow`: `**` below ES2016. */
export const pow = Math.pow

/** Sets a property as object literals and class fields do: a define where an inherited setter would intercept an assignment. */
function defineNormal(obj: Indexable, key: PropertyKey, value: unknown): unknown {
  if (key in obj) return Object.defineProperty(obj, key, { enumerable: true, configurable: true, writable: true, value })
  return (obj[key] = value)
}

/** `__spreadValues`: object spread, own enumerable strings then symbols of `b` onto `a`. */
export function spreadValues(a: Indexable, b: any): Indexable {
  b ||= {}
  for (const key in b) if (hasOwn.call(b, key)) defineNormal(a, key, b[key])
  for (const symbol of Object.getOwnPropertySymbols(b)) if (isEnumerable.call(b, symbol)) defineNormal(a, symbol, b[symbol])
  return a
}

/** `__spreadProps`: the properties after a spread in an object literal, copied with their descriptors. */
export function spreadProps(a: object, b: object): object {
  return Object.defineProperties(a, Object.getOwnPropertyDescriptors(b))
}

/** `__restKey`: a computed key excluded from an object rest. */
export function restKey(key: unknown): string | symbol {
  return typeof key === 'symbol' ? key : `${key as string}`
}

/** `__objRest`: object rest, the own enumerable properties of `source` not in `exclude` (tslib's `__rest`). */
export const objRest = rest

/** `__publicField`: a class field, defined rather than assigned. */
export function publicField(obj: Indexable, key: unknown, value: unknown): unknown {
  return defineNormal(obj, typeof key !== 'symbol' ? `${key as string}` : key, value)
}

type PrivateMember = WeakMap<object, unknown> | WeakSet<object>

function accessCheck(obj: object, member: PrivateMember, what: string): void {
  if (!member.has(obj)) throw new TypeError(`Cannot ${what}`)
}

/** `__privateIn`: `#member in obj`. */
export function privateIn(member: PrivateMember, obj: unknown): boolean {
  if (Object(obj) !== obj) throw new TypeError('Cannot use the "in" operator on this value')
  return member.has(obj as object)
}

/** `__privateGet`: reads a #private field, or calls its getter. */
export function privateGet(obj: object, member: PrivateMember, getter?: AnyFunction): unknown {
  accessCheck(obj, member, 'read from private field')
  return getter ? getter.call(obj) : (member as WeakMap<object, unknown>).get(obj)
}

/** `__privateAdd`: installs a #private field (WeakMap) or method brand (WeakSet) on a new instance. */
export function privateAdd(obj: object, member: PrivateMember, value?: unknown): void {
  if (member.has(obj)) throw new TypeError('Cannot add the same private member more than once')
  if (member instanceof WeakSet) member.add(obj)
  else member.set(obj, value)
}

/** `__privateSet`: writes a #private field, or calls its setter; returns the value. */
export function privateSet(obj: object, member: PrivateMember, value: unknown, setter?: AnyFunction): unknown {
  accessCheck(obj, member, 'write to private field')
  if (setter) setter.call(obj, value)
  else (member as WeakMap<object, unknown>).set(obj, value)
  return value
}

/** `__privateMethod`: a #private method, once `obj` is checked to have it. */
export function privateMethod(obj: object, member: PrivateMember, method: AnyFunction): AnyFunction {
  accessCheck(obj, member, 'access private method')
  return method
}

/** `__privateWrapper`: a #private member as a `_` property, for destructuring and update targets. */
export function privateWrapper(obj: object, member: PrivateMember, setter?: AnyFunction, getter?: AnyFunction): { _: unknown } {
  return {
    set _(value: unknown) {
      privateSet(obj, member, value, setter)
    },
    get _() {
      return privateGet(obj, member, getter)
    },
  }
}

/** `__earlyAccess`: a class binding read before its declaration finished. */
export function earlyAccess(binding: string): never {
  throw new ReferenceError(`Cannot access "${binding}" before initialization`)
}

/** `__superGet`: `super[key]` in code moved out of its method (a lowered async arrow). */
export function superGet(cls: object, obj: object, key: PropertyKey): unknown {
  return Reflect.get(Object.getPrototypeOf(cls), key, obj)
}

/** `__superSet`: `super[key] = value` in code moved out of its method. */
export function superSet(cls: object, obj: object, key: PropertyKey, value: unknown): unknown {
  Reflect.set(Object.getPrototypeOf(cls), key, value, obj)
  return value
}

/** `__superWrapper`: `super[key]` as a `_` property, for destructuring and update targets. */
export function superWrapper(cls: object, obj: object, key: PropertyKey): { _: unknown } {
  return {
    get _() {
      return superGet(cls, obj, key)
    },
    set _(value: unknown) {
      superSet(cls, obj, key, value)
    },
  }
}

/** `__template`: the frozen strings array of a lowered tagged template. */
export function template(cooked: string[], raw?: string[]): TemplateStringsArray {
  return Object.freeze(Object.defineProperty(cooked, 'raw', { value: Object.freeze(raw || cooked.slice()) })) as unknown as TemplateStringsArray
}

/** `__async`: an async function as a generator driven by promises. */
export function runAsync(thisArg: unknown, args: ArrayLike<unknown> | null, generatorFunction: AnyFunction): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let generator: Generator
    const fulfilled = (value: unknown) => {
      try {
        step(generator.next(value))
      } catch (err) {
        reject(err)
      }
    }
    const rejected = (reason: unknown) => {
      try {
        step(generator.throw(reason))
      } catch (err) {
        reject(err)
      }
    }
    const step = (result: IteratorResult<unknown>) => (result.done ? resolve(result.value) : Promise.resolve(result.value).then(fulfilled, rejected))
    generator = generatorFunction.apply(thisArg, args as unknown[])
    step(generator.next())
  })
}

/**
 * `__await` (constructed with `new`): in a lowered async generator, a value to
 * await; with `isYieldStar`, the promise of an inner iterator result of `yield*`.
 */
export function EsbuildAwait(this: Indexable, promise: unknown, isYieldStar?: number): void {
  this[0] = promise
  this[1] = isYieldStar
}

/** `__asyncGenerator`: an async iterator driven by a generator that yields values and `new __await(...)` markers. */
export function asyncGenerator(thisArg: unknown, args: ArrayLike<unknown> | null, generatorFunction: AnyFunction): AsyncGenerator {
  const generator: Record<Verb, AnyFunction> = generatorFunction.apply(thisArg, args as unknown[])
  const resume = (verb: Verb, value: unknown, yes: (result: IteratorResult<unknown>) => void, no: (err: unknown) => void) => {
    try {
      const result = generator[verb](value)
      const yielded = result.value
      const marker: Indexable | undefined = yielded instanceof EsbuildAwait ? yielded : undefined
      Promise.resolve(marker ? marker[0] : yielded)
        .then((settled) =>
          marker
            ? resume(verb === 'return' ? verb : 'next', marker[1] ? { done: settled.done, value: settled.value } : settled, yes, no)
            : yes({ value: settled, done: result.done }),
        )
        .catch((err) => resume('throw', err, yes, no))
    } catch (err) {
      no(err)
    }
  }
  // Calls run one after the other: each waits until the one before it settled.
  let previous: Promise<unknown> | undefined
  const iterator: Indexable = {}
  iterator[Symbol.asyncIterator] = () => iterator
  for (const verb of ['next', 'throw', 'return'] as const) {
    iterator[verb] = (value: unknown) => {
      const call = new Promise<IteratorResult<unknown>>((yes, no) => {
        const run = () => resume(verb, value, yes, no)
        if (previous) previous.then(run)
        else run()
      })
      const settled: Promise<unknown> = call.then(
        () => forget(),
        () => forget(),
      )
      const forget = () => {
        if (previous === settled) previous = undefined
      }
      previous = settled
      return call
    }
  }
  return iterator as AsyncGenerator
}

/** `__yieldStar`: the delegate of a lowered `yield*`; an async iterable's results go through `__await` markers. */
export function yieldStar(value: any): Iterator<unknown> {
  const asyncMethod = value[Symbol.asyncIterator]
  const inner = asyncMethod == null ? value[Symbol.iterator]() : asyncMethod.call(value)
  const forward = asyncMethod == null ? forwardSync(inner) : forwardAwaited(inner)
  const delegator: Indexable = { next: forward('next') }
  delegator.throw =
    'throw' in inner
      ? forward('throw')
      : (err: unknown) => {
          throw err
        }
  if ('return' in inner) delegator.return = forward('return')
  delegator[Symbol.iterator] = () => delegator
  return delegator as Iterator<unknown>
}

function forwardSync(inner: Indexable): (verb: Verb) => AnyFunction {
  return (verb) => (sent: unknown) => inner[verb](sent)
}

function forwardAwaited(inner: Indexable): (verb: Verb) => AnyFunction {
  // Each resumption takes two steps: hand the driver the inner promise to await, then return what it resolved to.
  let awaiting = false
  return (verb) => (sent: unknown) => {
    if (awaiting) {
      awaiting = false
      if (verb === 'throw') throw sent
      return sent
    }
    awaiting = true
    const innerResult = new Promise((resolve) => {
      const result = inner[verb](sent)
      if (!(result instanceof Object)) throw new TypeError('Object expected')
      resolve(result)
    })
    return { done: false, value: new (EsbuildAwait as unknown as new (promise: unknown, isYieldStar: number) => object)(innerResult, 1) }
  }
}

/** `__forAwait`: the async iterator a lowered `for await` reads (a sync iterable's values are awaited). */
export function forAwait(obj: any): AsyncIterator<unknown> {
  const asyncMethod = obj[Symbol.asyncIterator]
  if (asyncMethod) return asyncMethod.call(obj)
  const inner = obj[Symbol.iterator]()
  const iterator: Indexable = {}
  for (const verb of ['next', 'return'] as const) {
    const method = inner[verb]
    if (!method) continue
    iterator[verb] = (sent: unknown) =>
      new Promise((yes, no) => {
        const result = method.call(inner, sent)
        const done = result.done
        Promise.resolve(result.value).then((value) => yes({ value, done }), no)
      })
  }
  return iterator as AsyncIterator<unknown>
}

/** A well-known symbol, or the registered stand-in esbuild uses where the runtime lacks it. */
function knownSymbol(name: 'dispose' | 'asyncDispose'): symbol {
  return Symbol[name] ?? Symbol.for(`Symbol.${name}`)
}

/** One resource of a lowered `using` block: [async, dispose, value], or [true] for a null `await using`. */
type Resource = [async: boolean | undefined, dispose?: AnyFunction, value?: unknown]

/** `__using`: registers the value of a `using` (or `await using`) declaration on the block's stack. */
export function addUsing(stack: Resource[], value: any, async?: boolean): unknown {
  if (value != null) {
    if (typeof value !== 'object' && typeof value !== 'function') throw new TypeError('Object expected')
    let dispose: AnyFunction | undefined
    let syncDispose: AnyFunction | undefined
    if (async) dispose = value[knownSymbol('asyncDispose')]
    if (dispose === undefined) {
      dispose = value[knownSymbol('dispose')]
      if (async) syncDispose = dispose
    }
    if (typeof dispose !== 'function') throw new TypeError('Object not disposable')
    if (syncDispose) dispose = rejectingDispose(syncDispose)
    stack.push([async, dispose, value])
  } else if (async) {
    stack.push([async])
  }
  return value
}

/** `__callDispose`: disposes a block's resources in reverse order; a promise once an async one is met. */
export function callDispose(stack: Resource[], error: unknown, hasError: boolean): Promise<void> | undefined {
  const fail = (err: unknown) => {
    if (hasError) error = suppressedError(err, error, 'An error was suppressed during disposal')
    else {
      hasError = true
      error = err
    }
  }
  const next = (): Promise<void> | undefined => {
    let resource
    while ((resource = stack.pop())) {
      try {
        const result = resource[1] && resource[1].call(resource[2])
        if (resource[0]) {
          return Promise.resolve(result).then(next, (err) => {
            fail(err)
            return next()
          })
        }
      } catch (err) {
        fail(err)
      }
    }
    if (hasError) throw error
    return undefined
  }
  return next()
}
