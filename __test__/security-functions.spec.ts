/**
 * Shipped function sources as an attacker on the scheduler port sees them:
 * a source must hash to its hash, and one client cannot put other code under
 * the hash of a function another client ships; sources are kept only while a
 * client that registered them is connected, within per-client and total bounds.
 */
import test, { type ExecutionContext } from 'ava'
import { Client, LocalCluster, Scheduler, SchedulerOptionsError, type SchedulerHealth } from '../ts/index'
import { functionHandle, functionHash, ShippedFunction } from '../ts/graph'
import { inProcessToken } from '../ts/protocol'
import { RawClient, RawConnection } from './helpers/raw'
import { peerStub } from './helpers/peer-stub'
import { eventually } from './helpers/processes'

/** A client speaking the protocol itself: every raw connection of this file says hello here (and only here). */
async function rawClient(address: string): Promise<RawConnection> {
  return (await RawClient.connect(address)).conn
}

/** A worker that runs nothing, to ask the scheduler for sources as a worker does. */
async function rawWorker(t: ExecutionContext, address: string): Promise<RawConnection> {
  const conn = await RawConnection.authenticated(address, 'worker')
  conn.send(['hello-worker', 'probe', 1, await peerStub(t, inProcessToken(address) ?? null), null])
  await conn.next((m) => m[0] === 'welcome')
  return conn
}

/** The 'fn' message a Client sends for `fn`, with the source replaced when given. */
function registration(fn: ShippedFunction, source = fn.source): unknown[] {
  return ['fn', fn.hash, source, fn.name]
}

/** A source of about `size` bytes, different for each `tag`, as a client registers it. */
function sourceOf(tag: string, size: number): ShippedFunction {
  const source = `/* ${tag} ${'x'.repeat(Math.max(0, size - tag.length - 20))} */ (x) => x`
  return new ShippedFunction(functionHash(source), tag, source)
}

/** What a registration counts against the bounds: its source and name, in UTF-8. */
const bytesOf = (fn: ShippedFunction) => Buffer.byteLength(fn.source) + Buffer.byteLength(fn.name)

let request = 1000
/** Resolves once the scheduler has handled everything `conn` sent before: a request is answered in order. */
async function settled(conn: RawConnection): Promise<void> {
  const id = request++
  conn.send(['scattered', id, []])
  await conn.next((m) => m[0] === 'done' && m[1] === id)
}

/** Errors the scheduler sent `conn` that no test took yet. */
const errorsOf = (conn: RawConnection) => conn.received.filter((m) => m[0] === 'error')

function shippedHandle(fn: (...args: never[]) => unknown): ShippedFunction {
  const handle = functionHandle(fn)
  if (!(handle instanceof ShippedFunction)) throw new Error('expected a shipped function')
  return handle
}

test('a source registered under a hash it does not have is refused and not kept: the client that ships that hash runs its own code', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  try {
    const plus1000 = (x: number) => x + 1000
    const honestFn = shippedHandle(plus1000)
    t.regex(honestFn.hash, /^[0-9a-f]{32}$/, 'a shipped function travels under 128 bits of sha256')

    // The pre-registration attack: other code under the hash the honest client will use.
    const attacker = await rawClient(cluster.address)
    attacker.send(registration(honestFn, '(x) => x - 1'))
    const refusal = await attacker.next((m) => m[0] === 'error')
    t.is(refusal[1], -1)
    t.is(refusal[2], 'SKEIN_FUNCTION_HASH_MISMATCH')
    t.true((refusal[3] as string).includes(honestFn.hash), `the refusal names the hash: ${String(refusal[3])}`)
    t.true((refusal[3] as string).includes(honestFn.name), `the refusal names the function: ${String(refusal[3])}`)
    // A made-up hash is refused the same way.
    attacker.send(['fn', 'not-a-hash', '(x) => x', 'made-up'])
    t.like(await attacker.next((m) => m[0] === 'error'), { 2: 'SKEIN_FUNCTION_HASH_MISMATCH' })

    // Nothing was kept: a worker asking for the hash is told no one registered it.
    const probe = await rawWorker(t, cluster.address)
    probe.send(['fn?', honestFn.hash])
    t.like(await probe.next((m) => m[0] === 'error'), { 2: 'SKEIN_UNKNOWN_FUNCTION' })
    probe.close()
    t.true(await eventually(() => cluster.scheduler.health().workers === 1, 10_000), 'the probe left before the honest client submits')

    // A refusal is an answer, not a strike: the attacker's connection is still served.
    attacker.send(['scattered', 5, []])
    t.like(await attacker.next((m) => m[1] === 5), { 0: 'done' })

    const honest = await Client.connect(cluster.address)
    try {
      t.is(await honest.submit(plus1000, 1), 1001)
    } finally {
      await honest.close()
    }
    attacker.close()
  } finally {
    await cluster.close()
  }
})

test('sources are kept while a client that registered them is connected and freed after the last one leaves (GET /health counts them)', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  try {
    const health = () => cluster.scheduler.health()
    const clientsLeft = (n: number) => eventually(() => health().clients === n, 10_000)
    const shared = sourceOf('shared', 300)
    const own = sourceOf('own', 500)
    const a = await rawClient(cluster.address)
    const b = await rawClient(cluster.address)
    a.send(registration(shared), registration(own), registration(shared))
    b.send(registration(shared))
    await Promise.all([settled(a), settled(b)])
    t.deepEqual(errorsOf(a).concat(errorsOf(b)), [])
    t.deepEqual(health().functions, { sources: 2, bytes: bytesOf(shared) + bytesOf(own) }, 'a source held twice is kept and counted once')
    const viaHttp = (await (await fetch(`${cluster.address.replace('ws:', 'http:')}/health`)).json()) as SchedulerHealth
    t.deepEqual(viaHttp.functions, health().functions)

    a.close()
    t.true(await clientsLeft(1))
    t.deepEqual(health().functions, { sources: 1, bytes: bytesOf(shared) }, "a's own source went with it; the shared one stays for b")
    const probe = await rawWorker(t, cluster.address)
    probe.send(['fn?', own.hash], ['fn?', shared.hash])
    t.like(await probe.next((m) => m[0] === 'error'), { 2: 'SKEIN_UNKNOWN_FUNCTION' })
    t.deepEqual(await probe.next((m) => m[0] === 'fn'), registration(shared))

    b.close()
    t.true(await clientsLeft(0))
    t.deepEqual(health().functions, { sources: 0, bytes: 0 })
    probe.send(['fn?', shared.hash])
    t.like(await probe.next((m) => m[0] === 'error'), { 2: 'SKEIN_UNKNOWN_FUNCTION' })
    probe.close()

    // The same holds for what the Client ships.
    const client = await Client.connect(cluster.address)
    t.is(await client.submit((x: number) => x * 3, 5), 15)
    t.is(health().functions.sources, 1)
    await client.close()
    t.true(await clientsLeft(0))
    t.deepEqual(health().functions, { sources: 0, bytes: 0 })
  } finally {
    await cluster.close()
  }
})

test('each client connection and all of them together are bounded in source bytes: past a bound a source is refused with SKEIN_FUNCTION_QUOTA', async (t) => {
  const size = 600
  const scheduler = new Scheduler({ maxFunctionBytesPerClient: 2 * size + 100, maxFunctionBytes: 4 * size + 100, log: () => {} })
  await scheduler.listen()
  try {
    const health = () => scheduler.health()
    const first = sourceOf('first', size)
    const second = sourceOf('second', size)
    const third = sourceOf('third', size)
    const hog = await rawClient(scheduler.address)
    hog.send(registration(first), registration(second), registration(first), registration(third))
    const perClient = await hog.next((m) => m[0] === 'error')
    t.is(perClient[2], 'SKEIN_FUNCTION_QUOTA')
    t.regex(perClient[3] as string, /"third".*maxFunctionBytesPerClient \(1300\)/)
    t.true((perClient[3] as string).includes(third.hash), 'the refusal names the hash')
    await settled(hog)
    t.deepEqual(errorsOf(hog), [], 'only the source past the bound was refused (registering one again costs nothing)')
    t.deepEqual(health().functions, { sources: 2, bytes: bytesOf(first) + bytesOf(second) }, 'the refused source was not kept')
    // A worker given a task of the refused function is told why the scheduler lacks it.
    const probe = await rawWorker(t, scheduler.address)
    probe.send(['fn?', third.hash])
    const missing = await probe.next((m) => m[0] === 'error')
    t.is(missing[2], 'SKEIN_UNKNOWN_FUNCTION')
    t.regex(missing[3] as string, /registration was refused: .*maxFunctionBytesPerClient/)
    probe.close()

    // The total: other connections fill it; a source already kept costs it nothing.
    const other = await rawClient(scheduler.address)
    const fourth = sourceOf('fourth', size)
    other.send(registration(third), registration(fourth))
    await settled(other)
    t.deepEqual(errorsOf(other), [])
    const late = await rawClient(scheduler.address)
    const fifth = sourceOf('fifth', size)
    late.send(registration(first), registration(fifth))
    const total = await late.next((m) => m[0] === 'error')
    t.is(total[2], 'SKEIN_FUNCTION_QUOTA')
    t.regex(total[3] as string, /"fifth".*maxFunctionBytes \(2500\)/)
    await settled(late)
    t.deepEqual(errorsOf(late), [], 'the source already kept was accepted')
    t.is(health().functions.sources, 4)

    // Room comes back when a client leaves, and refusals did not cost anyone their connection.
    other.close()
    t.true(await eventually(() => health().clients === 2, 10_000))
    late.send(registration(fifth))
    await settled(late)
    t.deepEqual(errorsOf(late), [])
    t.deepEqual(health().functions, { sources: 3, bytes: bytesOf(first) + bytesOf(second) + bytesOf(fifth) })
    await settled(hog)
    hog.close()
    late.close()
  } finally {
    await scheduler.close()
  }
})

test('the function source bounds are checked with the other Scheduler options', (t) => {
  t.throws(() => new Scheduler({ maxFunctionBytesPerClient: 0 }), { instanceOf: SchedulerOptionsError, message: /maxFunctionBytesPerClient/ })
  t.throws(() => new Scheduler({ maxFunctionBytes: '1GB' as unknown as number }), { instanceOf: SchedulerOptionsError, message: /maxFunctionBytes/ })
})
