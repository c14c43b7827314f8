import fs from 'node:fs'
import path from 'node:path'

/**
 * The worker's own directory for spilled values, made inside the local
 * directory on the first spill and removed with everything in it when the
 * worker stops or its process exits (a process.exit from a signal handler,
 * the parent going away or the terminate threshold included).
 */
export class SpillDirectory {
  private made: Promise<string> | undefined
  private location: string | null = null
  private files = 0
  private closed = false
  private readonly removeNow = () => this.remove()

  constructor(
    private readonly parent: string,
    private readonly prefix: string,
  ) {}

  /** A new file name in the directory (made if need be); rejects once the directory is closed. */
  async file(): Promise<string> {
    this.made ??= this.make()
    const dir = await this.made
    if (this.closed) throw new Error('the worker stopped')
    return path.join(dir, String(++this.files))
  }

  /** Removes the directory and its files; later writes fail. */
  close(): void {
    this.closed = true
    this.remove()
  }

  private async make(): Promise<string> {
    const dir = await fs.promises.mkdtemp(path.join(this.parent, `${this.prefix}-`))
    this.location = dir
    if (this.closed) this.remove()
    else process.on('exit', this.removeNow)
    return dir
  }

  private remove(): void {
    const dir = this.location
    if (dir === null) return
    this.location = null
    process.off('exit', this.removeNow)
    // Synchronous: on process exit nothing asynchronous runs any more.
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
