/**
 * Checks of options objects given at run time: JavaScript callers have no compiler, so an
 * unknown option (a typo, an option of another call) or a value of the wrong type is refused
 * with an error naming it, instead of being ignored.
 */

/** What an option's value must be: a typeof name, 'object' (plain), 'strings' (an array of strings), or a test with what it expects. */
export type OptionKind = 'number' | 'boolean' | 'string' | 'object' | 'function' | 'strings' | { test: (value: unknown) => boolean; expected: string }

/**
 * Refuses names not in `known` and values not of their kind (undefined passes: not given).
 * `where` names the call in messages ('Client.connect'); `prefix` a nested level ('core.').
 * Messages read "unknown Client.connect option 'x' (known: ...)", "Client.connect option 'timeout' must be a number, not ...".
 */
export function checkOptions(
  where: string,
  options: unknown,
  known: Readonly<Record<string, OptionKind>>,
  fail: (message: string) => Error,
  prefix = '',
): void {
  if (!isPlainObject(options)) throw fail(`${where} ${prefix === '' ? 'options' : `option '${prefix.slice(0, -1)}'`} must be an object, not ${describeValue(options)}`)
  const unknown = Object.keys(options).filter((name) => !Object.prototype.hasOwnProperty.call(known, name))
  if (unknown.length > 0) {
    const names = unknown.map((name) => `'${prefix}${name}'`).join(', ')
    throw fail(`unknown ${where} option${unknown.length > 1 ? 's' : ''} ${names} (known: ${Object.keys(known).map((k) => prefix + k).join(', ')})`)
  }
  for (const name in options) {
    const value = options[name]
    if (value === undefined) continue
    const kind = known[name]
    if (!matches(kind, value)) throw fail(`${where} option '${prefix}${name}' must be ${expected(kind)}, not ${describeValue(value)}`)
  }
}

function matches(kind: OptionKind, value: unknown): boolean {
  if (typeof kind === 'object') return kind.test(value)
  if (kind === 'object') return isPlainObject(value)
  if (kind === 'strings') return Array.isArray(value) && value.every((v) => typeof v === 'string')
  return typeof value === kind
}

function expected(kind: OptionKind): string {
  if (typeof kind === 'object') return kind.expected
  if (kind === 'object') return 'an object'
  if (kind === 'strings') return 'an array of strings'
  return `a ${kind}`
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A value as an error message shows it: its kind, and the start of it. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string '${value.slice(0, 40)}'` : `${typeof value} ${String(value).slice(0, 40)}`
}
