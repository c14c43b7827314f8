import { encode, INLINE_RESULT_MAX_BYTES, WorkerEventKind, type NativeWorkerEvent } from '../protocol'

/** ['events', bin32 ...]: fixarray 2, fixstr 'events', bin32 marker + length. */
const MESSAGE_HEAD = Buffer.from([0x92, 0xa6, ...Buffer.from('events'), 0xc6, 0, 0, 0, 0])
/** Byte 0 is spare (for the channel's frame header), the message head follows, then the events array's array32 header. */
const HEAD = 1 + MESSAGE_HEAD.length + 5
const MIN_CAPACITY = 512
/** Inline results up to this size are copied byte by byte. */
const SMALL_COPY_BYTES = 32

/**
 * Collects the task events of one event-loop turn and sends them as one
 * 'events' message, already encoded: each event is written straight into one
 * buffer as it happens (the hot 'finished' one by hand, no tuple per task, no
 * generic encoder), and the message goes out as those bytes (no copy into an
 * encoder's buffer).
 */
export class EventOutbox {
  private buf = Buffer.allocUnsafe(MIN_CAPACITY)
  private pos = HEAD
  private count = 0
  private scheduled = false
  private readonly flushNow = () => this.flush()

  /** `send` gets the whole ['events', bytes] message, MessagePack-encoded, from offset 1 (byte 0 is spare). */
  constructor(private readonly send: (message: Buffer) => void) {}

  /**
   * [Finished, task, run, nbytes, duration] or, with the result's bytes inline (`memory` from
   * `offset`, `nbytes` long, when small enough), [..., value].
   */
  finished(task: number, run: number, nbytes: number, duration: number, memory: Buffer | null, offset = 0): void {
    const inline = memory !== null && nbytes <= INLINE_RESULT_MAX_BYTES
    this.reserve(1 + 1 + 9 + 9 + 9 + 9 + (inline ? 3 + nbytes : 0))
    const buf = this.buf
    buf[this.pos++] = inline ? 0x96 : 0x95
    buf[this.pos++] = WorkerEventKind.Finished
    this.uint(task)
    this.uint(run)
    this.uint(nbytes)
    buf[this.pos] = 0xcb
    buf.writeDoubleBE(duration, this.pos + 1)
    this.pos += 9
    if (inline) {
      const n = nbytes
      if (n < 0x100) {
        buf[this.pos++] = 0xc4
        buf[this.pos++] = n
      } else {
        buf[this.pos] = 0xc5
        buf.writeUInt16BE(n, this.pos + 1)
        this.pos += 3
      }
      // Most inline results are a few bytes: a loop costs less than a native copy's call.
      if (n <= SMALL_COPY_BYTES) for (let i = 0; i < n; i++) buf[this.pos + i] = memory[offset + i]
      else memory.copy(buf, this.pos, offset, offset + n)
      this.pos += n
    }
    this.added()
  }

  push(event: NativeWorkerEvent): void {
    const bytes = encode(event)
    this.reserve(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
    this.added()
  }

  flush(): void {
    this.scheduled = false
    if (this.count === 0) return
    const buf = this.buf
    MESSAGE_HEAD.copy(buf, 1)
    buf.writeUInt32BE(this.pos - 1 - MESSAGE_HEAD.length, MESSAGE_HEAD.length - 3)
    buf[1 + MESSAGE_HEAD.length] = 0xdd
    buf.writeUInt32BE(this.count, 2 + MESSAGE_HEAD.length)
    const message = buf.subarray(0, this.pos)
    // The channel may hold the bytes until its socket drains: the next batch gets a new buffer.
    this.buf = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, this.pos))
    this.pos = HEAD
    this.count = 0
    this.send(message)
  }

  private added(): void {
    this.count++
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.flushNow)
  }

  private uint(n: number): void {
    const buf = this.buf
    if (n < 0x80) buf[this.pos++] = n
    else if (n < 0x100) {
      buf[this.pos++] = 0xcc
      buf[this.pos++] = n
    } else if (n < 0x10000) {
      buf[this.pos] = 0xcd
      buf.writeUInt16BE(n, this.pos + 1)
      this.pos += 3
    } else if (n < 0x100000000) {
      buf[this.pos] = 0xce
      buf.writeUInt32BE(n, this.pos + 1)
      this.pos += 5
    } else {
      buf[this.pos] = 0xcf
      buf.writeUInt32BE(Math.floor(n / 0x100000000), this.pos + 1)
      buf.writeUInt32BE(n >>> 0, this.pos + 5)
      this.pos += 9
    }
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }
}
