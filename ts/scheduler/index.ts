export { Scheduler, type SchedulerOptions, type ListenOptions, type SchedulerHealth, type SchedulerEvents, type SchedulerStats } from './scheduler'
export type { Log } from './log'
export type { NativeCoreOptions } from './native'
