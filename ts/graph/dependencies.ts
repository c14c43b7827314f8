import { KeyRef, assertEncodable } from '../protocol'
import { InvalidTaskError } from './errors'
import { DEPENDENCY, type Dependency } from './types'

/** Task arguments with every dependency replaced by a KeyRef, and the dependencies found. */
export interface ReplacedArguments {
  args: unknown[]
  /** Distinct keys depended on, in order of first appearance. */
  keys: string[]
  /** The Task or Future objects found (one per key); KeyRefs given directly have none. */
  sources: Dependency[]
}

/**
 * @internal used by task building.
 * Finds dependencies by type: a Task or Future (anything branded
 * DEPENDENCY) or a KeyRef, at any depth inside plain arrays and plain
 * objects. Strings are never compared with keys. Containers are copied only
 * where something was replaced. Everything else must be plain, encodable data.
 */
export function replaceDependencies(args: readonly unknown[], taskName: string): ReplacedArguments {
  if (allPrimitive(args)) return { args: args as unknown[], keys: NONE, sources: NONE }
  const flat = replaceFlat(args)
  if (flat !== null) return flat
  const walk = new Walk(taskName)
  const out = walk.array(args)
  return { args: out as unknown[], keys: walk.keys, sources: walk.sources }
}

// Shared by every task without dependencies (most tasks of a map): never mutated.
const NONE: never[] = []

function allPrimitive(args: readonly unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const t = typeof args[i]
    if ((t === 'object' && args[i] !== null) || t === 'function' || t === 'symbol') return false
  }
  return true
}

/** Past this many dependencies, `replaceFlat` dedupes keys with a Set rather than by scanning them. */
const SCANNED_KEYS = 16

/**
 * What the Walk gives for arguments that are each a primitive, a dependency or a KeyRef (a
 * reduction over the outputs of other tasks), in one pass with no Walk state; null for any
 * other arguments (nested containers, values to check or to refuse), which the Walk handles.
 */
function replaceFlat(args: readonly unknown[]): ReplacedArguments | null {
  let out: unknown[] | null = null
  const keys: string[] = []
  const sources: Dependency[] = []
  let seen: Set<string> | null = null
  for (let i = 0; i < args.length; i++) {
    const v = args[i]
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'function' || typeof v === 'symbol') return null
      continue
    }
    let key: string
    let source: Dependency | null = null
    if (v instanceof KeyRef) key = v.key
    else if (DEPENDENCY in v) {
      source = v as Dependency
      key = source[DEPENDENCY]()
      out ??= args.slice()
      out[i] = new KeyRef(key)
    } else return null
    if (seen !== null) {
      if (seen.has(key)) continue
      seen.add(key)
    } else if (keys.includes(key)) continue
    else if (keys.length === SCANNED_KEYS) seen = new Set(keys).add(key)
    keys.push(key)
    if (source !== null) sources.push(source)
  }
  return { args: out ?? (args as unknown[]), keys, sources }
}

class Walk {
  keys: string[] = []
  sources: Dependency[] = []
  private seen: Set<string> | null = null
  private readonly path: (string | number)[] = []
  private readonly ancestors: object[] = []

  constructor(private readonly taskName: string) {}

  array(values: readonly unknown[]): readonly unknown[] {
    let out: unknown[] | null = null
    this.enter(values)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      this.path.push(i)
      const w = this.value(v)
      this.path.pop()
      if (w !== v) {
        out ??= values.slice()
        out[i] = w
      }
    }
    this.ancestors.pop()
    return out ?? values
  }

  private value(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'function' || typeof v === 'symbol') this.fail(`is a ${typeof v}, which cannot be sent to a worker (pass data; a function to run is the task's own function)`)
      return v
    }
    if (v instanceof KeyRef) {
      this.add(v.key, null)
      return v
    }
    if (DEPENDENCY in v) {
      const dependency = v as Dependency
      const key = dependency[DEPENDENCY]()
      this.add(key, dependency)
      return new KeyRef(key)
    }
    if (Array.isArray(v)) return this.array(v)
    const proto = Object.getPrototypeOf(v)
    if (proto === Object.prototype || proto === null) return this.object(v as Record<string, unknown>)
    try {
      assertEncodable(v, this.where())
    } catch (err) {
      throw new InvalidTaskError(`task ${this.taskName}: ${(err as Error).message}`)
    }
    return v
  }

  private object(obj: Record<string, unknown>): Record<string, unknown> {
    let out: Record<string, unknown> | null = null
    this.enter(obj)
    for (const k of Object.keys(obj)) {
      const v = obj[k]
      this.path.push(k)
      const w = this.value(v)
      this.path.pop()
      if (w !== v) {
        out ??= { ...obj }
        out[k] = w
      }
    }
    this.ancestors.pop()
    return out ?? obj
  }

  private enter(container: object): void {
    if (this.ancestors.includes(container)) this.fail('refers back to itself (a cycle), which cannot be encoded')
    this.ancestors.push(container)
  }

  private add(key: string, source: Dependency | null): void {
    // Most tasks have zero or one dependency: build the set only when a second one appears.
    if (this.keys.length === 0) {
      this.keys.push(key)
      if (source) this.sources.push(source)
      return
    }
    this.seen ??= new Set(this.keys)
    if (this.seen.has(key)) return
    this.seen.add(key)
    this.keys.push(key)
    if (source) this.sources.push(source)
  }

  private where(): string {
    let s = 'args'
    for (const p of this.path) s += typeof p === 'number' ? `[${p}]` : `.${p}`
    return s
  }

  private fail(problem: string): never {
    throw new InvalidTaskError(`task ${this.taskName}: argument ${this.where()} ${problem}`)
  }
}
