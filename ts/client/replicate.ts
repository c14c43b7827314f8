import { InvalidOptionsError } from '../protocol'
import { Future } from './future'
import { wait } from './wait'

/** Options of `client.replicate`. */
export interface ReplicateOptions {
  /** Copies of each value to keep (at least 1); default one on every worker (of `workers`, if given). */
  n?: number
  /** Names of the workers to copy to, and among which `n` counts; default every connected worker. */
  workers?: readonly string[]
}

export function checkReplicateOptions(options: ReplicateOptions): void {
  const n = options.n
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 0xffffffff)) {
    throw new InvalidOptionsError(`replicate: option n must be a positive integer, got ${String(n)}`)
  }
  if (options.workers !== undefined && options.workers.length === 0) throw new InvalidOptionsError('replicate: option workers is empty')
}

/** The keys of `futures` once each has finished (each once); the error of one that did not. */
export async function keysOf(futures: readonly Future[], where: string): Promise<string[]> {
  for (const f of futures) if (!(f instanceof Future)) throw new InvalidOptionsError(`${where}: expected futures, got ${typeof f}`)
  await wait(futures)
  const keys = new Set<string>()
  for (const f of futures) {
    if (f.state.error !== null) throw f.state.error
    keys.add(f.key)
  }
  return [...keys]
}
