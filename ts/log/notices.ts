import type { Logger } from 'pino'
import type { LogFields } from './record'

/** The levels a part of skein writes its notices at. */
export type NoticeLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * How the parts of skein write a notice: its text (the record's `msg`), its level (default
 * `warn`: most notices are trouble lived through) and fields of the record.
 */
export type Log = (msg: string, level?: NoticeLevel, fields?: LogFields) => void

/** A Log writing to `logger`. */
export function noticesTo(logger: Logger): Log {
  return (msg, level = 'warn', fields) => {
    if (fields === undefined) logger[level](msg)
    else logger[level](fields, msg)
  }
}

/** A Log that writes nothing. */
export const noNotices: Log = () => {}
