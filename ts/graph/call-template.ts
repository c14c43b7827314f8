import type { FunctionHandle } from './functions'
import { MAX_PLAIN_BYTES } from './plain-value'
import { taskHeader, GraphWriter } from './wire'

/** Stands for the 16 hex digits of a key's hash in `keyBytes`; overwritten per task. */
const HASH_PLACEHOLDER = '0000000000000000'

/**
 * @internal What every task `fn(item)` of one map shares, encoded once in the graph layout
 * (see GraphWriter): the task's first byte, its key as a string with the hash left blank, its
 * name, the start of its payload and every field after the payload. GraphWriter.addCall then
 * writes a task of a plain item with a few copies and one hash.
 */
export class CallTemplate {
  readonly header: number
  /** The key's MessagePack string, `${name}-` and a placeholder for the hash, header included. */
  readonly keyBytes: Buffer
  readonly keyHeaderLength: number
  /** The key is ASCII (the name is): read back as latin1, which is cheaper than UTF-8. */
  readonly asciiKey: boolean
  readonly nameBytes: Buffer
  /** The payload up to the item: [fn-ref, [ as the codec writes them. */
  readonly payloadHead: Buffer
  /** Dependencies (none), priority, restrictions, resources, and retries/allowOtherWorkers when set. */
  readonly tail: Buffer
  /** Room a task of this template takes at most. */
  readonly maxBytes: number

  constructor(
    readonly fn: FunctionHandle,
    readonly priority: number,
    readonly restrictions: readonly string[] | null,
    readonly resources: Readonly<Record<string, number>> | null,
    retries: number,
    readonly allowOtherWorkers: boolean,
  ) {
    const name = fn.name
    this.header = taskHeader(retries, allowOtherWorkers)
    const scratch = new GraphWriter(64)
    const key = `${name}-${HASH_PLACEHOLDER}`
    let at = scratch.length
    scratch.str(key)
    this.keyBytes = scratch.bytesFrom(at)
    const keyLength = Buffer.byteLength(key)
    this.keyHeaderLength = this.keyBytes.length - keyLength
    this.asciiKey = keyLength === key.length
    at = scratch.length
    scratch.str(name)
    this.nameBytes = scratch.bytesFrom(at)
    at = scratch.length
    scratch.fields([], priority, restrictions, resources, retries, allowOtherWorkers)
    this.tail = scratch.bytesFrom(at)
    const ref = fn.refBytes
    this.payloadHead = Buffer.alloc(ref.length + 2)
    this.payloadHead[0] = 0x92 // [fn, args]
    this.payloadHead.set(ref, 1)
    this.payloadHead[ref.length + 1] = 0x91 // args: [item]
    this.maxBytes = 1 + this.keyBytes.length + this.nameBytes.length + 5 + this.payloadHead.length + MAX_PLAIN_BYTES + this.tail.length
  }
}
