import { decode } from '../protocol'
import { NOT_PLAIN, readPlainValue } from '../graph/plain-value'
import { LostDataError, SkeinError } from './errors'
import type { KeyState } from './key-state'
import type { PeerPool, ValueRefusedError } from './peers'

/** After this many fruitless rounds of asking the scheduler where a value is, the value counts as lost. */
const MAX_RELOCATIONS = 5

/**
 * Fetches values of keys in memory from workers that hold them. Keys asked
 * for in one event-loop turn go to each worker as one 'get'. A holder that
 * no longer has a value (or is gone) is dropped and the next one tried; when
 * none is left, `relocate` asks the scheduler where the key is now.
 */
export class Fetcher {
  private pending = new Map<number, KeyState[]>()
  private scheduled = false

  constructor(
    private readonly peers: PeerPool,
    private readonly relocate: (state: KeyState) => void,
  ) {}

  fetch(state: KeyState): void {
    const worker = state.holders.find((w) => this.peers.has(w))
    if (worker === undefined) {
      state.fetching = false
      state.holders = []
      if (++state.relocations > MAX_RELOCATIONS) state.fail(new LostDataError(state.key, state.key), 'lost')
      else this.relocate(state)
      return
    }
    state.fetching = true
    let batch = this.pending.get(worker)
    if (batch === undefined) this.pending.set(worker, (batch = []))
    batch.push(state)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  private flush(): void {
    this.scheduled = false
    const pending = this.pending
    this.pending = new Map()
    for (const [worker, states] of pending) {
      this.peers.get(worker, states.map((s) => s.key)).then(
        (values) => this.received(worker, states, values),
        () => this.retryElsewhere(worker, states),
      )
    }
  }

  private received(worker: number, states: KeyState[], values: (Uint8Array | null | ValueRefusedError)[]): void {
    const missing: KeyState[] = []
    for (let i = 0; i < states.length; i++) {
      const state = states[i]
      const bytes = values[i]
      if (state.hasValue || state.error !== null) continue
      if (bytes === null || bytes === undefined) {
        missing.push(state)
        continue
      }
      if (bytes instanceof Error) {
        state.fail(bytes, 'error')
        continue
      }
      deliver(state, bytes, `worker ${worker}`)
    }
    if (missing.length > 0) this.retryElsewhere(worker, missing)
  }

  private retryElsewhere(worker: number, states: KeyState[]): void {
    for (const state of states) {
      if (state.hasValue || state.error !== null) continue
      state.holders = state.holders.filter((w) => w !== worker)
      this.fetch(state)
    }
  }
}

/** A value's bytes, from a worker or inline in a 'memory' message, decoded into `state` (or `state` fails naming `source`). */
export function deliver(state: KeyState, bytes: Uint8Array, source: string): void {
  let value = readPlainValue(bytes)
  if (value !== NOT_PLAIN) {
    state.fulfil(value)
    return
  }
  try {
    value = decode(bytes)
  } catch (err) {
    state.fail(new SkeinError('SKEIN_UNDECODABLE', `the value of ${state.key} from ${source} could not be decoded: ${(err as Error).message}`), 'error')
    return
  }
  state.fulfil(value)
}
