import type { TaskRecord } from './task'

/**
 * Tasks ready to run, the scheduler's priority first: higher user priority,
 * then the older graph, then the earlier place in its graph; ties in arrival
 * order. A binary heap: a push or pop costs O(log n).
 */
export class ReadyQueue {
  private readonly heap: TaskRecord[] = []
  private arrivals = 0

  get size(): number {
    return this.heap.length
  }

  push(task: TaskRecord): void {
    task.arrival = this.arrivals++
    const heap = this.heap
    let i = heap.length
    heap.push(task)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(task, heap[parent])) break
      heap[i] = heap[parent]
      i = parent
    }
    heap[i] = task
  }

  pop(): TaskRecord | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length === 0 || last === undefined) return top
    let i = 0
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && before(heap[r], heap[l]) ? r : l
      if (!before(heap[child], last)) break
      heap[i] = heap[child]
      i = child
    }
    heap[i] = last
    return top
  }
}

function before(a: TaskRecord, b: TaskRecord): boolean {
  const pa = a.priority
  const pb = b.priority
  if (pa[0] !== pb[0]) return pa[0] > pb[0]
  if (pa[1] !== pb[1]) return pa[1] < pb[1]
  if (pa[2] !== pb[2]) return pa[2] < pb[2]
  return a.arrival < b.arrival
}
