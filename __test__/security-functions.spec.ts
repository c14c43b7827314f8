/**
 * Shipped function sources as an attacker on the scheduler port sees them:
 * a source must hash to its hash, and one client cannot put other code under
 * the hash of a function another client ships.
 */
import test from 'ava'
import { Client, LocalCluster } from '../ts/index'
import { functionHandle, ShippedFunction } from '../ts/graph'
import { RawClient, RawConnection } from './helpers/raw'
import { eventually } from './helpers/processes'

/** A client speaking the protocol itself: every raw connection of this file says hello here (and only here). */
async function rawClient(address: string): Promise<RawConnection> {
  return (await RawClient.connect(address)).conn
}

/** A worker that runs nothing, to ask the scheduler for sources as a worker does. */
async function rawWorker(address: string): Promise<RawConnection> {
  const conn = await RawConnection.open(address)
  conn.send(['hello-worker', 'probe', 1, 'ws://127.0.0.1:1', null])
  await conn.next((m) => m[0] === 'welcome')
  return conn
}

/** The 'fn' message a Client sends for `fn`, with the source replaced when given. */
function registration(fn: ShippedFunction, source = fn.source): unknown[] {
  return ['fn', fn.hash, source, fn.name]
}

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
    const probe = await rawWorker(cluster.address)
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
