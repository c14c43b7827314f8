import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import type { SchedulerRead } from './backend'

type SyncRequest = [seq: number, method: SchedulerRead, argument: string | undefined]
type SyncReply = [seq: number, value: unknown, error: string | null]

/** Slots of the shared flag array. */
const ANSWERED = 0
const CRASHED = 1
/** The `seq` of the reply that reports the thread's death instead of answering a call. */
const CRASH_REPORT = -1

/** What the caller's side hands to the scheduler's thread (in workerData, the port transferred). */
export interface SyncEnd {
  port: MessagePort
  flags: SharedArrayBuffer
}

/** The thread died; the message is its error, as reported (see reportCrashes). */
export class SyncCallCrashed extends Error {}
/** The thread did not answer within the caller's timeout; the message names the call. */
export class SyncCallTimedOut extends Error {}

/**
 * Synchronous calls into the scheduler's thread, so that `stats()`,
 * `health()`, `state()` and `workers` keep answering synchronously with the
 * scheduler's current state. The caller posts a request on a port of its own,
 * sleeps on a shared flag (Atomics.wait) until the thread has posted the
 * answer, and takes it off the port with receiveMessageOnPort. It costs one
 * thread hop each way; the caller's thread waits meanwhile, which is why
 * only small reads go this way and nothing on a hot path.
 */
export class SyncCaller {
  private readonly port: MessagePort
  private readonly flags = new Int32Array(new SharedArrayBuffer(8))
  private seq = 0
  /** The thread's end, for workerData; transfer `remote.port`. */
  readonly remote: SyncEnd

  constructor(private readonly timeoutMs: number) {
    const { port1, port2 } = new MessageChannel()
    this.port = port1
    this.remote = { port: port2, flags: this.flags.buffer as SharedArrayBuffer }
  }

  /** Throws SyncCallCrashed when the thread died, SyncCallTimedOut when it did not answer in time. */
  call(method: SchedulerRead, argument?: string): unknown {
    const seq = ++this.seq
    this.port.postMessage([seq, method, argument] satisfies SyncRequest)
    const deadline = Date.now() + this.timeoutMs
    for (;;) {
      const reply = this.take(seq)
      if (reply !== undefined) {
        if (reply[2] !== null) throw new Error(reply[2])
        return reply[1]
      }
      if (Atomics.load(this.flags, CRASHED) !== 0) throw new SyncCallCrashed(this.crashReport() ?? `it died before answering ${method}()`)
      const left = deadline - Date.now()
      if (left <= 0) throw new SyncCallTimedOut(`${method}()`)
      Atomics.wait(this.flags, ANSWERED, Atomics.load(this.flags, ANSWERED), left)
    }
  }

  /** The reply to `seq` if it is there; replies to earlier calls that timed out are dropped. */
  private take(seq: number): SyncReply | undefined {
    if (Atomics.load(this.flags, ANSWERED) < seq) return undefined
    return this.receive((reply) => reply[0] === seq)
  }

  /** The error the thread died of, if it had time to say. */
  private crashReport(): string | undefined {
    return this.receive((reply) => reply[0] === CRASH_REPORT)?.[2] ?? undefined
  }

  private receive(wanted: (reply: SyncReply) => boolean): SyncReply | undefined {
    for (;;) {
      const received = receiveMessageOnPort(this.port)
      if (received === undefined) return undefined
      const reply = received.message as SyncReply
      if (wanted(reply)) return reply
    }
  }
}

/** On the scheduler's thread: answers every call with `answer`. */
export function answerSyncCalls(end: SyncEnd, answer: (method: SchedulerRead, argument: string | undefined) => unknown): void {
  const flags = new Int32Array(end.flags)
  end.port.on('message', ([seq, method, argument]: SyncRequest) => {
    let reply: SyncReply
    try {
      reply = [seq, answer(method, argument), null]
    } catch (err) {
      reply = [seq, undefined, (err as Error).message]
    }
    end.port.postMessage(reply)
    Atomics.store(flags, ANSWERED, seq)
    Atomics.notify(flags, ANSWERED)
  })
  end.port.unref()
}

/** On the scheduler's thread, first thing: if it dies of an uncaught error, a caller waiting synchronously gets the error at once. */
export function reportCrashes(end: SyncEnd): void {
  const flags = new Int32Array(end.flags)
  process.on('uncaughtExceptionMonitor', (err) => {
    end.port.postMessage([CRASH_REPORT, undefined, err instanceof Error ? (err.stack ?? err.message) : String(err)] satisfies SyncReply)
    Atomics.store(flags, CRASHED, 1)
    Atomics.notify(flags, ANSWERED)
  })
}
