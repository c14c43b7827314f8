import { SkeinError, decode } from '../protocol'
import type { FunctionRegistry } from './functions'
import type { NativeCore } from './native'

export const DATASET_EXISTS = 'SKEIN_DATASET_EXISTS'
export const NO_SUCH_DATASET = 'SKEIN_NO_SUCH_DATASET'
export const DATASET_LIMIT = 'SKEIN_DATASET_LIMIT'

/** Bounds on what clients may make the scheduler keep (the data itself stays on the workers). */
export const MAX_DATASETS = 10_000
export const MAX_DATASET_NAME = 256
/** Bytes of one published structure (futures and the plain values around them, not the data). */
export const MAX_DATASET_BYTES = 16 * 2 ** 20
export const MAX_DATASETS_BYTES = 256 * 2 ** 20

interface Dataset {
  keys: string[]
  value: Uint8Array
}

/**
 * Published datasets, as Dask's: named structures of futures that outlive the client that
 * published them. Their keys are wanted by a client of the scheduler's own inside the core,
 * one want per key however many datasets hold it, so they stay in memory (or are recomputed)
 * until the last dataset holding them is unpublished.
 */
export class Datasets {
  private readonly table = new Map<string, Dataset>()
  /** Per key, the datasets holding it. */
  private readonly holds = new Map<string, number>()
  private holder = -1
  private bytes = 0

  constructor(
    private readonly core: NativeCore,
    private readonly functions: FunctionRegistry,
  ) {}

  /** `client` publishes: the functions it registered stay with the datasets (their tasks may not have run yet). */
  publish(client: number, name: string, keys: string[], value: Uint8Array, override: boolean): void {
    checkName(name)
    const old = this.table.get(name)
    if (old !== undefined && !override) throw new SkeinError(DATASET_EXISTS, `a dataset named '${name}' is published already (publish with { override: true } to replace it)`)
    if (old === undefined && this.table.size >= MAX_DATASETS) throw new SkeinError(DATASET_LIMIT, `${MAX_DATASETS} datasets are published: unpublish some first`)
    if (value.byteLength > MAX_DATASET_BYTES) throw new SkeinError(DATASET_LIMIT, `dataset '${name}' encodes to ${value.byteLength} bytes; a published structure can be at most ${MAX_DATASET_BYTES} (publish futures, not data)`)
    const bytes = this.bytes - (old?.value.byteLength ?? 0) + value.byteLength
    if (bytes > MAX_DATASETS_BYTES) throw new SkeinError(DATASET_LIMIT, `published datasets would take ${bytes} bytes on the scheduler, more than ${MAX_DATASETS_BYTES}`)
    const unique = [...new Set(keys)]
    const fresh = unique.filter((k) => !this.holds.has(k))
    // First, so that an unknown key refuses the whole publish and changes nothing.
    if (fresh.length > 0) this.core.wantKeys(this.holderId(), fresh)
    for (const key of unique) this.holds.set(key, (this.holds.get(key) ?? 0) + 1)
    this.table.set(name, { keys: unique, value: Uint8Array.from(value) })
    this.bytes = bytes
    this.functions.adopt(client, this.holderId())
    if (old !== undefined) this.letGo(old.keys)
  }

  unpublish(name: string): void {
    const dataset = this.table.get(name)
    if (dataset === undefined) throw noSuchDataset(name)
    this.table.delete(name)
    this.bytes -= dataset.value.byteLength
    this.letGo(dataset.keys)
    // The functions kept for datasets go with the last one.
    if (this.table.size === 0) this.functions.release(this.holderId())
  }

  /** The dataset, its keys now wanted by `client` too; their task ids in the order of `keys`. */
  get(name: string, client: number): { value: Uint8Array; keys: string[]; ids: Uint32Array } {
    const dataset = this.table.get(name)
    if (dataset === undefined) throw noSuchDataset(name)
    const ids = this.core.wantKeysIndexed(client, dataset.keys)
    return { value: dataset.value, keys: dataset.keys, ids }
  }

  names(): string[] {
    return [...this.table.keys()]
  }

  private letGo(keys: string[]): void {
    const gone: string[] = []
    for (const key of keys) {
      const n = (this.holds.get(key) ?? 1) - 1
      if (n > 0) this.holds.set(key, n)
      else {
        this.holds.delete(key)
        gone.push(key)
      }
    }
    if (gone.length > 0) this.core.releaseKeys(this.holderId(), gone)
  }

  private holderId(): number {
    if (this.holder < 0) this.holder = this.core.addClient()
    return this.holder
  }
}

/**
 * Keys given up by their clients with `fireAndForget`: a client of the scheduler's own wants
 * them until each is done (in memory or erred), as Dask's 'fire-and-forget' client does, then
 * lets it go (so a result nobody else wants is forgotten).
 */
export class FireAndForget {
  private holder = -1
  /** The keys held, by task id (memory messages name ids) and by key (erred ones name keys). */
  private readonly byId = new Map<number, string>()
  private readonly byKey = new Map<string, number>()

  constructor(
    private readonly core: NativeCore,
    private readonly functions: FunctionRegistry,
  ) {}

  /** Whether `client` is this holder (its messages come here, not to a connection). */
  is(client: number): boolean {
    return client === this.holder && client >= 0
  }

  /** `client` gives up `keys`: they are held until done, and so are the functions `client` registered. */
  hold(client: number, keys: string[]): void {
    if (keys.length === 0) return
    const ids = this.core.wantKeysIndexed(this.holderId(), keys)
    keys.forEach((key, i) => {
      this.byId.set(ids[i], key)
      this.byKey.set(key, ids[i])
    })
    this.functions.adopt(client, this.holder)
  }

  /** The core's messages to the holder: what finished or erred is let go. */
  settled(memory: Uint8Array | null, erred: Uint8Array | null): void {
    if (memory !== null) {
      const [, flat] = decode(memory) as [string, number[]]
      const ids: number[] = []
      for (let i = 0; i < flat.length; i += 3 + flat[i + 2]) {
        const key = this.byId.get(flat[i])
        if (key === undefined) continue
        ids.push(flat[i])
        this.forget(key)
      }
      if (ids.length > 0) this.core.releaseTasks(this.holder, Uint32Array.from(ids))
    }
    if (erred !== null) {
      const [, entries] = decode(erred) as [string, [string, ...unknown[]][]]
      const keys = entries.map((e) => e[0]).filter((key) => this.byKey.has(key))
      for (const key of keys) this.forget(key)
      if (keys.length > 0) this.core.releaseKeys(this.holder, keys)
    }
    // Nothing left to run: the functions kept for these tasks go too.
    if (this.byKey.size === 0) this.functions.release(this.holder)
  }

  private forget(key: string): void {
    const id = this.byKey.get(key)
    this.byKey.delete(key)
    if (id !== undefined) this.byId.delete(id)
  }

  private holderId(): number {
    if (this.holder < 0) this.holder = this.core.addClient()
    return this.holder
  }
}

function checkName(name: string): void {
  if (name.length === 0 || name.length > MAX_DATASET_NAME) throw new SkeinError('SKEIN_BAD_MESSAGE', `a dataset name must be 1 to ${MAX_DATASET_NAME} characters`)
}

function noSuchDataset(name: string): SkeinError {
  return new SkeinError(NO_SUCH_DATASET, `no dataset named '${name.slice(0, MAX_DATASET_NAME)}' is published`)
}
