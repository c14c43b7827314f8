/**
 * One execution thread's Executor on this thread, spoken to through a MessageChannel as its
 * I/O thread would: what it reports, and when.
 */
import test from 'ava'
import path from 'node:path'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { MODULE, encodeTaskPayload, type FunctionRef } from '../ts/graph/payload'
import { decode } from '../ts/protocol'
import { Executor } from '../ts/worker/executor'
import { RESULT_FIELDS, RunBatchWriter, type FromExecutor, type ResultBatch, type ToExecutor } from '../ts/worker/hand-off'
import { InputDirectory } from '../ts/worker/input-cache'
import { ThreadState } from '../ts/worker/thread-state'

const add: FunctionRef = [MODULE, path.join(__dirname, 'fixtures', 'resilience.mjs'), 'add']

/** The I/O thread's side of one executor: hands it batches, collects its 'done' reports. */
class FakeIoThread {
  readonly reports: ResultBatch[] = []
  private readonly directory = new InputDirectory()
  private nextHandle = 1
  private waiting: { count: number; resolve: () => void } | null = null
  private readonly port: MessagePort

  constructor() {
    const { port1, port2 } = new MessageChannel()
    this.port = port2
    port2.on('message', (m: FromExecutor) => {
      if (m.t !== 'done') return
      this.reports.push(m.batch)
      if (this.waiting !== null && this.outcomes() >= this.waiting.count) this.waiting.resolve()
    })
    new Executor(port1, new ThreadState(), 2 ** 30, { scheduler: 'ws://127.0.0.1:1', token: null, tls: null, name: 'executor-spec' })
  }

  /** Hands `pairs` as one batch of tasks add(a, b) whose outcomes may wait (nothing depends on them). */
  hand(pairs: [number, number][]): void {
    const writer = new RunBatchWriter(this.directory)
    for (const args of pairs) {
      const handle = this.nextHandle++
      writer.add(handle, `add-${handle}`, encodeTaskPayload(add, args), [], [], true)
    }
    const { batch, transfer } = writer.finish()
    this.port.postMessage({ t: 'run', batch } satisfies ToExecutor, transfer)
  }

  outcomes(): number {
    return this.reports.reduce((n, r) => n + r.count, 0)
  }

  /** Resolves once `count` outcomes in all have been reported. */
  until(count: number): Promise<void> {
    if (this.outcomes() >= count) return Promise.resolve()
    return new Promise((resolve) => (this.waiting = { count, resolve }))
  }

  /** The values reported, report by report. */
  values(): unknown[][] {
    return this.reports.map((r) => {
      const data = new Uint8Array(r.data)
      return Array.from({ length: r.count }, (_, i) => {
        const at = r.index[i * RESULT_FIELDS + 3]
        return decode(data.subarray(at, at + r.index[i * RESULT_FIELDS + 4]))
      })
    })
  }

  close(): void {
    this.port.close()
  }
}

test('a thread that finds its next batch already waiting runs it before reporting: one report for both', async (t) => {
  const io = new FakeIoThread()
  try {
    // The first batch loads the module; its outcome is reported once the thread runs dry.
    io.hand([[1, 1]])
    await io.until(1)
    t.is(io.reports.length, 1)
    // Two batches handed at once: the second waits in the port while the first runs.
    io.hand([[2, 2], [3, 3]])
    io.hand([[4, 4], [5, 5]])
    await io.until(5)
    const reports = io.values()
    t.deepEqual(reports.flat(), [2, 4, 6, 8, 10])
    // The last outcome of the first batch (6) and the first of the second (8) leave together. (A
    // report may still come after the first task: outcomes wait at most 20 ms from the last
    // report, and a loaded machine may take that long between the two hand-offs.)
    const last = reports.find((r) => r.includes(6))!
    t.true(last.includes(8), `the report after the first batch held: ${JSON.stringify(reports)}`)
  } finally {
    io.close()
  }
})
