/**
 * tsc's helpers for async generators and `for await` below ES2018: the body
 * becomes a generator that yields `__await(x)` for every await, and the
 * value itself for every yield (after awaiting it the same way).
 */
import { values } from './tslib-helpers'

type AnyFunction = (...args: any[]) => any
type Verb = 'next' | 'throw' | 'return'

/** `__await`: marks a value the driving async generator awaits (callable with or without `new`). */
export function tslibAwait(this: unknown, value: unknown): unknown {
  if (!(this instanceof tslibAwait)) return new (tslibAwait as unknown as new (value: unknown) => object)(value)
  ;(this as { v: unknown }).v = value
  return this
}

/** A call waiting its turn on an async generator: tslib runs them one at a time, in order. */
type Request = [verb: Verb, value: unknown, resolve: (result: IteratorResult<unknown>) => void, reject: (err: unknown) => void]

/** `__asyncGenerator`: an async iterator driven by `generator`, which yields `__await` markers and results. */
export function asyncGenerator(thisArg: unknown, args: ArrayLike<unknown> | undefined, generatorFunction: AnyFunction): AsyncGenerator {
  const generator: Record<Verb, AnyFunction | undefined> = generatorFunction.apply(thisArg, (args || []) as unknown[])
  const queue: Request[] = []
  const AsyncIteratorBase = (globalThis as { AsyncIterator?: AnyFunction }).AsyncIterator
  const iterator = Object.create(typeof AsyncIteratorBase === 'function' ? AsyncIteratorBase.prototype : Object.prototype)

  const settle = (callback: (value: any) => void, value: unknown) => {
    callback(value)
    queue.shift()
    if (queue.length) resume(queue[0][0], queue[0][1])
  }
  const resume = (verb: Verb, value: unknown) => {
    try {
      advance(generator[verb]!(value))
    } catch (err) {
      settle(queue[0][3], err)
    }
  }
  const advance = (result: IteratorResult<unknown>) => {
    if (result.value instanceof tslibAwait) {
      Promise.resolve((result.value as { v: unknown }).v).then(
        (value) => resume('next', value),
        (reason) => resume('throw', reason),
      )
    } else {
      settle(queue[0][2], result)
    }
  }
  const enqueue = (verb: Verb) => (value: unknown) =>
    new Promise<IteratorResult<unknown>>((resolve, reject) => {
      if (queue.push([verb, value, resolve, reject]) === 1) resume(verb, value)
    })

  for (const verb of ['next', 'throw', 'return'] as const) if (generator[verb]) iterator[verb] = enqueue(verb)
  if (iterator.return) {
    // return(value) awaits its argument first, as an async generator's return does.
    const enqueueReturn = iterator.return
    iterator.return = (value: unknown) => Promise.resolve(value).then(enqueueReturn, (reason) => iterator.throw(reason))
  }
  iterator[Symbol.asyncIterator] = function (this: unknown) {
    return this
  }
  return iterator
}

/** `__asyncDelegator`: `yield*` of an async iterator inside a downlevelled async generator. */
export function asyncDelegator(o: any): Iterator<unknown> {
  // Each resumption takes two steps: await the inner result, then hand it on as is.
  let awaiting = false
  const delegator: Record<PropertyKey, unknown> = {}
  const verb = (name: Verb, fallback?: (value: unknown) => unknown) => {
    delegator[name] = o[name]
      ? (value: unknown) => ((awaiting = !awaiting) ? { value: tslibAwait(o[name](value)), done: false } : fallback ? fallback(value) : value)
      : fallback
  }
  verb('next')
  verb('throw', (err) => {
    throw err
  })
  verb('return')
  delegator[Symbol.iterator] = function (this: unknown) {
    return this
  }
  return delegator as unknown as Iterator<unknown>
}

/** `__asyncValues`: the async iterator a downlevelled `for await` reads (a sync iterable's values are awaited). */
export function asyncValues(o: any): AsyncIterator<unknown> {
  const method = o[Symbol.asyncIterator]
  if (method) return method.call(o)
  const inner = values(o) as unknown as Record<Verb, AnyFunction | undefined>
  const iterator: Record<PropertyKey, unknown> = {}
  for (const verb of ['next', 'throw', 'return'] as const) {
    const innerMethod = inner[verb]
    iterator[verb] =
      innerMethod &&
      ((value: unknown) =>
        new Promise((resolve, reject) => {
          const result = innerMethod.call(inner, value)
          Promise.resolve(result.value).then((settled) => resolve({ value: settled, done: result.done }), reject)
        }))
  }
  iterator[Symbol.asyncIterator] = function (this: unknown) {
    return this
  }
  return iterator as unknown as AsyncIterator<unknown>
}
