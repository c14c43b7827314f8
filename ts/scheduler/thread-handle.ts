import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { PortSocket } from '../protocol'
import { SchedulerCrashedError, SchedulerUnresponsiveError } from './errors'
import type { BackendEvents, SchedulerBackend, SchedulerRead } from './backend'
import type { RuntimeOptions } from './options'
import type { SchedulerHealth } from './runtime'
import { SyncCallCrashed, SyncCaller, SyncCallTimedOut } from './sync-calls'
import type { ErrorDescription, FromThread, ReplyValue, ThreadData, ThreadRequest } from './thread-messages'

/** Longest a synchronous read waits for the scheduler's thread (it answers in microseconds unless stuck). */
const SYNC_CALL_TIMEOUT_MS = 30_000
/** Why an in-process client's connection ended when the scheduler's thread died before this side heard of it. */
const LOST = 'the scheduler thread crashed'
/** ws's close code for a server that hit an unexpected condition. */
const INTERNAL_ERROR = 1011

type Pending = { resolve: (value: ReplyValue) => void; reject: (error: Error) => void }

/**
 * The scheduler's thread as seen from the thread that started it: starts
 * it, sends it requests, reads its state synchronously, opens in-process
 * connections to it, and turns its death into a SchedulerCrashedError for
 * every caller and every in-process client instead of a hang.
 *
 * The thread keeps the process alive only while the scheduler listens or a
 * request is under way, as a listening server would; it never outlives the
 * process (Node ends worker threads at exit).
 */
export class SchedulerThread implements SchedulerBackend {
  private readonly worker: Worker
  private readonly sync = new SyncCaller(SYNC_CALL_TIMEOUT_MS)
  private readonly pending = new Map<number, Pending>()
  private readonly sockets = new Set<PortSocket>()
  private nextRequest = 1
  private listening = false
  private ending = false
  private crash: SchedulerCrashedError | undefined

  constructor(
    options: RuntimeOptions,
    private readonly events: BackendEvents,
  ) {
    const workerData: ThreadData = { options, sync: this.sync.remote }
    this.worker = new Worker(threadEntry(), {
      workerData,
      transferList: [this.sync.remote.port],
      // The scheduler runs compiled JS and no user code: the parent's loaders (tsx) would only slow it down.
      execArgv: [],
    })
    this.worker.on('message', (message: FromThread) => this.received(message))
    this.worker.on('error', (err) => this.died(err.stack ?? err.message))
    this.worker.on('exit', (code) => this.died(`the thread exited with code ${code}`))
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref()
  }

  get crashed(): SchedulerCrashedError | undefined {
    return this.crash
  }

  async listen(host: string, port: number): Promise<number> {
    const bound = (await this.request((id) => ['listen', id, host, port])) as number
    this.listening = true
    this.updateRef()
    return bound
  }

  async close(): Promise<SchedulerHealth | undefined> {
    try {
      if (!this.crash) return (await this.request((id) => ['close', id])) as SchedulerHealth
    } catch (err) {
      if (!this.crash) throw err
    } finally {
      this.ending = true
      await this.worker.terminate()
    }
    return undefined
  }

  /** A synchronous read of the scheduler's state (see SyncCaller). */
  read(what: SchedulerRead, key?: string): unknown {
    if (this.crash) throw this.crash
    try {
      return this.sync.call(what, key)
    } catch (err) {
      if (err instanceof SyncCallCrashed) throw this.crash ?? new SchedulerCrashedError(err.message)
      if (err instanceof SyncCallTimedOut) throw new SchedulerUnresponsiveError(err.message, SYNC_CALL_TIMEOUT_MS)
      throw err
    }
  }

  /** The other end is served on the scheduler's thread. */
  connect(): PortSocket {
    const { socket, remote } = PortSocket.pair(LOST)
    if (this.crash) {
      socket.terminate(INTERNAL_ERROR, this.crash.message)
      return socket
    }
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    this.worker.postMessage(['connect', remote], [remote])
    return socket
  }

  private request(build: (id: number) => ThreadRequest): Promise<ReplyValue> {
    if (this.crash) return Promise.reject(this.crash)
    const id = this.nextRequest++
    return new Promise<ReplyValue>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.updateRef()
      this.worker.postMessage(build(id))
    })
  }

  private received(message: FromThread): void {
    switch (message[0]) {
      case 'reply': {
        const [, id, value, error] = message
        const waiter = this.pending.get(id)
        this.pending.delete(id)
        this.updateRef()
        if (error === null) waiter?.resolve(value)
        else waiter?.reject(rebuild(error))
        return
      }
      case 'workers':
        this.events.workers(message[1])
        return
      case 'log':
        this.events.log(message[1], message[2], message[3])
        return
      case 'fatal':
        this.died(message[1])
        void this.worker.terminate()
        return
    }
  }

  private died(reason: string): void {
    if (this.ending || this.crash) return
    const error = new SchedulerCrashedError(reason)
    this.crash = error
    for (const waiter of this.pending.values()) waiter.reject(error)
    this.pending.clear()
    for (const socket of this.sockets) socket.terminate(INTERNAL_ERROR, error.message)
    this.sockets.clear()
    this.worker.unref()
    this.events.crashed(error)
  }

  private updateRef(): void {
    if (this.crash || this.ending) return
    if (this.listening || this.pending.size > 0) this.worker.ref()
    else this.worker.unref()
  }
}

function rebuild(description: ErrorDescription): Error {
  const error = new Error(description.message) as Error & { code?: string }
  if (description.code !== undefined) error.code = description.code
  return error
}

/** The compiled thread entry: next to this module in dist/, or dist/scheduler/ when this module runs from ts/ (tsx). */
function threadEntry(): string {
  const beside = path.join(__dirname, 'thread.js')
  if (fs.existsSync(beside)) return beside
  const built = path.resolve(__dirname, '..', '..', 'dist', 'scheduler', 'thread.js')
  if (fs.existsSync(built)) return built
  throw new Error(`the scheduler thread entry ${built} does not exist: build skein first (npm run build:ts)`)
}
