import { fork, type ChildProcess } from 'node:child_process'
import { routeOutput, type Logger } from '../log'
import { workerEntry } from './paths'

/**
 * Starts a worker process whose stdout and stderr are read here: its JSON records (and any
 * other line it prints) are written through `logger`, with its `name` as component, so the
 * parent's log settings decide what shows and where.
 */
export function forkWorker(name: string, args: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[], logger: Logger): ChildProcess {
  const child = fork(workerEntry(), [...args, '--name', name], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // JSON whatever SKEIN_LOG_FORMAT says here: this process parses them.
    env: { ...env, SKEIN_LOG_FORMAT: 'json' },
    execArgv: [...execArgv],
  })
  routeOutput(child.stdout!, logger, name, 'info')
  routeOutput(child.stderr!, logger, name, 'warn')
  return child
}
