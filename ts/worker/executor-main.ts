/**
 * Entry of an execution thread (dist/worker/executor-main.js), started by the
 * worker's ExecutionPool with the memory it shares with the thread (ThreadState).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Executor } from './executor'
import { captureConsole } from './task-console'
import { registerThreadLoaders } from './thread-loaders'
import { ThreadState, type ThreadData } from './thread-state'

const port = parentPort
if (port === null) throw new Error('executor-main.js runs as a worker thread of a skein worker, not on its own')

// Messages wait in the port until the executor listens: loaders come first.
void registerThreadLoaders().then((problems) => {
  for (const line of problems) port.postMessage({ t: 'log', line })
  const data = workerData as ThreadData
  const executor = new Executor(port, new ThreadState(data.cells), data.maxValueBytes, data.connection)
  captureConsole((line) => port.postMessage(line), () => executor.currentKey())
  // An error from a task's callback must not end the thread (and every task queued on it).
  process.on('uncaughtException', (err) => executor.uncaught(err))
  process.on('unhandledRejection', (err) => executor.uncaught(err))
})
