/**
 * Logging: levels, the JSON records' shape, the lines tasks print (with their worker and key),
 * forwarding them to a client (Dask's forward_logging), and LocalCluster's log option, which
 * covers its worker processes' output.
 */
import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { Client, InvalidOptionsError, LocalCluster, Scheduler, Worker, type LogRecord } from '../ts/index'
import { eventually } from './helpers/processes'

/** A writable stream keeping what is written to it. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString())
      done()
    },
  })
  return { stream, text: () => chunks.join('') }
}

/** A scheduler logging to `records` at `level`, a worker joining it, then both closed. */
async function joinOnce(level: 'info' | 'debug' | undefined): Promise<LogRecord[]> {
  const records: LogRecord[] = []
  const scheduler = await new Scheduler({ log: { destination: (_msg, record) => records.push(record), ...(level === undefined ? {} : { level }) } }).listen()
  const worker = await Worker.start({ scheduler: scheduler.address, name: `joiner-${level}`, log: false })
  await eventually(() => scheduler.workers.length === 1, 10_000)
  await worker.close()
  await scheduler.close()
  return records
}

test('levels: an embedded scheduler logs workers joining at debug, hidden at info (the default) and shown at debug, also when SKEIN_LOG_LEVEL says so', async (t) => {
  const joined = (records: LogRecord[]) => records.filter((r) => / joined with 1 slot/.test(r.msg))
  t.deepEqual(joined(await joinOnce('info')), [])
  const shown = joined(await joinOnce('debug'))
  t.is(shown.length, 1)
  t.like(shown[0], { level: 'debug', component: 'scheduler', worker: 'joiner-debug' })
  t.regex(String(shown[0].address), /^ws:\/\/127\.0\.0\.1:\d+$/)
  const before = process.env.SKEIN_LOG_LEVEL
  process.env.SKEIN_LOG_LEVEL = 'debug'
  // The level is read when the logger is made, in the constructor.
  const fromEnv = joinOnce(undefined)
  if (before === undefined) delete process.env.SKEIN_LOG_LEVEL
  else process.env.SKEIN_LOG_LEVEL = before
  t.is(joined(await fromEnv).length, 1, 'SKEIN_LOG_LEVEL=debug shows them')
})

test('JSON records: a scheduler notice and a worker process record each carry level, time, component and msg', async (t) => {
  const out = collector()
  const cluster = await LocalCluster.start({ workers: 1, log: { destination: out.stream, format: 'json' }, scheduler: { insecure: true, log: { destination: out.stream, format: 'json' } } })
  const client = await Client.connect(cluster.address)
  try {
    await client.submit(() => console.warn('json shape marker'))
    t.true(await eventually(() => out.text().includes('json shape marker'), 10_000), out.text())
  } finally {
    await client.close()
    await cluster.close()
  }
  const records = out
    .text()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  for (const r of records) {
    t.is(typeof r.level, 'string')
    t.is(typeof r.time, 'number')
    t.is(typeof r.component, 'string')
    t.is(typeof r.msg, 'string')
  }
  const insecure = records.find((r) => /runs without authentication/.test(String(r.msg)))
  t.like(insecure, { level: 'warn', component: 'scheduler' })
  const printed = records.find((r) => r.msg === 'json shape marker')
  t.like(printed, { level: 'warn', component: 'local-0', worker: 'local-0' })
  t.is(typeof printed!.pid, 'number', "the worker process's pid")
  t.deepEqual(Object.keys(printed!).slice(0, 2), ['level', 'time'])
})

test("a task's console lines come out as records with the worker's name and the task's key, at the level of the method, sync and async tasks alike", async (t) => {
  const records: LogRecord[] = []
  const cluster = await LocalCluster.start({ workers: 1, log: (_msg, record) => records.push(record) })
  const client = await Client.connect(cluster.address)
  try {
    const sync = client.submit((x: number) => {
      console.log('sync task got', x, { nested: [1, 2] })
      console.error('sync task complains')
      return x
    }, 42)
    const later = client.submit(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      console.info('async task after its await')
      return 1
    })
    await client.gather([sync, later])
    t.true(await eventually(() => records.filter((r) => r.key !== undefined).length >= 3, 10_000), JSON.stringify(records))
    const byMsg = (msg: string) => records.find((r) => r.msg === msg)
    t.like(byMsg('sync task got 42 { nested: [ 1, 2 ] }'), { level: 'info', component: 'local-0', worker: 'local-0', key: sync.key })
    t.like(byMsg('sync task complains'), { level: 'error', worker: 'local-0', key: sync.key })
    t.like(byMsg('async task after its await'), { level: 'info', worker: 'local-0', key: later.key })
  } finally {
    await client.close()
    await cluster.close()
  }
})

test('forwardLogs: the lines tasks print reach the client, as log events or through its log option, until it stops asking', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, log: false })
  const viaOption: LogRecord[] = []
  const listening = await Client.connect(cluster.address)
  const optioned = await Client.connect(cluster.address, { forwardLogs: true, log: (_msg, record) => viaOption.push(record) })
  try {
    const events: LogRecord[] = []
    listening.on('log', (record) => events.push(record))
    listening.forwardLogs()
    const futures = listening.map((i: number) => {
      console.log(`forwarded line ${i}`)
      return i
    }, [1, 2, 3, 4])
    await listening.gather(futures)
    const forwarded = (records: LogRecord[]) => records.filter((r) => /^forwarded line \d$/.test(r.msg))
    t.true(await eventually(() => forwarded(events).length === 4 && forwarded(viaOption).length === 4, 10_000), JSON.stringify(events))
    for (const [i, future] of futures.entries()) {
      const record = events.find((r) => r.msg === `forwarded line ${i + 1}`)!
      t.is(record.key, future.key)
      t.regex(String(record.worker), /^local-[01]$/)
      t.is(record.worker, record.component)
      t.is(record.level, 'info')
    }
    listening.forwardLogs(false)
    optioned.forwardLogs(false)
    await listening.submit(() => console.log('after both stopped'))
    // The workers' 100 ms batches would have gone out by now.
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.false([...events, ...viaOption].some((r) => r.msg === 'after both stopped'))
  } finally {
    await listening.close()
    await optioned.close()
    await cluster.close()
  }
})

/** Runs `body` with what this process writes to stderr kept instead of written; returns it. */
async function capturingStderr(body: (written: () => string) => Promise<void>): Promise<string> {
  const written: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((chunk: string | Uint8Array) => written.push(chunk.toString()) > 0) as typeof process.stderr.write
  try {
    await body(() => written.join(''))
  } finally {
    process.stderr.write = write
  }
  return written.join('')
}

/** What reaches this process's stderr while a task of a LocalCluster with `options` prints `marker` three ways (until `until` holds, at most `timeoutMs`). */
function printFromTask(options: Parameters<typeof LocalCluster.start>[0], marker: string, until: (stderr: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return capturingStderr(async (written) => {
    const cluster = await LocalCluster.start({ workers: 1, ...options })
    const client = await Client.connect(cluster.address)
    try {
      await client.submit((m: string) => {
        console.log(m)
        console.error(m)
        process.stderr.write(`${m} written straight to stderr\n`)
      }, marker)
      await eventually(() => until(written()), timeoutMs)
    } finally {
      await client.close()
      await cluster.close()
    }
  })
}

test.serial("LocalCluster's log option: by default the workers' records reach this process's stderr; log: false silences them; a file path redirects them", async (t) => {
  const captured = await printFromTask({}, 'default-marker', (stderr) => stderr.includes('written straight'))
  t.regex(captured, /"component":"local-0".*"msg":"default-marker"/)
  t.regex(captured, /"level":"warn".*"component":"local-0".*"stream":"stderr".*"msg":"default-marker written straight to stderr"/)

  // Nothing to wait for: a fixed while for lines that should not come.
  const silenced = await printFromTask({ log: false }, 'silenced-marker', () => false, 1500)
  t.false(silenced.includes('silenced-marker'), silenced)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-logging-'))
  try {
    const file = path.join(dir, 'cluster.log')
    const redirected = await printFromTask({ log: { destination: file, level: 'warn' } }, 'redirected-marker', () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes('redirected-marker written straight'))
    t.false(redirected.includes('redirected-marker'), redirected)
    const records = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('redirected-marker'))
      .map((line) => JSON.parse(line) as LogRecord)
    // At warn, console.log (info) is hidden; console.error and the raw stderr line are kept.
    t.deepEqual(records.map((r) => [r.level, r.msg]).sort(), [
      ['error', 'redirected-marker'],
      ['warn', 'redirected-marker written straight to stderr'],
    ])
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('a log option that is not one is refused, naming what is wrong', async (t) => {
  await t.throwsAsync(LocalCluster.start({ workers: 0, log: { level: 'loud' } as never }), { instanceOf: InvalidOptionsError, message: /option 'log\.level' must be a log level/ })
  await t.throwsAsync(LocalCluster.start({ workers: 0, log: { colour: true } as never }), { instanceOf: InvalidOptionsError, message: /unknown LocalCluster option 'log\.colour'/ })
  await t.throwsAsync(Client.connect('ws://127.0.0.1:1', { log: 3 } as never), { instanceOf: InvalidOptionsError, message: /'log' must be a function, a pino logger, false or/ })
})
