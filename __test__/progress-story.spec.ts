import test from 'ava'
import { PassThrough } from 'node:stream'
import { Client, Progress, Scheduler, Worker, type ProgressEvent } from '../ts/index'

async function cluster(): Promise<{ scheduler: Scheduler; worker: Worker; client: Client; [Symbol.asyncDispose](): Promise<void> }> {
  const scheduler = await new Scheduler().listen()
  const worker = await Worker.start({ scheduler: scheduler.address, name: 'progress-w', slots: 2, log: () => {} })
  const client = await Client.connect(scheduler.address)
  return {
    scheduler,
    worker,
    client,
    async [Symbol.asyncDispose]() {
      await client.close()
      await worker.close()
      await scheduler.close()
    },
  }
}

function slowSquare(x: number): number {
  const until = Date.now() + 2
  while (Date.now() < until);
  return x * x
}

function failOdd(x: number): number {
  if (x % 2 === 1) throw new Error(`odd ${x}`)
  return x
}

test('progress(futures) yields monotonic events that end with done + erred === total', async (t) => {
  await using c = await cluster()
  const futures = c.client.map(slowSquare, Array.from({ length: 40 }, (_, i) => i))
  const events: ProgressEvent[] = []
  for await (const event of c.client.progress(futures, { bar: false })) events.push(event)
  t.true(events.length >= 1)
  const last = events.at(-1)!
  t.is(last.total, 40)
  t.is(last.done + last.erred, last.total)
  t.is(last.remaining, 0)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    t.is(e.done + e.erred + e.remaining, e.total)
    if (i > 0) {
      t.true(e.done >= events[i - 1].done && e.erred >= events[i - 1].erred, 'monotonic')
      t.true(e.done + e.erred > events[i - 1].done + events[i - 1].erred, 'each event says something new')
    }
  }
  t.deepEqual(await c.client.gather(futures), Array.from({ length: 40 }, (_, i) => i * i))
})

test('progress counts erred futures, resolves when awaited, and ends at once for futures already done', async (t) => {
  await using c = await cluster()
  const futures = c.client.map(failOdd, [0, 1, 2, 3, 4])
  const last = await c.client.progress(futures, { bar: false })
  t.deepEqual(last, { done: 3, erred: 2, remaining: 0, total: 5 })
  const again: ProgressEvent[] = []
  for await (const event of c.client.progress(futures, { bar: false })) again.push(event)
  t.deepEqual(again, [{ done: 3, erred: 2, remaining: 0, total: 5 }])
  const none: ProgressEvent[] = []
  for await (const event of c.client.progress([], { bar: false })) none.push(event)
  t.deepEqual(none, [{ done: 0, erred: 0, remaining: 0, total: 0 }])
})

test('progress draws a cli-progress bar when asked and refuses unknown options', async (t) => {
  await using c = await cluster()
  const futures = c.client.map(slowSquare, [1, 2, 3])
  let drawn = ''
  const stream = new PassThrough().on('data', (chunk: Buffer) => (drawn += chunk.toString()))
  const progress = c.client.progress(futures, { bar: true, label: 'squares', stream })
  t.true(progress instanceof Progress)
  t.like(await progress, { done: 3, total: 3 })
  t.regex(drawn, /squares .* 3\/3 \(0 erred\)/)
  t.throws(() => c.client.progress(futures, { bars: true } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /unknown progress option 'bars'/ })
  t.throws(() => c.client.progress(futures, { bar: 'yes' } as never), { code: 'SKEIN_INVALID_OPTIONS', message: /'bar' must be a boolean/ })
})

test('client.story(key) returns the transitions the scheduler recorded for the key', async (t) => {
  await using c = await cluster()
  const future = c.client.submit(slowSquare, 7)
  t.is(await future, 49)
  const story = await c.client.story(future)
  t.deepEqual(story[0], { from: 'released', to: 'waiting', stimulus: 'submit-graph' })
  t.deepEqual(story.at(-1), { from: 'processing', to: 'memory', stimulus: 'task-finished' })
  t.deepEqual(await c.client.story(future.key), story)
  const failed = c.client.submit(failOdd, 1)
  await t.throwsAsync(failed)
  t.deepEqual((await c.client.story(failed)).at(-1), { from: 'processing', to: 'erred', stimulus: 'task-erred' })
  t.deepEqual(await c.client.story('never-submitted'), [])
  await t.throwsAsync(c.client.story('k'.repeat(5000)), { code: 'SKEIN_KEY_TOO_LONG', message: /story: a key of 5000 bytes/ })
})
