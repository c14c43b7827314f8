import type { Future } from 'skein'
import { CLUSTER } from './runner'
import { spinFor } from './spin-for'
import type { Workload } from './workload'
import { WrongResult, expectEqual, percentile, runBase, wallClockMs } from './workload'

/** A stored value of 4 KiB: past the 1 KiB that rides inline with the scheduler's notice, so a fetch goes to the worker. */
const blob = (seed: number) => `${seed}:`.padEnd(4096, '#')

/** Fetches taken idle, before the slots are made busy: the reference. */
const IDLE_FETCHES = 20

/**
 * Time to fetch a result from a worker whose every slot is in a synchronous
 * loop. One run: `busyMs` values of 4 KiB computed on worker 0; a few fetched
 * while it is idle; then one `busyMs` loop per slot of worker 0 and, while they
 * run, the client gathers the other values one after another. The figures
 * count only fetches started while every loop was running (by the loops' own
 * start and end stamps); a fetch may end after (today: when the loop ends).
 */
export const busyFetchWorkload: Workload = {
  name: 'busy-fetch',
  description: 'client fetches of 4 KiB results from a worker whose every slot runs a synchronous loop of `size` ms (skein only; size = loop ms)',
  sizes: { full: 2000, quick: 1000, smoke: 300 },
  tasks: (busyMs) => busyMs + CLUSTER.slotsPerWorker,
  dask: false,
  piscina: false,
  async run({ client, run }, busyMs) {
    await client.waitForWorkers(CLUSTER.workers)
    const busyWorker = [...client.workers].sort((a, b) => a.name.localeCompare(b.name))[0].name
    const on = { restrictions: [busyWorker] }
    const base = runBase(run)
    const seeds = Array.from({ length: busyMs }, (_, i) => base + i)
    const held = client.map(blob, seeds, on)
    // Computed without fetching: asCompleted only watches for the scheduler's notice.
    for await (const { future } of client.asCompleted(held)) expectEqual(`held value ${future.key}`, future.status, 'finished')
    let next = 0
    const fetchNext = async (): Promise<[number, number]> => {
      const i = next++
      const start = wallClockMs()
      const value = await held[i]
      const end = wallClockMs()
      expectEqual(`held value ${i}`, value, blob(seeds[i]))
      return [start, end]
    }
    const idle: number[] = []
    for (let k = 0; k < IDLE_FETCHES; k++) {
      const [start, end] = await fetchNext()
      idle.push(end - start)
    }

    const busy = Array.from({ length: CLUSTER.slotsPerWorker }, () => client.submitWith({ ...on, pure: false }, spinFor, busyMs, base))
    let busyOver = false
    const loops = Promise.all(busy)
    loops.then(
      () => (busyOver = true),
      () => (busyOver = true),
    )
    // Time for the loops to start, so that the first fetches are not all issued before them.
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, busyMs / 4)))
    const fetches: [number, number][] = []
    while (!busyOver && next < held.length) fetches.push(await fetchNext())
    const stamps = await loops
    for (const [token] of stamps) expectEqual('busy loop token', token, base)
    const allBusyFrom = Math.max(...stamps.map((s) => s[1]))
    const allBusyTo = Math.min(...stamps.map((s) => s[2]))
    const during = fetches.filter(([start]) => start >= allBusyFrom && start < allBusyTo).map(([start, end]) => end - start)
    if (during.length === 0) {
      throw new WrongResult(`no fetch started while every slot was busy (${fetches.length} fetches; loops ran ${allBusyFrom.toFixed(0)}-${allBusyTo.toFixed(0)})`)
    }
    release([...held, ...busy])
    return {
      fetches: during.length,
      medianMs: percentile(during, 0.5),
      p99Ms: percentile(during, 0.99),
      maxMs: Math.max(...during),
      idleMedianMs: percentile(idle, 0.5),
    }
  },
}

function release(futures: readonly Future[]): void {
  for (const f of futures) f.release()
}
