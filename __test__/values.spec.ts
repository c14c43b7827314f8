/**
 * Values at the size limit of one frame (until values travel in chunks): a result too large
 * errs its task with SKEIN_VALUE_TOO_LARGE instead of being lost on the way and recomputed
 * in a loop; a scatter splits its values over several frames, and refuses one too large.
 */
import test from 'ava'
import { Client, LocalCluster, ValueTooLargeError } from '../ts/index'
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
