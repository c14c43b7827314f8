import test from 'ava'
import { Channel, encode } from '../ts/protocol'
import { InProcessSocket } from '../ts/protocol/in-process'

type Message = unknown[]

function pair(): { sender: Channel<Message, Message>; frames: Buffer[]; received: Message[] } {
  const [a, b] = InProcessSocket.pair()
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

test('in-process sockets deliver in order and close both ends with the code and reason', async (t) => {
  const [a, b] = InProcessSocket.pair()
  const got: string[] = []
  const closes: [string, number, string][] = []
  b.on('message', (data: Buffer) => got.push(data.toString()))
  a.on('close', (code: number, reason: Buffer) => closes.push(['a', code, reason.toString()]))
  b.on('close', (code: number, reason: Buffer) => closes.push(['b', code, reason.toString()]))
  a.send(Buffer.from('one'))
  a.send(Buffer.from('two'))
  a.close(1008, 'bye')
  a.send(Buffer.from('after close'))
  await sleep(5)
  t.deepEqual(got, ['one', 'two'], 'frames sent before the close arrive; none after')
  t.deepEqual(closes.sort(), [['a', 1008, 'bye'], ['b', 1008, 'bye']])
  t.is(b.readyState, b.CLOSED)
})
