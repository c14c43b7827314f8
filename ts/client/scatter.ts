import { shortHash } from '../graph'
import { assertEncodable, encode } from '../protocol'
import type { SchedulerConnection } from './connection'
import { SkeinError } from './errors'
import type { Future } from './future'
import type { KeyState } from './key-state'
import type { KeyTable } from './key-table'
import { clientMaxValueBytes, type PeerPool } from './peers'

export interface ScatterOptions {
  /** Names of the workers to place the values on (round-robin among them); default all. */
  workers?: readonly string[]
  /** `false` gives every value its own key even when equal values were scattered before. Default `true`. */
  hash?: boolean
  /** Milliseconds to wait for a first worker to join; default 10,000. */
  timeout?: number
  /**
   * Place every value on every worker (of `workers`, if given) instead of one each, for data
   * that many tasks everywhere read (Dask's `broadcast=True`). A value scattered before under
   * the same key is not sent again.
   */
  broadcast?: boolean
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
 * Puts each new value on a worker through its peer server while telling the
 * scheduler where the data is. Values already held under the same key are
 * not sent again. `start` offsets the round-robin so successive calls spread.
 */
export async function scatterValues(values: readonly unknown[], options: ScatterOptions, start: number, ctx: ScatterContext): Promise<Future[]> {
  const targets = targetWorkers(ctx.peers, options.workers)
  const placements = new Map<number, { states: KeyState[]; entries: [string, Buffer][] }>()
  const created: KeyState[] = []
  const futures: Future[] = []
  const maxValueBytes = clientMaxValueBytes()
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    try {
      assertEncodable(value, () => `values[${i}]`)
    } catch (err) {
      throw new SkeinError('SKEIN_UNENCODABLE', `scatter: ${(err as Error).message}`)
    }
    const bytes = encode(value)
    if (bytes.byteLength > maxValueBytes) {
      throw new SkeinError('SKEIN_VALUE_TOO_LARGE', `scatter: values[${i}] encodes to ${bytes.byteLength} bytes; a client sends values of at most ${maxValueBytes} bytes (its machine's memory)`)
    }
    const key = options.hash === false ? `scatter-${shortHash(`${process.pid}:${uniqueCounter++}:${Math.random()}`)}` : `scatter-${shortHash(bytes)}`
    let state = ctx.keys.get(key)
    if (state === undefined) {
      state = ctx.keys.state(key)
      state.preset(value)
      created.push(state)
      for (const worker of options.broadcast === true ? targets : [targets[(start + i) % targets.length]]) {
        let placement = placements.get(worker)
        if (placement === undefined) placements.set(worker, (placement = { states: [], entries: [] }))
        placement.states.push(state)
        placement.entries.push([key, bytes])
      }
    }
    futures.push(ctx.hold(state))
  }
  // The data goes to the workers and the news of where it is to the scheduler at once: one round
  // trip, not two. Nothing can use the keys before both are done (the caller gets its futures
  // then), so the scheduler never sends a task to a worker still waiting for its scattered input.
  const located: { state: KeyState; worker: number; nbytes: number }[] = []
  for (const [worker, { states, entries }] of placements) {
    for (let j = 0; j < states.length; j++) located.push({ state: states[j], worker, nbytes: entries[j][1].byteLength })
  }
  const told = located.length > 0 ? ctx.connection.request((request) => ['scattered', request, located.map((e): [string, number, number] => [e.state.key, e.worker, e.nbytes])]) : Promise.resolve()
  // One put per worker: its large values follow it in chunks (see PeerPool.put); the worker refuses values past its memory limit.
  const put = Promise.all([...placements].map(([worker, { entries }]) => ctx.peers.put(worker, entries)))
  const [toldOutcome, putOutcome] = await Promise.allSettled([told, put])
  const failure = toldOutcome.status === 'rejected' ? toldOutcome.reason : putOutcome.status === 'rejected' ? putOutcome.reason : null
  if (failure !== null) {
    // What the scheduler accepted is released: a worker may not have it.
    if (toldOutcome.status === 'fulfilled' && ctx.connection.isOpen) ctx.connection.send(['release', located.map((e) => e.state.key)])
    for (const state of created) {
      if (!state.attached) continue
      ctx.keys.detach(state)
      state.fail(failure as Error, 'error')
    }
    throw failure
  }
  // A broadcast value has a holder per worker.
  const holders = new Map<KeyState, { nbytes: number; workers: number[] }>()
  for (const { state, worker, nbytes } of located) {
    const held = holders.get(state)
    if (held === undefined) holders.set(state, { nbytes, workers: [worker] })
    else held.workers.push(worker)
  }
  for (const [state, { nbytes, workers }] of holders) state.located(nbytes, workers)
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
