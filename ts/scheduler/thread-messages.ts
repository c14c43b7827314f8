import type { MessagePort } from 'node:worker_threads'
import type { LogFields, NoticeLevel } from '../log'
import type { WorkerInfo } from '../protocol'
import type { RuntimeOptions } from './options'
import type { SchedulerHealth } from './runtime'
import type { SyncEnd } from './sync-calls'

/** What the scheduler's thread is started with. */
export interface ThreadData {
  options: RuntimeOptions
  sync: SyncEnd
}

/** Requests to the scheduler's thread that are answered by a 'reply' with the same id. */
export type ThreadRequest = [kind: 'listen', id: number, host: string, port: number] | [kind: 'close', id: number]

/** An in-process client's end of a new connection: the thread serves it like a socket. */
export type ThreadConnect = [kind: 'connect', port: MessagePort]

export type ToThread = ThreadRequest | ThreadConnect

/** What a request's error keeps when it crosses back: Node's errors carry a `code` (EADDRINUSE...). */
export interface ErrorDescription {
  message: string
  code: string | undefined
}

export type ListenReply = number
/** The state at close, so that stats() and health() still answer after the thread is gone. */
export type CloseReply = SchedulerHealth

export type ReplyValue = ListenReply | CloseReply | undefined

export type FromThread =
  | [kind: 'reply', id: number, value: ReplyValue, error: ErrorDescription | null]
  | [kind: 'workers', workers: readonly WorkerInfo[]]
  | [kind: 'log', line: string, level?: NoticeLevel, fields?: LogFields]
  /** The scheduler failed for good (its core panicked); its connections are closed. */
  | [kind: 'fatal', reason: string]
