import test from 'ava'
import { randomBytes } from 'node:crypto'
import { LocalCluster } from '../ts/cluster'
import { Client } from '../ts/client'
import { encode, KeyRef, type WireTask } from '../ts/protocol'
import { RawClient, RawConnection, shipped, task } from './helpers/raw'
import { peerStub } from './helpers/peer-stub'

const MAX_FRAME = 1 << 20

/** Sends one frame of the given messages and waits for the scheduler's error reply naming `code`. */
async function expectError(conn: RawConnection, code: string, ...messages: unknown[][]): Promise<void> {
  conn.send(...messages)
  await conn.next((m) => m[0] === 'error' && m[2] === code)
}

test('garbage on the scheduler port leaves a running graph exact and the scheduler serving', async (t) => {
  const log: string[] = []
  const cluster = await LocalCluster.start({ workers: 2, scheduler: { maxFrameBytes: MAX_FRAME, log: (line) => log.push(line) } })
  const token = cluster.scheduler.token
  try {
    // The honest client: a graph long enough to be running while the garbage arrives.
    const honest = await Client.connect(cluster.address)
    const n = 200
    const slowInc = (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x + 1), 2))
    const parts = honest.map(slowInc, Array.from({ length: n }, (_, i) => i))
    const total = honest.submit((...xs: number[]) => xs.reduce((a, b) => a + b, 0), ...parts)
    const sum = shipped('sum', (...xs: number[]) => xs.reduce((a, b) => a + b, 0))

    // Random bytes and a text frame as the very first frame: refused and closed.
    for (const frame of [randomBytes(64), 'hello?']) {
      const conn = await RawConnection.open(cluster.address)
      conn.sendRaw(frame)
      await conn.whenClosed()
    }
    // A first message that is not the answer to the challenge.
    const impostor = await RawConnection.open(cluster.address)
    await expectError(impostor, 'SKEIN_HANDSHAKE', ['want', ['honest-0']])
    await impostor.whenClosed()
    // An authenticated party whose next message is not a hello.
    const noHello = await RawConnection.authenticated(cluster.address, 'client', token)
    await expectError(noHello, 'SKEIN_HANDSHAKE', ['want', ['honest-0']])
    await noHello.whenClosed()

    // A client that says hello and then speaks nonsense.
    const rogue = await RawClient.connect(cluster.address, token)
    const c = rogue.conn
    c.send(['fn', sum.hash, sum.source, sum.name])
    c.sendRaw(randomBytes(256))
    await c.next((m) => m[0] === 'error' && m[2] === 'SKEIN_MALFORMED_FRAME')
    c.sendRaw(encode(42))
    await c.next((m) => m[0] === 'error' && m[2] === 'SKEIN_MALFORMED_FRAME')
    c.sendRaw(encode([{ submit: 1 }, [1, 2, 3]]))
    await c.next((m) => m[0] === 'error' && m[2] === 'SKEIN_MALFORMED_FRAME')
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['submit'])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['submit', 'one', 'two', 'three'])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['want', 'honest-0'])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['release', [1, 2, 3]])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['cancel', [null]])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['scattered', 1, [['k', -4, 'big']]])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['events', Buffer.from([1, 2, 3])])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['hello-worker', 'late', 1, 'ws://x', null])
    await expectError(c, 'SKEIN_BAD_MESSAGE', ['no-such-message', 1])
    // Well-formed requests the core refuses: answered with the core's code, the connection stays.
    c.send(['submit', 7, Buffer.from('not a graph'), []])
    t.like(await c.next((m) => m[0] === 'error' && m[1] === 7), { 2: 'SKEIN_MALFORMED_FRAME' })
    const bad = (deps: string[]): WireTask[] => [task('rogue-a', sum, [], deps)]
    c.send(['submit', 8, encode(bad(['no-such-key'])), ['rogue-a']])
    t.like(await c.next((m) => m[0] === 'error' && m[1] === 8), { 2: 'SKEIN_UNKNOWN_DEPENDENCY' })
    c.send(['submit', 9, encode([task('cyc-a', sum, [], ['cyc-b']), task('cyc-b', sum, [], ['cyc-a'])]), []])
    t.like(await c.next((m) => m[0] === 'error' && m[1] === 9), { 2: 'SKEIN_CYCLE' })
    c.send(['scattered', 10, [['ghost', 9999, 10]]])
    t.like(await c.next((m) => m[0] === 'error' && m[1] === 10), { 2: 'SKEIN_UNKNOWN_WORKER' })
    // Unknown keys in want/release/cancel: refused or ignored, never fatal.
    c.send(['release', ['no-such-key']], ['cancel', ['no-such-key']], ['want', ['no-such-key']])
    // A key that claims to live on a real worker but does not: a task needing it must not hang or break anything.
    const [realWorker] = rogue.workers
    c.send(['scattered', 11, [['ghost', realWorker[0], 10]]])
    await c.next((m) => m[1] === 11)
    c.send(['submit', 12, encode([task('needs-ghost', sum, [new KeyRef('ghost')], ['ghost'])]), ['needs-ghost']])
    await c.next((m) => m[1] === 12)

    // A fake worker: its bad fields are refused, then its garbage events are.
    const badWorker = await RawConnection.authenticated(cluster.address, 'worker', token)
    await expectError(badWorker, 'SKEIN_BAD_MESSAGE', ['hello-worker', 'fake', -1, 'ws://127.0.0.1:1', null])
    await badWorker.whenClosed()
    const fake = await RawConnection.authenticated(cluster.address, 'worker', token)
    fake.send(['hello-worker', 'fake', 1, await peerStub(t, token), null])
    await fake.next((m) => m[0] === 'welcome')
    await expectError(fake, 'SKEIN_MALFORMED_FRAME', ['events', Buffer.from([0xc1, 0xff])])
    fake.send(['events', encode([[0, 123456, 0, 10, 0.1]])], ['heartbeat'])
    await expectError(fake, 'SKEIN_UNKNOWN_FUNCTION', ['fn?', 'no-such-hash'])
    await expectError(fake, 'SKEIN_BAD_MESSAGE', ['submit', 1, Buffer.alloc(0), []])
    fake.close()

    // An oversize frame closes only its own connection.
    const big = await RawClient.connect(cluster.address, token)
    big.conn.sendRaw(encode([['fn', 'h', 'x'.repeat(MAX_FRAME + 1), 'huge']]))
    await big.conn.whenClosed()

    t.is(await total, (n * (n + 1)) / 2)
    const health = (await (await fetch(`${cluster.address.replace('ws:', 'http:')}/health`)).json()) as { status: string; workers: number }
    t.like(health, { status: 'ok', workers: 2 })
    // The honest client is still connected and can run more work.
    t.is(await honest.submit((a: number, b: number) => a * b, 6, 7), 42)

    t.true(log.length > 0, 'refused input is logged')
    t.true(log.every((line) => !line.includes('\n')), 'each notice is one line')
    t.false(log.some((line) => line.includes('internal error')), `no internal errors: ${log.filter((l) => l.includes('internal error')).join(' | ')}`)
    await honest.close()
    rogue.close()
  } finally {
    await cluster.close()
  }
})
