import type { ExecutionContext } from 'ava'
import type { LogFunction, LogRecord } from '../../ts/index'

/** Records kept at most, newest last. */
const KEEP = 200

/**
 * A cluster's log records kept instead of printed, so the suite's output stays quiet: a test
 * that fails shows them (`report` in an afterEach.always hook).
 */
export class KeptLog {
  private records: LogRecord[] = []

  readonly log: LogFunction = (_msg, record) => {
    this.records.push(record)
    if (this.records.length > KEEP) this.records.shift()
  }

  /** Logs the kept records to a failed test's output; forgets them either way. */
  report(t: ExecutionContext): void {
    if (!t.passed) for (const r of this.records) t.log(JSON.stringify(r))
    this.records = []
  }
}
