/** Where the worker writes its one-line notices. */
export type Log = (line: string) => void

/**
 * How much a `skein` process writes to stderr: `error` only why it could not start or had to
 * stop; `warning` also the notices of trouble it lives through (a peer that failed, a bad
 * frame, memory pressure); `info` (default) also its banner or ready line, workers joining and
 * leaving, and reconnects.
 */
export type LogLevel = 'error' | 'warning' | 'info'

const LEVELS: readonly LogLevel[] = ['error', 'warning', 'info']

/** `value` as a LogLevel; an error naming `flag` and the levels otherwise. */
export function parseLogLevel(value: string, flag = '--log-level'): LogLevel {
  const level = value.toLowerCase()
  if ((LEVELS as readonly string[]).includes(level)) return level as LogLevel
  throw new Error(`${flag} must be one of ${LEVELS.join(', ')}, not '${value.slice(0, 40)}'`)
}

/** Whether a line of level `line` is written at level `level`. */
export function logs(level: LogLevel, line: LogLevel): boolean {
  return LEVELS.indexOf(line) <= LEVELS.indexOf(level)
}

/** The worker's notices (warnings) on stderr, or nowhere at level `error`. */
export function stderrLog(prefix: string, level: LogLevel = 'info'): Log {
  if (!logs(level, 'warning')) return () => {}
  return (line) => {
    process.stderr.write(`skein worker ${prefix}: ${line}\n`)
  }
}
