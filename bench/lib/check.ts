/** Exact result checks and per-run inputs, shared by every side written in TypeScript. */

export class WrongResult extends Error {
  override name = 'WrongResult'
}

export function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new WrongResult(`${what}: expected ${String(expected)}, got ${String(actual)}`)
}

/** Inputs of run `run` start here, far from every other run's. */
export function runBase(run: number): number {
  return run * 10_000_000
}
