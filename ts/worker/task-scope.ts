/**
 * The names through which a shipped function reaches `getClient`, `secede` and
 * `rejoin`. Written bare (`getClient()`: an ES module's import, or no import at
 * all), or through the module object a compiler made of
 * `import { getClient } from 'skein'` (`skein_1.getClient()`,
 * `(0, import_skein.getClient)()`): either way the name is free in the shipped
 * source, so the worker compiles it in a scope that gives it skein's own (a
 * module object: skein's client and graph API, so `skein_1.task` works too). A
 * name the function declares itself shadows this scope, and names the worker
 * has as globals are left alone.
 */
import type { HelperScope } from '../graph/shipped-helpers'

interface TaskApi {
  /** What a bare name stands for. */
  bare: Readonly<Record<string, unknown>>
  /** What a module object stands for: skein's client and graph API (getClient, task, wait, the error classes...). */
  module: Readonly<Record<string, unknown>>
}

let api: TaskApi | null = null

/** Loaded the first time a shipped function names getClient, secede or rejoin: other threads never load the client. */
function taskApi(): TaskApi {
  if (api === null) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const client = require('../client') as typeof import('../client')
    const graph = require('../graph') as typeof import('../graph')
    /* eslint-enable @typescript-eslint/no-require-imports */
    api = {
      bare: Object.freeze({ getClient: client.getClient, secede: client.secede, rejoin: client.rejoin }),
      module: Object.freeze({ ...graph, ...client }),
    }
  }
  return api
}

const BARE = /(?<![\w$.])(getClient|secede|rejoin)(?![\w$])/g
const THROUGH_MODULE = /(?<![\w$.])([A-Za-z_$][\w$]*)\s*\.\s*(?:getClient|secede|rejoin)(?![\w$])/g

/** Words that cannot name a parameter. */
const RESERVED = new Set(
  'arguments await break case catch class const continue debugger default delete do else enum eval export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield'.split(
    ' ',
  ),
)

/** The task-API names `source` may use, with their values, besides `taken` (the compiler helpers'). */
export function taskScope(source: string, taken: readonly string[]): HelperScope {
  if (!source.includes('getClient') && !source.includes('secede') && !source.includes('rejoin')) return { names: [], values: [] }
  const names: string[] = []
  const values: unknown[] = []
  const add = (name: string, value: unknown) => {
    if (taken.includes(name) || names.includes(name) || RESERVED.has(name) || name in globalThis) return
    names.push(name)
    values.push(value)
  }
  const { bare, module } = taskApi()
  for (const [, name] of source.matchAll(BARE)) add(name, bare[name])
  for (const [, holder] of source.matchAll(THROUGH_MODULE)) add(holder, module)
  return { names, values }
}
