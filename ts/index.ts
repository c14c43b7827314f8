/**
 * skein: a distributed task scheduler for Node.js with a native Rust
 * scheduling core. See the README for the API.
 */
export {
  Client,
  Future,
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
  PeerUnavailableError,
  WaitTimeoutError,
  AsCompleted,
  AsCompletedEndedError,
  wait,
  type WaitOptions,
  type ReturnWhen,
  type DoneAndNotDone,
  type ResultOptions,
  type Gathered,
  type ClientOptions,
  type SubmitOptions,
  type MapOptions,
  type FuturesOf,
  type ValuesOf,
  type Completed,
  type FutureStatus,
  type ScatterOptions,
  type WorkerDescription,
  type WorkerDeathCause,
} from './client'
export {
  Task,
  task,
  taskWith,
  moduleFunction,
  ModuleFunction,
  KeyRef,
  InvalidTaskError,
  type TaskOptions,
  type Arg,
  type Args,
  type ResultOf,
} from './graph'
export {
  Scheduler,
  type SchedulerOptions,
  type ListenOptions,
  type SchedulerHealth,
  type SchedulerEvents,
  type SchedulerStats,
  type NativeCoreOptions,
  SchedulerOptionsError,
  SchedulerCrashedError,
  SchedulerUnresponsiveError,
  SchedulerClosedError,
} from './scheduler'
export { LocalCluster, type LocalClusterOptions, createTestCertificates, CertificateError, type TestCertificates, type TestCertificateOptions } from './cluster'
export { TlsError, ConnectionRefusedError, InvalidOptionsError, type TlsOptions } from './protocol'
export { Worker, type WorkerOptions, SchedulerUnreachableError, ResourcesError } from './worker'
