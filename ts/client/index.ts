export { Client, type PublishOptions, type ClientOptions, type SubmitOptions, type MapOptions, type FuturesOf, type ValuesOf } from './client'
export { Future, type ResultOptions } from './future'
export { wait, type WaitOptions, type ReturnWhen, type DoneAndNotDone } from './wait'
export type { Gathered } from './gather-structure'
export { AsCompleted, AsCompletedEndedError, type Completed } from './as-completed'
export { Progress, type ProgressEvent, type ProgressOptions } from './progress'
export type { PerformanceReportOptions } from './performance-report'
export type { Transition } from './story'
export type { FutureStatus } from './key-state'
export type { ScatterOptions } from './scatter'
export type { RunOptions } from './run'
export type { WorkerContext } from '../protocol'
export type { ReplicateOptions } from './replicate'
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
  WaitTimeoutError,
  RunError,
  type WorkerDeathCause,
} from './errors'
export type { UnplaceableWarning } from './unplaceable'
export { getClient, secede, rejoin, TASK_RUNTIME, whileWaiting, type TaskRuntime } from './in-task'
export { NotInTaskError } from './errors'
