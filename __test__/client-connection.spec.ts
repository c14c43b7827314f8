import test from 'ava'
import { Client, ConnectionClosedError, LocalCluster, Scheduler, Worker, moduleFunction } from '../ts/index'
import { eventually } from './helpers/processes'

test('when the scheduler goes away, pending futures reject with ConnectionClosedError', async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
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

test('a client of the scheduler\'s own process skips the network unless told not to; both ways work alike', async (t) => {
  const lines: string[] = []
  const scheduler = await new Scheduler({ verbose: true, log: (line) => lines.push(line) }).listen()
  const worker = await Worker.start({ scheduler: scheduler.address, name: 'w', log: () => {} })
  try {
    const direct = await Client.connect(scheduler.address, { name: 'direct' })
    const overTcp = await Client.connect(scheduler.address, { name: 'over-tcp', inProcess: false })
    // Log lines cross from the scheduler's thread by message: they may arrive after the welcome.
    t.true(await eventually(() => lines.some((l) => /client \d+ \(in-process\) 'direct' joined/.test(l)), 5000), lines.join('\n'))
    t.true(await eventually(() => lines.some((l) => /client \d+ \(127\.0\.0\.1:\d+\) 'over-tcp' joined/.test(l)), 5000), lines.join('\n'))
    for (const client of [direct, overTcp]) {
      const xs = client.map((x: number) => x * 3, [1, 2, 3])
      const big = client.submit((n: number) => 'x'.repeat(n), 100_000)
      t.deepEqual(await client.gather(xs), [3, 6, 9])
      t.is((await big).length, 100_000, 'a result too large to come inline is fetched from the worker')
      // 'y'.repeat(1021) encodes in exactly 1,024 bytes (str16 header of 3): the inline limit's both sides.
      const edge = client.map((n: number) => 'y'.repeat(n), [1020, 1021, 1022, 1023])
      t.deepEqual((await client.gather(edge)).map((v) => v.length), [1020, 1021, 1022, 1023])
      t.is(await client.submit((a: number, b: number) => a + b, xs[0], xs[2]), 12)
    }
    await direct.close()
    t.is(await overTcp.submit((x: number) => x - 1, 1), 0, 'one client leaving does not disturb the other')
    const slow = moduleFunction<(x: number, ms: number) => Promise<number>>('./__test__/fixtures/tasks.mjs', 'slowDouble')
    const again = await Client.connect(scheduler.address)
    const pending = [again, overTcp].map((c) => c.submitWith({ pure: false }, slow, 1, 5000))
    await scheduler.close()
    for (const p of pending) await t.throwsAsync(p, { instanceOf: ConnectionClosedError })
    await again.close()
    await overTcp.close()
  } finally {
    await worker.close()
    await scheduler.close()
  }
})
