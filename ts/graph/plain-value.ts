/** Longest string (in UTF-16 code units) `writePlainValue` takes; longer ones go through the codec. */
export const MAX_PLAIN_STRING = 255

/** Bytes `writePlainValue` may write at most. */
export const MAX_PLAIN_BYTES = MAX_PLAIN_STRING + 2

const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * @internal Writes `value` at `pos` exactly as the shared codec (msgpackr, as configured in
 * protocol/codec.ts) encodes it, for the values a map's items usually are: a number, a boolean,
 * null, or an ASCII string of at most MAX_PLAIN_STRING characters. Returns the position after it,
 * or -1 for any other value (the bytes written are then garbage). `buf` needs MAX_PLAIN_BYTES of
 * room from `pos`. Byte-for-byte equality with the codec keeps task keys (content hashes of the
 * payload) what they are when the payload is encoded by the codec; __test__/plain-value.spec.ts
 * checks it over the edge cases of every branch.
 */
export function writePlainValue(buf: Uint8Array, pos: number, value: unknown): number {
  switch (typeof value) {
    case 'number':
      return writeNumber(buf, pos, value)
    case 'string': {
      const n = value.length
      if (n > MAX_PLAIN_STRING) return -1
      let p = pos + (n < 32 ? 1 : 2)
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i)
        if (c >= 0x80) return -1
        buf[p++] = c
      }
      if (n < 32) buf[pos] = 0xa0 | n
      else {
        buf[pos] = 0xd9
        buf[pos + 1] = n
      }
      return p
    }
    case 'boolean':
      buf[pos] = value ? 0xc3 : 0xc2
      return pos + 1
    case 'object':
      if (value !== null) return -1
      buf[pos] = 0xc0
      return pos + 1
    default:
      return -1
  }
}

/** msgpackr's choices: fixint only below 0x40 (0x40-0x7f are its record ids), then the smallest int, else a float64. */
function writeNumber(buf: Uint8Array, pos: number, v: number): number {
  if (v >>> 0 === v) {
    if (v < 0x40) {
      buf[pos] = v
      return pos + 1
    }
    if (v < 0x100) {
      buf[pos] = 0xcc
      buf[pos + 1] = v
      return pos + 2
    }
    if (v < 0x10000) {
      buf[pos] = 0xcd
      buf[pos + 1] = v >> 8
      buf[pos + 2] = v & 0xff
      return pos + 3
    }
    buf[pos] = 0xce
    buf[pos + 1] = v >>> 24
    buf[pos + 2] = (v >> 16) & 0xff
    buf[pos + 3] = (v >> 8) & 0xff
    buf[pos + 4] = v & 0xff
    return pos + 5
  }
  if (v >> 0 === v) {
    if (v >= -0x20) {
      buf[pos] = 0x100 + v
      return pos + 1
    }
    if (v >= -0x80) {
      buf[pos] = 0xd0
      buf[pos + 1] = v + 0x100
      return pos + 2
    }
    if (v >= -0x8000) {
      buf[pos] = 0xd1
      buf[pos + 1] = (v >> 8) & 0xff
      buf[pos + 2] = v & 0xff
      return pos + 3
    }
    buf[pos] = 0xd2
    buf[pos + 1] = (v >>> 24) & 0xff
    buf[pos + 2] = (v >> 16) & 0xff
    buf[pos + 3] = (v >> 8) & 0xff
    buf[pos + 4] = v & 0xff
    return pos + 5
  }
  buf[pos] = 0xcb
  f64[0] = v
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) buf[pos + 1 + i] = f64Bytes[7 - i]
  else for (let i = 0; i < 8; i++) buf[pos + 1 + i] = f64Bytes[i]
  return pos + 9
}

/** What `readPlainValue` returns for bytes it leaves to the codec. */
export const NOT_PLAIN: unique symbol = Symbol('not plain')

/**
 * @internal The value `bytes` hold when they are exactly one number (an integer or float64),
 * boolean, null or short ASCII string, decoded as the codec decodes it; else NOT_PLAIN (anything
 * else, trailing bytes included, is the codec's to decode or refuse). Most task results are such
 * values: this skips the codec's per-call setup for each of them.
 */
export function readPlainValue(bytes: Uint8Array): unknown {
  const n = bytes.length
  if (n === 0) return NOT_PLAIN
  const h = bytes[0]
  if (h < 0x80) return n === 1 ? h : NOT_PLAIN
  if (h >= 0xe0) return n === 1 ? h - 0x100 : NOT_PLAIN
  if (h >= 0xa0 && h < 0xc0) {
    const length = h & 0x1f
    if (n !== length + 1) return NOT_PLAIN
    let s = ''
    for (let i = 1; i < n; i++) {
      const c = bytes[i]
      if (c >= 0x80) return NOT_PLAIN
      s += String.fromCharCode(c)
    }
    return s
  }
  switch (h) {
    case 0xc0:
      return n === 1 ? null : NOT_PLAIN
    case 0xc2:
      return n === 1 ? false : NOT_PLAIN
    case 0xc3:
      return n === 1 ? true : NOT_PLAIN
    case 0xcc:
      return n === 2 ? bytes[1] : NOT_PLAIN
    case 0xcd:
      return n === 3 ? (bytes[1] << 8) | bytes[2] : NOT_PLAIN
    case 0xce:
      return n === 5 ? bytes[1] * 0x1000000 + ((bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) : NOT_PLAIN
    case 0xd0:
      return n === 2 ? (bytes[1] << 24) >> 24 : NOT_PLAIN
    case 0xd1:
      return n === 3 ? (((bytes[1] << 8) | bytes[2]) << 16) >> 16 : NOT_PLAIN
    case 0xd2:
      return n === 5 ? (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4] : NOT_PLAIN
    case 0xcb:
      if (n !== 9) return NOT_PLAIN
      if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) f64Bytes[7 - i] = bytes[1 + i]
      else for (let i = 0; i < 8; i++) f64Bytes[i] = bytes[1 + i]
      return f64[0]
    default:
      return NOT_PLAIN
  }
}
