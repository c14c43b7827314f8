import type { EventEmitter } from 'node:events'
import type { Logger, LogRecord } from '../log'
import type { TaskOutputLine } from '../protocol'

/**
 * Lines tasks printed on the workers, forwarded to this client (`forwardLogs`): each is emitted
 * as a 'log' event when the client has listeners, else written through the client's logger, as
 * a record with the worker's name (component and `worker`) and the task's `key`.
 */
export class ForwardedOutput {
  constructor(
    private readonly logger: Logger,
    private readonly events: EventEmitter,
  ) {}

  receive(worker: string, lines: readonly TaskOutputLine[], dropped: number): void {
    if (dropped > 0) this.write('warn', Date.now(), worker, null, `${dropped} line(s) printed by tasks on ${worker} were not forwarded (more than the bounds allow)`)
    for (const [time, level, key, line] of lines) this.write(level, time, worker, key, line)
  }

  private write(level: LogRecord['level'], time: number, worker: string, key: string | null, msg: string): void {
    const fields = key === null ? { component: worker, worker } : { component: worker, worker, key }
    if (this.events.listenerCount('log') > 0) this.events.emit('log', { level, time, ...fields, msg } satisfies LogRecord)
    else this.logger[level](fields, msg)
  }
}
