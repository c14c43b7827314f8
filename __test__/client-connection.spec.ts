import test from 'ava'
import { Client, ConnectionClosedError, LocalCluster, moduleFunction } from '../ts/index'

test('when the scheduler goes away, pending futures reject with ConnectionClosedError', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1 })
  try {
    const client = await Client.connect(cluster.address)
    const slow = moduleFunction<(x: number, ms: number) => Promise<number>>('./__test__/fixtures/tasks.mjs', 'slowDouble')
    const done = client.submit((x: number) => x + 1, 1)
    t.is(await done, 2)
    const pending = client.submitWith({ pure: false }, slow, 1, 5000)
    const closing = cluster.close()
    const err = await t.throwsAsync(pending, { instanceOf: ConnectionClosedError, code: 'SKEIN_CONNECTION_CLOSED' })
    t.regex(err!.message, /scheduler/)
    t.is(await done, 2, 'a value already fetched stays readable')
    t.throws(() => client.submit((x: number) => x, 1), { instanceOf: ConnectionClosedError })
    await closing
    await client.close()
  } finally {
    await cluster.close()
  }
})
