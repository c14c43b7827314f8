/**
 * Entry of an execution thread (dist/worker/executor-main.js), started by the
 * worker's ExecutionPool with the shared array it reads the running task from.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Executor } from './executor'

if (parentPort === null) throw new Error('executor-main.js runs as a worker thread of a skein worker, not on its own')
const executor = new Executor(parentPort, (workerData as { shared: Int32Array }).shared)
// An error from a task's callback must not end the thread (and every task queued on it).
process.on('uncaughtException', (err) => executor.uncaught(err))
process.on('unhandledRejection', (err) => executor.uncaught(err))
