export { Client, type ClientOptions, type SubmitOptions, type MapOptions, type FuturesOf, type ValuesOf } from './client'
export { Future } from './future'
export type { Completed } from './as-completed'
export type { FutureStatus } from './key-state'
export type { ScatterOptions } from './scatter'
export type { WorkerDescription } from './peers'
export { PeerUnavailableError } from './peers'
export {
  SkeinError,
  TaskError,
  KilledWorkerError,
  TaskTimeoutError,
  ValueTooLargeError,
  TransferError,
  LostDataError,
  CancelledError,
  SchedulerError,
  ConnectionClosedError,
  ReleasedFutureError,
  NoWorkersError,
  type WorkerDeathCause,
} from './errors'
