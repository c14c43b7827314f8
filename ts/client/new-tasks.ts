import { GraphWriter, type CallTemplate, type Task } from '../graph'

/** The layout's graph header: an array32 of the tasks. */
const GRAPH_HEADER_BYTES = 5

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
  /** Where each task ends in the writer's buffer (an array, not a typed one: cheaper to make for a single submit). */
  private readonly ends: number[]
  count = 0

  constructor(capacity: number, bytesPerTask: number) {
    this.writer = new GraphWriter(capacity * bytesPerTask + 64)
    this.keys = new Array<string>(capacity)
    this.ends = new Array<number>(capacity)
  }

  add(task: Task): void {
    this.writer.add(task)
    this.keys[this.count] = task.key
    this.ends[this.count++] = this.writer.length
  }

  /** Adds `template.fn(item)` if `item` is plain (see GraphWriter.addCall); false if not (nothing added). */
  addCall(template: CallTemplate, item: unknown): boolean {
    const key = this.writer.addCall(template, item)
    if (key === null) return false
    this.keys[this.count] = key
    this.ends[this.count++] = this.writer.length
    return true
  }

  /**
   * The graph of the tasks `kept` marks (all when null), and where each of them ends in it
   * (positions past the last task's are not to be read); the tasks must not be added to after.
   */
  graph(kept: Uint8Array | null): { graph: Buffer; ends: ArrayLike<number> } {
    const all = this.writer.finish()
    if (kept === null) return { graph: all, ends: this.ends }
    let size = GRAPH_HEADER_BYTES
    let n = 0
    for (let i = 0; i < this.count; i++) {
      if (kept[i] === 0) continue
      n++
      size += this.ends[i] - (i === 0 ? GRAPH_HEADER_BYTES : this.ends[i - 1])
    }
    const graph = Buffer.allocUnsafe(size)
    const ends = new Uint32Array(n)
    graph[0] = 0xdd // array32
    graph.writeUInt32BE(n, 1)
    let pos = GRAPH_HEADER_BYTES
    n = 0
    for (let i = 0; i < this.count; i++) {
      if (kept[i] === 0) continue
      const start = i === 0 ? GRAPH_HEADER_BYTES : this.ends[i - 1]
      pos += all.copy(graph, pos, start, this.ends[i])
      ends[n++] = pos
    }
    return { graph, ends }
  }
}
