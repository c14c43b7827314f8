import type { WorkerUsage } from '../protocol'

/** What a heartbeat's usage is read from: state the worker keeps anyway. */
export interface UsageSource {
  executing(): number
  ready(): number
  /** Bytes read from and written to the peer port since it opened. */
  peerPortBytes(): { read: number; written: number }
  /** Inputs fetched since the last heartbeat: [start ms, end ms, bytes, ...]. */
  takeTransfers(): number[]
}

/** The usage each heartbeat carries: CPU since the previous one (percent of one core), totals of bytes, tasks now. */
export class UsageSampler {
  private lastCpu = process.cpuUsage()
  private lastAt = performance.now()

  constructor(private readonly source: UsageSource) {}

  sample(): WorkerUsage {
    const cpu = process.cpuUsage(this.lastCpu)
    const at = performance.now()
    const elapsedUs = Math.max(1, (at - this.lastAt) * 1000)
    this.lastCpu = process.cpuUsage()
    this.lastAt = at
    const bytes = this.source.peerPortBytes()
    const usage: WorkerUsage = {
      cpu: (100 * (cpu.user + cpu.system)) / elapsedUs,
      sent: bytes.written,
      received: bytes.read,
      executing: this.source.executing(),
      ready: this.source.ready(),
    }
    const transfers = this.source.takeTransfers()
    if (transfers.length > 0) usage.transfers = transfers
    return usage
  }
}
