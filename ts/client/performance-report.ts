import fs from 'node:fs/promises'
import { pageHtml, readBundle, type ReportData } from '../dashboard'
import type { TaskStream } from '../protocol'

export interface PerformanceReportOptions {
  /** Shown at the top of the report; default the file's name. */
  title?: string
}

/** Asks the scheduler for the runs that ended since `since` (its clock, ms) and starts or stops recording them for this client. */
export type TaskStreamFetch = (since: number, record: boolean) => Promise<TaskStream>

/**
 * Runs `work` while the scheduler records the runs that end, then writes one self-contained
 * HTML file (the dashboard's bundle and the data inlined): the task stream of the window, time
 * per task prefix and how busy each worker was. The file is written even when `work` throws
 * (then the error is thrown after it), as Dask's performance_report does.
 */
export async function performanceReport<T>(fetch: TaskStreamFetch, path: string, work: () => T | Promise<T>, options: PerformanceReportOptions): Promise<T> {
  // Read before the work: a missing bundle fails at once, not after an hour of computing.
  const bundle = readBundle()
  const opened = await fetch(Number.MAX_SAFE_INTEGER, true)
  const start = opened[2]
  let result: T
  try {
    result = await work()
  } finally {
    const [, , end, runs, prefixes, workers, dropped] = await fetch(start, false)
    const data: ReportData = { title: options.title ?? path.split(/[\\/]/).pop() ?? path, start, end, runs: Array.from(runs), prefixes, workers, dropped }
    await fs.writeFile(path, pageHtml(`skein performance report: ${data.title}`, { inline: bundle }, data))
  }
  return result
}
