import pino, { type DestinationStream, type Logger } from 'pino'
import { checkOptions, InvalidOptionsError, isPlainObject } from '../protocol'
import { envLogLevel, isLogLevel, type LogLevel } from './levels'
import type { LogRecord } from './record'

export type { Logger } from 'pino'

/** Receives each record written: its `msg`, and the whole record. */
export type LogFunction = (msg: string, record: LogRecord) => void

export type LogFormat = 'json' | 'pretty'

export interface LogSettings {
  /** Records below this level are not written. Default: SKEIN_LOG_LEVEL, else the part's default (info). */
  level?: LogLevel
  /**
   * Where records go: a function receiving each, a writable stream, or a file path (appended to).
   * Default: stderr.
   */
  destination?: LogFunction | NodeJS.WritableStream | string
  /**
   * `json`: one JSON object a line; `pretty`: a readable line each. Default: SKEIN_LOG_FORMAT, else
   * pretty on a terminal and json otherwise (a function always receives records).
   */
  format?: LogFormat
}

/**
 * The `log` option of Scheduler, Worker and LocalCluster: a function receiving each record
 * (`(msg, record) => ...`), settings, a pino logger of the caller's, or false for none.
 */
export type LogOption = LogFunction | LogSettings | Logger | false

const SETTINGS = {
  level: { test: isLogLevel, expected: 'a log level (trace, debug, info, warn, error, fatal, silent)' },
  destination: { test: isDestination, expected: 'a function, a writable stream or a file path' },
  format: { test: (v: unknown) => v === 'json' || v === 'pretty', expected: "'json' or 'pretty'" },
} as const

/** Whether `value` can be a `log` option (for the options checks of the parts that take one). */
export function isLogOption(value: unknown): value is LogOption {
  return value === false || typeof value === 'function' || isLogger(value) || isPlainObject(value)
}

export const LOG_OPTION_EXPECTED = 'a function, a pino logger, false or { level, destination, format }'

/**
 * The root logger (no component) a `log` option describes; `where` names the call in errors.
 * Its level: the option's, else SKEIN_LOG_LEVEL, else info.
 */
export function createLogger(option: LogOption | undefined, where: string): Logger {
  if (isLogger(option)) return option
  if (option === false) return pino({ level: 'silent' }, { write() {} })
  if (option !== undefined && !isLogOption(option)) throw new InvalidOptionsError(`${where} option 'log' must be ${LOG_OPTION_EXPECTED}`)
  const settings: LogSettings = typeof option === 'function' ? { destination: option } : (option ?? {})
  if (typeof option !== 'function') checkOptions(where, settings, SETTINGS, (m) => new InvalidOptionsError(m), 'log.')
  let level: LogLevel
  try {
    level = settings.level ?? envLogLevel() ?? 'info'
  } catch (err) {
    throw new InvalidOptionsError((err as Error).message)
  }
  return pino({ level, base: null, formatters: { level: (label) => ({ level: label }) } }, destinationOf(settings))
}

function destinationOf(settings: LogSettings): DestinationStream {
  const to = settings.destination
  if (typeof to === 'function') {
    return {
      write(line: string) {
        const record = JSON.parse(line) as LogRecord
        to(record.msg, record)
      },
    }
  }
  const format = settings.format ?? envFormat()
  if (to === undefined) {
    const pretty = format === undefined ? process.stderr.isTTY === true : format === 'pretty'
    // process.stderr itself (synchronous on Linux for files, pipes and terminals), so whatever wraps or replaces its write sees the records.
    return pretty ? prettyTo(process.stderr, process.stderr.isTTY === true) : process.stderr
  }
  const stream: DestinationStream = typeof to === 'string' ? pino.destination({ dest: to, sync: true, mkdir: true }) : (to as DestinationStream)
  return format === 'pretty' ? prettyTo(stream, false) : stream
}

function envFormat(): LogFormat | undefined {
  const value = process.env.SKEIN_LOG_FORMAT
  if (value === undefined || value === '') return undefined
  if (value === 'json' || value === 'pretty') return value
  throw new InvalidOptionsError(`SKEIN_LOG_FORMAT must be 'json' or 'pretty', not '${value.slice(0, 40)}'`)
}

/** Readable lines: time, level, component, the task's key if any, the notice, then the other fields. */
function prettyTo(out: DestinationStream, colorize: boolean): DestinationStream {
  // Loaded only when used: worker processes (whose stderr is a pipe) never load it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty')
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'component,key',
    messageFormat: '{component}{if key} [{key}]{end}: {msg}',
    singleLine: true,
  })
  return {
    write(line: string) {
      out.write(prettify(line))
    },
  }
}

export function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && !isPlainObject(value) && typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function'
}

function isDestination(value: unknown): boolean {
  return typeof value === 'function' || typeof value === 'string' || (typeof value === 'object' && value !== null && typeof (value as { write?: unknown }).write === 'function')
}
