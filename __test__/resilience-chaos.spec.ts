import test from 'ava'
import path from 'node:path'
import { Client, LocalCluster, moduleFunction } from '../ts/index'
import { alive, eventually, sleep } from './helpers/processes'
import { mapThenTree } from './helpers/resilience-graphs'

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
const nap = moduleFunction<(ms: number, tag: number) => Promise<number>>(fixtures, 'nap')

const N = 10_000
const EXPECTED = ((N - 1) * N * (2 * N - 1)) / 6

interface Run {
  wall: number
  killed: number
  value: number
  stats: ReturnType<LocalCluster['scheduler']['stats']>
  pids: Set<number>
  restarts: number
}

async function chaosRun(killEveryMs: number | null, killForMs: number): Promise<Run> {
  // The kills here are random, not caused by any task. With the default of 3 deaths, an
  // innocent task that happened to be running on three of the ~20 killed workers would
  // (correctly, by the rule) err with KilledWorkerError; the poison test covers that rule.
  const cluster = await LocalCluster.start({
    workers: 3,
    slotsPerWorker: 4,
    maxRestartsPerMinute: 1000,
    scheduler: { core: { allowedFailures: 50 } },
    log: () => {},
  })
  const pids = new Set(cluster.workers)
  let killed = 0
  let done = false
  try {
    const client = await Client.connect(cluster.address)
    try {
      const start = performance.now()
      const result = client.compute(mapThenTree(N))
      result.result().finally(() => (done = true)).catch(() => {})
      if (killEveryMs !== null) {
        while (!done && performance.now() - start < killForMs) {
          await sleep(killEveryMs)
          for (const pid of cluster.workers) pids.add(pid)
          // A worker that has joined the scheduler (killing one still starting up proves little).
          // Names are reused by restarts: a joined name is the current process's only once every
          // earlier kill was seen (the old process under that name is gone from the scheduler).
          if (cluster.scheduler.stats().workersRemoved < killed) continue
          const joined = new Set(cluster.scheduler.workers.map(([, name]) => name))
          const live = cluster.workerProcesses.filter((w) => joined.has(w.name) && alive(w.pid)).map((w) => w.pid)
          if (live.length === 0 || done) continue
          const victim = live[Math.floor(Math.random() * live.length)]
          process.kill(victim, 'SIGKILL')
          killed++
        }
      }
      const value = await result
      const wall = performance.now() - start
      // The last kill may land just before the result does: let the scheduler see it go.
      await eventually(() => cluster.scheduler.stats().workersRemoved >= killed, 5000)
      for (const pid of cluster.workers) pids.add(pid)
      return { wall, killed, value, stats: cluster.scheduler.stats(), pids, restarts: cluster.restarts }
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
}

test.serial('chaos: kill -9 a random worker every 200 ms during a 20,000-task graph; the result is exact', async (t) => {
  t.timeout(60_000)
  const calm = await chaosRun(null, 0)
  t.is(calm.value, EXPECTED)
  const chaos = await chaosRun(200, 4_000)
  t.is(chaos.value, EXPECTED, 'the result is exact')
  const extra = chaos.stats.computes - calm.stats.computes
  t.log(
    `chaos: ${chaos.killed} workers killed (${chaos.restarts} restarts), ${chaos.stats.workersRemoved} removed; ` +
      `${chaos.stats.rescheduled} tasks rescheduled, ${chaos.stats.lostResults} lost results recomputed, ` +
      `${chaos.stats.computes} computes vs ${calm.stats.computes} without kills (${extra} extra); ` +
      `wall ${chaos.wall.toFixed(0)} ms vs ${calm.wall.toFixed(0)} ms without kills`,
  )
  t.true(chaos.killed >= 3, `only ${chaos.killed} kills happened before the graph finished`)
  t.true(chaos.stats.workersRemoved >= chaos.killed, 'every killed worker was removed')
  t.true(extra > 0, 'killed work was done again')
  t.true(await eventually(() => ![...chaos.pids, ...calm.pids].some(alive), 10_000), 'no worker process is left behind')
})

test.serial('a stopped worker (SIGSTOP: alive but silent) times out; its work moves and the result is exact', async (t) => {
  t.timeout(60_000)
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 2, heartbeatTimeoutMs: 1500, log: () => {} })
  const pids = new Set(cluster.workers)
  let stopped = -1
  try {
    const client = await Client.connect(cluster.address)
    try {
      const start = performance.now()
      const futures = Array.from({ length: 40 }, (_, i) => client.submit(nap, 50, i))
      await sleep(200)
      stopped = cluster.workers[0]
      process.kill(stopped, 'SIGSTOP')
      const values = await client.gather(futures)
      const wall = performance.now() - start
      t.deepEqual(values, Array.from({ length: 40 }, (_, i) => i))
      const stats = cluster.scheduler.stats()
      t.log(`SIGSTOP: heartbeat timeouts ${stats.heartbeatTimeouts}, ${stats.rescheduled} tasks rescheduled, wall ${wall.toFixed(0)} ms`)
      t.true(stats.heartbeatTimeouts >= 1)
      t.false(
        cluster.scheduler.workers.some(([, name]) => name === 'local-0'),
        'the silent worker was removed (and cannot come back while stopped)',
      )
    } finally {
      await client.close()
    }
  } finally {
    if (stopped > 0 && alive(stopped)) process.kill(stopped, 'SIGCONT')
    for (const pid of cluster.workers) pids.add(pid)
    await cluster.close()
  }
  t.true(await eventually(() => ![...pids].some(alive), 10_000), 'no worker process is left behind')
})
