import buffer from 'node:buffer'
import { encode } from './codec'

/**
 * Values travel between workers, and between a client and workers, in frames of at most
 * about this many bytes of values: a 'data' reply or a 'put' carries its values inline up
 * to this many bytes in all, and announces the others by their size; their bytes follow in
 * 'chunk' messages of at most this many bytes, each in a frame of its own.
 *
 * 16 MiB, not 64 (Dask's shard size): glibc gives allocations above 32 MiB back to the system
 * when they are freed, so every 64 MiB frame costs fresh pages on both ends, where 16 MiB
 * frames reuse memory. Measured moving 300 MB: 64 MiB chunks took about 1.5 to 2 times as
 * long as 16 or 8 MiB ones, which were alike.
 */
export const CHUNK_BYTES = 16 * 2 ** 20

/** The largest Buffer this Node.js can make: no value is received larger, whatever the memory. */
export const LARGEST_BUFFER = buffer.constants.MAX_LENGTH

/**
 * For each value of a 'data' reply or 'put': whether it travels inline (true) or announced by
 * its size and then in chunks (false). Inline values add up to at most CHUNK_BYTES.
 */
export function inlinePlan(sizes: readonly number[]): boolean[] {
  let room = CHUNK_BYTES
  return sizes.map((size) => {
    if (size > room) return false
    room -= size
    return true
  })
}

/** Why a value announced as `size` bytes cannot be received by a side that takes at most `max`; null when it can. `what` names the value. */
export function refusedSize(size: unknown, max: number, what: string): string | null {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return `${what} was announced with the size ${String(size).slice(0, 40)}, which is not a byte count`
  const bound = Math.min(max, LARGEST_BUFFER)
  if (size > bound) return `${what} is ${size} bytes; this side accepts values of at most ${bound} bytes`
  return null
}

/**
 * One value arriving in chunks: a buffer allocated once at the announced size (checked
 * beforehand with refusedSize), filled in order. Without a buffer it only counts the bytes
 * of a value that was refused, whose chunks are dropped as they come.
 */
export class ChunkedValue {
  readonly bytes: Buffer | null
  received = 0

  constructor(
    readonly size: number,
    keep: boolean,
  ) {
    this.bytes = keep ? Buffer.allocUnsafeSlow(size) : null
  }

  get complete(): boolean {
    return this.received === this.size
  }

  /** Adds the chunk at `offset`; the reason when it is not the next part of this value. */
  add(offset: unknown, chunk: unknown): string | null {
    if (!(chunk instanceof Uint8Array)) return 'a chunk must carry bytes'
    if (offset !== this.received) return `a chunk at offset ${String(offset).slice(0, 20)} where ${this.received} was next`
    if (chunk.byteLength === 0 || this.received + chunk.byteLength > this.size) return `a chunk of ${chunk.byteLength} bytes at offset ${this.received} of a value of ${this.size} bytes`
    this.bytes?.set(chunk, this.received)
    this.received += chunk.byteLength
    return null
  }
}

/** msgpack bin header for `n` bytes at `pos` of `buf`; returns the position after it. */
function writeBinHeader(buf: Buffer, pos: number, n: number): number {
  if (n < 0x100) {
    buf[pos] = 0xc4
    buf[pos + 1] = n
    return pos + 2
  }
  buf[pos] = 0xc6
  buf.writeUInt32BE(n, pos + 1)
  return pos + 5
}

/**
 * The frame [['chunk', request, index, offset, bytes]]: part of value `index` of the 'data'
 * reply or 'put' `request`, at `offset` of it. Written in one pass, the bytes copied once.
 */
export function chunkFrame(request: number, index: number, offset: number, bytes: Uint8Array): Buffer {
  const head = Buffer.concat([encode(request), encode(index), encode(offset)])
  const buf = Buffer.allocUnsafeSlow(2 + 6 + head.length + 5 + bytes.byteLength)
  buf[0] = 0x91 // a frame of one message
  buf[1] = 0x95
  buf[2] = 0xa5 // fixstr 5
  buf.write('chunk', 3, 'latin1')
  head.copy(buf, 8)
  const pos = writeBinHeader(buf, 8 + head.length, bytes.byteLength)
  buf.set(bytes, pos)
  return buf.subarray(0, pos + bytes.byteLength)
}

/**
 * The frame [['data', request, values]]: values as bin, as their size (a value whose bytes
 * follow in chunks) or nil, written in one pass into one buffer.
 */
export function dataFrame(request: number, values: readonly (Uint8Array | number | null)[]): Buffer {
  const head = encode(request)
  let size = 0
  for (const v of values) size += v === null ? 1 : typeof v === 'number' ? 9 : 5 + v.byteLength
  const buf = Buffer.allocUnsafe(2 + 5 + head.length + 5 + size)
  buf[0] = 0x91 // a frame of one message
  buf[1] = 0x93
  buf[2] = 0xa4 // fixstr 4
  buf.write('data', 3, 'latin1')
  head.copy(buf, 7)
  let pos = 7 + head.length
  buf[pos] = 0xdd
  buf.writeUInt32BE(values.length, pos + 1)
  pos += 5
  for (const v of values) {
    if (v === null) buf[pos++] = 0xc0
    else if (typeof v === 'number') pos += encode(v).copy(buf, pos)
    else {
      pos = writeBinHeader(buf, pos, v.byteLength)
      buf.set(v, pos)
      pos += v.byteLength
    }
  }
  return buf.subarray(0, pos)
}

/** What sendChunks needs of a Channel. */
export interface FrameSink {
  drained(lowWater: number): Promise<boolean>
  sendFrame(frame: Buffer): void
}

/**
 * Sends `bytes`, value `index` of `request`, in chunks, each in a frame of its own once the
 * socket holds at most one chunk not yet sent: the next is made while that one leaves, and a
 * small reply sent meanwhile waits for at most two chunks, not for the whole value. Resolves
 * false when the channel closed first.
 */
export async function sendChunks(channel: FrameSink, request: number, index: number, bytes: Uint8Array): Promise<boolean> {
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    if (!(await channel.drained(CHUNK_BYTES))) return false
    channel.sendFrame(chunkFrame(request, index, offset, bytes.subarray(offset, offset + CHUNK_BYTES)))
  }
  return true
}
