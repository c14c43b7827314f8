import fs from 'node:fs'
import path from 'node:path'
import { Worker as Thread } from 'node:worker_threads'
import { encodeTaskFailure } from '../graph/payload'
import type { WorkerContext } from '../protocol'
import type { SourceCache, SourceRefusal, SourceWaiter } from './sources'

/** Keys listed in a WorkerContext at most. */
export const MAX_CONTEXT_KEYS = 100_000

/** What the thread starts with. */
export interface RunThreadData {
  payload: Uint8Array
  context: WorkerContext | null
  /** A value whose encoding is larger is refused (SKEIN_VALUE_TOO_LARGE). */
  maxValueBytes: number
}

export type FromRunThread = { t: 'fn?'; hash: string } | { t: 'done'; outcome: 0 | 1; bytes: Uint8Array } | { t: 'log'; line: string }
export type ToRunThread = { t: 'fn'; hash: string; source: string; name: string } | { t: 'fn-refused'; hash: string; code: string; reason: string }

/**
 * One Client.run function on a thread of its own (see run-main.ts): it answers once, with
 * the value or the failure; a thread that exits without answering, or outlives `timeoutMs`
 * (stopped then), answers with an error saying so.
 */
export class RunThread implements SourceWaiter {
  private readonly thread: Thread
  private answered = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    data: RunThreadData,
    timeoutMs: number,
    private readonly sources: SourceCache,
    log: (line: string) => void,
    private readonly answer: (outcome: 0 | 1, bytes: Uint8Array) => void,
  ) {
    this.thread = new Thread(runEntry(), { workerData: data })
    this.thread.on('message', (m: FromRunThread) => {
      if (m.t === 'fn?') sources.need(m.hash, this)
      else if (m.t === 'log') log(m.line)
      else this.settle(m.outcome, m.bytes)
    })
    let error: Error | undefined
    this.thread.on('error', (err) => (error = err))
    this.thread.on('exit', (code) => {
      sources.forget(this)
      const why = error === undefined ? `exit code ${code}` : `${error.name}: ${error.message}`
      this.fail(`the run function ended its thread before it returned (${why})`, 'SKEIN_RUN_THREAD_DIED')
    })
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => this.fail(`the run function ran longer than its timeoutMs (${timeoutMs} ms) and was stopped`, 'SKEIN_RUN_TIMEOUT'), timeoutMs)
    }
  }

  source(hash: string, source: string, name: string): void {
    if (!this.answered) this.thread.postMessage({ t: 'fn', hash, source, name } satisfies ToRunThread)
  }

  refused(hash: string, refusal: SourceRefusal): void {
    if (!this.answered) this.thread.postMessage({ t: 'fn-refused', hash, code: refusal.code, reason: refusal.reason } satisfies ToRunThread)
  }

  /** Stops the thread (the worker is closing); it answers nothing more. */
  stop(): void {
    this.answered = true
    this.end()
  }

  private fail(message: string, code: string): void {
    this.settle(1, encodeTaskFailure(Object.assign(new Error(message), { code })))
  }

  private settle(outcome: 0 | 1, bytes: Uint8Array): void {
    if (this.answered) return
    this.answered = true
    this.end()
    this.answer(outcome, bytes)
  }

  private end(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.sources.forget(this)
    void this.thread.terminate()
  }
}

let entry: string | undefined

/** The compiled thread entry: beside this module in dist/, or in dist/ above ts/ when run from source. */
function runEntry(): string {
  if (entry !== undefined) return entry
  const beside = path.join(__dirname, 'run-main.js')
  if (fs.existsSync(beside)) return (entry = beside)
  const compiled = path.join(__dirname, '..', '..', 'dist', 'worker', 'run-main.js')
  if (fs.existsSync(compiled)) return (entry = compiled)
  throw new Error(`the run thread entry ${compiled} does not exist: build skein first (npm run build:ts)`)
}
