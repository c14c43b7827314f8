import test from 'ava'
import { Channel, encode, LocalSocket, PortSocket } from '../ts/protocol'

type Message = unknown[]

function pair(): { sender: Channel<Message, Message>; frames: Buffer[]; received: Message[] } {
  const [a, b] = LocalSocket.pair()
  const frames: Buffer[] = []
  const received: Message[] = []
  const sender = new Channel<Message, Message>(a.asWebSocket(), () => {}, () => {})
  // Count frames on the raw socket, messages through a receiving channel.
  b.on('message', (data: Buffer) => frames.push(data))
  new Channel<Message, Message>(b.asWebSocket(), (m) => received.push(m), () => {})
  return { sender, frames, received }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('a message sent "later" leaves with the next frame, in order, or alone after its delay', async (t) => {
  const { sender, frames, received } = pair()
  sender.sendEncodedLater(encode(['free', ['a']]), 50)
  await sleep(5)
  t.deepEqual(received, [], 'it waits (a turn has passed)')
  sender.send(['compute', [1]])
  await sleep(5)
  t.deepEqual(received, [['free', ['a']], ['compute', [1]]], 'it went first, with the next message')
  t.is(frames.length, 1, 'in one frame')
  sender.sendEncodedLater(encode(['free', ['b']]), 20)
  await sleep(60)
  t.deepEqual(received.at(-1), ['free', ['b']], 'alone, once its delay is over')
  t.is(frames.length, 2)
})

test('an unencoded message sent "later" waits for the next frame even right after a flushNow', async (t) => {
  const { sender, frames, received } = pair()
  sender.send(['memory', [1]])
  sender.flushNow()
  sender.sendLater(['done', 7, [1]], 50)
  await sleep(5)
  t.deepEqual(received, [['memory', [1]]], 'the flush scheduled for the first message does not take it along')
  sender.send(['memory', [2]])
  await sleep(5)
  t.deepEqual(received.slice(1), [['done', 7, [1]], ['memory', [2]]], 'it went first, with the next message')
  t.is(frames.length, 2)
  sender.sendLater(['done', 8, [3]], 20)
  await sleep(60)
  t.deepEqual(received.at(-1), ['done', 8, [3]], 'alone, once its delay is over')
  t.is(frames.length, 3)
})

/** Both kinds of in-process socket pair: on one thread, and over a MessagePort (whose other end normally lives on another thread). */
const pairs = {
  LocalSocket: () => LocalSocket.pair(),
  PortSocket: () => {
    const { socket, remote } = PortSocket.pair()
    return [socket, new PortSocket(remote)] as const
  },
}

for (const [kind, makePair] of Object.entries(pairs)) {
  test(`in-process sockets (${kind}) deliver in order and close both ends with the code and reason`, async (t) => {
    const [a, b] = makePair()
    const got: string[] = []
    b.on('message', (data: Buffer) => got.push(data.toString()))
    const closed = (name: string, end: typeof a | typeof b) =>
      new Promise<[string, number, string]>((resolve) => end.once('close', (code: number, reason: Buffer) => resolve([name, code, reason.toString()])))
    const closes = Promise.all([closed('a', a), closed('b', b)])
    a.send(Buffer.from('one'))
    a.send(Buffer.from('two'))
    a.close(1008, 'bye')
    a.send(Buffer.from('after close'))
    t.deepEqual(await closes, [
      ['a', 1008, 'bye'],
      ['b', 1008, 'bye'],
    ])
    t.deepEqual(got, ['one', 'two'], 'frames sent before the close arrive; none after')
    t.is(b.readyState, b.CLOSED)
  })
}
