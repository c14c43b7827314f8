import type WebSocket from 'ws'
import { Channel, connectionError, openSocket, PartyHandshake, type Credentials, type ResolvedTls } from '../protocol'

/** The code of the refusal a worker gets when the scheduler cannot reach the peer address it advertised. */
export const WORKER_UNREACHABLE = 'SKEIN_WORKER_UNREACHABLE'

/**
 * How long a joining worker's peer server has to answer. A few round trips of a
 * handshake: seconds are generous on any network a cluster runs on, and a worker
 * nobody can reach is better refused quickly than waited for.
 */
export const REACH_TIMEOUT_MS = 5000

/**
 * Checks that joining workers' advertised peer addresses answer, from the
 * scheduler's side: it opens a connection and completes the handshake as a
 * peer (so the address is a skein worker holding the cluster's token, and its
 * TLS certificate verifies), then closes it. The scheduler only calls it for
 * parties that already authenticated, so it cannot be made to dial anywhere
 * by a stranger.
 */
export class PeerReachability {
  private readonly probes = new Set<WebSocket>()

  constructor(
    private readonly credentials: Credentials,
    /** The scheduler's TLS settings: its CA verifies workers' certificates, its certificate is presented to those that require one. */
    private readonly tls: ResolvedTls | null,
    private readonly timeoutMs: number = REACH_TIMEOUT_MS,
  ) {}

  /** Resolves with null when `address` answered as a skein peer server, else with why not. Never rejects. */
  check(address: string): Promise<string | null> {
    let url: URL
    try {
      url = new URL(address)
    } catch {
      return Promise.resolve('it is not a URL')
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return Promise.resolve(`it is not a ws:// or wss:// URL`)
    if (url.protocol === 'wss:' && this.tls === null) return Promise.resolve('it is a wss:// address, but this scheduler has no TLS settings to verify it with')
    return new Promise((resolve) => {
      const server = `the peer server at ${address}`
      let socket: WebSocket
      try {
        socket = openSocket(address, this.tls, server)
      } catch (err) {
        resolve((err as Error).message)
        return
      }
      this.probes.add(socket)
      let settled = false
      const finish = (why: string | null) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.probes.delete(socket)
        socket.terminate()
        resolve(why)
      }
      const timer = setTimeout(() => finish(`no answer within ${this.timeoutMs / 1000} s`), this.timeoutMs)
      const handshake = new PartyHandshake(this.credentials, 'peer', server)
      const channel = new Channel<unknown[], unknown[]>(
        socket,
        (message) => {
          try {
            const auth = handshake.receive(message)
            if (auth !== null) channel.send(auth)
            else finish(null)
          } catch (err) {
            finish((err as Error).message)
          }
        },
        (err) => finish(`it sent a malformed frame: ${err.message}`),
      )
      socket.on('error', (err) => finish(connectionError(socket, err, server, address).message))
      socket.on('close', () => finish('it closed the connection during the handshake'))
    })
  }

  /** Ends the checks under way (the scheduler is closing); their workers are closed with it. */
  cancelAll(): void {
    for (const socket of this.probes) socket.terminate()
    this.probes.clear()
  }
}
