import type { LogLevel } from './levels'

/**
 * One log record, as written in JSON (one object a line): its level's name, the time (ms since
 * the epoch), the part of skein that wrote it (`component`: 'scheduler', 'cluster', a worker's
 * name), the notice (`msg`), and fields that depend on the notice (`worker`, `key`, `address`...).
 */
export interface LogRecord {
  level: Exclude<LogLevel, 'silent'>
  time: number
  component: string
  msg: string
  [field: string]: unknown
}

/** Fields a notice adds to its record. */
export type LogFields = Record<string, string | number | boolean | null | undefined>
