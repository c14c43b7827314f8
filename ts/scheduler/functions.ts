import type { FunctionSource } from '../protocol'
import { checkFunctionSource } from '../graph/hash'

/**
 * Sources of shipped functions by content hash. Clients register a source
 * before the tasks that use it; workers ask for the ones they have not seen.
 * A source is kept only if it hashes to its hash, so no one can put other
 * code under the hash of a function someone else will ship.
 */
export class FunctionRegistry {
  private readonly sources = new Map<string, FunctionSource>()

  /** Throws FunctionHashMismatchError (SKEIN_FUNCTION_HASH_MISMATCH) for a source that does not hash to `hash`. */
  register(hash: string, source: string, name: string): void {
    const mismatch = checkFunctionSource(hash, source, name)
    if (mismatch !== null) throw mismatch
    if (!this.sources.has(hash)) this.sources.set(hash, ['fn', hash, source, name])
  }

  lookup(hash: string): FunctionSource | undefined {
    return this.sources.get(hash)
  }
}
