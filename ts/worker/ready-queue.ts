import type { TaskRecord } from './task'

/**
 * Tasks ready to run, the scheduler's priority first: higher user priority,
 * then the older graph, then the earlier place in its graph; ties in arrival
 * order. The scheduler mostly sends tasks in the order they should run: those
 * go to a first-in first-out run (O(1) each way); a task that would run before
 * the run's last goes to a binary heap (O(log n)). A pop takes the earlier of
 * the run's head and the heap's top.
 */
export class ReadyQueue {
  /** Tasks in running order, from `head` on. */
  private run: TaskRecord[] = []
  private head = 0
  private readonly heap: TaskRecord[] = []
  private arrivals = 0

  get size(): number {
    return this.run.length - this.head + this.heap.length
  }

  push(task: TaskRecord): void {
    task.arrival = this.arrivals++
    const run = this.run
    if (run.length === this.head || !before(task, run[run.length - 1])) {
      run.push(task)
      return
    }
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

  /** The task pop() would take, left in place. */
  peek(): TaskRecord | undefined {
    return this.runFirst() ? this.run[this.head] : this.heap[0]
  }

  pop(): TaskRecord | undefined {
    const run = this.run
    if (this.runFirst()) {
      const task = run[this.head]
      run[this.head++] = undefined as unknown as TaskRecord
      if (this.head === run.length) {
        this.run = []
        this.head = 0
      } else if (this.head >= 1024 && this.head * 2 >= run.length) {
        // Drop the popped front now and then: the run's array does not grow without end.
        this.run = run.slice(this.head)
        this.head = 0
      }
      return task
    }
    return this.popHeap()
  }

  /** The run's head goes before the heap's top (the run is not empty). */
  private runFirst(): boolean {
    return this.head < this.run.length && (this.heap.length === 0 || !before(this.heap[0], this.run[this.head]))
  }

  private popHeap(): TaskRecord | undefined {
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
