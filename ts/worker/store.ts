import type { KeySlot, KeyTable } from './keys'

/**
 * The worker's data: the encoded bytes it serves to peers and clients and
 * hands to its execution threads (which decode them; the I/O thread never
 * does). Copies fetched from peers are kept only while a local task needs
 * them, since the scheduler does not track them. The data lives in the slots
 * of the worker's key table.
 */
export class DataStore {
  private totalBytes = 0

  constructor(
    private readonly keys: KeyTable,
    /** Told when the worker stops holding a key's data. */
    private readonly removed: (key: string) => void = () => {},
  ) {}

  get nbytes(): number {
    return this.totalBytes
  }

  /** The key's encoded bytes (a view made on each call), if the worker holds them. */
  bytes(key: string): Buffer | undefined {
    const slot = this.keys.get(key)
    if (slot === undefined || slot.memory === null) return undefined
    return Buffer.from(slot.memory, slot.offset, slot.length)
  }

  /** A result computed here, into the slot of the task that computed it. */
  putResult(key: string, slot: KeySlot, bytes: Uint8Array): void {
    this.putOwned(key, slot, bytes)
  }

  /** Data a client scattered here. */
  putScattered(key: string, bytes: Uint8Array): void {
    this.putOwned(key, this.keys.slot(key), bytes)
  }

  private putOwned(key: string, slot: KeySlot, bytes: Uint8Array): void {
    if (slot.memory !== null) {
      this.totalBytes -= slot.length
      // Other bytes under the same key: what threads kept of the old ones goes.
      this.removed(key)
    }
    this.keep(slot, bytes)
    slot.owned = true
  }

  /** A copy fetched from a peer for local tasks. */
  putReplica(key: string, bytes: Uint8Array): KeySlot {
    const slot = this.keys.slot(key)
    if (slot.memory !== null) return slot
    this.keep(slot, bytes)
    slot.owned = false
    slot.refs = 0
    return slot
  }

  /** Takes a reference for a local task: the key's slot, or undefined when the worker does not hold the key. */
  retain(key: string): KeySlot | undefined {
    const slot = this.keys.get(key)
    if (slot === undefined || slot.memory === null) return undefined
    slot.refs++
    return slot
  }

  /** Takes a reference on a slot that holds data (one `putReplica` just filled). */
  retainSlot(slot: KeySlot): void {
    slot.refs++
  }

  /** Gives back a reference taken with `retain` or `retainSlot` (`slot` is the key's). */
  release(key: string, slot: KeySlot): void {
    if (slot.memory !== null && --slot.refs <= 0 && !slot.owned) this.remove(key, slot)
  }

  /** Drops a fetched copy nobody took (its tasks were freed meanwhile). */
  dropIfUnused(key: string, slot: KeySlot): void {
    if (slot.memory !== null && slot.refs <= 0 && !slot.owned) this.remove(key, slot)
  }

  /** The scheduler no longer needs this worker to hold the key's data (`slot` is the key's). */
  free(key: string, slot: KeySlot): void {
    if (slot.memory === null) return
    slot.owned = false
    if (slot.refs <= 0) this.remove(key, slot)
  }

  private keep(slot: KeySlot, bytes: Uint8Array): void {
    slot.memory = bytes.buffer
    slot.offset = bytes.byteOffset
    slot.length = bytes.byteLength
    this.totalBytes += bytes.byteLength
  }

  private remove(key: string, slot: KeySlot): void {
    this.totalBytes -= slot.length
    slot.memory = null
    slot.refs = 0
    this.keys.prune(key, slot)
    this.removed(key)
  }
}
