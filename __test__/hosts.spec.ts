/**
 * skein across hosts: workers whose peer address cannot be reached are refused
 * when they join (on loopback, always), and, where network namespaces can be
 * made (root with iproute2), three hosts on a bridge run `skein scheduler` and
 * `skein worker` with default flags as a user would on three machines.
 */
import test, { type ExecutionContext } from 'ava'
import type { ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { Client, Scheduler, SkeinError, Worker } from '../ts/index'
import { generateToken } from '../ts/protocol'
import { cli } from './helpers/cli'
import { Hosts, namespacesUnavailable, type Host } from './helpers/netns'
import { peerStub } from './helpers/peer-stub'
import { RawConnection } from './helpers/raw'

/** A TCP server that accepts and then does `onSocket`; counts the connections it got. */
async function tcpServer(onSocket: (socket: net.Socket) => void): Promise<{ address: string; connections: () => number; close: () => void }> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    address: `ws://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

test('a worker whose advertised peer address does not answer is refused when it joins, with the address and the reason on both sides', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ log: (line) => log.push(line) }).listen()
  try {
    // It listens on 127.0.0.1 but tells everyone 127.0.0.2, where nothing listens.
    const refused = await t.throwsAsync(Worker.start({ scheduler: scheduler.address, name: 'elsewhere', host: '127.0.0.1', advertiseHost: '127.0.0.2', log: () => {} }), {
      instanceOf: SkeinError,
    })
    t.is(refused!.code, 'SKEIN_WORKER_UNREACHABLE')
    t.regex(refused!.message, /refused worker 'elsewhere': worker 'elsewhere' advertises its peer server at ws:\/\/127\.0\.0\.2:\d+, but the scheduler cannot reach it: connect ECONNREFUSED 127\.0\.0\.2:\d+/)
    t.regex(refused!.message, /--host\/--advertise-host/)
    t.true(
      log.some((line) => /refused: worker 'elsewhere' advertises its peer server at ws:\/\/127\.0\.0\.2/.test(line)),
      log.join('\n'),
    )
    t.is(scheduler.health().workers, 0)
    // The scheduler goes on serving: a worker that can be reached joins and works.
    const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
    const client = await Client.connect(scheduler.address)
    try {
      t.is(await client.submit((x: number) => x * 3, 14), 42)
      t.deepEqual(
        client.workers.map((w) => w.address),
        [worker.address],
      )
    } finally {
      await client.close()
      await worker.close()
    }
  } finally {
    await scheduler.close()
  }
})

test('the scheduler dials an address only for a worker that authenticated; a check that hangs holds up no one else and ends after its timeout', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ log: (line) => log.push(line) }).listen()
  // Accepts connections and never says a word.
  const silent = await tcpServer(() => {})
  t.teardown(silent.close)
  try {
    // A stranger's hello names the address: the scheduler closes on it and never dials it.
    const stranger = await RawConnection.open(scheduler.address)
    stranger.send(['hello-worker', 'stranger', 1, silent.address, null])
    await stranger.whenClosed()
    t.is(silent.connections(), 0, 'nothing was dialled for a party without the token')

    // An authenticated worker advertising it: dialled once, refused when the check times out.
    const worker = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
    const started = performance.now()
    worker.send(['hello-worker', 'mute', 1, silent.address, null])
    // Meanwhile everyone else is served as usual.
    const real = await Worker.start({ scheduler: scheduler.address, log: () => {} })
    const client = await Client.connect(scheduler.address)
    try {
      t.is(await client.submit((x: number) => x + 1, 1), 2)
      t.is(scheduler.health().workers, 1, 'the worker under check is not in yet')
      t.is(silent.connections(), 1)
      const refusal = await worker.next((m) => m[0] === 'error', 10_000)
      t.is(refusal[2], 'SKEIN_WORKER_UNREACHABLE')
      t.regex(refusal[3] as string, /advertises its peer server at ws:\/\/127\.0\.0\.1:\d+, but the scheduler cannot reach it: no answer within 5 s/)
      t.log(`refused ${(performance.now() - started).toFixed(0)} ms after its hello`)
      await worker.whenClosed()
      t.is(scheduler.health().workers, 1)
    } finally {
      await client.close()
      await real.close()
    }
  } finally {
    await scheduler.close()
  }
})

test('a worker that talks before it is welcomed is refused, and one that leaves during its check is never admitted', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  const silent = await tcpServer(() => {})
  t.teardown(silent.close)
  try {
    const eager = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
    eager.send(['hello-worker', 'eager', 1, silent.address, null])
    await new Promise((resolve) => setTimeout(resolve, 100))
    eager.send(['heartbeat'])
    const refusal = await eager.next((m) => m[0] === 'error')
    t.regex(refusal[3] as string, /must wait for its 'welcome'/)
    await eager.whenClosed()

    // Its peer server answers, but only after it has gone.
    const slow = await peerStub(t, scheduler.token, 400)
    const leaving = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
    leaving.send(['hello-worker', 'leaving', 1, slow, null])
    await new Promise((resolve) => setTimeout(resolve, 100))
    leaving.close()
    await new Promise((resolve) => setTimeout(resolve, 800))
    t.is(scheduler.health().workers, 0)
    t.deepEqual(scheduler.workers, [])
  } finally {
    await scheduler.close()
  }
})

// ---- Three hosts made of network namespaces ----

const unavailable = namespacesUnavailable()
if (unavailable !== null) console.log(`hosts.spec.ts: the multi-host tests are skipped: ${unavailable}`)
const hostsTest = unavailable === null ? test.serial : test.skip

const repo = path.join(__dirname, '..')
const clientFixture = path.join(__dirname, 'fixtures', 'hosts-client.mjs')
const PORT = 8786

/** A process on a host, with what it printed. */
class Proc {
  stdout = ''
  stderr = ''
  readonly exited: Promise<number | null>

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  /** Resolves with stderr once it matches `pattern`; rejects if the process exits first or after `timeoutMs`. */
  async stderrMatches(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let exited = false
    void this.exited.then(() => (exited = true))
    while (!pattern.test(this.stderr)) {
      if (exited) throw new Error(`exited before printing ${pattern}:\n${this.stderr}`)
      if (Date.now() > deadline) throw new Error(`did not print ${pattern} within ${timeoutMs} ms:\n${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    return this.stderr
  }
}

interface Cluster {
  hosts: Hosts
  scheduler: Host
  workerHosts: Host[]
  address: string
  env: NodeJS.ProcessEnv
  schedulerProc: Proc
  skein(host: Host, args: string[]): Proc
  /** Runs the client fixture in the scheduler's host; resolves with its JSON. */
  client<T>(mode: 'graph' | 'partitioned' | 'health'): Promise<T>
}

/** A host's address of `family` as it stands in a URL. */
function urlHost(host: Host, family: 4 | 6): string {
  return family === 4 ? host.ip : `[${host.ip6}]`
}

const escaped = (text: string) => text.replace(/[.[\]]/g, '\\$&')

async function threeHosts(t: ExecutionContext, family: 4 | 6 = 4): Promise<Cluster> {
  const hosts = Hosts.create(t, 3)
  const [scheduler, ...workerHosts] = hosts.hosts
  const env: NodeJS.ProcessEnv = { ...process.env, SKEIN_TOKEN: generateToken() }
  delete env.SKEIN_TOKEN_FILE
  const skein = (host: Host, args: string[]) => new Proc(hosts.spawn(host, [process.execPath, cli, ...args], { env, cwd: repo }))
  const schedulerProc = skein(scheduler, ['scheduler', '--host', family === 4 ? '0.0.0.0' : '::', '--port', String(PORT)])
  const banner = await schedulerProc.stderrMatches(/listening on .*\n/)
  // The banner lists the address that works from the other hosts.
  t.regex(banner, new RegExp(`listening on .*ws://${escaped(urlHost(scheduler, family))}:${PORT}`))
  const address = `ws://${urlHost(scheduler, family)}:${PORT}`
  const client = async <T>(mode: string): Promise<T> => {
    const proc = new Proc(hosts.spawn(scheduler, [process.execPath, clientFixture, address, mode], { env, cwd: repo }))
    const code = await proc.exited
    if (code !== 0) throw new Error(`the client (${mode}) exited with ${code}:\n${proc.stderr}`)
    return JSON.parse(proc.stdout) as T
  }
  return { hosts, scheduler, workerHosts, address, env, schedulerProc, skein, client }
}

/** Two `skein worker`s with default flags run blocks on one host summed on the other; the client fetches a large result. */
async function graphAcrossHosts(t: ExecutionContext, family: 4 | 6): Promise<void> {
  const cluster = await threeHosts(t, family)
  const workers = cluster.workerHosts.map((host) => cluster.skein(host, ['worker', cluster.address]))
  for (const [i, w] of workers.entries()) {
    const ready = await w.stderrMatches(/ready: .*\n/)
    // Default flags: each worker serves and advertises its own address on the scheduler's network.
    t.regex(ready, new RegExp(`peer server ws://${escaped(urlHost(cluster.workerHosts[i], family))}:\\d+`))
  }
  type Summed = { total: number; inputsFrom: string[]; summedOn: string }
  const result = await cluster.client<{ workers: { name: string; address: string }[]; sumOfA: Summed; sumOfB: Summed; big: { length: number; madeOn: string } }>('graph')
  // Tasks tell where they ran by their host's IPv4 address.
  const [ipA, ipB] = result.workers.map((w) => cluster.workerHosts.find((h) => new URL(w.address).hostname === urlHost(h, family))!.ip)
  t.deepEqual([ipA, ipB].sort(), cluster.workerHosts.map((h) => h.ip).sort())
  t.deepEqual(result.sumOfA, { total: 4096 * (1 + 2 + 3 + 4), inputsFrom: [ipA, ipA, ipA, ipA], summedOn: ipB })
  t.deepEqual(result.sumOfB, { total: 4096 * (11 + 12 + 13 + 14), inputsFrom: [ipB, ipB, ipB, ipB], summedOn: ipA })
  t.deepEqual(result.big, { length: 200_000, madeOn: ipB })
  const health = await cluster.client<{ workers: number; stats: { computes: number } }>('health')
  t.is(health.workers, 2)
  t.is(health.stats.computes, 11, 'every task computed once: no fetch failed, nothing recomputed')
  for (const w of workers) t.notRegex(w.stderr, /failed|error/i, w.stderr)
}

hostsTest('three hosts: skein scheduler --host 0.0.0.0 and two skein workers with default flags run a graph with cross-host dependencies; the client fetches a result from a worker', (t) =>
  graphAcrossHosts(t, 4),
)

hostsTest('three hosts over IPv6: skein scheduler --host :: and two skein workers with default flags run the same graph', (t) => graphAcrossHosts(t, 6))

hostsTest('three hosts: a worker advertising an address nobody has, or a loopback address, is refused at join and exits 2 (refused) with the address and the reason', async (t) => {
  const cluster = await threeHosts(t)
  const [hostA, hostB] = cluster.workerHosts
  const good = cluster.skein(hostA, ['worker', cluster.address])
  await good.stderrMatches(/ready: /)
  const nowhere = cluster.hosts.unusedIp
  const ghost = cluster.skein(hostB, ['worker', cluster.address, '--name', 'ghost', '--advertise-host', nowhere])
  // Listening on loopback with a scheduler on another host: the scheduler would dial its own loopback.
  const hermit = cluster.skein(hostB, ['worker', cluster.address, '--name', 'hermit', '--host', '127.0.0.1'])
  t.is(await ghost.exited, 2)
  t.is(await hermit.exited, 2)
  const quoted = nowhere.replace(/\./g, '\\.')
  t.regex(ghost.stderr, new RegExp(`refused worker 'ghost': worker 'ghost' advertises its peer server at ws://${quoted}:\\d+, but the scheduler cannot reach it: `))
  t.regex(hermit.stderr, /refused worker 'hermit': worker 'hermit' advertises its peer server at ws:\/\/127\.0\.0\.1:\d+, but the scheduler cannot reach it: connect ECONNREFUSED/)
  t.log(ghost.stderr.trim())
  await cluster.schedulerProc.stderrMatches(/refused: worker 'ghost' advertises/)
  await cluster.schedulerProc.stderrMatches(/refused: worker 'hermit' advertises/)
  const health = await cluster.client<{ workers: number }>('health')
  t.is(health.workers, 1, 'only the reachable worker joined')
})

hostsTest('three hosts: a holder that becomes unreachable from the other worker after joining errs the dependent with TransferError after a bounded number of computes', async (t) => {
  const cluster = await threeHosts(t)
  const [hostA, hostB] = cluster.workerHosts
  const workers = cluster.workerHosts.map((host) => cluster.skein(host, ['worker', cluster.address]))
  for (const w of workers) await w.stderrMatches(/ready: /)
  // A partition between the two workers only: both still reach the scheduler.
  cluster.hosts.ip(hostA, 'route', 'add', 'blackhole', `${hostB.ip}/32`)
  cluster.hosts.ip(hostB, 'route', 'add', 'blackhole', `${hostA.ip}/32`)
  const result = await cluster.client<{ error: { name: string; code: string; message: string } | null; computes: number }>('partitioned')
  t.like(result.error, { code: 'SKEIN_TRANSFER_FAILED' })
  t.regex(result.error!.message, /\(last error: .+\); check that workers can reach each other/, 'the real cause reaches the client')
  t.log(result.error!.message)
  t.log(`${result.computes} computes in all for the two keys after the partition`)
  t.true(result.computes <= 8, `${result.computes} computes`)
})

hostsTest('three hosts: the scheduler restarts and the workers come back by themselves and run the graph again', async (t) => {
  const cluster = await threeHosts(t)
  const workers = cluster.workerHosts.map((host) => cluster.skein(host, ['worker', cluster.address, '--death-timeout', '60s']))
  for (const w of workers) await w.stderrMatches(/ready: /)
  t.is((await cluster.client<{ workers: number }>('health')).workers, 2)
  cluster.schedulerProc.child.kill('SIGKILL')
  await cluster.schedulerProc.exited
  const down = Date.now()
  const restarted = cluster.skein(cluster.scheduler, ['scheduler', '--host', '0.0.0.0', '--port', String(PORT)])
  await restarted.stderrMatches(/listening on .*\n/)
  // Each worker says so once it joined the new scheduler.
  for (const w of workers) await w.stderrMatches(/rejoined the scheduler at /, 60_000)
  t.log(`both workers rejoined ${Date.now() - down} ms after the scheduler was killed`)
  const result = await cluster.client<{ sumOfA: { total: number }; sumOfB: { total: number } }>('graph')
  t.is(result.sumOfA.total, 4096 * (1 + 2 + 3 + 4))
  t.is(result.sumOfB.total, 4096 * (11 + 12 + 13 + 14))
  t.is((await cluster.client<{ workers: number }>('health')).workers, 2)
  for (const w of workers) t.is(w.child.exitCode, null, 'the worker processes lived through it')
  restarted.child.kill('SIGTERM')
  await restarted.exited
})
