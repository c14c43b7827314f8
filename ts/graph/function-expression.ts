/**
 * A function's source as an expression that evaluates to the function: a
 * function or arrow as is, method shorthand (`name(x) { ... }`) through an
 * object literal, as the worker compiles it. Null when it is neither, or when
 * this process may not compile code from strings.
 */
export function functionExpression(source: string): string | null {
  for (const expression of [`(${source}\n)`, `Object.values({ ${source}\n })[0]`]) {
    try {
      // Parses only: the body of the new function never runs.
      new Function(`return ${expression}`)
      return expression
    } catch (err) {
      if (!(err instanceof SyntaxError)) return null
    }
  }
  return null
}
