import { EventEmitter } from 'node:events'

export const CONNECTING = 0
export const OPEN = 1
export const CLOSING = 2
export const CLOSED = 3

/**
 * What the sockets that are not WebSockets (LocalSocket, PortSocket) share of
 * ws's WebSocket surface: the ready-state constants, the binary type, and no
 * send buffer (frames are handed over at once, nothing waits on the sending side).
 */
export abstract class SocketSurface extends EventEmitter {
  readonly CONNECTING = CONNECTING
  readonly OPEN = OPEN
  readonly CLOSING = CLOSING
  readonly CLOSED = CLOSED
  binaryType = 'nodebuffer'
  readonly bufferedAmount = 0
}
