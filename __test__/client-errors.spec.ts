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
