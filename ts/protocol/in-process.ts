import type WebSocket from 'ws'
import type { LocalSocket } from './local-socket'
import type { PortSocket } from './port-socket'

/** The caller's end of a connection to a scheduler of this process: on another thread, or on this one. */
export type InProcessSocket = PortSocket | LocalSocket

/** Opens a new connection to a scheduler of this process; returns the caller's end. */
export type InProcessConnector = () => InProcessSocket

/** Schedulers of this process by the address they listen on. */
const schedulers = new Map<string, InProcessConnector>()

/** Makes a scheduler listening on `address` reachable in-process; returns the undo. */
export function registerInProcess(address: string, connect: InProcessConnector): () => void {
  schedulers.set(address, connect)
  return () => {
    if (schedulers.get(address) === connect) schedulers.delete(address)
  }
}

/**
 * The client's end of a new in-process connection to the scheduler at
 * `address`, or null when no scheduler of this process listens there.
 * Its 'open' event follows in a microtask, as a socket's would later.
 */
export function connectInProcess(address: string): WebSocket | null {
  const connect = schedulers.get(address)
  if (connect === undefined) return null
  const socket = connect()
  queueMicrotask(() => {
    if (socket.readyState === socket.OPEN) socket.emit('open')
  })
  return socket.asWebSocket()
}
