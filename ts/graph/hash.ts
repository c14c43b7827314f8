import { hash, randomBytes } from 'node:crypto'
import { FunctionHashMismatchError } from './errors'

/** @internal Hex digits kept of a sha256: 64 bits, collision-free in practice for keys. */
export const KEY_HASH_HEX = 16
/**
 * Hex digits of a shipped function's hash: 128 bits. A source is trusted for its hash, so the
 * hash must resist a second-preimage search (other code under a common function's hash),
 * which 64 bits do not against a determined attacker.
 */
const FUNCTION_HEX = 32

/** @internal sha256 of `data`, first 16 hex digits. */
export function shortHash(data: string | Buffer): string {
  return hash('sha256', data, 'hex').slice(0, KEY_HASH_HEX)
}

/** @internal The hash a shipped function travels under: sha256 of its source, first 32 hex digits. */
export function functionHash(source: string): string {
  return hash('sha256', source, 'hex').slice(0, FUNCTION_HEX)
}

/** @internal Whether `source` hashes to `claimed`; if not, the error saying so (the scheduler and workers refuse such a source). */
export function checkFunctionSource(claimed: string, source: string, name: string): FunctionHashMismatchError | null {
  const actual = functionHash(source)
  if (actual === claimed) return null
  return new FunctionHashMismatchError(
    `shipped function ${JSON.stringify(name.slice(0, 100))}: its source hashes to ${actual}, not to ${JSON.stringify(claimed.slice(0, 64))}, the hash it came under; refused`,
  )
}

// One random prefix per process plus a counter: unique across processes without a random draw per task.
const processNonce = randomBytes(8)
let nonceCounter = 0

/** Bytes that differ on every call, mixed into the key of an impure task. */
export function nextNonce(): Buffer {
  const nonce = Buffer.allocUnsafe(16)
  processNonce.copy(nonce, 0)
  nonce.writeDoubleLE(nonceCounter++, 8)
  return nonce
}

let scratch = Buffer.allocUnsafe(256)

type ScratchBuffer = Buffer & {
  utf8Write(s: string, offset: number, length: number): number
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

/**
 * @internal `${name}-${shortHash(data)}` built as one flat string: a template
 * literal makes a rope (cons string) that every Map lookup of the key has to
 * flatten and hash anew; a string sliced out of one buffer is flat already.
 * (The digest is taken as hex: crypto.hash's 'buffer' output costs ~4x more.)
 */
export function hashedKey(name: string, data: string | Buffer): string {
  const hex = hash('sha256', data, 'hex')
  const need = name.length * 3 + 1 + KEY_HASH_HEX
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need * 2)
  const buf = scratch as ScratchBuffer
  // Names are mostly ASCII: copied by a loop, and the key read back as latin1 (both cheaper than
  // calls into C++); any other name goes through UTF-8.
  let pos = 0
  let ascii = true
  for (; pos < name.length; pos++) {
    const c = name.charCodeAt(pos)
    if (c >= 0x80) {
      ascii = false
      break
    }
    buf[pos] = c
  }
  if (!ascii) pos = buf.utf8Write(name, 0, buf.length)
  buf[pos++] = 0x2d // '-'
  for (let i = 0; i < KEY_HASH_HEX; i++) buf[pos++] = hex.charCodeAt(i)
  return ascii ? buf.latin1Slice(0, pos) : buf.utf8Slice(0, pos)
}
