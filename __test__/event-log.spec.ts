import test from 'ava'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Client, EventLogError, LocalCluster, moduleFunction, replayEventLog, Scheduler, Worker } from '../ts/index'
import { NativeCore } from '../ts/scheduler/native'
import { encode, type WireTask } from '../ts/protocol'
import { cli, freePort, startCli } from './helpers/cli'
import { alive, eventually, sleep } from './helpers/processes'
import { mapThenTree } from './helpers/resilience-graphs'

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
const spinWhere = moduleFunction<(data: Uint8Array, i: number, ms: number) => [pid: number, start: number, end: number, value: number]>(fixtures, 'spinWhere')

const SPINS = 24
const SPIN_MS = 150
const SQUARES = 2000

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'skein-event-log-'))
}

/** Runs `skein <args>` to its end: exit code, stdout and stderr. */
function runSkein(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}

interface Recorded {
  file: string
  /** A key whose story the replay is asked for: a task that ran and finished. */
  key: string
  stolen: number
  killed: number
  removed: number
}

/**
 * A recorded run with steals and worker deaths: busy tasks whose inputs sit on local-0 (so the
 * idle workers steal them; see resilience-stealing.spec.ts), then a map-and-reduce graph
 * during which the other workers are killed (SIGKILL) at random moments. local-0 lives: it
 * holds the scattered inputs, which nothing could recompute.
 */
async function recordRun(t: { log: (...v: unknown[]) => void }): Promise<Recorded> {
  const file = path.join(tmpDir(), 'events.skeinlog')
  const cluster = await LocalCluster.start({
    workers: 3,
    maxRestartsPerMinute: 100,
    scheduler: { eventLog: file, core: { allowedFailures: 50 } },
    log: () => {},
  })
  const pids = new Set(cluster.workers)
  let killed = 0
  try {
    const client = await Client.connect(cluster.address)
    try {
      const [data] = await client.scatter([new Uint8Array(1_000_000)], { workers: ['local-0'] })
      const indexes = await client.scatter(
        Array.from({ length: SPINS }, (_, i) => i),
        { workers: ['local-0'] },
      )
      const spins = indexes.map((i) => client.submit(spinWhere, data, i, SPIN_MS))
      const runs = await client.gather(spins)
      if (runs.map((r) => r[3]).join() !== Array.from({ length: SPINS }, (_, i) => 1_000_000 + i).join()) throw new Error('a spin gave a wrong value')
      const tree = client.compute(mapThenTree(SQUARES))
      let done = false
      tree
        .result()
        .finally(() => (done = true))
        .catch(() => {})
      for (let kill = 0; kill < 2 && !done; kill++) {
        await sleep(50 + Math.floor(Math.random() * 300))
        if (!(await eventually(() => cluster.scheduler.stats().workersRemoved >= killed, 5000))) break
        const joined = new Set(cluster.scheduler.workers.map(([, name]) => name))
        const victims = cluster.workerProcesses.filter((w) => w.name !== 'local-0' && joined.has(w.name) && alive(w.pid))
        if (victims.length === 0 || done) continue
        const victim = victims[Math.floor(Math.random() * victims.length)]
        t.log(`killing ${victim.name} (pid ${victim.pid})`)
        process.kill(victim.pid, 'SIGKILL')
        killed++
      }
      const total = await tree
      if (total !== ((SQUARES - 1) * SQUARES * (2 * SQUARES - 1)) / 6) throw new Error(`the reduction gave ${total}`)
      await eventually(() => cluster.scheduler.stats().workersRemoved >= killed, 5000)
      for (const pid of cluster.workers) pids.add(pid)
      const stats = cluster.scheduler.stats()
      return { file, key: spins[SPINS - 1].key, stolen: stats.stolen, killed, removed: stats.workersRemoved }
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
}

let recording: Promise<Recorded> | undefined
/** One recorded run, shared by the tests that read it. */
function recorded(t: { log: (...v: unknown[]) => void }): Promise<Recorded> {
  recording ??= recordRun(t)
  return recording
}

test.serial('a run with worker deaths and steals replays through `skein replay` to identical digests', async (t) => {
  t.timeout(120_000)
  const run = await recorded(t)
  t.log(`recorded: ${fs.statSync(run.file).size} bytes, ${run.stolen} tasks stolen, ${run.killed} workers killed, ${run.removed} removed`)
  t.true(run.stolen > 0, 'idle workers stole work')
  t.true(run.killed > 0 && run.removed >= run.killed, 'workers died during the run')

  const { code, stdout, stderr } = await runSkein(['replay', run.file])
  t.log(stdout)
  t.is(code, 0, stderr)
  t.regex(stdout, /replay identical: every batch of messages matched its recorded digest/)
  const [, matched, batches] = /digests: +(\d+) of (\d+) message batches matched/.exec(stdout) ?? []
  t.is(matched, batches)
  t.true(Number(batches) > 10)
  const workers = Number(/workers: +(\d+) joined/.exec(stdout)?.[1])
  t.true(workers >= 3 + run.killed, `restarted workers joined again (${workers})`)
  t.regex(stdout, /clients: +1 connected/)
  t.true(Number(/tasks: +(\d+)/.exec(stdout)?.[1]) >= SPINS + 2 * SQUARES - 1)
  t.regex(stdout, /remove_worker \d+/)

  const summary = await replayEventLog(run.file)
  t.is(summary.mismatch, undefined)
  t.is(summary.digestsMatched, summary.batches)
  t.true(summary.durationSeconds > 0)
})

test.serial('`skein replay --story KEY` prints the transitions of the key over the run', async (t) => {
  t.timeout(120_000)
  const run = await recorded(t)
  const { code, stdout, stderr } = await runSkein(['replay', run.file, '--story', run.key])
  t.is(code, 0, stderr)
  const story = stdout.slice(stdout.indexOf('story of'))
  t.log(story)
  t.regex(story, new RegExp(`story of "${run.key}":`))
  t.regex(story, /submit_graph\w*: released -> waiting \(submit-graph\)/)
  t.regex(story, /-> processing/)
  t.regex(story, /worker_events: processing -> memory \(task-finished\)/)
  t.regex(story, /-> forgotten/, 'the client closed: the key was released and forgotten')

  const summary = await replayEventLog(run.file, { story: 'no-such-key' })
  t.deepEqual(summary.story, [])
})

test.serial('a replay that comes out different names the first batch that differs: the recorded run replayed without stealing', async (t) => {
  t.timeout(120_000)
  const run = await recorded(t)
  const { code, stdout, stderr } = await runSkein(['replay', run.file, '--core', '{"workStealing":false}'])
  t.is(code, 1, stderr)
  const m = /MISMATCH: message batch (\d+) \(record (\d+), byte offset (\d+), after (\d+) events\) differs from the recording:\n {2}recorded \d+ bytes, digest (\w+); replayed \d+ bytes, digest (\w+)/.exec(stdout)
  t.truthy(m, stdout)
  t.not(m![5], m![6])

  const summary = await replayEventLog(run.file, { core: { workStealing: false } })
  const mismatch = summary.mismatch!
  t.truthy(mismatch)
  t.is(summary.digestsMatched, summary.batches - 1, 'every batch before it matched')
  t.is(mismatch.offset, Number(m![3]))
  t.true(mismatch.offset > 0 && mismatch.offset < fs.statSync(run.file).size)
  t.is(mismatch.events, summary.events)

  const bad = await runSkein(['replay', run.file, '--core', '{"workStealin":false}'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /unknown replayEventLog option 'core.workStealin'/)
})

test.serial('a corrupted log is refused with an error naming the byte offset of the damaged block', async (t) => {
  t.timeout(120_000)
  const run = await recorded(t)
  const bytes = fs.readFileSync(run.file)
  const at = Math.floor(bytes.length / 2)
  bytes[at] ^= 0x10
  const bad = path.join(tmpDir(), 'corrupted.skeinlog')
  fs.writeFileSync(bad, bytes)

  const { code, stderr } = await runSkein(['replay', bad])
  t.is(code, 2)
  const m = /skein replay: .*corrupted.skeinlog: event log corrupted: the block at byte offset (\d+) \((\d+) bytes\) fails its checksum/.exec(stderr)
  t.truthy(m, stderr)
  const [start, len] = [Number(m![1]), Number(m![2])]
  t.true(start <= at && at < start + 12 + len, `the flipped byte ${at} is in the block named (${start}, ${len} bytes)`)

  const err = await t.throwsAsync(replayEventLog(bad), { instanceOf: EventLogError })
  t.is(err.code, 'SKEIN_EVENT_LOG_CORRUPT')
  t.is(err.offset, start)

  const cut = path.join(tmpDir(), 'cut.skeinlog')
  fs.writeFileSync(cut, fs.readFileSync(run.file).subarray(0, bytes.length - 5))
  const truncated = await t.throwsAsync(replayEventLog(cut), { instanceOf: EventLogError })
  t.is(truncated.code, 'SKEIN_EVENT_LOG_TRUNCATED')
  t.regex(truncated.message, /truncated at byte offset \d+/)

  const notALog = path.join(tmpDir(), 'not-a-log')
  fs.writeFileSync(notALog, 'hello')
  const { code: c2, stderr: e2 } = await runSkein(['replay', notALog])
  t.is(c2, 2)
  t.regex(e2, /not a skein event log/)
})

test('a scheduler whose event log cannot be written fails at construction; replay options are checked', async (t) => {
  const err = t.throws(() => new Scheduler({ eventLog: path.join(tmpDir(), 'no', 'such', 'dir', 'log') }), { instanceOf: EventLogError })
  t.is(err.code, 'SKEIN_EVENT_LOG_IO')
  t.regex(err.message, /Scheduler option 'eventLog': cannot write/)
  t.throws(() => new Scheduler({ core: { eventLog: path.join(tmpDir(), 'no', 'log') } }), { instanceOf: EventLogError })
  await t.throwsAsync(replayEventLog('x', { storry: 'k' } as never), { message: /unknown replayEventLog option 'storry'/ })
  const missing = await t.throwsAsync(replayEventLog(path.join(tmpDir(), 'absent')), { instanceOf: EventLogError })
  t.is(missing.code, 'SKEIN_EVENT_LOG_IO')
})

test.serial('skein scheduler --event-log records until SIGTERM, and the log replays', async (t) => {
  t.timeout(120_000)
  const file = path.join(tmpDir(), 'cli.skeinlog')
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const scheduler = await startCli(['scheduler', '--port', String(port), '--insecure', '--event-log', file], /listening on/)
  try {
    const worker = await Worker.start({ scheduler: address, slots: 2 })
    const client = await Client.connect(address, { inProcess: false })
    t.is(await client.compute(mapThenTree(50)), (49 * 50 * 99) / 6)
    await client.close()
    await worker.close()
    scheduler.child.kill('SIGTERM')
    t.deepEqual(await scheduler.exited, { code: 0, signal: null })
  } finally {
    if (scheduler.child.exitCode === null && scheduler.child.signalCode === null) scheduler.child.kill('SIGKILL')
  }
  const summary = await replayEventLog(file)
  t.is(summary.mismatch, undefined)
  t.true(summary.batches > 0)
  t.is(summary.digestsMatched, summary.batches)
  t.is(summary.tasks, 99)
  t.is(summary.workers, 1)
  t.is(summary.clients, 1)
})

test('a core that panics has written its log up to the event that did it, and the replay panics there too', async (t) => {
  const file = path.join(tmpDir(), 'panic.skeinlog')
  const core = new NativeCore({ eventLog: file })
  const client = core.addClient()
  core.addWorker('w', 1, null, 0)
  const graph: WireTask[] = [['a', 'a', Buffer.from('x'), [], 0, null, null]]
  core.submitGraph(client, encode(graph), ['a'])
  core.takeMessages()
  t.throws(() => core.panicForTest('a bug'), { code: 'SKEIN_CORE_PANIC' })
  // Refused by the poisoned core: not recorded.
  t.throws(() => core.tick(1), { code: 'SKEIN_CORE_PANIC' })
  // No closeEventLog(): what a crashed scheduler leaves behind.
  const summary = await replayEventLog(file, { story: 'a' })
  t.is(summary.events, 4, 'add_client, add_worker, submit_graph, panic_for_test')
  t.regex(summary.panicked!, /a bug/)
  t.regex(summary.recordedPanic!, /a bug/)
  t.is(summary.diverged, undefined)
  t.is(summary.mismatch, undefined)
  t.deepEqual([summary.batches, summary.digestsMatched], [1, 1])
  t.deepEqual(
    summary.story.map((s) => `${s.from} -> ${s.to}`),
    ['released -> waiting', 'waiting -> queued', 'queued -> processing'],
  )
})

/**
 * Each `&mut self` method of NativeCore (one that can change the core) must be recorded: its
 * body starts with `record!(self, Name, args...)` naming the arguments in the order the table
 * in src/event_log.rs lists them, or it is one of the few that record otherwise or not at all.
 */
test('every mutating method of the native core is recorded, with the arguments its table entry replays', (t) => {
  const root = path.join(__dirname, '..')
  const core = fs.readFileSync(path.join(root, 'src', 'native_core.rs'), 'utf8')
  const table = fs.readFileSync(path.join(root, 'src', 'event_log.rs'), 'utf8')
  const NOT_EVENTS = new Map([
    ['take_messages', 'records the digest of what it returns'],
    ['close_event_log', 'ends the recording'],
    ['take_runs', "drains the dashboard's records of ended runs, which no message depends on"],
  ])
  const napiImpl = core.slice(core.indexOf('#[napi]\nimpl NativeCore'))
  const methods = [...napiImpl.matchAll(/pub fn (\w+)\(\s*&mut self/g)]
  t.true(methods.length >= 16)
  const entries = new Map([...table.matchAll(/^\s+\d+ (\w+) => (\w+)\(([^)]*)\);$/gm)].map((m) => [m[2], { name: m[1], args: m[3] }]))
  for (const [i, m] of methods.entries()) {
    const method = m[1]
    const body = napiImpl.slice(m.index, methods[i + 1]?.index ?? napiImpl.length)
    if (NOT_EVENTS.has(method)) continue
    const entry = entries.get(method)
    if (entry === undefined) {
      t.fail(`NativeCore::${method} changes the core and has no line in recorded_events! (src/event_log.rs)`)
      continue
    }
    const recordCall = /record!\(self, (\w+)((?:, \w+)*)\);/.exec(body)
    if (recordCall === null) {
      t.fail(`NativeCore::${method} changes the core and does not record!(self, ${entry.name}, ...)`)
      continue
    }
    t.is(recordCall[1], entry.name, method)
    const recordedArgs = recordCall[2].split(', ').filter((a) => a !== '')
    const tableArgs = entry.args === '' ? [] : entry.args.split(/,\s*(?![^<]*>)/).map((a) => a.split(':')[0].trim())
    t.deepEqual(recordedArgs, tableArgs, `${method}: record! and the table list the same arguments in the same order`)
  }
})
