/**
 * The bounds of values: a result larger than its worker's memory limit errs its task with
 * SKEIN_VALUE_TOO_LARGE instead of being lost on the way and recomputed in a loop; a worker
 * refuses a scattered value past its limit, and a peer announcing a size past it, before
 * allocating anything. (Values of any size up to that travel in chunks: large-values.spec.ts.)
 */
import test, { type ExecutionContext } from 'ava'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { Client, LocalCluster, Scheduler, ValueTooLargeError, Worker } from '../ts/index'
import { Channel, Credentials, encode, ServerHandshake, WorkerEventKind } from '../ts/protocol'
import { eventually } from './helpers/processes'
import { RawConnection } from './helpers/raw'

/** `m` is an error reply with `code` and a message matching `message`. */
function refused(t: ExecutionContext, m: unknown[], code: string, message: RegExp): void {
  t.is(m[0], 'error')
  t.is(m[2], code)
  t.regex(String(m[3]), message)
}

/** A worker of 100 MB that neither spills, pauses nor stops: only its value bound is tested. */
const SMALL_WORKER = { workers: 1, memoryLimit: 100e6, memory: { target: false, spill: false, pause: false, terminate: false }, log: () => {} } as const

test('a result larger than the memory limit errs its task once, with SKEIN_VALUE_TOO_LARGE naming the key and the size', async (t) => {
  const cluster = await LocalCluster.start(SMALL_WORKER)
  try {
    const client = await Client.connect(cluster.address)
    const before = cluster.scheduler.stats().computes
    const huge = client.submit((n: number) => Buffer.alloc(n, 1), 120e6)
    const error = await t.throwsAsync(huge, { instanceOf: ValueTooLargeError })
    t.is(error!.code, 'SKEIN_VALUE_TOO_LARGE')
    t.regex(error!.message, new RegExp(`${huge.key}.*encodes to 120000005 bytes; a value can be at most 100000000 bytes \\(the worker's memory limit\\)`))
    // A dependent errs with the same cause; nothing was recomputed.
    await t.throwsAsync(client.submit((b: Buffer) => b.length, huge), { instanceOf: ValueTooLargeError })
    t.is(cluster.scheduler.stats().computes - before, 1, 'computed once, not in a loop')
    t.is(await client.submit((x: number) => x + 1, 1), 2)
    await client.close()
  } finally {
    await cluster.close()
  }
})

test("a scatter of a value larger than the worker's memory limit is refused by the worker; the next scatter works", async (t) => {
  const cluster = await LocalCluster.start(SMALL_WORKER)
  try {
    const client = await Client.connect(cluster.address)
    await t.throwsAsync(client.scatter([Buffer.alloc(120e6, 2)]), { code: 'SKEIN_VALUE_TOO_LARGE', message: /is 120000005 bytes; this side accepts values of at most 100000000 bytes \(this worker's memory limit\)/ })
    const [small] = await client.scatter([Buffer.alloc(70e6, 3)])
    t.deepEqual(await client.submit((b: Buffer) => [b.length, b[0]], small), [70e6, 3])
    await client.close()
  } finally {
    await cluster.close()
  }
})

test('a peer announcing a value past the limit is refused before anything is allocated; chunks must come in order', async (t) => {
  const cluster = await LocalCluster.start(SMALL_WORKER)
  const [[, , address]] = cluster.scheduler.workers
  const peer = await RawConnection.authenticated(address, 'peer', cluster.scheduler.token)
  try {
    peer.send(['put', 1, [['huge', 2 ** 40]]])
    refused(t, await peer.next((m) => m[0] === 'error' && m[1] === 1), 'SKEIN_VALUE_TOO_LARGE', /huge is 1099511627776 bytes; this side accepts values of at most 100000000 bytes/)
    // Chunks already on their way for the refused put are dropped without complaint.
    peer.send(['chunk', 1, 0, 0, Buffer.alloc(10)])
    // Together, values arriving on one connection are bounded too.
    peer.send(['put', 2, [['a', 60e6], ['b', 60e6]]])
    refused(t, await peer.next((m) => m[0] === 'error' && m[1] === 2), 'SKEIN_VALUE_TOO_LARGE', /would take 120000000 bytes/)
    const value = encode('hello, chunks')
    peer.send(['put', 3, [['k', value.byteLength]]], ['chunk', 3, 0, 0, value.subarray(0, 4)], ['chunk', 3, 0, 4, value.subarray(4)])
    t.deepEqual(await peer.next((m) => m[1] === 3), ['put-done', 3, [value.byteLength]])
    peer.send(['get', 4, ['k']])
    t.deepEqual(await peer.next((m) => m[1] === 4), ['data', 4, [value]])
    peer.send(['put', 5, [['j', 8]]], ['chunk', 5, 0, 4, Buffer.alloc(4)])
    refused(t, await peer.next((m) => m[1] === 5), 'SKEIN_BAD_MESSAGE', /offset 4 where 0 was next/)
    peer.send(['put', 6, [['i', -1]]])
    refused(t, await peer.next((m) => m[1] === 6), 'SKEIN_BAD_MESSAGE', /not a byte count/)
    t.false(peer.received.some((m) => m[0] === 'error'), `nothing else was refused: ${JSON.stringify(peer.received).slice(0, 200)}`)
  } finally {
    peer.close()
    await cluster.close()
  }
})

test('a client refuses a value a worker announces larger than its machine memory, before allocating it; the gather errs with SKEIN_VALUE_TOO_LARGE', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  // A worker's peer server that holds the token and announces every value at a petabyte (and sends no chunk).
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  wss.on('connection', (socket) => {
    const handshake = new ServerHandshake(Credentials.fromToken(scheduler.token!, 'the test'), 'worker', ['peer'])
    const channel: Channel<unknown[], unknown[]> = new Channel<unknown[], unknown[]>(
      socket,
      (m) => {
        if (handshake.role === null) channel.send(handshake.answer(m as never))
        else if (m[0] === 'get') channel.send(['data', m[1], (m[2] as string[]).map(() => 2 ** 50)])
      },
      () => {},
    )
    channel.send(handshake.challenge())
  })
  const worker = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
  worker.send(['hello-worker', 'boaster', 1, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, null])
  await worker.next((m) => m[0] === 'welcome')
  const client = await Client.connect(scheduler.address)
  try {
    const future = client.submit((n: number) => 'x'.repeat(n), 5000)
    const [, [[task, run]]] = (await worker.next((m) => m[0] === 'compute')) as [string, [number, number][]]
    // Finished, with a size too large to come inline: the client fetches it from the worker.
    worker.send(['events', encode([[WorkerEventKind.Finished, task, run, 5003, 0.001]])])
    const error = await t.throwsAsync(future, { code: 'SKEIN_VALUE_TOO_LARGE' })
    t.regex(error!.message, /worker boaster: value 0 of the reply is 1125899906842624 bytes; this side accepts values of at most \d+ bytes \(the memory of the client's machine\)/)
  } finally {
    await client.close()
    worker.close()
    for (const socket of wss.clients) socket.terminate()
    wss.close()
    await scheduler.close()
  }
})

test('a holder nobody can reach any more is removed once a peer reports it, and its data is computed again elsewhere; nothing loops', async (t) => {
  const lines: string[] = []
  const scheduler = await new Scheduler({ log: (line) => lines.push(line) }).listen()
  const lost = await Worker.start({ scheduler: scheduler.address, name: 'unreachable', log: () => {} })
  const client = await Client.connect(scheduler.address)
  let good: Worker | undefined
  try {
    // Made while it is the only worker.
    const made = client.submitWith({ pure: false }, (n: number) => 'x'.repeat(n), 4096)
    t.true(await eventually(() => made.status === 'finished', 10_000))
    good = await Worker.start({ scheduler: scheduler.address, name: 'good', log: () => {} })
    // Its address answered at join; it stops answering, as behind a firewall changed later, while the
    // worker stays connected to the scheduler. (A partition between workers only, where the scheduler
    // still reaches the holder, errs the dependent with TransferError instead: hosts.spec.ts.)
    ;(lost as unknown as { server: { close(): void } }).server.close()
    const before = scheduler.stats().computes
    const used = client.submitWith({ restrictions: ['good'] }, (s: string) => s.length, made)
    t.is(await used, 4096)
    t.false(scheduler.workers.some(([, name]) => name === 'unreachable'), 'the holder was removed')
    t.true(
      lines.some((line) => /'unreachable'.*cannot be reached by .*'good'.*nor by the scheduler .*: removed/.test(line)),
      lines.join(' | '),
    )
    const computes = scheduler.stats().computes - before
    t.log(`${computes} computes after the holder became unreachable (the input again, the dependent, tries in between)`)
    t.true(computes <= 6, `${computes} computes`)
  } finally {
    await client.close()
    await good?.close()
    await lost.close()
    await scheduler.close()
  }
})
