import type { FunctionSource } from '../protocol'
import { checkFunctionSource } from '../graph/hash'
import { FunctionQuotaError } from './errors'

const MiB = 1024 * 1024

export interface FunctionLimits {
  /** Bytes of function sources (UTF-8, with their names) one client connection may hold registered. */
  perClient: number
  /** Bytes of function sources all connected clients together may hold registered. */
  total: number
}

export const DEFAULT_FUNCTION_LIMITS: Readonly<FunctionLimits> = { perClient: 64 * MiB, total: 512 * MiB }

interface Registration {
  readonly message: FunctionSource
  readonly bytes: number
  /** The clients that registered it: it is kept while one of them is connected. */
  readonly owners: Set<number>
}

interface Holdings {
  readonly hashes: Set<string>
  bytes: number
}

/**
 * Sources of shipped functions by content hash. Clients register a source
 * before the tasks that use it; workers ask for the ones they have not seen.
 * A source is kept only if it hashes to its hash, so no one can put other
 * code under the hash of a function someone else will ship; and only while a
 * client that registered it is connected, within per-client and total bounds,
 * so sources cannot pile up.
 */
export class FunctionRegistry {
  private readonly sources = new Map<string, Registration>()
  private readonly clients = new Map<number, Holdings>()
  private totalBytes = 0
  private limits: Readonly<FunctionLimits> = DEFAULT_FUNCTION_LIMITS

  setLimits(limits: Readonly<FunctionLimits>): void {
    this.limits = limits
  }

  /** Sources kept now. */
  get size(): number {
    return this.sources.size
  }

  /** Bytes of the sources kept now (each counted once, however many clients hold it). */
  get bytes(): number {
    return this.totalBytes
  }

  /**
   * `client` registers `source` under `hash`. Throws FunctionHashMismatchError
   * (SKEIN_FUNCTION_HASH_MISMATCH) for a source that does not hash to `hash`, and
   * FunctionQuotaError (SKEIN_FUNCTION_QUOTA) past the client's or the total bound;
   * nothing is kept then.
   */
  register(client: number, hash: string, source: string, name: string): void {
    const known = this.sources.get(hash)
    if (known !== undefined && known.owners.has(client) && known.message[2] === source) return
    // Bounds before the hash: they cost a length, the hash a pass of sha256 over what may be a huge source.
    const bytes = known?.bytes ?? Buffer.byteLength(source) + Buffer.byteLength(name)
    const holdings = this.clients.get(client)
    const clientBytes = (holdings?.bytes ?? 0) + bytes
    if (clientBytes > this.limits.perClient) {
      throw new FunctionQuotaError(hash, name, bytes, `client ${client} would hold ${clientBytes} bytes of function sources, over maxFunctionBytesPerClient (${this.limits.perClient})`)
    }
    if (known === undefined && this.totalBytes + bytes > this.limits.total) {
      throw new FunctionQuotaError(hash, name, bytes, `the connected clients would hold ${this.totalBytes + bytes} bytes of function sources, over maxFunctionBytes (${this.limits.total})`)
    }
    const mismatch = checkFunctionSource(hash, source, name)
    if (mismatch !== null) throw mismatch
    if (known === undefined) {
      this.sources.set(hash, { message: ['fn', hash, source, name], bytes, owners: new Set([client]) })
      this.totalBytes += bytes
    } else {
      known.owners.add(client)
    }
    if (holdings === undefined) this.clients.set(client, { hashes: new Set([hash]), bytes })
    else {
      holdings.hashes.add(hash)
      holdings.bytes = clientBytes
    }
  }

  /**
   * `holder` (the scheduler's own client for datasets or fire-and-forget tasks) holds every
   * source `client` holds now, so tasks it keeps can still get their functions after `client`
   * leaves. The sources are counted already: the total does not grow, and a holder has no
   * per-client bound.
   */
  adopt(client: number, holder: number): void {
    const from = this.clients.get(client)
    if (from === undefined || client === holder) return
    let to = this.clients.get(holder)
    if (to === undefined) this.clients.set(holder, (to = { hashes: new Set(), bytes: 0 }))
    for (const hash of from.hashes) {
      if (to.hashes.has(hash)) continue
      const registration = this.sources.get(hash)!
      registration.owners.add(holder)
      to.hashes.add(hash)
      to.bytes += registration.bytes
    }
  }

  /** `client` disconnected: the sources no connected client holds any more are dropped. */
  release(client: number): void {
    const holdings = this.clients.get(client)
    if (holdings === undefined) return
    this.clients.delete(client)
    for (const hash of holdings.hashes) {
      const registration = this.sources.get(hash)!
      registration.owners.delete(client)
      if (registration.owners.size === 0) {
        this.sources.delete(hash)
        this.totalBytes -= registration.bytes
      }
    }
  }

  lookup(hash: string): FunctionSource | undefined {
    return this.sources.get(hash)?.message
  }
}
