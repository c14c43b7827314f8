import { functionExpression } from './function-expression'

/**
 * A source that evaluates to the same function, except that reading or
 * writing one of `names` throws the ReferenceError an undefined variable
 * would ("crypto is not defined"), on every worker, whatever its globals.
 * So a captured variable named like a global fails where it is used, like
 * any other captured variable, and the worker explains it the same way.
 *
 * A `with` block is the only scope that can throw on a lookup; it makes the
 * function's other free names dynamic lookups too, which only costs in a
 * function that already cannot run as written.
 */
export function guardCaptured(source: string, names: readonly string[]): string {
  const expression = functionExpression(source)
  if (expression === null || names.length === 0) return source
  const accessors = names.map((name) => {
    const fail = `throw new ReferenceError(${JSON.stringify(`${name} is not defined`)})`
    return `get ${name}() { ${fail} }, set ${name}(value) { ${fail} }`
  })
  return `(function () { with ({ __proto__: null, ${accessors.join(', ')} }) return ${expression} })()`
}
