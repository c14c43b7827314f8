import { shortHash } from '../graph'
import { assertEncodable, encode } from '../protocol'
import type { SchedulerConnection } from './connection'
import { SkeinError } from './errors'
import type { Future } from './future'
import type { KeyState } from './key-state'
import type { KeyTable } from './key-table'
import type { PeerPool } from './peers'

export interface ScatterOptions {
  /** Names of the workers to place the values on (round-robin among them); default all. */
  workers?: readonly string[]
  /** `false` gives every value its own key even when equal values were scattered before. Default `true`. */
  hash?: boolean
  /** Milliseconds to wait for a first worker to join; default 10,000. */
  timeout?: number
}

/** What scattering needs from the client. */
export interface ScatterContext {
  keys: KeyTable
  peers: PeerPool
  connection: SchedulerConnection
  hold: (state: KeyState) => Future
}

let uniqueCounter = 0

/**
 * Puts each new value on a worker through its peer server, then tells the
 * scheduler where the data is. Values already held under the same key are
 * not sent again. `start` offsets the round-robin so successive calls spread.
 */
export async function scatterValues(values: readonly unknown[], options: ScatterOptions, start: number, ctx: ScatterContext): Promise<Future[]> {
  const targets = targetWorkers(ctx.peers, options.workers)
  const placements = new Map<number, { states: KeyState[]; entries: [string, Buffer][] }>()
  const created: KeyState[] = []
  const futures: Future[] = []
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    try {
      assertEncodable(value, () => `values[${i}]`)
    } catch (err) {
      throw new SkeinError('SKEIN_UNENCODABLE', `scatter: ${(err as Error).message}`)
    }
    const bytes = encode(value)
    const key = options.hash === false ? `scatter-${shortHash(`${process.pid}:${uniqueCounter++}:${Math.random()}`)}` : `scatter-${shortHash(bytes)}`
    let state = ctx.keys.get(key)
    if (state === undefined) {
      state = ctx.keys.state(key)
      state.preset(value)
      created.push(state)
      const worker = targets[(start + i) % targets.length]
      let placement = placements.get(worker)
      if (placement === undefined) placements.set(worker, (placement = { states: [], entries: [] }))
      placement.states.push(state)
      placement.entries.push([key, bytes])
    }
    futures.push(ctx.hold(state))
  }
  try {
    const placed = await Promise.all(
      [...placements].map(async ([worker, { states, entries }]) => {
        const sizes = await ctx.peers.put(worker, entries)
        return states.map((state, j) => ({ state, worker, nbytes: sizes[j] }))
      }),
    )
    const entries = placed.flat()
    if (entries.length > 0) await ctx.connection.request((request) => ['scattered', request, entries.map((e) => [e.state.key, e.worker, e.nbytes])])
    for (const { state, worker, nbytes } of entries) state.located(nbytes, [worker])
  } catch (err) {
    for (const state of created) {
      if (!state.attached) continue
      ctx.keys.detach(state)
      state.fail(err as Error, 'error')
    }
    throw err
  }
  return futures
}

function targetWorkers(peers: PeerPool, names: readonly string[] | undefined): number[] {
  const workers = peers.list()
  if (names === undefined) return workers.map((w) => w.id)
  const ids = names.map((name) => {
    const worker = workers.find((w) => w.name === name)
    if (worker === undefined) {
      throw new SkeinError('SKEIN_UNKNOWN_WORKER', `scatter: no worker is named ${name} (connected: ${workers.map((w) => w.name).join(', ') || 'none'})`)
    }
    return worker.id
  })
  if (ids.length === 0) throw new SkeinError('SKEIN_UNKNOWN_WORKER', 'scatter: option workers is empty')
  return ids
}
