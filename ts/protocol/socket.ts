import type { ClientOptions } from 'ws'
import { MAX_FRAME_BYTES } from './messages'

/**
 * An all-zero masking key. RFC 6455 masks client frames so that a hostile
 * script in a browser cannot poison proxy caches; skein's sockets join Node
 * processes of one cluster, where masking is only a cost: an XOR pass over
 * every frame on both ends (and a copy of it on the sending end). ws skips
 * both when the key is zero.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0)
}

/** Options for every WebSocket skein opens (to the scheduler or to a worker's peer server). */
export const SOCKET_OPTIONS: ClientOptions = {
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: false,
  generateMask: zeroMask,
}
