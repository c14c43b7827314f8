import { hash } from 'node:crypto'
import type { CallTemplate } from './call-template'
import { KEY_HASH_HEX } from './hash'
import { writePlainValue } from './plain-value'
import type { Task } from './task'

/** Node's Buffer has these (undocumented, stable since v0.x): they skip `write`'s and `toString`'s argument parsing. */
type Utf8Writer = Buffer & { utf8Write(s: string, offset: number, length: number): number }
type ScratchBuffer = Utf8Writer & {
  latin1Write(s: string, offset: number, length: number): number
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

/** The first byte of a task: an array of 7 fields, or 8 with retries, or 9 with allowOtherWorkers. */
export function taskHeader(retries: number, allowOtherWorkers: boolean): number {
  return allowOtherWorkers ? 0x99 : retries > 0 ? 0x98 : 0x97
}

/** Copies `from` to `to` at `at`; returns the position after. A loop: these are a few dozen bytes, where `set` costs more. */
function copy(from: Uint8Array, to: Uint8Array, at: number): number {
  const n = from.length
  for (let i = 0; i < n; i++) to[at + i] = from[i]
  return at + n
}

/**
 * @internal Writes the native graph layout (src/wire.rs) of tasks straight
 * into one growing buffer, in a single pass: no array-of-arrays per task, no
 * Map per resources object, payloads copied once. Headers are not always the
 * shortest MessagePack allows (strings of unknown UTF-8 length get a str8 or
 * str32 header); any MessagePack reader, the native one included, reads them.
 */
export class GraphWriter {
  private buf: Buffer
  /** The array32 header of the graph is written at 0 by `finish`. */
  private pos = 5
  count = 0

  constructor(capacity = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity))
  }

  /** Bytes written so far (the graph header included). */
  get length(): number {
    return this.pos
  }

  add(t: Task): void {
    this.count++
    const payload = t.payload
    this.reserve(16 + payload.length)
    // 7 fields, an 8th (retries) only for a task that has any, and a 9th (allowOtherWorkers) only
    // when true, after a retries of 0 if need be: the usual bytes stay as they were.
    this.buf[this.pos++] = taskHeader(t.retries, t.allowOtherWorkers)
    this.str(t.key)
    this.str(t.name)
    this.reserve(5 + payload.length)
    if (payload.length < 256) {
      this.buf[this.pos] = 0xc4 // bin8
      this.buf[this.pos + 1] = payload.length
      this.pos += 2
    } else {
      this.buf[this.pos] = 0xc6 // bin32
      this.buf.writeUInt32BE(payload.length, this.pos + 1)
      this.pos += 5
    }
    this.buf.set(payload, this.pos)
    this.pos += payload.length
    this.fields(t.dependencies, t.priority, t.restrictions, t.resources, t.retries, t.allowOtherWorkers)
  }

  /**
   * Adds the task `template.fn(item)` when `item` is a plain value (see writePlainValue), as
   * `add` would add the Task buildTask makes of it (same bytes, same key): its payload is written
   * in place and hashed there, with no Task, payload Buffer or argument array. Returns the key,
   * or null (nothing added) for any other item.
   */
  addCall(template: CallTemplate, item: unknown): string | null {
    this.reserve(template.maxBytes)
    const buf = this.buf as ScratchBuffer
    const start = this.pos
    let p = start
    buf[p++] = template.header
    const keyBytes = template.keyBytes
    const keyAt = p + template.keyHeaderLength
    p = copy(keyBytes, buf, p)
    p = copy(template.nameBytes, buf, p)
    // The payload, [fn, [item]], behind a bin8 header: moved behind a bin32 one if it turns out longer.
    const payloadAt = p + 2
    p = copy(template.payloadHead, buf, payloadAt)
    p = writePlainValue(buf, p, item)
    if (p < 0) return null
    let payloadEnd = p
    const length = payloadEnd - payloadAt
    if (length < 256) {
      buf[payloadAt - 2] = 0xc4
      buf[payloadAt - 1] = length
    } else {
      buf.copyWithin(payloadAt + 3, payloadAt, payloadEnd)
      buf[payloadAt - 2] = 0xc6
      buf.writeUInt32BE(length, payloadAt - 1)
      payloadEnd += 3
    }
    const digest = hash('sha256', buf.subarray(payloadEnd - length, payloadEnd), 'hex')
    const keyEnd = start + 1 + keyBytes.length
    buf.latin1Write(digest, keyEnd - KEY_HASH_HEX, KEY_HASH_HEX)
    const key = template.asciiKey ? buf.latin1Slice(keyAt, keyEnd) : buf.utf8Slice(keyAt, keyEnd)
    this.pos = copy(template.tail, buf, payloadEnd)
    this.count++
    return key
  }

  /** Writes a task's fields after its payload: dependencies, priority, restrictions, resources, [retries, [allowOtherWorkers]]. */
  fields(
    deps: readonly string[],
    priority: number,
    restrictions: readonly string[] | null,
    resources: Readonly<Record<string, number>> | null,
    retries: number,
    allowOtherWorkers: boolean,
  ): void {
    this.arrayHeader(deps.length)
    for (let i = 0; i < deps.length; i++) this.str(deps[i])
    this.int(priority)
    if (restrictions === null) this.nil()
    else {
      this.arrayHeader(restrictions.length)
      for (const r of restrictions) this.str(r)
    }
    if (resources === null) this.nil()
    else {
      // A MessagePack map: the native reader does not read msgpackr records.
      const names = Object.keys(resources)
      this.reserve(5)
      if (names.length < 16) this.buf[this.pos++] = 0x80 | names.length
      else {
        this.buf[this.pos] = 0xdf
        this.buf.writeUInt32BE(names.length, this.pos + 1)
        this.pos += 5
      }
      for (const name of names) {
        this.str(name)
        this.reserve(9)
        this.buf[this.pos] = 0xcb
        this.buf.writeDoubleBE(resources[name], this.pos + 1)
        this.pos += 9
      }
    }
    if (retries > 0 || allowOtherWorkers) this.int(retries)
    if (allowOtherWorkers) {
      this.reserve(1)
      this.buf[this.pos++] = 0xc3 // true
    }
  }

  /** The bytes written from `from` on (a copy). */
  bytesFrom(from: number): Buffer {
    return Buffer.from(this.buf.subarray(from, this.pos))
  }

  /** The graph's bytes; the writer must not be used after. */
  finish(): Buffer {
    this.buf[0] = 0xdd // array32
    this.buf.writeUInt32BE(this.count, 1)
    return this.buf.subarray(0, this.pos)
  }

  /** Writes a MessagePack string (see the class comment on its header). */
  str(s: string): void {
    const max = s.length * 3
    this.reserve(5 + max)
    const buf = this.buf as Utf8Writer
    const at = this.pos
    const n = s.length
    if (n < 256) {
      // Keys and names are ASCII: a byte loop beats a call into C++ for ~20 characters.
      const head = n < 32 ? 1 : 2
      let p = at + head
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[p++] = c
      }
      if (i === n) {
        if (head === 1) buf[at] = 0xa0 | n
        else {
          buf[at] = 0xd9
          buf[at + 1] = n
        }
        this.pos = p
        return
      }
    }
    if (max < 32) {
      const n = buf.utf8Write(s, at + 1, max)
      buf[at] = 0xa0 | n
      this.pos = at + 1 + n
    } else if (max < 256) {
      const n = buf.utf8Write(s, at + 2, max)
      buf[at] = 0xd9
      buf[at + 1] = n
      this.pos = at + 2 + n
    } else {
      const n = buf.utf8Write(s, at + 5, max)
      buf[at] = 0xdb
      buf.writeUInt32BE(n, at + 1)
      this.pos = at + 5 + n
    }
  }

  private arrayHeader(n: number): void {
    this.reserve(5)
    if (n < 16) this.buf[this.pos++] = 0x90 | n
    else {
      this.buf[this.pos] = 0xdd
      this.buf.writeUInt32BE(n, this.pos + 1)
      this.pos += 5
    }
  }

  private int(v: number): void {
    this.reserve(5)
    if (v >= 0 && v < 128) this.buf[this.pos++] = v
    else {
      this.buf[this.pos] = 0xd2
      this.buf.writeInt32BE(v, this.pos + 1)
      this.pos += 5
    }
  }

  private nil(): void {
    this.reserve(1)
    this.buf[this.pos++] = 0xc0
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }
}
