/**
 * Logging, one room for every part: pino loggers whose records carry a `component` (scheduler,
 * cluster, a worker's name, client), written as JSON lines or, on a terminal, readable lines.
 */
export { LOG_LEVELS, parseLogLevel, isLogLevel, envLogLevel, type LogLevel } from './levels'
export type { LogRecord, LogFields } from './record'
export { noticesTo, noNotices, type Log, type NoticeLevel } from './notices'
export { createLogger, isLogger, isLogOption, LOG_OPTION_EXPECTED, type Logger, type LogFunction, type LogSettings, type LogOption, type LogFormat } from './logger'
export { routeOutput } from './route'
