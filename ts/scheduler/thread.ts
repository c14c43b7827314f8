/**
 * The scheduler's thread: the worker_threads entry a Scheduler starts, so that
 * nothing the user's code does on its own thread can stall the scheduler.
 */
import { workerData } from 'node:worker_threads'
import { reportCrashes } from './sync-calls'
import type { ThreadData } from './thread-messages'

// Before anything that can fail is loaded: a caller waiting synchronously must hear of a crash.
reportCrashes((workerData as ThreadData).sync)
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./thread-serve')
