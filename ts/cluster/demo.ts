/**
 * `npm start`: a LocalCluster with no configuration runs three workloads,
 * checks every result, and prints how long each took. Exits 0 when every
 * result is exact, 1 (with the reason) otherwise.
 */
import { SingleBar, Presets } from 'cli-progress'
import { Client, type Future } from '../client'
import { task, type Task } from '../graph'
import { LocalCluster } from './local-cluster'

interface Row {
  workload: string
  wallMs: number
  tasks: number
}

class WrongResult extends Error {}

const inc = (x: number) => x + 1
const sum = (...values: number[]) => values.reduce((a, b) => a + b, 0)
const noop = (i: number) => i
const leaf = (i: number) => i
const add = (a: number, b: number) => a + b

/** Shows how many of `futures` are done while `work` runs, when stdout is a terminal. */
async function withProgress<T>(label: string, futures: () => readonly Future[], work: Promise<T>): Promise<T> {
  if (!process.stdout.isTTY) return work
  const bar = new SingleBar({ format: `${label.padEnd(28)} {bar} {value}/{total}`, hideCursor: true, clearOnComplete: true }, Presets.shades_classic)
  bar.start(1, 0)
  const update = () => {
    const list = futures()
    let done = 0
    for (const f of list) if (f.status !== 'pending') done++
    bar.setTotal(Math.max(1, list.length))
    bar.update(done)
  }
  const timer = setInterval(update, 100)
  try {
    return await work
  } finally {
    clearInterval(timer)
    update()
    bar.stop()
  }
}

async function seedExperiment(client: Client): Promise<Row> {
  const numbers = Array.from({ length: 1000 }, (_, i) => i)
  let incremented: Future<number>[] = []
  const start = performance.now()
  const total = await withProgress('scatter + map inc + sum', () => incremented, (async () => {
    const scattered = await client.scatter(numbers)
    incremented = client.map(inc, scattered)
    return client.submit(sum, ...incremented).result()
  })())
  const wallMs = performance.now() - start
  expect('seed experiment sum', total, 500_500)
  return { workload: 'scatter 1,000 + map inc + sum', wallMs, tasks: 1001 }
}

async function noopTasks(client: Client, n: number): Promise<Row> {
  let futures: Future<number>[] = []
  const start = performance.now()
  const values = await withProgress(`${n.toLocaleString('en-US')} no-op tasks`, () => futures, (async () => {
    futures = client.map(noop, Array.from({ length: n }, (_, i) => i))
    return client.gather(futures)
  })())
  const wallMs = performance.now() - start
  for (let i = 0; i < n; i++) if (values[i] !== i) expect(`no-op task ${i}`, values[i], i)
  return { workload: `${n.toLocaleString('en-US')} no-op tasks (map)`, wallMs, tasks: n }
}

async function treeReduction(client: Client, leaves: number): Promise<Row> {
  let root: Future<number>[] = []
  const start = performance.now()
  let level: Task<number>[] = Array.from({ length: leaves }, (_, i) => task(leaf, i))
  let tasks = level.length
  while (level.length > 1) {
    const next: Task<number>[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(task(add, level[i], level[i + 1]))
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    tasks += Math.floor(level.length / 2)
    level = next
  }
  const total = await withProgress(`${leaves.toLocaleString('en-US')}-leaf tree reduction`, () => root, (async () => {
    root = [client.compute(level[0])]
    return root[0].result()
  })())
  const wallMs = performance.now() - start
  expect('tree reduction total', total, (leaves * (leaves - 1)) / 2)
  return { workload: `${leaves.toLocaleString('en-US')}-leaf tree reduction`, wallMs, tasks }
}

function expect(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new WrongResult(`${what}: expected ${String(expected)}, got ${String(actual)}`)
}

function printTable(rows: Row[], workers: number, slots: number): void {
  const header = ['workload', 'wall time (ms)', 'tasks', 'tasks/s', 'overhead per task (us)']
  const body = rows.map((r) => [
    r.workload,
    r.wallMs.toFixed(1),
    r.tasks.toLocaleString('en-US'),
    Math.round((r.tasks / r.wallMs) * 1000).toLocaleString('en-US'),
    ((r.wallMs * 1000) / r.tasks).toFixed(1),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  // The workload column reads left to right; numbers line up on the right.
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(`skein demo: LocalCluster with ${workers} worker process(es) x ${slots} slot(s)`)
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}

async function main(): Promise<number> {
  const cluster = await LocalCluster.start()
  let client: Client | undefined
  try {
    client = await Client.connect(cluster.address)
    // Warm-up: every worker compiles the shipped functions once; not part of the measurements.
    await client.gather(client.map(noop, Array.from({ length: 200 }, (_, i) => -1 - i)))
    const rows = [await seedExperiment(client), await noopTasks(client, 100_000), await treeReduction(client, 10_000)]
    printTable(rows, cluster.workers.length, cluster.slotsPerWorker)
    return 0
  } catch (err) {
    if (err instanceof WrongResult) console.error(`skein demo: wrong result: ${err.message}`)
    else console.error('skein demo failed:', err)
    return 1
  } finally {
    await client?.close()
    await cluster.close()
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error('skein demo failed:', err)
    process.exit(1)
  },
)
