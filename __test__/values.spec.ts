/**
 * Values at the size limit of one frame (until values travel in chunks): a result too large
 * errs its task with SKEIN_VALUE_TOO_LARGE instead of being lost on the way and recomputed
 * in a loop; a scatter splits its values over several frames, and refuses one too large.
 */
import test from 'ava'
import { Client, LocalCluster, Scheduler, TransferError, ValueTooLargeError, Worker } from '../ts/index'
import { MAX_VALUE_BYTES } from '../ts/protocol'

test('a result larger than a value can be errs its task once, with SKEIN_VALUE_TOO_LARGE naming the key and the size', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, log: () => {} })
  try {
    const client = await Client.connect(cluster.address)
    const before = cluster.scheduler.stats().computes
    const huge = client.submit((n: number) => Buffer.alloc(n, 1), MAX_VALUE_BYTES + 1024)
    const error = await t.throwsAsync(huge, { instanceOf: ValueTooLargeError })
    t.is(error!.code, 'SKEIN_VALUE_TOO_LARGE')
    t.regex(error!.message, new RegExp(`${huge.key}.*encodes to \\d+ bytes; a value can be at most ${MAX_VALUE_BYTES} bytes`))
    // A dependent errs with the same cause; nothing was recomputed.
    await t.throwsAsync(client.submit((b: Buffer) => b.length, huge), { instanceOf: ValueTooLargeError })
    t.is(cluster.scheduler.stats().computes - before, 1, 'computed once, not in a loop')
    t.is(await client.submit((x: number) => x + 1, 1), 2)
    await client.close()
  } finally {
    await cluster.close()
  }
})

test('a scatter whose values together exceed a frame leaves in several; one value too large is refused', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  try {
    const client = await Client.connect(cluster.address)
    const size = Math.floor(MAX_VALUE_BYTES * 0.6)
    const [a, b] = await client.scatter([Buffer.alloc(size, 2), Buffer.alloc(size, 3)])
    t.deepEqual(await client.submit((x: Buffer, y: Buffer) => [x.length, y[0], y.length], a, b), [size, 3, size])
    await t.throwsAsync(client.scatter([Buffer.alloc(MAX_VALUE_BYTES + 1)]), { code: 'SKEIN_VALUE_TOO_LARGE', message: /values\[0\] encodes to \d+ bytes/ })
    await client.close()
  } finally {
    await cluster.close()
  }
})

test('an input no worker can fetch (its holder stopped answering after it joined) errs the dependent with TransferError; nothing loops', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  const good = await Worker.start({ scheduler: scheduler.address, name: 'good', log: () => {} })
  const lost = await Worker.start({ scheduler: scheduler.address, name: 'unreachable', log: () => {} })
  // An address that answers is checked at join (see hosts.spec.ts for one that does not); it stops
  // answering afterwards, as behind a firewall changed later, while the worker stays connected.
  ;(lost as unknown as { server: { close(): void } }).server.close()
  const client = await Client.connect(scheduler.address)
  try {
    const before = scheduler.stats().computes
    const made = client.submitWith({ restrictions: ['unreachable'] }, (n: number) => 'x'.repeat(n), 4096)
    const used = client.submitWith({ restrictions: ['good'] }, (s: string) => s.length, made)
    const error = await t.throwsAsync(used, { instanceOf: TransferError })
    t.like(error, { code: 'SKEIN_TRANSFER_FAILED', input: made.key, causeKey: used.key })
    t.deepEqual([...new Set(error!.workers)], ['unreachable'])
    t.regex(error!.message, /check that workers can reach each other/)
    // Three tries of the dependent, the input recomputed between them: a handful of computes, not a loop.
    const computes = scheduler.stats().computes - before
    t.log(`${computes} computes in all after the holder became unreachable`)
    t.true(computes <= 8, `${computes} computes`)
    t.is(await client.submit((x: number) => x + 1, 1), 2)
  } finally {
    await client.close()
    await good.close()
    await lost.close()
    await scheduler.close()
  }
})
