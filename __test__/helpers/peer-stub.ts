/**
 * A peer server that only answers the handshake: the address a raw test worker
 * advertises, so that the scheduler's reachability check at join lets it in.
 */
import type { ExecutionContext } from 'ava'
import { WebSocketServer } from 'ws'
import { Channel, Credentials, ServerHandshake } from '../../ts/protocol'

/**
 * Listens on 127.0.0.1 until the test ends; returns its ws:// address. `token`: the cluster's (null:
 * insecure); `delayMs`: how long it waits before it challenges a connection.
 */
export async function peerStub(t: ExecutionContext, token: string | null, delayMs = 0): Promise<string> {
  const credentials = token === null ? Credentials.none : Credentials.fromToken(token, 'the test')
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  wss.on('connection', (socket) => {
    const handshake = new ServerHandshake(credentials, 'worker', ['peer'])
    const channel: Channel<unknown[], unknown[]> = new Channel<unknown[], unknown[]>(
      socket,
      (m) => {
        if (handshake.role !== null) return
        try {
          channel.send(handshake.answer(m))
        } catch {
          socket.terminate()
        }
      },
      () => socket.terminate(),
    )
    socket.on('error', () => {})
    setTimeout(() => channel.send(handshake.challenge()), delayMs)
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  t.teardown(() => {
    for (const socket of wss.clients) socket.terminate()
    wss.close()
  })
  const { port } = wss.address() as { port: number }
  return `ws://127.0.0.1:${port}`
}
