import { GRAPH_HEADER_BYTES, GraphWriter, type CallTemplate, type GraphSlice, type Task } from '../graph'

/**
 * Tasks with no Task upstream and derived keys (map, submit), encoded into one graph as they
 * are added, before the client looks at any of their keys: nothing is tracked until every task
 * of the call is built (a bad argument throws with nothing submitted). Tasks whose key turns out
 * held already are cut out afterwards (`graph`).
 */
export class NewTasks {
  private readonly writer: GraphWriter
  /** The key of each task, in order. */
  readonly keys: string[]
  /** Where each task ends in the writer's buffer. */
  private readonly ends: Uint32Array
  count = 0

  constructor(capacity: number, bytesPerTask: number) {
    this.writer = new GraphWriter(capacity * bytesPerTask + 64)
    this.keys = new Array<string>(capacity)
    this.ends = new Uint32Array(capacity)
  }

  add(task: Task): void {
    this.writer.add(task)
    this.keys[this.count] = task.key
    this.ends[this.count++] = this.writer.length
  }

  /** Adds `template.fn(item)` if `item` is plain (see GraphWriter.addCall); false if not (nothing added). */
  addCall(template: CallTemplate, item: unknown): boolean {
    // The first call tells the size of the rest: room for all of them at once, not by doubling.
    if (this.count === 0) this.writer.expect((this.keys.length + 1) * template.typicalBytes)
    const key = this.writer.addCall(template, item)
    if (key === null) return false
    this.keys[this.count] = key
    this.ends[this.count++] = this.writer.length
    return true
  }

  /**
   * The graph of the tasks `kept` marks (all when null), and where each of them ends in it;
   * the tasks must not be added to after.
   */
  graph(kept: Uint8Array | null): { graph: GraphSlice; ends: Uint32Array } {
    const all = this.writer.tasks()
    if (kept === null) return { graph: all, ends: this.ends.subarray(0, this.count) }
    let size = GRAPH_HEADER_BYTES
    let n = 0
    for (let i = 0; i < this.count; i++) {
      if (kept[i] === 0) continue
      n++
      size += this.ends[i] - (i === 0 ? GRAPH_HEADER_BYTES : this.ends[i - 1])
    }
    const bytes = Buffer.allocUnsafe(size)
    const ends = new Uint32Array(n)
    let pos = GRAPH_HEADER_BYTES
    n = 0
    for (let i = 0; i < this.count; i++) {
      if (kept[i] === 0) continue
      const start = i === 0 ? GRAPH_HEADER_BYTES : this.ends[i - 1]
      pos += all.bytes.copy(bytes, pos, start, this.ends[i])
      ends[n++] = pos
    }
    return { graph: { bytes, start: GRAPH_HEADER_BYTES, end: pos, count: n }, ends }
  }
}
