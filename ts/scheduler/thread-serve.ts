/**
 * What the scheduler's thread runs (loaded by thread.ts): one
 * SchedulerRuntime (native core, port, router, timers) for the Scheduler
 * object that started the thread, answering its requests and reads.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PortSocket } from '../protocol'
import { SchedulerRuntime } from './runtime'
import { answerSyncCalls } from './sync-calls'
import type { ErrorDescription, FromThread, ReplyValue, ThreadData, ToThread } from './thread-messages'

const port = parentPort!
const data = workerData as ThreadData
const post = (message: FromThread) => port.postMessage(message)

const runtime = new SchedulerRuntime(data.options, {
  log: (line, level, fields) => post(['log', line, level, fields]),
  workersChanged: (workers) => post(['workers', workers]),
  // The Scheduler object reports it and ends this thread.
  fatal: (reason) => post(['fatal', reason]),
})

answerSyncCalls(data.sync, (what, key) => runtime.read(what, key))

port.on('message', (message: ToThread) => {
  switch (message[0]) {
    case 'connect':
      runtime.accept(new PortSocket(message[1]).asWebSocket(), 'in-process')
      return
    case 'listen':
      reply(message[1], runtime.listen(message[2], message[3]))
      return
    case 'close':
      reply(message[1], runtime.close().then(() => runtime.health()))
      return
  }
})

function reply(id: number, outcome: Promise<ReplyValue>): void {
  outcome.then(
    (value) => post(['reply', id, value, null]),
    (err: Error & { code?: string }) => post(['reply', id, undefined, { message: err.message, code: err.code } satisfies ErrorDescription]),
  )
}
