/**
 * What crosses between a worker's I/O thread and its execution threads. The RunBatch index is
 * a Uint32Array: a task's handle, which grows by one per task a worker hands to its threads,
 * must cross whole past 2^32. Large results live in shared memory and cross without copies.
 */
import test from 'ava'
import { Client, LocalCluster } from '../ts/index'
import { decode, encode } from '../ts/protocol'
import { HandedTask, Outcome, readRunBatch, RESULT_FIELDS, ResultBatchWriter, RunBatchWriter } from '../ts/worker/hand-off'
import { InputCache, InputDirectory } from '../ts/worker/input-cache'

test('handles past 2^32 (up to 2^53 - 1) reach the execution thread exactly, with their keys, payloads and whether their outcome may wait', (t) => {
  const handles = [0, 1, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 3 * 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]
  const writer = new RunBatchWriter(new InputDirectory())
  handles.forEach((h, i) => writer.add(h, `task-${i}`, encode([i]), [], [], i % 3 === 0))
  const { batch } = writer.finish()
  const handed = readRunBatch(batch, new InputCache(), HandedTask)
  t.deepEqual(
    handed.map((h) => h.id),
    handles,
  )
  t.deepEqual(
    handed.map((h) => h.deferrable),
    handles.map((_, i) => i % 3 === 0),
  )
  t.deepEqual(
    handed.map((h) => h.key),
    handles.map((_, i) => `task-${i}`),
  )
  t.deepEqual(
    handed.map((h) => Buffer.from(h.data.subarray(h.payloadStart, h.payloadEnd))),
    handles.map((_, i) => encode([i])),
  )
})

test('numbers, booleans, null and short ASCII strings are written into a result batch byte for byte as the codec encodes them; other values are refused', (t) => {
  const values = [
    0, 1, 31, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -0,
    0.5, -1.25, Math.PI, 1e300, Number.MIN_VALUE, NaN, Infinity, -Infinity,
    true, false, null, '', 'ok', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255),
  ]
  const writer = new ResultBatchWriter()
  values.forEach((v, i) => t.true(writer.addPlain(i, 0.001, v), `takes ${String(v).slice(0, 20)}`))
  // Refused, adding nothing: the codec encodes these.
  for (const other of ['é', 'z'.repeat(256), undefined, 10n, [1], { a: 1 }]) t.false(writer.addPlain(-1, 0, other))
  // Past the writer's first index and buffer sizes, so both grow.
  for (let i = 0; i < 300; i++) writer.addPlain(values.length + i, 0, i * 1000)
  const { batch } = writer.take()
  t.is(batch.count, values.length + 300)
  const data = new Uint8Array(batch.data)
  const written = (i: number) => Buffer.from(data.subarray(batch.index[i * RESULT_FIELDS + 3], batch.index[i * RESULT_FIELDS + 3] + batch.index[i * RESULT_FIELDS + 4]))
  values.forEach((v, i) => {
    t.deepEqual(written(i), encode(v), `bytes of ${String(v)}`)
    t.is(batch.index[i * RESULT_FIELDS], i)
    t.is(batch.index[i * RESULT_FIELDS + 1], Outcome.Finished)
  })
  for (let i = 0; i < 300; i++) t.is(decode(written(values.length + i)), i * 1000)
})

test('large results in shared memory reach their dependents, peers and the client exact: binary ones and ones with strings', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, log: () => {} })
  try {
    const client = await Client.connect(cluster.address)
    await client.waitForWorkers(2)
    const [first, second] = ['local-0', 'local-1']
    // An object (its keys are strings, which the decoder reads from a copy) and a plain buffer.
    const labelled = client.submitWith({ restrictions: [first] }, (n: number) => ({ label: 'big', data: Buffer.alloc(n, 7), n }), 1_000_000)
    const plain = client.submitWith({ restrictions: [first] }, (n: number) => new Uint8Array(n).fill(9), 2_000_000)
    const total = (b: Uint8Array) => b.reduce((s, x) => s + x, 0)
    const here = client.submitWith(
      { restrictions: [first] },
      (x: { label: string; data: Uint8Array; n: number }, y: Uint8Array) => `${x.label}:${x.data.reduce((s, v) => s + v, 0)}:${x.n}:${y.length}:${y[0]}`,
      labelled,
      plain,
    )
    // The same input to a second local task (kept decoded on the thread) and to a task on the other worker (fetched).
    const again = client.submitWith({ restrictions: [first] }, (y: Uint8Array) => y.reduce((s, v) => s + v, 0), plain)
    const there = client.submitWith({ restrictions: [second] }, (y: Uint8Array) => y.reduce((s, v) => s + v, 0), plain)
    t.is(await here, 'big:7000000:1000000:2000000:9')
    t.is(await again, 18_000_000)
    t.is(await there, 18_000_000)
    const [x, y] = await client.gather([labelled, plain])
    t.is(x.label, 'big')
    t.is(total(x.data), 7_000_000)
    t.is(total(y), 18_000_000)
    await client.close()
  } finally {
    await cluster.close()
  }
})
