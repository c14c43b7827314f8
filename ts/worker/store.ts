import { decode } from '../protocol'

interface Entry {
  bytes: Uint8Array
  value: unknown
  decoded: boolean
  /** The scheduler knows this worker holds it (computed or scattered here); only 'free' drops it. */
  owned: boolean
  /** Local tasks that still need it; a fetched copy goes when this drops to zero. */
  refs: number
}

/**
 * The worker's data: encoded bytes for peers and clients, the decoded value
 * cached for local tasks. Copies fetched from peers are kept only while a
 * local task needs them, since the scheduler does not track them.
 */
export class DataStore {
  private readonly entries = new Map<string, Entry>()
  private totalBytes = 0

  get size(): number {
    return this.entries.size
  }

  get nbytes(): number {
    return this.totalBytes
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  bytes(key: string): Uint8Array | undefined {
    return this.entries.get(key)?.bytes
  }

  /** The decoded value; throws if absent (callers check `has` or hold a reference). */
  value(key: string): unknown {
    const e = this.entries.get(key)
    if (!e) throw new Error(`the worker does not hold '${key}'`)
    if (!e.decoded) {
      e.value = decode(e.bytes)
      e.decoded = true
    }
    return e.value
  }

  /** A result computed here: its bytes and the value they encode. */
  putResult(key: string, bytes: Uint8Array, value: unknown): void {
    this.putOwned(key, bytes, value, true)
  }

  /** Data a client scattered here, decoded when a task first needs it. */
  putScattered(key: string, bytes: Uint8Array): void {
    this.putOwned(key, bytes, undefined, false)
  }

  private putOwned(key: string, bytes: Uint8Array, value: unknown, decoded: boolean): void {
    const e = this.entries.get(key)
    if (e) {
      this.totalBytes += bytes.byteLength - e.bytes.byteLength
      e.bytes = bytes
      e.value = value
      e.decoded = decoded
      e.owned = true
      return
    }
    this.entries.set(key, { bytes, value, decoded, owned: true, refs: 0 })
    this.totalBytes += bytes.byteLength
  }

  /** A copy fetched from a peer for local tasks. */
  putReplica(key: string, bytes: Uint8Array): void {
    if (this.entries.has(key)) return
    this.entries.set(key, { bytes, value: undefined, decoded: false, owned: false, refs: 0 })
    this.totalBytes += bytes.byteLength
  }

  retain(key: string): void {
    const e = this.entries.get(key)
    if (e) e.refs++
  }

  release(key: string): void {
    const e = this.entries.get(key)
    if (e && --e.refs <= 0 && !e.owned) this.remove(key, e)
  }

  /** Drops a fetched copy nobody took (its tasks were freed meanwhile). */
  dropIfUnused(key: string): void {
    const e = this.entries.get(key)
    if (e && e.refs <= 0 && !e.owned) this.remove(key, e)
  }

  /** The scheduler no longer needs this worker to hold it. */
  free(key: string): void {
    const e = this.entries.get(key)
    if (!e) return
    e.owned = false
    if (e.refs <= 0) this.remove(key, e)
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key)
    this.totalBytes -= e.bytes.byteLength
  }
}
