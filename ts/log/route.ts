import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { isLogLevel, type LogLevel } from './levels'

/** A line longer than this is cut (a child writing without newlines must not grow the parent's memory). */
const MAX_LINE_CHARS = 64 * 1024

/**
 * Writes each line a child process prints on `stream` through `logger`: a JSON record (what a
 * skein worker process writes) keeps its level and fields, its time is the parent's; any other
 * line (a crash report, a Node warning) becomes a record of `level` with the child's `component`.
 */
export function routeOutput(stream: Readable, logger: Logger, component: string, level: 'info' | 'warn'): void {
  stream.setEncoding('utf8')
  let partial = ''
  stream.on('data', (chunk: string) => {
    let start = 0
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      const line = partial + chunk.slice(start, end)
      partial = ''
      start = end + 1
      emit(line)
    }
    partial += chunk.slice(start)
    if (partial.length > MAX_LINE_CHARS) {
      emit(partial.slice(0, MAX_LINE_CHARS))
      partial = ''
    }
  })
  stream.on('end', () => {
    if (partial !== '') emit(partial)
    partial = ''
  })
  function emit(line: string): void {
    if (line === '') return
    const record = parseRecord(line)
    if (record === null) {
      logger[level]({ component, stream: level === 'info' ? 'stdout' : 'stderr' }, line)
      return
    }
    const { level: recordLevel, time: _time, msg, ...fields } = record
    if (recordLevel === 'silent') return
    logger[recordLevel](fields.component === undefined ? { component, ...fields } : fields, msg)
  }
}

interface ChildRecord {
  level: LogLevel
  msg: string
  [field: string]: unknown
}

function parseRecord(line: string): ChildRecord | null {
  if (line.charCodeAt(0) !== 123 /* { */) return null
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  const record = value as { level?: unknown; msg?: unknown }
  if (typeof value !== 'object' || value === null || !isLogLevel(record.level) || typeof record.msg !== 'string') return null
  return value as ChildRecord
}
