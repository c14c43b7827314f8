import os from 'node:os'
import { noticesTo, type Logger } from '../log'
import { WorkerExitCode } from '../worker'
import { inheritedExecArgv } from './inherited-exec-argv'
import { mallocTrimmed } from './worker-env'
import { Supervisor } from './supervisor'
import { forkWorker } from './worker-fork'

export interface WorkerProcessesOptions {
  /** Worker processes to run. */
  count: number
  /** The arguments of dist/worker/main.js every process gets (scheduler address first), without --name. */
  args: string[]
  /** Names are `${name}-0`, `${name}-1`... (default name: host-pid of this process). */
  name?: string
  /** Restarts allowed per process within a minute. */
  maxRestartsPerMinute: number
  /** The command's root logger (no component): its notices (component 'worker'), and the records of the worker processes (component: their names). */
  logger: Logger
}

/**
 * `skein worker --nworkers N`: N supervised worker processes (Dask's nanny per
 * worker). Each waits for and rejoins the scheduler by itself; one that dies is
 * restarted, one that gives up on the scheduler or is refused is not. This
 * process exits once every worker process is down for good (with the highest of
 * their exit codes), or on SIGINT/SIGTERM after stopping them.
 */
export function runWorkerProcesses(options: WorkerProcessesOptions): void {
  const execArgv = inheritedExecArgv()
  const log = noticesTo(options.logger.child({ component: 'worker' }))
  // Records of the worker processes name their component themselves.
  const root = options.logger
  let worst: number = WorkerExitCode.stopped
  const supervisor: Supervisor = new Supervisor(
    // SKEIN_TOKEN (if any) travels in the inherited environment, never on a command line.
    (name) => forkWorker(name, options.args, mallocTrimmed({ ...process.env }), execArgv, root),
    {
      maxRestartsPerMinute: options.maxRestartsPerMinute,
      log,
      ended: (_name, code) => {
        worst = Math.max(worst, code ?? WorkerExitCode.failed)
        if (supervisor.running === 0) {
          log(`no worker process left; exiting`, 'error')
          process.exit(worst)
        }
      },
    },
  )
  const prefix = options.name ?? `${os.hostname()}-${process.pid}`
  for (let i = 0; i < options.count; i++) supervisor.add(`${prefix}-${i}`)
  supervisor.watch()
  const stop = () => {
    void supervisor.close().then(() => process.exit(WorkerExitCode.stopped))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
