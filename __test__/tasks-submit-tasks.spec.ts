/**
 * Tasks that submit tasks (Dask's worker_client / get_client, secede and
 * rejoin): a task gets a client of its worker's scheduler with getClient(),
 * and gives its slot up while it waits on it, so a small cluster runs
 * recursive work that holds far more waiting tasks than it has slots.
 * Ported from distributed's test_worker_client.py where it fits.
 */
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Client, createTestCertificates, getClient, KilledWorkerError, LocalCluster, NotInTaskError, rejoin, Scheduler, secede, task, Worker } from '../ts/index'
import { eventually } from './helpers/processes'
import { sharedCluster } from './helpers/shared-cluster'

const shared = sharedCluster(test, { workers: 2, slotsPerWorker: 1, log: () => {} })

/** Sum of the ids of a binary tree of `depth` levels below node `id` (children 2id, 2id+1), each node a task. */
async function walk(depth: number, id: number): Promise<number> {
  if (depth === 0) return id
  const client = await getClient()
  const [left, right] = [client.submit(walk, depth - 1, 2 * id), client.submit(walk, depth - 1, 2 * id + 1)]
  return id + (await left) + (await right)
}

async function fib(n: number): Promise<number> {
  if (n < 2) return n
  const client = await getClient()
  const [a, b] = await client.gather([client.submit(fib, n - 1), client.submit(fib, n - 2)])
  return a + b
}

test('a recursive tree walk of depth 5 completes on 2 workers of 1 slot: 63 tasks, most of them waiting on their children', async (t) => {
  const client = await shared.connect()
  try {
    const n = 2 ** 6 - 1
    t.is(await client.submit(walk, 5, 1), (n * (n + 1)) / 2)
  } finally {
    await client.close()
  }
})

test('a parallel Fibonacci completes on the same cluster (gather inside tasks; equal calls share a key)', async (t) => {
  const client = await shared.connect()
  try {
    t.is(await client.submit(fib, 12), 144)
  } finally {
    await client.close()
  }
})

test("the scheduler stops counting a seceded task against its worker's slots: health, metrics and the task's story say so", async (t) => {
  const client = await shared.connect()
  try {
    // The child waits for the test's go: meanwhile its parent waits on it, seceded.
    const parent = client.submit(async (tag: string) => {
      const c = await getClient()
      const child = c.submit(async (tag2: string) => {
        const inner = await getClient()
        for (let i = 0; i < 400 && !(await inner.listDatasets()).includes(`go-${tag2}`); i++) await new Promise((r) => setTimeout(r, 50))
        return 'child done'
      }, tag)
      return `parent saw: ${await child}`
    }, 'story')
    const scheduler = shared.cluster.scheduler
    t.true(await eventually(() => scheduler.health().tasks.longRunning >= 1, 20_000), 'the parent seceded')
    const metrics = await (await fetch(`${shared.cluster.address.replace(/^ws:/, 'http:')}/metrics`)).text()
    t.regex(metrics, /^skein_scheduler_long_running_tasks [1-9]/m)
    const story = await client.story(parent)
    t.deepEqual(story.at(-1), { from: 'processing', to: 'processing', stimulus: 'long-running' } as unknown as (typeof story)[number])
    await client.publishDataset('go-story', 1)
    t.is(await parent, 'parent saw: child done')
    t.deepEqual((await client.story(parent)).at(-1), { from: 'processing', to: 'memory', stimulus: 'task-finished' } as unknown as (typeof story)[number])
    await client.unpublishDataset('go-story')
  } finally {
    await client.close()
  }
})

test('fireAndForget from inside a task: the child runs on after its parent finished and its futures are gone', async (t) => {
  const client = await shared.connect()
  try {
    const parent = client.submit(async () => {
      const c = await getClient()
      const child = c.submit(async () => {
        const inner = await getClient()
        for (let i = 0; i < 400 && !(await inner.listDatasets()).includes('ff-go'); i++) await new Promise((r) => setTimeout(r, 50))
        await inner.publishDataset('ff-child-ran', 'yes')
      })
      c.fireAndForget(child)
      const key = child.key
      child.release()
      return key
    })
    const childKey = await parent
    parent.release()
    const state = shared.cluster.scheduler.state(childKey)
    t.true(state === 'queued' || state === 'processing', `the child is still to run or running, its parent done (${state})`)
    t.false((await client.listDatasets()).includes('ff-child-ran'))
    await client.publishDataset('ff-go', true)
    t.true(await eventually(() => shared.cluster.scheduler.state(childKey) === null, 20_000), 'the child ran to its end and was let go')
    t.is(await client.getDataset('ff-child-ran'), 'yes')
    await client.unpublishDataset('ff-go')
    await client.unpublishDataset('ff-child-ran')
  } finally {
    await client.close()
  }
})

// Serial (AVA runs these first): the count of the scheduler's clients is only this test's.
test.serial('tasks of one execution thread share one client: getClient() connects once per thread', async (t) => {
  const client = await shared.connect()
  try {
    // Each thread's client gets a tag from the first task that sees it; later tasks find it there.
    const tags = await client.gather(
      client.map(async (i: number) => {
        const c = (await getClient()) as unknown as { testTag?: string }
        c.testTag ??= `${i}-${Math.random()}`
        await new Promise((r) => setTimeout(r, 5))
        return c.testTag
      }, Array.from({ length: 20 }, (_, i) => i)),
    )
    const distinct = new Set(tags).size
    t.true(distinct >= 1 && distinct <= 2, `${distinct} clients for 2 execution threads`)
    t.is(shared.cluster.scheduler.health().clients, 1 + distinct, 'this client and one per thread that ran a task')
  } finally {
    await client.close()
  }
})

test('explicit secede() and rejoin(): a task waiting for something else gives its slot up meanwhile', async (t) => {
  const client = await shared.connect()
  try {
    // 2 workers of 1 slot: 4 tasks that each hold their slot until all 4 started would never end.
    const started = client.map(
      async (i: number) => {
        const c = await getClient()
        await c.publishDataset(`started-${i}`, i)
        secede()
        for (let k = 0; k < 400 && (await c.listDatasets()).filter((n) => n.startsWith('started-')).length < 4; k++) await new Promise((r) => setTimeout(r, 25))
        await rejoin()
        return i
      },
      [0, 1, 2, 3],
    )
    t.deepEqual(await client.gather(started), [0, 1, 2, 3])
    for (const i of [0, 1, 2, 3]) await client.unpublishDataset(`started-${i}`)
  } finally {
    await client.close()
  }
})

test('an error inside a child reaches the parent, which may catch it or fail with it', async (t) => {
  const client = await shared.connect()
  try {
    const caught = client.submit(async () => {
      const c = await getClient()
      try {
        await c.submit((): number => {
          throw new Error('child broke')
        })
        return 'no error'
      } catch (err) {
        return `caught: ${(err as Error).message}`
      }
    })
    t.regex(await caught, /caught: .*child broke/)
    const failed = client.submit(async () => {
      const c = await getClient()
      return c.submit((): number => {
        throw new Error('child broke again')
      })
    })
    await t.throwsAsync(failed.result(), { message: /child broke again/ })
  } finally {
    await client.close()
  }
})

// Dask's test_submit_from_worker: futures of the task's client are dependencies of its later submits.
test('a task submits a chain whose second step depends on the first', async (t) => {
  const client = await shared.connect()
  try {
    const results = await client.gather(
      client.map(async (x: number) => {
        const c = await getClient()
        const inc = c.submit((v: number) => v + 1, x)
        const double = c.submit((v: number) => v * 2, inc)
        return (await inc) + (await double)
      }, [10, 20]),
    )
    t.deepEqual(results, [10 + 1 + (10 + 1) * 2, 20 + 1 + (20 + 1) * 2])
  } finally {
    await client.close()
  }
})

// Dask's test_scatter_from_worker and test_gather_multi_machine.
test('a task scatters values, sums them on the cluster, and gathers from tasks pinned to each worker', async (t) => {
  const client = await shared.connect()
  try {
    const total = client.submit(async () => {
      const c = await getClient()
      const futures = await c.scatter([1, 2, 3, 4, 5])
      const sum = c.submit((...xs: number[]) => xs.reduce((a, b) => a + b, 0), ...futures)
      return sum.result()
    })
    t.is(await total, 15)
    const [a, b] = client.workers.map((w) => w.name).sort()
    const pair = client.submit(
      async (first: string, second: string) => {
        const c = await getClient()
        const x = c.submitWith({ restrictions: [first] }, (v: number) => v + 1, 1)
        const y = c.submitWith({ restrictions: [second] }, (v: number) => v + 1, 2)
        return c.gather([x, y])
      },
      a,
      b,
    )
    t.deepEqual(await pair, [2, 3])
  } finally {
    await client.close()
  }
})

// Dask's test_sync / test_compute_within_worker_client: a task graph computed from a task, read with asCompleted.
test('a task computes a graph of tasks and reads the results as they complete', async (t) => {
  const client = await shared.connect()
  try {
    const total = client.submit(async () => {
      const c = await getClient()
      const doubles = c.compute(Array.from({ length: 20 }, (_, i) => task((v: number) => v * 2, i)))
      let sum = 0
      for await (const { future } of c.asCompleted(doubles)) sum += await future
      return sum
    })
    t.is(await total, 2 * ((19 * 20) / 2))
    // The module object of a CommonJS import stands for skein's API in a shipped function: task() through it works.
    t.true(/import_ts\.task/.test(String(async () => task((v: number) => v, 1))), 'this file is compiled to CommonJS')
  } finally {
    await client.close()
  }
})

test('a seceded task that is cancelled is let go: its future rejects, the worker serves on', async (t) => {
  const client = await shared.connect()
  try {
    const parent = client.submit(async (tag: string) => {
      const c = await getClient()
      const child = c.submit(async (tag2: string) => {
        const inner = await getClient()
        for (let i = 0; i < 400 && !(await inner.listDatasets()).includes(`go-${tag2}`); i++) await new Promise((r) => setTimeout(r, 50))
        return 1
      }, tag)
      return (await child) + 1
    }, 'cancel')
    t.true(await eventually(() => shared.cluster.scheduler.state(parent.key) === 'processing', 20_000))
    const seceded = async () => (await client.story(parent)).some((s) => s.stimulus === 'long-running')
    for (let i = 0; i < 200 && !(await seceded()); i++) await new Promise((r) => setTimeout(r, 50))
    t.true(await seceded(), 'the parent seceded')
    parent.cancel()
    await t.throwsAsync(parent.result(), { code: 'SKEIN_CANCELLED' })
    await client.publishDataset('go-cancel', true)
    t.is(await client.submit((x: number) => x * 3, 14), 42)
    await client.unpublishDataset('go-cancel')
  } finally {
    await client.close()
  }
})

test('getClient(), secede() and rejoin() outside a task fail with NotInTaskError', async (t) => {
  await t.throwsAsync(getClient(), { instanceOf: NotInTaskError, code: 'SKEIN_NOT_IN_TASK' })
  t.throws(() => secede(), { instanceOf: NotInTaskError })
  await t.throwsAsync(rejoin(), { instanceOf: NotInTaskError })
})

test("getClient() uses the worker's own token: a scheduler and a worker started with one, no token in the environment", async (t) => {
  const token = 'tasks-submit-tasks-token-0123456789'
  const scheduler = await new Scheduler({ token, log: () => {} }).listen()
  try {
    const worker = await Worker.start({ scheduler: scheduler.address, token, slots: 1, log: () => {} })
    try {
      const client = await Client.connect(scheduler.address, { token, inProcess: false })
      try {
        await client.waitForWorkers(1)
        t.is(await client.submit(fib, 7), 13)
        t.is(await client.submit(walk, 3, 1), (15 * 16) / 2)
      } finally {
        await client.close()
      }
    } finally {
      await worker.close()
    }
  } finally {
    await scheduler.close()
  }
})

test('a worker that dies while a seceded task waits there is blamed on it, as on a task executing there', async (t) => {
  // One death is enough to err: the parent errs with KilledWorkerError only if the death counts against it.
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, log: () => {}, scheduler: { core: { allowedFailures: 1 } } })
  try {
    const client = await Client.connect(cluster.address)
    try {
      await client.waitForWorkers(2)
      // Its restarted worker has the same name: the parent waits for it, warned about.
      client.on('unplaceable', () => {})
      const parent = client.submitWith({ restrictions: ['local-0'] }, async () => {
        const c = await getClient()
        return c.submitWith({ restrictions: ['local-1'] }, async () => {
          const inner = await getClient()
          for (let i = 0; i < 400 && !(await inner.listDatasets()).includes('never'); i++) await new Promise((r) => setTimeout(r, 50))
          return 1
        })
      })
      t.true(await eventually(() => cluster.scheduler.health().tasks.longRunning === 1, 20_000), 'the parent seceded')
      process.kill(cluster.workerProcesses.find((w) => w.name === 'local-0')!.pid, 'SIGKILL')
      const err = await t.throwsAsync(parent.result(), { instanceOf: KilledWorkerError })
      t.deepEqual(
        err!.deaths.map((d) => d.worker),
        ['local-0'],
      )
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
})

test("getClient() uses the worker's TLS too: a cluster with mutual TLS, where a client needs the CA's certificate", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-tasks-tls-'))
  try {
    const certs = await createTestCertificates(dir, { hosts: ['127.0.0.1', 'localhost'] })
    const tls = { cert: certs.cert, key: certs.key, ca: certs.ca }
    const cluster = await LocalCluster.start({ workers: 1, slotsPerWorker: 1, tls: { ...tls, requireClientCert: true }, log: () => {} })
    try {
      t.regex(cluster.address, /^wss:/)
      const client = await Client.connect(cluster.address, { inProcess: false, token: cluster.scheduler.token!, tls })
      try {
        await client.waitForWorkers(1)
        t.is(await client.submit(fib, 8), 21)
      } finally {
        await client.close()
      }
    } finally {
      await cluster.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// Dask's test_secede_without_stealing_issue_1262.
test('seceding works with work stealing off', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, slotsPerWorker: 1, log: () => {}, scheduler: { workStealing: false } })
  try {
    const client = await Client.connect(cluster.address)
    try {
      await client.waitForWorkers(2)
      t.is(await client.submit(walk, 3, 1), (15 * 16) / 2)
      t.is(cluster.scheduler.stats().stealRequests, 0)
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
})
