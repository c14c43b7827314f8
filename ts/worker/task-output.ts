import { MAX_TASK_OUTPUT_LINES, type TaskOutput, type TaskOutputLine } from '../protocol'
import type { ConsoleLine } from './task-console'

/** Lines wait this long at most before they are sent (ms): one message carries many. */
const SEND_EVERY_MS = 100

/**
 * The lines this worker's tasks print, sent to the scheduler while it asks for them (a client
 * wants them): batched, at most MAX_TASK_OUTPUT_LINES per SEND_EVERY_MS, the rest counted as
 * dropped and said so in the next message.
 */
export class TaskOutputForwarder {
  private on = false
  private lines: TaskOutputLine[] = []
  private dropped = 0
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly send: (message: TaskOutput) => void) {}

  /** The scheduler says whether any client wants the lines. */
  forward(on: boolean): void {
    this.on = on
    if (!on) this.close()
  }

  add({ level, line, key, dropped }: ConsoleLine): void {
    if (!this.on) return
    this.dropped += dropped
    if (this.lines.length >= MAX_TASK_OUTPUT_LINES) {
      this.dropped++
      return
    }
    this.lines.push([Date.now(), level, key, line])
    this.timer ??= setTimeout(() => this.flush(), SEND_EVERY_MS)
  }

  /** Sends nothing more; what waits is dropped. */
  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.lines = []
    this.dropped = 0
  }

  private flush(): void {
    this.timer = undefined
    if (this.lines.length === 0) return
    const message: TaskOutput = ['task-output', this.lines, this.dropped]
    this.lines = []
    this.dropped = 0
    this.send(message)
  }
}
