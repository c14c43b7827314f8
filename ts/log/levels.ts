/**
 * Log levels, pino's: a record of a level is written when its level is at or above the logger's.
 * `silent` writes nothing.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

export type LogLevel = (typeof LOG_LEVELS)[number]

/** `value` as a LogLevel ('warning' is taken for 'warn'); an error naming `flag` and the levels otherwise. */
export function parseLogLevel(value: string, flag = '--log-level'): LogLevel {
  const level = value.trim().toLowerCase()
  if (level === 'warning') return 'warn'
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel
  throw new Error(`${flag} must be one of ${LOG_LEVELS.join(', ')}, not '${value.slice(0, 40)}'`)
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)
}

/** The level SKEIN_LOG_LEVEL sets, if it is set. */
export function envLogLevel(): LogLevel | undefined {
  const value = process.env.SKEIN_LOG_LEVEL
  return value === undefined || value === '' ? undefined : parseLogLevel(value, 'SKEIN_LOG_LEVEL')
}
