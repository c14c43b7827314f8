import { closureVariableNames } from './closure-scopes'
import { functionExpression } from './function-expression'
import type { Fn } from './types'

/**
 * The variables a function captured from where it was defined under the name
 * of a global (a local `crypto` or `performance`, an imported `Map`) and
 * really uses. Shipped as source, such a function would find the worker's
 * global there instead and go on silently with it, where any other captured
 * variable fails with a ReferenceError; see guardCaptured.
 *
 * Cheap first: only names of globals that the source mentions, and only if
 * the closure holds some of them, get the exact check.
 */
export function capturedGlobals(fn: Fn, source: string): string[] {
  const mentioned = mentionedGlobals(source)
  if (mentioned.size === 0) return []
  const closure = closureVariableNames(fn)
  // No inspector: the worker's ReferenceError stays the only check, as for any captured variable.
  if (closure === null) return []
  const candidates = [...mentioned].filter((name) => closure.has(name))
  if (candidates.length === 0) return []
  return usedFreely(source, candidates)
}

// Identifiers, and what comes just before them, to tell `a.b` and `a?.b` (properties) from `...b` (a variable).
const WORD = /(\?\.|\.{0,3})([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)/gu

// The parameters of a function cannot be named so.
const NOT_BINDABLE = new Set(['arguments', 'eval'])

let globals: Set<string> | undefined

/** Every name a free identifier can resolve to through the global object, its prototypes included. */
function globalNames(): Set<string> {
  if (globals === undefined) {
    globals = new Set()
    for (let o: object | null = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
      for (const name of Object.getOwnPropertyNames(o)) if (!NOT_BINDABLE.has(name)) globals.add(name)
    }
  }
  return globals
}

function mentionedGlobals(source: string): Set<string> {
  const names = globalNames()
  const mentioned = new Set<string>()
  for (const [, prefix, word] of source.matchAll(WORD)) {
    if (prefix === '.' || prefix === '?.' || !names.has(word)) continue
    mentioned.add(word)
  }
  return mentioned
}

/**
 * Which of `candidates` the source refers to as free variables, as V8 sees
 * it: compiled inside a function whose parameters are the candidates, the
 * source's closure keeps exactly the parameters it (or a function inside it)
 * refers to; its own declarations and property names do not count.
 */
function usedFreely(source: string, candidates: string[]): string[] {
  const expression = functionExpression(source)
  // Source the worker cannot compile either: it will say so.
  if (expression === null) return []
  let probe: Fn
  try {
    // The arrow is never called: the source is compiled, not evaluated.
    probe = new Function(...candidates, `return () => ${expression}`)() as Fn
  } catch {
    return candidates
  }
  const used = closureVariableNames(probe)
  return used === null ? candidates : candidates.filter((name) => used.has(name))
}
