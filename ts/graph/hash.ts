import { hash, randomBytes } from 'node:crypto'

/** Hex digits kept of a sha256: 64 bits, collision-free in practice for keys and function ids. */
const SHORT_HEX = 16

/** @internal sha256 of `data`, first 16 hex digits. */
export function shortHash(data: string | Buffer): string {
  return hash('sha256', data, 'hex').slice(0, SHORT_HEX)
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
