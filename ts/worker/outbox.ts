import { encode, type NativeWorkerEvent } from '../protocol'

/** Collects the task events of one event-loop turn and sends them as one 'events' message. */
export class EventOutbox {
  private events: NativeWorkerEvent[] = []
  private scheduled = false
  private readonly flushNow = () => this.flush()

  constructor(private readonly send: (events: Buffer) => void) {}

  push(event: NativeWorkerEvent): void {
    this.events.push(event)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.flushNow)
  }

  flush(): void {
    this.scheduled = false
    if (this.events.length === 0) return
    const bytes = encode(this.events)
    this.events = []
    this.send(bytes)
  }
}
