import { format } from 'node:util'

/** The console methods a task may print with, and the level of their records. */
const METHODS = { log: 'info', info: 'info', debug: 'debug', trace: 'debug', warn: 'warn', error: 'error' } as const

export type ConsoleLevel = (typeof METHODS)[keyof typeof METHODS]

/** A console line longer than this is cut: it travels to the worker, and maybe the scheduler and client. */
export const MAX_CONSOLE_LINE_CHARS = 8192

/** Lines one execution thread sends per second at most; the rest are counted and said dropped. */
const MAX_LINES_PER_SECOND = 10_000

export interface ConsoleLine {
  t: 'console'
  level: ConsoleLevel
  line: string
  /** The task that printed it; null when none ran (a callback of a task that had ended). */
  key: string | null
  /** Lines dropped before this one (past MAX_LINES_PER_SECOND). */
  dropped: number
}

/**
 * Replaces the console methods of an execution thread: each line a task prints goes to the
 * worker as a message naming the task (`currentKey`), where it becomes a log record, instead of
 * going unnamed to the process's stdout.
 */
export function captureConsole(post: (line: ConsoleLine) => void, currentKey: () => string | undefined): void {
  let windowStart = 0
  let sent = 0
  let dropped = 0
  for (const [method, level] of Object.entries(METHODS) as [keyof typeof METHODS, ConsoleLevel][]) {
    console[method] = (...args: unknown[]) => {
      const now = Date.now()
      if (now - windowStart >= 1000) {
        windowStart = now
        sent = 0
      }
      if (sent >= MAX_LINES_PER_SECOND) {
        dropped++
        return
      }
      sent++
      let line = method === 'trace' ? `Trace: ${format(...args)}\n${new Error().stack?.split('\n').slice(2).join('\n') ?? ''}` : format(...args)
      if (line.length > MAX_CONSOLE_LINE_CHARS) line = `${line.slice(0, MAX_CONSOLE_LINE_CHARS)}... (${line.length - MAX_CONSOLE_LINE_CHARS} more characters)`
      post({ t: 'console', level, line, key: currentKey() ?? null, dropped })
      dropped = 0
    }
  }
}
