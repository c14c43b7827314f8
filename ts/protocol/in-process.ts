import type WebSocket from 'ws'
import type { LocalSocket } from './local-socket'
import type { PortSocket } from './port-socket'
import type { ResolvedTls } from './tls'

/** The caller's end of a connection to a scheduler of this process: on another thread, or on this one. */
export type InProcessSocket = PortSocket | LocalSocket

/** Opens a new connection to a scheduler of this process; returns the caller's end. */
export type InProcessConnector = () => InProcessSocket

interface LocalScheduler {
  connect: InProcessConnector
  /** Its token: this process started it, so its clients need not be told the token. */
  token: string | null
  /** Its TLS settings: this process's clients verify workers' peer servers and present a certificate with them. */
  tls: ResolvedTls | null
}

/** Schedulers of this process by the address they listen on. */
const schedulers = new Map<string, LocalScheduler>()

/** Makes a scheduler listening on `address` reachable in-process; returns the undo. */
export function registerInProcess(address: string, connect: InProcessConnector, token: string | null, tls: ResolvedTls | null = null): () => void {
  const entry = { connect, token, tls }
  schedulers.set(address, entry)
  return () => {
    if (schedulers.get(address) === entry) schedulers.delete(address)
  }
}

/**
 * The token of the scheduler of this process listening on `address`: undefined when there is
 * none, null when it runs insecure.
 */
export function inProcessToken(address: string): string | null | undefined {
  return schedulers.get(address)?.token
}

/**
 * The TLS settings of the scheduler of this process listening on `address`: undefined when there
 * is none, null when it serves no TLS.
 */
export function inProcessTls(address: string): ResolvedTls | null | undefined {
  return schedulers.get(address)?.tls
}

/**
 * The client's end of a new in-process connection to the scheduler at
 * `address`, or null when no scheduler of this process listens there.
 * Its 'open' event follows in a microtask, as a socket's would later.
 */
export function connectInProcess(address: string): WebSocket | null {
  const local = schedulers.get(address)
  if (local === undefined) return null
  const socket = local.connect()
  queueMicrotask(() => {
    if (socket.readyState === socket.OPEN) socket.emit('open')
  })
  return socket.asWebSocket()
}
