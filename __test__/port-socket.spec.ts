import test from 'ava'
import { Worker } from 'node:worker_threads'
import { PortSocket } from '../ts/protocol'

/** The frames and the close one end of a pair sees. */
function watch(socket: PortSocket) {
  const frames: Buffer[] = []
  const closed = new Promise<[number, string]>((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])))
  socket.on('message', (frame: Buffer, isBinary: boolean) => {
    if (isBinary) frames.push(frame)
  })
  return { frames, closed }
}

test('frames arrive in order; a handed-over frame that owns its memory is moved, any other is copied', async (t) => {
  const { socket, remote } = PortSocket.pair()
  const other = new PortSocket(remote)
  const seen = watch(other)
  const owned = Buffer.alloc(64 * 1024, 7) // allocated alone: owns its ArrayBuffer
  const pooled = Buffer.from('small') // a view into the shared pool slab
  const kept = Buffer.alloc(64 * 1024, 9)
  socket.send(owned, { binary: true, handOver: true })
  socket.send(pooled, { binary: true, handOver: true })
  socket.send(kept, { binary: true })
  socket.close(4000, 'done')
  t.deepEqual(await seen.closed, [4000, 'done'], 'the close comes after the frames, with its code and reason')
  t.is(owned.byteLength, 0, 'moved: the sender no longer has it')
  t.is(pooled.toString(), 'small', 'copied: the pool slab stays')
  t.is(kept[0], 9, 'not handed over: copied')
  t.deepEqual(
    seen.frames.map((f) => [f.byteLength, f[0]]),
    [
      [64 * 1024, 7],
      [5, 's'.charCodeAt(0)],
      [64 * 1024, 9],
    ],
  )
  t.is(seen.frames[1].buffer.byteLength, 5, 'a copy holds exactly the frame, not the slab it was cut from')
})

test('an end whose thread dies sees an abnormal close (1006) with the reason it was given for that', async (t) => {
  const { socket, remote } = PortSocket.pair('the other side died')
  const seen = watch(socket)
  const thread = new Worker('require("node:worker_threads").workerData.port.on("message", () => process.exit(3))', {
    eval: true,
    workerData: { port: remote },
    transferList: [remote],
  })
  socket.send(Buffer.from('bye'))
  t.deepEqual(await seen.closed, [1006, 'the other side died'])
  t.is(socket.readyState, socket.CLOSED)
  await thread.terminate()
})

test('terminate closes both ends at once without a handshake; the caller may name why', async (t) => {
  const { socket, remote } = PortSocket.pair()
  const other = watch(new PortSocket(remote))
  const mine = watch(socket)
  socket.terminate(1011, 'the scheduler thread crashed')
  t.deepEqual(await mine.closed, [1011, 'the scheduler thread crashed'])
  t.deepEqual(await other.closed, [1006, ''])
})
