import type { KeyRef } from '../protocol'

/** Any function a task may run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fn = (...args: any[]) => unknown

/** What a task of function `F` produces, once any returned promise settles. */
export type ResultOf<F extends Fn> = Awaited<ReturnType<F>>

declare const VALUE: unique symbol

/** A key as a type: a string that also records the type of the value stored under it. */
export type TypedKey<T> = string & { readonly [VALUE]?: T }

/**
 * The brand of things that stand for another task's result (a Task, a client
 * Future). Dependencies are found by this brand, never by comparing strings.
 */
export const DEPENDENCY: unique symbol = Symbol('skein.dependency')

/** Something that stands for the value of `key`: a Task or a Future. */
export interface Dependency<T = unknown> {
  readonly key: string
  /** The key to depend on; throws when this handle can no longer be depended on (e.g. a released future). */
  [DEPENDENCY](): TypedKey<T>
}

type Plain<T> = T extends Fn | Date | Uint8Array | ArrayBuffer | Map<unknown, unknown> | Set<unknown> ? never
  : T extends object ? { [K in keyof T]: Arg<T[K]> } : never

/**
 * What may stand in a task argument of type `T`: the value itself, or a task
 * or future producing it (or a KeyRef naming a key), also nested inside
 * arrays and plain objects.
 */
export type Arg<T> = T | Dependency<T> | UntypedRef | Plain<T>

/** A KeyRef, which carries no value type; excludes Tasks and Futures, which would otherwise match it by shape. */
type UntypedRef = KeyRef & { readonly [DEPENDENCY]?: never }

/** The arguments of `F`, each of which may be a dependency. */
export type Args<F extends Fn> = ArgsOf<Parameters<F>>

/** Each element of the tuple `P` as an {@link Arg}. */
export type ArgsOf<P extends readonly unknown[]> = { [K in keyof P]: Arg<P[K]> }
