/**
 * What a task throws reaches the client whole: an Error's code, cause and own fields; a thrown
 * value that is not an Error, as that value (not "[object Object]").
 */
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TaskError } from '../ts/index'
import { sharedCluster } from './helpers/shared-cluster'

const shared = sharedCluster(test, { workers: 1, slotsPerWorker: 1 })

test("an Error's code, cause chain and own fields reach the client", async (t) => {
  const client = await shared.connect()
  const failing = client.submit(() => {
    const inner = new TypeError('bad header', { cause: 'root cause' })
    throw Object.assign(new Error('cannot write', { cause: inner }), { code: 'ENOSPC', errno: -28, path: '/data/x', retry: () => 1 })
  })
  const error = await t.throwsAsync(failing, { instanceOf: TaskError })
  t.is(error!.code, 'SKEIN_TASK_FAILED', 'the stable code stays ours')
  t.is(error!.remoteCode, 'ENOSPC')
  t.deepEqual(error!.fields, { errno: -28, path: '/data/x' }, 'a field that cannot travel (a function) is left out')
  t.false(error!.threwValue)
  const cause = error!.cause as Error
  t.true(cause instanceof Error)
  t.is(cause.name, 'TypeError')
  t.is(cause.message, 'bad header')
  t.regex(cause.stack ?? '', /TypeError: bad header/)
  t.is(cause.cause, 'root cause')
  // A dependent errs with the same cause and carries the same.
  const dependent = await t.throwsAsync(client.submit((x: unknown) => x, failing), { instanceOf: TaskError })
  t.is(dependent!.causeKey, failing.key)
  t.is(dependent!.remoteCode, 'ENOSPC')
  await client.close()
})

test('a thrown value that is not an Error keeps its value', async (t) => {
  const client = await shared.connect()
  const object = await t.throwsAsync(
    client.submit(() => {
      throw { reason: 'quota', left: 0 }
    }),
    { instanceOf: TaskError },
  )
  t.true(object!.threwValue)
  t.deepEqual(object!.thrown, { reason: 'quota', left: 0 })
  t.regex(object!.message, /threw \{ reason: 'quota', left: 0 \}, not an Error/)
  t.notRegex(object!.message, /object Object/)
  const text = await t.throwsAsync(
    client.submit(() => {
      throw 'plain text'
    }),
    { instanceOf: TaskError },
  )
  t.is(text!.thrown, 'plain text')
  t.regex(text!.message, /"plain text"/)
  const nothing = await t.throwsAsync(
    client.submit(() => {
      throw undefined
    }),
    { instanceOf: TaskError },
  )
  t.true(nothing!.threwValue)
  t.is(nothing!.thrown, undefined)
  await client.close()
})

test('a cause chain that loops is cut, not followed forever', async (t) => {
  const client = await shared.connect()
  const error = await t.throwsAsync(
    client.submit(() => {
      const e = new Error('loop') as Error & { cause: unknown }
      e.cause = e
      throw e
    }),
    { instanceOf: TaskError },
  )
  let depth = 0
  for (let c: unknown = error!.cause; c instanceof Error; c = c.cause) depth++
  t.true(depth >= 1 && depth <= 8, `followed ${depth} causes`)
  await client.close()
})

/** Appends one line to `file` and throws until the file has `succeedAt` lines: attempts, counted across workers. */
const flaky = async (file: string, succeedAt: number) => {
  const fsp = await import('node:fs/promises')
  await fsp.appendFile(file, 'x\n')
  const attempts = (await fsp.readFile(file, 'utf8')).split('\n').length - 1
  if (attempts < succeedAt) throw new Error(`attempt ${attempts} fails`)
  return attempts
}

test('retries: a task that throws runs again, and succeeds on its third try; with too few retries it errs after retries + 1 runs (Dask test_retries_get)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-retries-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const client = await shared.connect()
  const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').length - 1
  const third = path.join(dir, 'third')
  t.is(await client.submitWith({ retries: 2, pure: false }, flaky, third, 3), 3)
  t.is(lines(third), 3)
  const never = path.join(dir, 'never')
  const error = await t.throwsAsync(client.submitWith({ retries: 1, pure: false }, flaky, never, 10), { instanceOf: TaskError })
  t.regex(error!.message, /attempt 2 fails/)
  t.is(lines(never), 2, 'ran retries + 1 times, then erred')
  const none = path.join(dir, 'none')
  await t.throwsAsync(client.submitWith({ pure: false }, flaky, none, 2), { instanceOf: TaskError })
  t.is(lines(none), 1, 'no retries by default')
  // map takes them for every task.
  const mapped = [path.join(dir, 'm0'), path.join(dir, 'm1')]
  const failsOnce = async (file: string) => {
    const fsp = await import('node:fs/promises')
    await fsp.appendFile(file, 'x\n')
    const attempts = (await fsp.readFile(file, 'utf8')).split('\n').length - 1
    if (attempts < 2) throw new Error('first attempt fails')
    return attempts
  }
  t.deepEqual(await client.gather(client.map(failsOnce, mapped, { retries: 1, pure: false })), [2, 2])
  t.throws(() => client.submitWith({ retries: 1.5 }, flaky, none, 1), { message: /option retries must be an integer from 0 to 1000/ })
  await client.close()
})

/** Reads a number from `file` (throws ENOENT while there is none), counting its runs in `file`.runs. */
const readNumber = async (file: string): Promise<number> => {
  const fsp = await import('node:fs/promises')
  await fsp.appendFile(`${file}.runs`, 'x\n')
  return Number(await fsp.readFile(file, 'utf8'))
}

// Dask's test_retry.
test('future.retry(): a task that erred runs again, and awaiting the future waits for the new run', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-retry-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const client = await shared.connect()
  const file = path.join(dir, 'value')
  const future = client.submitWith({ pure: false }, readNumber, file)
  await t.throwsAsync(future, { instanceOf: TaskError, message: /ENOENT/ })
  t.is(future.status, 'error')
  fs.writeFileSync(file, '41')
  await future.retry()
  t.is(await future, 41)
  t.is(future.status, 'finished')
  t.is(fs.readFileSync(`${file}.runs`, 'utf8'), 'x\nx\n', 'ran twice')
  const story = await client.story(future)
  t.true(story.some((s) => s.stimulus === 'retry' && s.from === 'erred' && s.to === 'released'), JSON.stringify(story))
  // A future that did not err: nothing happens.
  await future.retry()
  t.is(await future, 41)
  t.is(fs.readFileSync(`${file}.runs`, 'utf8'), 'x\nx\n')
  await client.close()
})

// Dask's test_retry_dependencies.
test('retry of a future whose input erred runs the input again, then the future; client.retry takes many', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-retry-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const client = await shared.connect()
  const file = path.join(dir, 'value')
  const x = client.submitWith({ pure: false }, readNumber, file)
  const y = client.submit((v: number) => v + 1, x)
  const error = await t.throwsAsync(y, { instanceOf: TaskError })
  t.is(error!.causeKey, x.key)
  t.is(x.status, 'error')
  fs.writeFileSync(file, '100')
  await y.retry()
  t.is(await y, 101)
  t.is(await x, 100, "the input's future waits for its new run too")
  await y.retry()
  await x.retry()
  t.is(await y, 101)
  t.is(fs.readFileSync(`${file}.runs`, 'utf8'), 'x\nx\n', 'the input ran twice, not more')

  const other = path.join(dir, 'other')
  const many = [0, 1, 2].map((i) => client.submitWith({ pure: false }, readNumber, `${other}-${i}`))
  await Promise.allSettled(many)
  for (let i = 0; i < 3; i++) fs.writeFileSync(`${other}-${i}`, String(i))
  await client.retry(many)
  t.deepEqual(await client.gather(many), [0, 1, 2])
  await t.throwsAsync(client.retry(['not a future'] as never), { code: 'SKEIN_INVALID_OPTIONS' })
  await client.close()
})

test("a retry reaches every client holding the key: another client's future waits for the new run too (Dask's task-retried)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-retry-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const first = await shared.connect()
  const second = await shared.connect()
  const file = path.join(dir, 'value')
  const key = `shared-${path.basename(dir)}`
  const mine = first.submitWith({ key }, readNumber, file)
  await t.throwsAsync(mine, { instanceOf: TaskError })
  const theirs = second.submitWith({ key }, readNumber, file)
  await t.throwsAsync(theirs, { instanceOf: TaskError })
  fs.writeFileSync(file, '7')
  await mine.retry()
  t.is(await mine, 7)
  t.is(await theirs, 7)
  await first.close()
  await second.close()
})
