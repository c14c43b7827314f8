import type net from 'node:net'

/**
 * Bytes read and written on a listening port's TCP connections since it opened: the live
 * connections' counters plus those of the closed ones. Costs one listener per connection,
 * nothing per message.
 */
export class PortBytes {
  private readonly open = new Set<net.Socket>()
  private closedRead = 0
  private closedWritten = 0

  watch(server: net.Server): void {
    server.on('connection', (socket: net.Socket) => {
      this.open.add(socket)
      socket.once('close', () => {
        this.open.delete(socket)
        this.closedRead += socket.bytesRead
        this.closedWritten += socket.bytesWritten
      })
    })
  }

  get totals(): { read: number; written: number } {
    let read = this.closedRead
    let written = this.closedWritten
    for (const socket of this.open) {
      read += socket.bytesRead
      written += socket.bytesWritten
    }
    return { read, written }
  }
}
