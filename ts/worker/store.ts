import fs from 'node:fs'
import { SHARED_RESULT_BYTES } from './hand-off'
import { SpillFile, type KeySlot, type KeyTable } from './keys'
import type { Log } from './log'
import type { SpillDirectory } from './spill-directory'

/** After a failed write, no new spill starts for this long (a full disk would otherwise be retried in a loop). */
const SPILL_BACKOFF_MS = 1000

/**
 * A spilled value read back, into shared memory when it is large: like a result computed here
 * (see SHARED_RESULT_BYTES), it then crosses to the execution threads without a copy.
 */
async function readSpilled(path: string, length: number): Promise<Buffer> {
  const bytes = length >= SHARED_RESULT_BYTES ? Buffer.from(new SharedArrayBuffer(length)) : Buffer.allocUnsafe(length)
  const file = await fs.promises.open(path, 'r')
  try {
    let read = 0
    while (read < length) {
      const { bytesRead } = await file.read(bytes, read, length - read, read)
      if (bytesRead === 0) break
      read += bytesRead
    }
    return read === length ? bytes : bytes.subarray(0, read)
  } finally {
    await file.close()
  }
}

/** Where the store spills, and past how many managed bytes. */
export interface SpillSettings {
  directory: SpillDirectory
  /** Owned values are spilled while the bytes in memory exceed this (Infinity: only on request). */
  targetBytes: number
  log: Log
}

/**
 * The worker's data: the encoded bytes it serves to peers and clients and
 * hands to its execution threads (which decode them; the I/O thread never
 * does). Copies fetched from peers are kept only while a local task needs
 * them, since the scheduler does not track them. The data lives in the slots
 * of the worker's key table.
 *
 * Values can be spilled: written to a file and dropped from memory, least
 * recently used first, past the target of managed bytes or when the memory
 * monitor asks. That includes the inputs of local tasks that wait for an
 * execution thread (a paused worker would otherwise hold them forever): the
 * bytes are copied into the batch when a task is handed over, so a spilled
 * input is read back (`restore`) before that, and never needed after. A peer
 * reads a spilled value from its file (`read`); its file goes when the value
 * does.
 */
export class DataStore {
  private totalBytes = 0
  private diskBytes = 0
  private writingBytes = 0
  private spillCount = 0
  /** Least recently used value in memory; `newer` links lead to the most recent. */
  private oldest: KeySlot | null = null
  private newest: KeySlot | null = null
  private readonly restoring = new Map<KeySlot, Promise<boolean>>()
  private backoffUntil = 0
  private spillQueued = false
  private closed = false

  constructor(
    private readonly keys: KeyTable,
    /** Told when the worker stops holding a key's data in memory (removed or spilled). */
    private readonly removed: (key: string) => void = () => {},
    private readonly spill: SpillSettings | null = null,
  ) {}

  /** Bytes of the values in memory (managed memory). */
  get nbytes(): number {
    return this.totalBytes
  }

  /** Values spilled so far. */
  get spills(): number {
    return this.spillCount
  }

  /** Bytes of the values being written to disk (still in memory). */
  get writing(): number {
    return this.writingBytes
  }

  /** Bytes of the values on disk. */
  get spilledBytes(): number {
    return this.diskBytes
  }

  /** The key's encoded bytes (a view made on each call), if the worker holds them in memory. */
  bytes(key: string): Buffer | undefined {
    const slot = this.keys.get(key)
    if (slot === undefined || slot.memory === null) return undefined
    this.touch(slot)
    return Buffer.from(slot.memory, slot.offset, slot.length)
  }

  /**
   * The key's encoded bytes, from memory or, for a spilled value, from its file (which it
   * stays in: serving a peer does not push other values out); null if the worker does not
   * hold the key or the file cannot be read.
   */
  read(key: string): Buffer | null | Promise<Buffer | null> {
    const inMemory = this.bytes(key)
    if (inMemory !== undefined) return inMemory
    const file = this.keys.get(key)?.spilled
    if (file == null) return null
    return fs.promises.readFile(file.path).then(
      (bytes) => bytes,
      // Read back or freed meanwhile: what the store holds now is the answer.
      () => this.bytes(key) ?? null,
    )
  }

  /**
   * A result computed here, into the slot of the task that computed it: its encoded bytes are
   * `memory` from `offset`, `length` long (no view of them is made).
   */
  putResult(key: string, slot: KeySlot, memory: ArrayBufferLike, offset: number, length: number): void {
    this.putOwned(key, slot, memory, offset, length)
  }

  /** Data a client scattered here. */
  putScattered(key: string, bytes: Uint8Array): void {
    this.putOwned(key, this.keys.slot(key), bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private putOwned(key: string, slot: KeySlot, memory: ArrayBufferLike, offset: number, length: number): void {
    if (slot.memory !== null || slot.spilled !== null) {
      this.dropData(slot)
      // Other bytes under the same key: what threads kept of the old ones goes.
      this.removed(key)
    }
    this.keepRegion(slot, memory, offset, length)
    slot.owned = true
    this.link(slot)
    this.spillPastTarget()
  }

  /** A copy fetched from a peer for local tasks. */
  putReplica(key: string, bytes: Uint8Array): KeySlot {
    const slot = this.keys.slot(key)
    if (slot.memory !== null) return slot
    if (slot.spilled !== null) {
      // Owned and spilled here, yet fetched: the fetched bytes save the read.
      this.dropData(slot)
      this.keep(slot, bytes)
      this.link(slot)
      return slot
    }
    this.keep(slot, bytes)
    slot.owned = false
    slot.refs = 0
    this.link(slot)
    this.spillPastTarget()
    return slot
  }

  /**
   * Keeps a key's data held here (fetched, or computed here) for the scheduler, as a copy it
   * asked for: only 'free' drops it then. False if the worker does not hold the key.
   */
  own(key: string): boolean {
    const slot = this.keys.get(key)
    if (slot === undefined || (slot.memory === null && slot.spilled === null)) return false
    slot.owned = true
    return true
  }

  /**
   * Takes a reference for a local task: the key's slot, or undefined when the worker does not
   * hold the key. A spilled value stays on disk: `restore` it before the task runs.
   */
  retain(key: string): KeySlot | undefined {
    const slot = this.keys.get(key)
    if (slot === undefined || (slot.memory === null && slot.spilled === null)) return undefined
    slot.refs++
    this.touch(slot)
    return slot
  }

  /** Takes a reference on a slot that holds data (one `putReplica` just filled). */
  retainSlot(slot: KeySlot): void {
    slot.refs++
  }

  /**
   * Reads a spilled value back into memory for a local task that holds a reference to
   * `slot`, the key's; resolves true once it is in memory, false if it is gone (freed
   * meanwhile, or its file could not be read: then the worker holds the key no more).
   */
  restore(key: string, slot: KeySlot): Promise<boolean> {
    if (slot.memory !== null) return Promise.resolve(true)
    let pending = this.restoring.get(slot)
    if (pending === undefined) {
      pending = this.readBack(key, slot)
      this.restoring.set(slot, pending)
    }
    return pending
  }

  private async readBack(key: string, slot: KeySlot): Promise<boolean> {
    const file = slot.spilled
    let bytes: Buffer | null = null
    let failure: Error | null = null
    if (file !== null) {
      try {
        bytes = await readSpilled(file.path, file.length)
      } catch (err) {
        failure = err as Error
      }
    }
    this.restoring.delete(slot)
    if (slot.memory !== null) return true
    if (file === null || slot.spilled !== file) return false
    if (bytes === null || bytes.byteLength !== file.length) {
      this.spill?.log(`cannot read spilled '${key}' back from ${file.path}: ${failure?.message ?? `${bytes?.byteLength} bytes instead of ${file.length}`}; it is lost here`)
      slot.owned = false
      this.remove(key, slot)
      return false
    }
    this.dropData(slot)
    this.keep(slot, bytes)
    this.link(slot)
    this.spillPastTarget()
    return true
  }

  /** Gives back a reference taken with `retain` or `retainSlot` (`slot` is the key's). */
  release(key: string, slot: KeySlot): void {
    if ((slot.memory !== null || slot.spilled !== null) && --slot.refs <= 0 && !slot.owned) this.remove(key, slot)
  }

  /** Drops a fetched copy nobody took (its tasks were freed meanwhile). */
  dropIfUnused(key: string, slot: KeySlot): void {
    if (slot.memory !== null && slot.refs <= 0 && !slot.owned) this.remove(key, slot)
  }

  /** The scheduler no longer needs this worker to hold the key's data (`slot` is the key's). */
  free(key: string, slot: KeySlot): void {
    if (slot.memory === null && slot.spilled === null) return
    slot.owned = false
    if (slot.refs <= 0) this.remove(key, slot)
  }

  /**
   * Spills least recently used owned values until at least `bytes` of memory are on their
   * way to disk, or nothing more can go; returns the bytes it started writing.
   */
  spillBytes(bytes: number): number {
    let started = 0
    while (started < bytes) {
      const n = this.spillOldest()
      if (n === 0) break
      started += n
    }
    return started
  }

  /** Spilling stops; the files already written are the spill directory's to remove. */
  close(): void {
    this.closed = true
  }

  private spillPastTarget(): void {
    if (this.spill === null || this.totalBytes - this.writingBytes <= this.spill.targetBytes || this.spillQueued) return
    // After the turn: a batch of results is stored whole before any of it goes.
    this.spillQueued = true
    setImmediate(() => {
      this.spillQueued = false
      const target = this.spill!.targetBytes
      while (this.totalBytes - this.writingBytes > target && this.spillOldest() > 0);
    })
  }

  /** Starts writing the least recently used value nobody uses; returns its size, 0 if none could go. */
  private spillOldest(): number {
    if (this.spill === null || this.closed || Date.now() < this.backoffUntil) return 0
    const slot = this.oldest
    if (slot === null) return 0
    this.startWrite(slot.key, slot)
    return slot.length
  }

  private startWrite(key: string, slot: KeySlot): void {
    const spill = this.spill!
    const bytes = new Uint8Array(slot.memory!, slot.offset, slot.length)
    this.unlink(slot)
    let file: SpillFile | null = null
    const writing = new SpillFile('', slot.length)
    slot.writing = writing
    this.writingBytes += writing.length
    const finish = (err: Error | null) => {
      this.writingBytes -= writing.length
      const current = slot.writing === writing && slot.memory !== null && !this.closed
      if (slot.writing === writing) slot.writing = null
      if (err !== null) {
        this.backoffUntil = Date.now() + SPILL_BACKOFF_MS
        spill.log(`cannot spill '${key}' to disk: ${err.message}; keeping it in memory`)
      }
      if (err !== null || !current) {
        // Freed or replaced while it was written: the file must not outlive that.
        if (file !== null) void fs.promises.unlink(file.path).catch(() => {})
        if (current) this.link(slot)
        return
      }
      this.totalBytes -= slot.length
      slot.memory = null
      slot.spilled = file
      this.diskBytes += slot.length
      this.spillCount++
      this.removed(key)
    }
    spill.directory.file().then(
      (path) => {
        file = new SpillFile(path, writing.length)
        if (slot.writing !== writing) return finish(null)
        return fs.promises.writeFile(path, bytes).then(() => finish(null), finish)
      },
      finish,
    )
  }

  private keep(slot: KeySlot, bytes: Uint8Array): void {
    this.keepRegion(slot, bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  private keepRegion(slot: KeySlot, memory: ArrayBufferLike, offset: number, length: number): void {
    slot.memory = memory
    slot.offset = offset
    slot.length = length
    this.totalBytes += length
  }

  /** Forgets the slot's data, in memory or on disk (a write under way is abandoned). */
  private dropData(slot: KeySlot): void {
    this.unlink(slot)
    slot.writing = null
    if (slot.memory !== null) {
      this.totalBytes -= slot.length
      slot.memory = null
    }
    const file = slot.spilled
    if (file !== null) {
      slot.spilled = null
      this.diskBytes -= file.length
      void fs.promises.unlink(file.path).catch(() => {})
    }
  }

  private remove(key: string, slot: KeySlot): void {
    this.dropData(slot)
    slot.refs = 0
    this.keys.prune(key, slot)
    this.removed(key)
  }

  private link(slot: KeySlot): void {
    if (this.spill === null || this.isLinked(slot)) return
    slot.older = this.newest
    slot.newer = null
    if (this.newest !== null) this.newest.newer = slot
    else this.oldest = slot
    this.newest = slot
  }

  private unlink(slot: KeySlot): void {
    if (!this.isLinked(slot)) return
    if (slot.older !== null) slot.older.newer = slot.newer
    else this.oldest = slot.newer
    if (slot.newer !== null) slot.newer.older = slot.older
    else this.newest = slot.older
    slot.older = slot.newer = null
  }

  private touch(slot: KeySlot): void {
    if (this.newest === slot || !this.isLinked(slot)) return
    this.unlink(slot)
    this.link(slot)
  }

  private isLinked(slot: KeySlot): boolean {
    return slot.older !== null || slot.newer !== null || this.oldest === slot
  }
}
