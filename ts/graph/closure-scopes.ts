import type { Session } from 'node:inspector'
import type { Fn } from './types'

/**
 * The variables a function's closure holds, read through an in-process
 * inspector session (`[[Scopes]]` of Runtime.getProperties): every scope but
 * the global one. V8 keeps in a scope only the variables some inner function
 * uses, but all of those, so the names may include ones `fn` itself never
 * touches.
 *
 * The names are collected by a function run on the scope list (each entry is
 * `{ description, object }` in V8's inspector): Runtime.getProperties on a
 * scope would serialize every value too, the source text of every function
 * included, which costs milliseconds in a module of many functions. The
 * documented way stays as the fallback.
 */

interface RemoteObject {
  objectId?: string
  description?: string
}
interface PropertyDescriptor {
  name: string
  value?: RemoteObject
}
interface Properties {
  result: PropertyDescriptor[]
  internalProperties?: PropertyDescriptor[]
}

// Runtime.evaluate sees only globals: the function waits here while it is looked up.
const SLOT = 'skein.inspectedFunction'
const LOOKUP = `globalThis[Symbol.for(${JSON.stringify(SLOT)})]`
const OBJECT_GROUP = 'skein-closure-scopes'
const SCOPE_NAMES = `function () {
  const names = []
  for (let i = 0; i < this.length; i++) {
    if (this[i].description !== 'Global') names.push(...Object.getOwnPropertyNames(this[i].object))
  }
  return names
}`

/** undefined: not tried yet; null: no inspector in this runtime (or it answers asynchronously). */
let session: Session | null | undefined

function connectedSession(): Session | null {
  if (session === undefined) {
    try {
      // Required lazily: a Node built without the inspector throws on loading the module.
      const { Session } = require('node:inspector') as typeof import('node:inspector')
      session = new Session()
      session.connect()
    } catch {
      session = null
    }
  }
  return session
}

/** One protocol call; a session on the same thread answers before post() returns. */
function post<T>(connected: Session, method: string, params: object): T {
  let answered = false
  let failure: Error | null = null
  let answer: unknown
  connected.post(method, params, (err: Error | null, result: unknown) => {
    answered = true
    failure = err
    answer = result
  })
  if (!answered) {
    session = null
    throw new Error(`the inspector answered ${method} asynchronously`)
  }
  if (failure) throw failure
  return answer as T
}

/** Names of the variables in `fn`'s non-global scopes, or null when this runtime cannot tell. */
export function closureVariableNames(fn: Fn): Set<string> | null {
  const connected = connectedSession()
  if (connected === null) return null
  const global = globalThis as Record<symbol, unknown>
  const slot = Symbol.for(SLOT)
  global[slot] = fn
  try {
    const evaluated = post<{ result: RemoteObject }>(connected, 'Runtime.evaluate', { expression: LOOKUP, objectGroup: OBJECT_GROUP, silent: true })
    const own = post<Properties>(connected, 'Runtime.getProperties', { objectId: evaluated.result.objectId, ownProperties: true })
    const scopesId = own.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId
    if (scopesId === undefined) return new Set()
    return scopeNames(connected, scopesId) ?? scopeNamesByProperties(connected, scopesId)
  } catch {
    return null
  } finally {
    delete global[slot]
    if (session) {
      try {
        post(session, 'Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP })
      } catch {
        // Nothing held: the lookup failed before anything was handed out.
      }
    }
  }
}

function scopeNames(connected: Session, scopesId: string): Set<string> | null {
  const called = post<{ result: { value?: unknown }; exceptionDetails?: unknown }>(connected, 'Runtime.callFunctionOn', {
    objectId: scopesId,
    functionDeclaration: SCOPE_NAMES,
    returnByValue: true,
    silent: true,
  })
  const names = called.result.value
  if (called.exceptionDetails !== undefined || !Array.isArray(names) || !names.every((name) => typeof name === 'string')) return null
  return new Set(names as string[])
}

function scopeNamesByProperties(connected: Session, scopesId: string): Set<string> {
  const names = new Set<string>()
  for (const scope of post<Properties>(connected, 'Runtime.getProperties', { objectId: scopesId, ownProperties: true }).result) {
    const scopeId = scope.value?.objectId
    if (scopeId === undefined || scope.value?.description === 'Global') continue
    for (const variable of post<Properties>(connected, 'Runtime.getProperties', { objectId: scopeId, ownProperties: true }).result) {
      names.add(variable.name)
    }
  }
  return names
}
