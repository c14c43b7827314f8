/**
 * What a task throws reaches the client whole: an Error's code, cause and own fields; a thrown
 * value that is not an Error, as that value (not "[object Object]").
 */
import test from 'ava'
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
