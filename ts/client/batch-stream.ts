import { abandon, FIRST_CHUNK, MAX_CHUNK, type StreamSink } from './graph-stream'
import type { KeyState } from './key-state'

/** Something the client sends as several submits, one per event-loop turn (see Client.startStream). */
export interface SubmitStream {
  readonly done: boolean
  sendChunk(): void
}

/**
 * Sends many tasks with no dependencies among them (a large `map`) as a
 * sequence of submits, so the scheduler starts the first ones on the workers
 * while it is still taking in the rest: one submit of a million tasks would
 * keep every worker idle until all of it is decoded and inserted.
 *
 * The tasks come already encoded, back to back, in one graph buffer (see
 * GraphWriter); `ends[i]` is where task i ends. Each submit is a slice of it
 * behind its own array header, every task in it wanted. If the scheduler
 * refuses one, every state without a value fails with that error, nothing
 * more is sent and what was sent is released.
 */
export class BatchStream implements SubmitStream {
  private from = 0
  private size = FIRST_CHUNK
  private error: Error | null = null

  constructor(
    /** The graph as GraphWriter.finish() returned it: a 5-byte array header, then the tasks. */
    private readonly graph: Buffer,
    private readonly ends: ArrayLike<number>,
    /** The new states, in the graph's order. */
    private readonly states: readonly KeyState[],
    private readonly sink: StreamSink,
  ) {}

  get done(): boolean {
    return this.error !== null || this.from >= this.states.length
  }

  sendChunk(): void {
    if (this.done) return
    const from = this.from
    const to = Math.min(this.states.length, from + this.size)
    this.from = to
    this.size = Math.min(MAX_CHUNK, this.size * 2)
    const start = from === 0 ? 5 : this.ends[from - 1]
    const end = this.ends[to - 1]
    const chunk = Buffer.allocUnsafe(5 + end - start)
    chunk[0] = 0xdd // array32
    chunk.writeUInt32BE(to - from, 1)
    this.graph.copy(chunk, 5, start, end)
    const wanted = new Uint32Array(to - from)
    for (let i = 0; i < wanted.length; i++) wanted[i] = i
    this.sink.submit(chunk, wanted, this.states.slice(from, to)).catch((error: Error) => this.fail(error))
  }

  /** Fails every state and releases the keys of every submit sent (the scheduler may hold some). */
  private fail(error: Error): void {
    if (this.error !== null) return
    this.error = error
    const sent = this.states.slice(0, this.from).filter((state) => state.attached).map((state) => state.key)
    abandon(this.states, error, this.sink)
    if (sent.length > 0) this.sink.release(sent)
  }
}
