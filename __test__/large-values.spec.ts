/**
 * Values larger than a frame travel in chunks: a 300 MB result to the client, a 1 GiB value
 * from one worker to a task on the other, scatters of values past a frame and of several
 * large values in one call, and a small value that does not wait for a large one streaming
 * on the same connection. Serial, one cluster at a time: the values are large.
 */
import test from 'ava'
import path from 'node:path'
import { Client, LocalCluster, moduleFunction } from '../ts/index'
import { CHUNK_BYTES, ChunkedValue } from '../ts/protocol'
import { pattern, sha256 } from './fixtures/large-values'
import { RawConnection } from './helpers/raw'

const fixtures = path.join(__dirname, 'fixtures', 'large-values.ts')
const makePattern = moduleFunction<(n: number) => Buffer>(fixtures, 'pattern')
const hashOf = moduleFunction<(b: Buffer) => string>(fixtures, 'sha256')
const lengthOf = moduleFunction<(b: Buffer) => number>(fixtures, 'length')

const MiB = 2 ** 20
const GiB = 2 ** 30

const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`

test.serial('a 300 MB result returns to the client, byte for byte', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  const client = await Client.connect(cluster.address)
  try {
    const size = 300e6
    const big = client.submit(makePattern, size)
    // Hashed where it was made: the client then compares a checksum, not a second copy.
    const expected = await client.submit(hashOf, big)
    const t0 = performance.now()
    let value: Buffer | null = await big
    t.log(`300 MB gathered from the worker in ${ms(t0)}`)
    t.is(value.byteLength, size)
    t.is(sha256(value), expected)
    value = null
  } finally {
    await client.close()
    await cluster.close()
  }
})

test.serial('a 1 GiB value made on one worker is consumed by a task on the other', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, log: () => {} })
  const client = await Client.connect(cluster.address)
  try {
    const [maker, user] = cluster.workerProcesses.map((w) => w.name)
    const before = cluster.scheduler.stats().computes
    const made = client.submitWith({ restrictions: [maker] }, makePattern, GiB)
    const expected = await client.submitWith({ restrictions: [maker] }, hashOf, made)
    const t0 = performance.now()
    // A task that only measures its input: its time is the move.
    t.is(await client.submitWith({ restrictions: [user] }, lengthOf, made), GiB)
    t.log(`1 GiB moved from worker to worker (and handed to the task) in ${ms(t0)}`)
    // pure: false, or it would share its key (and result) with the hash on the maker.
    t.is(await client.submitWith({ restrictions: [user], pure: false }, hashOf, made), expected)
    t.is(cluster.scheduler.stats().computes - before, 4, 'each task computed once: nothing was lost or recomputed')
  } finally {
    await client.close()
    await cluster.close()
  }
})

test.serial('a scatter of a value larger than a frame, and of several 128 MiB values in one call, lands whole', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  const client = await Client.connect(cluster.address)
  try {
    let one: Buffer | null = pattern(300 * MiB)
    const oneHash = sha256(one)
    let t0 = performance.now()
    const [f] = await client.scatter([one])
    t.log(`300 MiB scattered in ${ms(t0)}`)
    one = null
    t.is(await client.submit(hashOf, f), oneHash)

    let several: Buffer[] | null = [0, 1, 2].map((i) => pattern(128 * MiB + i))
    const hashes = several.map(sha256)
    t0 = performance.now()
    const futures = await client.scatter(several)
    t.log(`3 x 128 MiB scattered in one call in ${ms(t0)}`)
    several = null
    t.deepEqual(await Promise.all(futures.map((g) => client.submit(hashOf, g))), hashes)
  } finally {
    await client.close()
    await cluster.close()
  }
})

test.serial('a small value asked for while a large one streams on the same connection does not wait for all of it', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  const client = await Client.connect(cluster.address)
  let peer: RawConnection | undefined
  try {
    const size = 5 * CHUNK_BYTES - 100
    const big = client.submit(makePattern, size)
    const small = client.submit(makePattern, 5000)
    const expected = await client.submit(hashOf, big)
    await small
    const [[, , address]] = cluster.scheduler.workers
    peer = await RawConnection.authenticated(address, 'peer', cluster.scheduler.token)
    peer.send(['get', 1, [big.key]])
    const announced = (await peer.next((m) => m[0] === 'data' && m[1] === 1))[2] as unknown[]
    const encoded = announced[0] as number
    t.true(typeof encoded === 'number' && encoded > size && encoded <= 5 * CHUNK_BYTES, 'the large value is announced by its (encoded) size')
    peer.send(['get', 2, [small.key]])
    const smallData = await peer.next((m) => m[0] === 'data' && m[1] === 2)
    t.true((smallData[2] as Buffer[])[0].byteLength > 5000, 'the small value comes inline')
    const chunksBefore = peer.received.filter((m) => m[0] === 'chunk').length
    t.true(chunksBefore < 5, `the small value came after ${chunksBefore} of the 5 chunks`)
    // The chunks, in order, make the value.
    const value = new ChunkedValue(encoded, true)
    for (let i = 0; i < 5; i++) {
      const chunk = await peer.next((m) => m[0] === 'chunk')
      t.deepEqual(chunk.slice(1, 4), [1, 0, i * CHUNK_BYTES])
      t.is(value.add(chunk[3], chunk[4]), null)
    }
    t.true(value.complete)
    // The stored bytes are the value's encoding: a bin header before the pattern.
    t.is(sha256(value.bytes!.subarray(value.bytes!.byteLength - size)), expected)
  } finally {
    peer?.close()
    await client.close()
    await cluster.close()
  }
})
