import { LocalSocket } from '../protocol'
import type { BackendEvents, SchedulerBackend, SchedulerRead } from './backend'
import { SchedulerCrashedError } from './errors'
import type { RuntimeOptions } from './options'
import { SchedulerRuntime, type SchedulerHealth } from './runtime'

/**
 * The scheduler on the caller's own thread (`new Scheduler({ thread: false })`):
 * no hop between threads on any message, and no isolation either.
 * In-process clients reach it through a LocalSocket pair.
 */
export class InlineScheduler implements SchedulerBackend {
  private readonly runtime: SchedulerRuntime
  crashed: SchedulerCrashedError | undefined = undefined

  constructor(options: RuntimeOptions, events: BackendEvents) {
    this.runtime = new SchedulerRuntime(options, {
      log: events.log,
      workersChanged: events.workers,
      fatal: (reason) => {
        this.crashed = new SchedulerCrashedError(reason)
        events.crashed(this.crashed)
      },
    })
  }

  listen(host: string, port: number): Promise<number> {
    return this.runtime.listen(host, port)
  }

  async close(): Promise<SchedulerHealth | undefined> {
    await this.runtime.close()
    // A scheduler whose core failed has no state to report.
    return this.crashed ? undefined : this.runtime.health()
  }

  read(what: SchedulerRead, key?: string): unknown {
    if (this.crashed) throw this.crashed
    return this.runtime.read(what, key)
  }

  connect(): LocalSocket {
    const [client, server] = LocalSocket.pair()
    this.runtime.accept(server.asWebSocket(), 'in-process')
    return client
  }
}
