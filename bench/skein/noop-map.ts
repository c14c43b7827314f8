import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import type { Client } from 'skein'
import type { Workload } from './workload'
import { WrongResult, expectEqual, runBase } from './workload'

const noop = (i: number) => i

/** Maps a no-op over n integers and gathers them all; checks every value. */
export async function noopMap(client: Client, n: number, base: number, onPhase: () => void = () => {}): Promise<number> {
  const items = Array.from({ length: n }, (_, i) => base + i)
  const start = performance.now()
  const futures = client.map(noop, items)
  onPhase()
  const values = await client.gather(futures)
  const wallMs = performance.now() - start
  onPhase()
  expectEqual('noop result count', values.length, n)
  for (let i = 0; i < n; i++) if (values[i] !== base + i) expectEqual(`noop task ${i}`, values[i], base + i)
  for (const f of futures) f.release()
  return wallMs
}

export const noopMapWorkload: Workload = {
  name: 'noop-map-100k',
  description: 'n independent no-op tasks (client.map), from submit until every result is back (size = n)',
  sizes: { full: 100_000, quick: 10_000, smoke: 200 },
  tasks: (n) => n,
  dask: true,
  piscina: true,
  async run({ client, run }, n) {
    const wallMs = await noopMap(client, n, runBase(run))
    return { wallMs, tasksPerSec: n / (wallMs / 1000) }
  },
}

/** Peak RSS of this process from construction to stop(): sampled every few milliseconds and whenever sample() is called (the event loop may be busy for a while). */
export class RssSampler {
  peak = process.memoryUsage.rss()
  private readonly timer: NodeJS.Timeout

  constructor(intervalMs = 5) {
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  sample(): void {
    const rss = process.memoryUsage.rss()
    if (rss > this.peak) this.peak = rss
  }

  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peak
  }
}

/**
 * The same workload at 1,000,000 tasks, skein only. The scheduler runs in
 * this process (LocalCluster embeds it), so each run also reports this
 * process's peak RSS and its growth per task over the RSS of the fresh
 * cluster (scheduler + client: both live here; the heap a run grows is not
 * given back to the OS, so this is what the machine sees). `once` runs the
 * map first, on the fresh cluster, with the client in a child process, so
 * that this process's growth is the scheduler's alone.
 */
export const noopMap1mWorkload: Workload = {
  name: 'noop-map-1m',
  description: 'as noop-map-100k at 1,000,000 tasks (skein only), with peak RSS of the process running the scheduler (size = n)',
  sizes: { full: 1_000_000, quick: 100_000, smoke: 500 },
  tasks: (n) => n,
  dask: false,
  piscina: false,
  async run({ client, run, rssAtStart }, n) {
    const sampler = new RssSampler()
    const wallMs = await noopMap(client, n, runBase(run), () => sampler.sample())
    const peak = sampler.stop()
    return {
      wallMs,
      tasksPerSec: n / (wallMs / 1000),
      rssPeakMB: peak / 2 ** 20,
      bytesPerTask: (peak - rssAtStart) / n,
    }
  },
  async once({ run }, n) {
    // The scheduler in a process of its own, fresh, and the client in another: the growth is the scheduler's.
    const host = await SchedulerHost.start()
    try {
      const wallMs = await remoteNoopMap(host.address, host.token, n, runBase(run))
      const peak = await host.stop()
      return {
        schedulerOnlyWallMs: wallMs,
        schedulerOnlyRssBeforeMB: host.rss / 2 ** 20,
        schedulerOnlyRssPeakMB: peak / 2 ** 20,
        schedulerOnlyBytesPerTask: (peak - host.rss) / n,
      }
    } finally {
      host.kill()
    }
  },
}

/** bench/skein/scheduler-host.ts in a child process: its address, its RSS when ready, its peak RSS on stop(). */
class SchedulerHost {
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
    /** The cluster's token, for clients of other processes. */
    readonly token: string | null,
    readonly rss: number,
  ) {}

  static start(): Promise<SchedulerHost> {
    const child = fork(path.join(__dirname, 'scheduler-host.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    return new Promise((resolve, reject) => {
      child.once('message', (m: { address?: string; token?: string | null; rss?: number; error?: string }) => {
        if (m.address !== undefined && m.rss !== undefined) resolve(new SchedulerHost(child, m.address, m.token ?? null, m.rss))
        else reject(new WrongResult(`the scheduler process failed: ${m.error ?? 'no address'}`))
      })
      child.once('error', reject)
      child.once('exit', (code) => reject(new WrongResult(`the scheduler process exited (code ${code}) before it was ready`)))
    })
  }

  stop(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: { peak?: number; error?: string }) => (m.peak !== undefined ? resolve(m.peak) : reject(new WrongResult(m.error ?? 'no peak'))))
      this.child.send('stop')
    })
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill()
  }
}

/** Runs noopMap in a child process connected to `address`; resolves with its wall time. */
function remoteNoopMap(address: string, token: string | null, n: number, base: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env }
    if (token === null) delete env.SKEIN_TOKEN
    else env.SKEIN_TOKEN = token
    const child = fork(path.join(__dirname, 'remote-client.ts'), [address, String(n), String(base)], {
      execArgv: ['--import', 'tsx'],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let result: { wallMs?: number; error?: string } | undefined
    child.on('message', (message) => (result = message as typeof result))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (result?.wallMs !== undefined) resolve(result.wallMs)
      else reject(new WrongResult(`the client process exited (code ${code}) without a result${result?.error ? `: ${result.error}` : ''}`))
    })
  })
}
