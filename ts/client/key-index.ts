/** What the index stores: anything that knows its key. */
export interface Keyed {
  readonly key: string
}

const MIN_CAPACITY = 1024

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so the low bits (the slot) are well mixed. */
function hashOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) | 0
}

/**
 * Items by key string: an open-addressing hash table (linear probing) whose
 * slots are [hash, item number] pairs in one Int32Array. A map() of 100,000
 * new keys looks each one up before adding it; in a JS Map that lookup walks
 * a bucket chain through entries and candidate strings scattered over the
 * heap (a few cache misses per key, ~0.4 us on this project's VMs). Here a
 * miss reads one slot pair, and a string is compared only when the 32-bit
 * hashes are equal.
 */
export class KeyIndex<T extends Keyed> {
  private slots = new Int32Array(2 * MIN_CAPACITY)
  private mask = MIN_CAPACITY - 1
  /** Item numbers are positions here (slot value = number + 1; 0 is an empty slot). */
  private items: (T | undefined)[] = []
  private free: number[] = []
  private count = 0

  get size(): number {
    return this.count
  }

  get(key: string): T | undefined {
    const h = hashOf(key)
    const slots = this.slots
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const n = slots[2 * i + 1]
      if (n === 0) return undefined
      if (slots[2 * i] === h) {
        const item = this.items[n - 1]!
        if (item.key === key) return item
      }
    }
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  /** Adds `item` under its key, which must not be in the index. */
  add(item: T): void {
    if (2 * (this.count + 1) > this.mask + 1) this.rebuild(2 * (this.mask + 1))
    const n = this.free.length > 0 ? this.free.pop()! : this.items.push(undefined) - 1
    this.items[n] = item
    this.place(hashOf(item.key), n + 1)
    this.count++
  }

  /** Removes the entry for `key`; false if there was none. */
  delete(key: string): boolean {
    const h = hashOf(key)
    const slots = this.slots
    const mask = this.mask
    let i = h & mask
    for (; ; i = (i + 1) & mask) {
      const n = slots[2 * i + 1]
      if (n === 0) return false
      if (slots[2 * i] === h && this.items[n - 1]!.key === key) break
    }
    const n = slots[2 * i + 1]
    this.items[n - 1] = undefined
    this.free.push(n - 1)
    this.count--
    // Backward-shift deletion: pull later entries of the probe run into the hole, so no tombstones.
    let hole = i
    for (let j = (hole + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j] & mask
      // The entry at j may move to the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j
      if (stays) continue
      slots[2 * hole] = slots[2 * j]
      slots[2 * hole + 1] = slots[2 * j + 1]
      hole = j
    }
    slots[2 * hole] = 0
    slots[2 * hole + 1] = 0
    if (this.mask + 1 > MIN_CAPACITY && 8 * this.count < this.mask + 1) this.rebuild((this.mask + 1) / 2)
    return true
  }

  /** Every item, as a new array (safe to change the index while going through it). */
  values(): T[] {
    return this.items.filter((item): item is T => item !== undefined)
  }

  private place(h: number, value: number): void {
    const slots = this.slots
    let i = h & this.mask
    while (slots[2 * i + 1] !== 0) i = (i + 1) & this.mask
    slots[2 * i] = h
    slots[2 * i + 1] = value
  }

  /** A table of `capacity` slots holding the same items, renumbered densely. */
  private rebuild(capacity: number): void {
    const live = this.items.filter((item): item is T => item !== undefined)
    this.slots = new Int32Array(2 * capacity)
    this.mask = capacity - 1
    this.items = live
    this.free = []
    for (let n = 0; n < live.length; n++) this.place(hashOf(live[n].key), n + 1)
  }
}
