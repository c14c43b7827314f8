import test from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Client, LocalCluster, moduleFunction, Scheduler, task, Worker } from '../ts/index'
import { startCli } from './helpers/cli'
import { eventually, sleep } from './helpers/processes'

const fixtures = path.join(__dirname, 'fixtures', 'memory.mjs')
const block = moduleFunction<(i: number, n: number) => Buffer>(fixtures, 'block')
const lengths = moduleFunction<(a: Buffer | number, b: Buffer | number) => number>(fixtures, 'lengths')
const sum = moduleFunction<(...parts: number[]) => number>(fixtures, 'sum')
const startedAt = moduleFunction<() => number>(fixtures, 'startedAt')
const holdUntilStopped = moduleFunction<(rss: number, ms: number) => boolean>(fixtures, 'holdUntilStopped')

const MiB = 2 ** 20

function filesUnder(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
  } catch {
    // A worker's directory removed between listing and reading it.
    return []
  }
}

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

test('results of 4x the cluster memory limit spill to disk, reduce to the exact total, and leave no file behind', async (t) => {
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-memory-test-'))
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }))
  const count = 40
  const size = 25e6
  const cluster = await LocalCluster.start({
    workers: 2,
    slotsPerWorker: 1,
    memoryLimit: '128MiB',
    // Spilling is what this test is about. Process memory runs well past 128 MiB anyway while
    // values are copied between threads and peers (issue #12 part 3), so pausing would stall on
    // memory that cannot be spilled and terminating would only restart the workers.
    memory: { pause: false, terminate: false },
    localDirectory: local,
    // Plain Node: a loader in every worker process would take half the limit by itself.
    workerExecArgv: [],
    log: () => {},
  })
  let client: Client | undefined
  const peaks = new Map<number, number>()
  let mostFiles = 0
  let mostSpilled = 0
  const watch = setInterval(() => {
    for (const pid of cluster.workers) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, rssOf(pid)))
    const files = filesUnder(local)
    let bytes = 0
    for (const file of files) bytes += fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0
    mostFiles = Math.max(mostFiles, files.length)
    mostSpilled = Math.max(mostSpilled, bytes)
  }, 20)
  try {
    client = await Client.connect(cluster.address)
    const started = Date.now()
    const blocks = Array.from({ length: count }, (_, i) => task(block, i, size))
    const pairs = []
    for (let i = 0; i < count; i += 2) pairs.push(task(lengths, blocks[i], blocks[i + 1]))
    const total = await client.compute(task(sum, ...pairs))
    t.is(total, count * size)
    t.true(mostFiles > 0, 'spill files appeared in the local directory')
    t.log(`wall ${Date.now() - started} ms; peak RSS per worker ${[...peaks.values()].map((b) => `${(b / MiB).toFixed(0)} MiB`).join(', ')}; at most ${mostFiles} spill files, ${(mostSpilled / MiB).toFixed(0)} MiB on disk at once`)
    // The stated bound: 4x the limit (seen: 260-350 MiB; before values were kept in one copy and
    // freed memory went back to the system, up to 650 MiB). A tripwire for copies that creep back.
    for (const [pid, peak] of peaks) t.true(peak < 4 * 128 * MiB, `worker ${pid} peaked at ${(peak / MiB).toFixed(0)} MiB of RSS`)
  } finally {
    clearInterval(watch)
    await client?.close()
    await cluster.close()
  }
  t.deepEqual(filesUnder(local), [], 'no spill file is left once the cluster closed')
  t.deepEqual(fs.readdirSync(local), [], "the cluster's directory is gone too")
})

test('a worker past its pause threshold starts no new task until its memory drops', async (t) => {
  const scheduler = new Scheduler({ log: () => {} })
  await scheduler.listen({ host: '127.0.0.1', port: 0 })
  const limit = 256 * MiB
  const env: NodeJS.ProcessEnv = { ...process.env, SKEIN_TOKEN: scheduler.token! }
  delete env.SKEIN_TOKEN_FILE
  const worker = await startCli(['worker', scheduler.address, '--slots', '2', '--memory-limit', '256MiB'], /ready/, env)
  let stderr = worker.banner
  worker.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const client = await Client.connect(scheduler.address)
  try {
    // Between the pause (80%) and terminate (95%) thresholds, on one of the two threads.
    const hold = client.submit(holdUntilStopped, 0.87 * limit, 60_000)
    t.true(await eventually(() => /paused: process memory/.test(stderr), 30_000), stderr)
    const next = client.submit(startedAt)
    // Room for the second thread to start it, were the worker not paused.
    await sleep(500)
    const released = Date.now()
    // Stopping the holder's thread gives its memory back.
    client.cancel(hold)
    const start = await next
    t.true(start >= released, `the task started ${released - start} ms before the memory was released`)
    // The worker logged the resume before it started the task, but its stderr pipe may reach us after the result did.
    t.true(await eventually(() => /resumed: process memory/.test(stderr), 10_000), stderr)
    t.regex(stderr, /paused: process memory[^]*resumed: process memory/)
  } finally {
    await client.close()
    worker.child.kill('SIGTERM')
    await worker.exited
    await scheduler.close()
  }
})

test('bad memory options are refused with SKEIN_INVALID_OPTIONS', async (t) => {
  const bad: [string, Record<string, unknown>][] = [
    ['unknown threshold', { memory: { target: 0.6, spil: 0.7 } }],
    ['fraction above 1', { memory: { pause: 1.5 } }],
    ['fraction of zero', { memory: { target: 0 } }],
    ['threshold as a string', { memory: { terminate: '0.9' } }],
    ['memory not an object', { memory: 0.6 }],
    ['limit with an unknown unit', { memoryLimit: '2 parsecs' }],
    ['negative limit', { memoryLimit: -5 }],
    ['limit of another type', { memoryLimit: true }],
    ['missing local directory', { localDirectory: path.join(os.tmpdir(), 'skein-no-such-directory', 'x') }],
  ]
  for (const [what, options] of bad) {
    await t.throwsAsync(LocalCluster.start({ workers: 0, log: () => {}, ...options }), { code: 'SKEIN_INVALID_OPTIONS' }, `LocalCluster: ${what}`)
    await t.throwsAsync(Worker.start({ scheduler: 'ws://127.0.0.1:1', ...options }), { code: 'SKEIN_INVALID_OPTIONS' }, `Worker: ${what}`)
  }
  const refused = await startCli(['worker', 'ws://127.0.0.1:1', '--memory-limit', 'lots'], /never/).catch((err: Error) => err)
  t.true(refused instanceof Error && /--memory-limit/.test(refused.message), String(refused))
})

test('a spilled value is served to a peer and to the client from its file, exact, and stays spilled', async (t) => {
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-memory-test-'))
  t.teardown(() => fs.rmSync(local, { recursive: true, force: true }))
  // A target of 1% of 256 MiB (2.6 MB): a 5 MB result goes to disk as soon as it is stored.
  const cluster = await LocalCluster.start({
    workers: 2,
    slotsPerWorker: 1,
    memoryLimit: '256MiB',
    memory: { target: 0.01, spill: false, pause: false, terminate: false },
    localDirectory: local,
    workerExecArgv: [],
    log: () => {},
  })
  try {
    const client = await Client.connect(cluster.address)
    await client.waitForWorkers(2)
    const value = client.submitWith({ restrictions: ['local-0'] }, block, 3, 5e6)
    t.true(await eventually(() => value.status === 'finished', 30_000), 'the value was computed')
    t.true(await eventually(() => cluster.scheduler.health().memory.spilled >= 5e6, 10_000), 'the result was spilled')
    const onPeer = client.submitWith({ restrictions: ['local-1'] }, lengths, value, 0)
    t.is(await onPeer, 5e6)
    const fetched = (await value) as Uint8Array
    t.is(fetched.byteLength, 5e6)
    t.true(fetched.every((b) => b === 3), 'every byte as written')
    t.true(cluster.scheduler.health().memory.spilled >= 5e6, 'serving it did not bring it back into memory')
    await client.close()
  } finally {
    await cluster.close()
  }
})
