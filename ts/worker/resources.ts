import { SkeinError } from '../protocol'

/** A resource name: a letter or underscore, then letters, digits, '_', '-' or '.'. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/
/** A plain decimal number: 2, 0.5, 10e9, 1.5E+3 (no hex, no Infinity, no sign). */
const AMOUNT = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** A resource declaration that cannot be used; the message names the part at fault. */
export class ResourcesError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}

/**
 * Resources as `skein worker --resources` takes them: `NAME=AMOUNT` pairs separated by commas
 * or spaces, e.g. "GPU=2,MEM=10e9". Strict: every part must be a pair, every amount a finite
 * non-negative decimal number, and no name may appear twice.
 */
export function parseResources(text: string, flag = '--resources'): Record<string, number> {
  const parts = text.split(/[\s,]+/).filter((p) => p.length > 0)
  if (parts.length === 0) throw new ResourcesError(`${flag}: expected NAME=AMOUNT pairs such as "GPU=2,MEM=10e9", got '${text.slice(0, 80)}'`)
  const resources: Record<string, number> = {}
  for (const part of parts) {
    const eq = part.indexOf('=')
    if (eq === -1) throw new ResourcesError(`${flag}: '${part.slice(0, 80)}' is not NAME=AMOUNT (e.g. GPU=2)`)
    const name = part.slice(0, eq)
    const amount = part.slice(eq + 1)
    if (!NAME.test(name)) throw new ResourcesError(`${flag}: '${part.slice(0, 80)}': the name must be a letter or '_' followed by letters, digits, '_', '-' or '.'`)
    if (!AMOUNT.test(amount) || !Number.isFinite(Number(amount))) throw new ResourcesError(`${flag}: '${part.slice(0, 80)}': the amount must be a non-negative number such as 2, 0.5 or 10e9`)
    if (Object.hasOwn(resources, name)) throw new ResourcesError(`${flag}: '${name}' is given twice`)
    resources[name] = Number(amount)
  }
  return resources
}

/** `value` checked as a resources option (an object of names to non-negative numbers); `what` names the option. */
export function checkResources(value: unknown, what: string): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ResourcesError(`${what} must be an object such as { GPU: 2 }`)
  const resources: Record<string, number> = {}
  for (const [name, amount] of Object.entries(value)) {
    if (!NAME.test(name)) throw new ResourcesError(`${what}: '${name.slice(0, 80)}' is not a resource name (a letter or '_' followed by letters, digits, '_', '-' or '.')`)
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) throw new ResourcesError(`${what}: ${name} must be a non-negative number, not ${String(amount).slice(0, 40)}`)
    resources[name] = amount
  }
  return resources
}

/** The --resources form of `resources`, for a worker process's command line. */
export function formatResources(resources: Record<string, number>): string {
  return Object.entries(resources)
    .map(([name, amount]) => `${name}=${amount}`)
    .join(',')
}
