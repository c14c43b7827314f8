import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { encode } from '../protocol'
import { capturedGlobals } from './captured-globals'
import { guardCaptured } from './captured-guard'
import { InvalidTaskError } from './errors'
import { functionHash } from './hash'
import { MODULE, SHIPPED, type FunctionRef } from './payload'
import type { Fn } from './types'

/**
 * A function that workers `import()`: the robust way to run code that has
 * its own imports or state. `F` is the function's type, for typed futures:
 * `moduleFunction<typeof import('./tasks.mjs').inc>('./tasks.mjs', 'inc')`.
 */
export class ModuleFunction<F extends Fn = Fn> {
  /** @internal phantom, never set: keeps `F` in the type. */
  declare readonly fnType?: F

  constructor(
    /** Absolute file URL, or a bare package specifier resolved by the worker. */
    readonly specifier: string,
    readonly exportName: string,
  ) {}

  get name(): string {
    return this.exportName
  }

  /** What task payloads carry to name this function. */
  get ref(): FunctionRef {
    return (this.cachedRef ??= [MODULE, this.specifier, this.exportName])
  }

  /** `ref` as the codec encodes it (payloads written by hand start with it). */
  get refBytes(): Buffer {
    return (this.cachedRefBytes ??= Buffer.from(encode(this.ref)))
  }

  private cachedRef: FunctionRef | undefined
  private cachedRefBytes: Buffer | undefined
}

/**
 * Names a function by module and export. A relative specifier (`./x.mjs`,
 * `../x.js`) or a path is resolved against `process.cwd()` now, so workers
 * started elsewhere find the same file; a bare specifier (a package name) is
 * imported by the worker as is.
 */
export function moduleFunction<F extends Fn = Fn>(specifier: string, exportName = 'default'): ModuleFunction<F> {
  if (typeof specifier !== 'string' || specifier === '') {
    throw new InvalidTaskError('moduleFunction: the module specifier must be a non-empty string')
  }
  if (typeof exportName !== 'string' || exportName === '') {
    throw new InvalidTaskError(`moduleFunction(${JSON.stringify(specifier)}): the export name must be a non-empty string`)
  }
  return new ModuleFunction<F>(resolveSpecifier(specifier), exportName)
}

function resolveSpecifier(specifier: string): string {
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || isAbsolute(specifier)) {
    return pathToFileURL(resolve(process.cwd(), specifier)).href
  }
  return specifier
}

/** A self-contained function shipped to workers as source and compiled there once per hash. */
export class ShippedFunction {
  /** What task payloads carry to name this function. */
  readonly ref: FunctionRef

  constructor(
    readonly hash: string,
    readonly name: string,
    readonly source: string,
  ) {
    this.ref = [SHIPPED, hash, name]
  }

  /** `ref` as the codec encodes it (payloads written by hand start with it). */
  get refBytes(): Buffer {
    return (this.cachedRefBytes ??= Buffer.from(encode(this.ref)))
  }

  private cachedRefBytes: Buffer | undefined
}

export type FunctionHandle = ShippedFunction | ModuleFunction

// Hashing a source is cheap, its closure check through the inspector is not (0.1-0.3 ms),
// and map() calls this once per item: remember it per function object.
const shipped = new WeakMap<Fn, ShippedFunction>()

/** @internal The handle a task carries for `fn`: a ModuleFunction as is, a plain function shipped by source. */
export function functionHandle(fn: Fn | ModuleFunction): FunctionHandle {
  if (fn instanceof ModuleFunction) return fn
  if (typeof fn !== 'function') {
    throw new InvalidTaskError(`a task needs a function or a moduleFunction(), got ${describe(fn)}`)
  }
  let handle = shipped.get(fn)
  if (handle === undefined) {
    handle = shipFunction(fn)
    shipped.set(fn, handle)
  }
  return handle
}

function shipFunction(fn: Fn): ShippedFunction {
  const name = fn.name || 'anonymous'
  const source = Function.prototype.toString.call(fn)
  if (source.includes('[native code]')) {
    throw new InvalidTaskError(
      `function ${name} has no shippable source (a built-in or bound function); wrap it in a function literal or use moduleFunction()`,
    )
  }
  if (/^class[\s{]/.test(source)) {
    throw new InvalidTaskError(`${name} is a class, not a function; a task runs a function`)
  }
  const captured = capturedGlobals(fn, source)
  const shippedSource = captured.length === 0 ? source : guardCaptured(source, captured)
  return new ShippedFunction(functionHash(shippedSource), name, shippedSource)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`
  return `a ${typeof value}`
}
