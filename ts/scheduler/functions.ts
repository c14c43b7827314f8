import type { FunctionSource } from '../protocol'

/**
 * Sources of shipped functions by content hash. Clients register a source
 * before the tasks that use it; workers ask for the ones they have not seen.
 */
export class FunctionRegistry {
  private readonly sources = new Map<string, FunctionSource>()

  register(hash: string, source: string, name: string): void {
    if (!this.sources.has(hash)) this.sources.set(hash, ['fn', hash, source, name])
  }

  lookup(hash: string): FunctionSource | undefined {
    return this.sources.get(hash)
  }
}
