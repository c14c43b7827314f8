/**
 * Published datasets and fire-and-forget, as Dask's (distributed's test_publish.py:
 * test_publish_simple, test_publish_roundtrip, test_unpublish, test_publish_multiple_datasets,
 * test_datasets_keys...; test_client.py: test_fire_and_forget, test_fire_and_forget_err).
 */
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Client, SchedulerError, type Future } from '../ts/index'
import { eventually } from './helpers/processes'
import { sharedCluster } from './helpers/shared-cluster'

const shared = sharedCluster(test, { workers: 2, slotsPerWorker: 1 })

const inc = (x: number) => x + 1

test('a published dataset outlives its publisher: another client lists it and gets futures in the same shape', async (t) => {
  const publisher = await shared.connect()
  const [data] = await publisher.scatter([{ rows: [1, 2, 3] }])
  const total = publisher.submit((d: { rows: number[] }) => d.rows.reduce((a, b) => a + b, 0), data)
  const name = `survives-${process.pid}`
  await publisher.publishDataset(name, { data, parts: [total, publisher.submit(inc, 41)], label: 'x' })
  await publisher.close()
  const reader = await shared.connect()
  t.true((await reader.listDatasets()).includes(name))
  const got = await reader.getDataset<{ data: Future<{ rows: number[] }>; parts: Future<number>[]; label: string }>(name)
  t.is(got.label, 'x')
  t.deepEqual(await got.data, { rows: [1, 2, 3] })
  t.deepEqual(await reader.gather(got.parts), [6, 42])
  t.is(await reader.submit(inc, got.parts[0]), 7, 'its futures are dependencies like any other')
  await reader.unpublishDataset(name)
  t.false((await reader.listDatasets()).includes(name))
  await reader.close()
})

test('names are unique unless overridden; unknown names and unpublished ones are refused; the keys go once nobody holds them', async (t) => {
  const client = await shared.connect()
  const name = `unique-${process.pid}`
  const one = client.submitWith({ key: `dataset-one-${process.pid}` }, inc, 1)
  await one
  await client.publishDataset(name, one)
  const taken = await t.throwsAsync(client.publishDataset(name, client.submit(inc, 2)), { instanceOf: SchedulerError })
  t.is(taken!.code, 'SKEIN_DATASET_EXISTS')
  const two = client.submitWith({ key: `dataset-two-${process.pid}` }, inc, 2)
  await client.publishDataset(name, [two], { override: true })
  t.deepEqual(await client.gather(await client.getDataset<Future<number>[]>(name)), [3])
  const missing = await t.throwsAsync(client.getDataset('no-such-dataset'), { instanceOf: SchedulerError })
  t.is(missing!.code, 'SKEIN_NO_SUCH_DATASET')
  await t.throwsAsync(client.unpublishDataset('no-such-dataset'), { code: 'SKEIN_NO_SUCH_DATASET' })
  await t.throwsAsync(client.publishDataset(name, one, { overwrite: true } as never), { code: 'SKEIN_INVALID_OPTIONS' })
  // The first value was replaced and this client let go of it: the scheduler forgets it.
  one.release()
  t.true(await eventually(() => shared.cluster.scheduler.state(one.key) === null, 10_000), `state ${shared.cluster.scheduler.state(one.key)}`)
  await client.unpublishDataset(name)
  t.false((await client.listDatasets()).includes(name))
  await client.close()
})

test('fireAndForget runs tasks to the end after every future of theirs is gone, then the scheduler forgets them', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-fire-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const marker = path.join(dir, 'done')
  const client = await shared.connect()
  const slowWrite = client.submitWith(
    { pure: false },
    async (file: string) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const fsp = await import('node:fs/promises')
      await fsp.writeFile(file, 'written')
      return 1
    },
    marker,
  )
  const failing = client.submitWith({ pure: false }, () => {
    throw new Error('forgotten failure')
  })
  client.fireAndForget([slowWrite, failing])
  const keys = [slowWrite.key, failing.key]
  // The client leaves at once: nothing of it holds the tasks any more.
  await client.close()
  // Its content, not just its existence: writeFile creates the file before it writes to it.
  t.true(await eventually(() => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === 'written', 15_000), 'the task ran to its end')
  for (const key of keys) t.true(await eventually(() => shared.cluster.scheduler.state(key) === null, 10_000), `${key} is forgotten`)
})

test('a dataset of futures nobody submitted is refused whole', async (t) => {
  const client = await shared.connect()
  const other = await Client.connect(shared.cluster.address)
  const gone = other.submitWith({ key: `gone-${process.pid}` }, inc, 5)
  await gone
  await other.close()
  await eventually(() => shared.cluster.scheduler.state(gone.key) === null, 10_000)
  const error = await t.throwsAsync(client.publishDataset(`refused-${process.pid}`, [client.submit(inc, 9), gone]), { instanceOf: SchedulerError })
  t.regex(error!.message, /gone-/)
  t.false((await client.listDatasets()).includes(`refused-${process.pid}`))
  await client.close()
})
