import { GraphWriter, type GraphOrder } from '../graph'
import type { SubmitStream } from './batch-stream'
import type { KeyState } from './key-state'

/** Tasks in the first submit of a graph: small, so the first tasks run while the rest is still being encoded. */
export const FIRST_CHUNK = 1024
/** Later submits double up to this many tasks, one per event-loop turn. */
export const MAX_CHUNK = 16384
/** A graph up to this size (or one with bare KeyRef dependencies) goes in one submit, as it always did. */
export const STREAM_THRESHOLD = 4 * FIRST_CHUNK

/** A state the user asked for, at its task's position in the graph order. */
export interface Wanted {
  state: KeyState
  position: number
}

/** What a stream needs from the client. */
export interface StreamSink {
  /** True if the client holds a future of `key` (so the key is wanted anyway: no bridge needed). */
  holds(key: string): boolean
  /** Sends one submit; `states[i]` gets the id of wanted[i] from the reply; the promise rejects on refusal. */
  submit(graph: Buffer, wanted: Uint32Array, states: KeyState[]): Promise<void>
  /** Drops this client's want of `keys` at the scheduler. */
  release(keys: string[]): void
  /** Stops tracking `state` (no release message). */
  detach(state: KeyState): void
}

/**
 * Sends one graph as a sequence of submits, in dependency order, so the
 * scheduler starts the first tasks while the rest is still being encoded.
 *
 * Every submit's dependencies are in earlier submits (or were known before),
 * which the scheduler accepts. The scheduler forgets, at the end of a submit,
 * every new task that nothing wants; so a task whose dependents come in a later
 * submit is wanted by this client as a *bridge* until the submit holding its
 * last dependent has been sent, then released (its dependents hold it by then).
 *
 * If the scheduler refuses any submit, the whole graph fails as one: every
 * future it created that has no value yet rejects with that SchedulerError,
 * nothing more is sent, and every key this graph made wanted (results and
 * bridges) is released, so no task of it is left running or held.
 */
export class GraphStream implements SubmitStream {
  private from = 0
  private size: number
  private nextWanted = 0
  /** Bridges not yet released, with the position of their last dependent. */
  private bridges: { key: string; until: number }[] = []
  /** Every key this stream made wanted at the scheduler: released if the graph fails. */
  private readonly sent: string[] = []
  private error: Error | null = null

  constructor(
    private readonly order: GraphOrder,
    /** Sorted by position. */
    private readonly wanted: readonly Wanted[],
    /** Every state the graph created (failed together on refusal). */
    private readonly created: readonly KeyState[],
    private readonly sink: StreamSink,
  ) {
    this.size = order.looseRefs || order.tasks.length <= STREAM_THRESHOLD ? order.tasks.length : FIRST_CHUNK
  }

  /** Nothing more to send (all sent, or the graph failed). */
  get done(): boolean {
    return this.error !== null || this.from >= this.order.tasks.length
  }

  /** Sends the next submit. */
  sendChunk(): void {
    if (this.done) return
    const { tasks, lastUse } = this.order
    const from = this.from
    const to = Math.min(tasks.length, from + this.size)
    this.from = to
    this.size = Math.min(MAX_CHUNK, this.size * 2)
    let bytes = 64
    for (let i = from; i < to; i++) bytes += tasks[i].payload.length + 96
    const writer = new GraphWriter(bytes)
    // Two Task objects may share a key (equal calls built twice): one graph must hold each key once.
    const index = new Map<string, number>()
    const local = new Int32Array(to - from)
    for (let i = from; i < to; i++) {
      const t = tasks[i]
      const at = index.get(t.key)
      if (at === undefined) {
        index.set(t.key, writer.count)
        local[i - from] = writer.count
        writer.add(t)
      } else local[i - from] = at
    }
    const wantedIdx: number[] = []
    const states: KeyState[] = []
    while (this.nextWanted < this.wanted.length && this.wanted[this.nextWanted].position < to) {
      const w = this.wanted[this.nextWanted++]
      wantedIdx.push(local[w.position - from])
      states.push(w.state)
      this.sent.push(w.state.key)
    }
    if (to < tasks.length) {
      for (let i = from; i < to; i++) {
        if (lastUse[i] < to) continue
        const key = tasks[i].key
        if (this.sink.holds(key)) continue
        wantedIdx.push(local[i - from])
        this.bridges.push({ key, until: lastUse[i] })
        this.sent.push(key)
      }
    }
    this.sink.submit(writer.finish(), Uint32Array.from(wantedIdx), states).catch((error: Error) => this.fail(error))
    // Dependents of these bridges are all sent now (the channel keeps order): they hold them.
    if (this.bridges.length > 0) {
      const done: string[] = []
      this.bridges = this.bridges.filter((b) => {
        if (b.until >= to) return true
        done.push(b.key)
        return false
      })
      if (done.length > 0) this.sink.release(done)
    }
  }

  private fail(error: Error): void {
    if (this.error !== null) return
    this.error = error
    abandon(this.created, error, this.sink)
    if (this.sent.length > 0) this.sink.release(this.sent)
  }
}

/** A refused submit: the client stops tracking `states`, and those without a value fail with `error`. */
export function abandon(states: readonly KeyState[], error: Error, sink: Pick<StreamSink, 'detach'>): void {
  for (const state of states) {
    if (!state.attached) continue
    sink.detach(state)
    if (!state.hasValue) state.fail(error, 'error')
  }
}
