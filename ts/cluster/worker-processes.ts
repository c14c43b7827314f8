import { fork } from 'node:child_process'
import os from 'node:os'
import { WorkerExitCode } from '../worker'
import { inheritedExecArgv } from './inherited-exec-argv'
import { workerEntry } from './paths'
import { mallocTrimmed } from './worker-env'
import { Supervisor } from './supervisor'

export interface WorkerProcessesOptions {
  /** Worker processes to run. */
  count: number
  /** The arguments of dist/worker/main.js every process gets (scheduler address first), without --name. */
  args: string[]
  /** Names are `${name}-0`, `${name}-1`... (default name: host-pid of this process). */
  name?: string
  /** Restarts allowed per process within a minute. */
  maxRestartsPerMinute: number
  log: (line: string) => void
}

/**
 * `skein worker --nworkers N`: N supervised worker processes (Dask's nanny per
 * worker). Each waits for and rejoins the scheduler by itself; one that dies is
 * restarted, one that gives up on the scheduler or is refused is not. This
 * process exits once every worker process is down for good (with the highest of
 * their exit codes), or on SIGINT/SIGTERM after stopping them.
 */
export function runWorkerProcesses(options: WorkerProcessesOptions): void {
  const entry = workerEntry()
  const execArgv = inheritedExecArgv()
  let worst: number = WorkerExitCode.stopped
  const supervisor: Supervisor = new Supervisor(
    (name) =>
      fork(entry, [...options.args, '--name', name], {
        // SKEIN_TOKEN (if any) travels in the inherited environment, never on a command line.
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: mallocTrimmed({ ...process.env }),
        execArgv,
      }),
    {
      maxRestartsPerMinute: options.maxRestartsPerMinute,
      log: options.log,
      ended: (_name, code) => {
        worst = Math.max(worst, code ?? WorkerExitCode.failed)
        if (supervisor.running === 0) {
          options.log(`no worker process left; exiting`)
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
