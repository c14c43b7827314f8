/**
 * What crosses between a worker's I/O thread and its execution threads. The RunBatch index is
 * a Uint32Array: a task's handle, which grows by one per task a worker hands to its threads,
 * must cross whole past 2^32. Large results live in shared memory and cross without copies.
 */
import test from 'ava'
import { Client, LocalCluster } from '../ts/index'
import { encode } from '../ts/protocol'
import { readRunBatch, RunBatchWriter } from '../ts/worker/hand-off'
import { InputCache, InputDirectory } from '../ts/worker/input-cache'

test('handles past 2^32 (up to 2^53 - 1) reach the execution thread exactly, with their keys and payloads', (t) => {
  const handles = [0, 1, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 3 * 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]
  const writer = new RunBatchWriter(new InputDirectory())
  handles.forEach((h, i) => writer.add(h, `task-${i}`, encode([i]), [], []))
  const { batch } = writer.finish()
  const handed = readRunBatch(batch, new InputCache())
  t.deepEqual(
    handed.map((h) => h.id),
    handles,
  )
  t.deepEqual(
    handed.map((h) => h.key),
    handles.map((_, i) => `task-${i}`),
  )
  t.deepEqual(
    handed.map((h) => Buffer.from(h.payload)),
    handles.map((_, i) => encode([i])),
  )
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
