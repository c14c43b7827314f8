#!/usr/bin/env node
/**
 * The `skein` command: a standalone scheduler, or a worker that joins one, so
 * a cluster can span machines.
 */
import { Command, InvalidArgumentError } from 'commander'
import { runWorkerProcess } from '../worker'

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`)
    return n
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

async function runScheduler(options: { port: number; host: string }): Promise<void> {
  // Loaded here so that `skein worker` never needs the native addon.
  const { Scheduler } = await import('../scheduler')
  const scheduler = new Scheduler({ verbose: true })
  try {
    await scheduler.listen({ port: options.port, host: options.host })
  } catch (err) {
    process.stderr.write(`skein scheduler: cannot listen on ${options.host}:${options.port}: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const stop = () => {
    void scheduler.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  process.stderr.write(`skein scheduler listening on ${scheduler.address} (health: http://${options.host}:${scheduler.port}/health)\n`)
}

const program = new Command()
  .name('skein')
  .description('skein: a distributed task scheduler for Node.js')
  .showHelpAfterError()

program
  .command('scheduler')
  .description('run a scheduler that clients and workers connect to')
  .option('-p, --port <port>', 'port for clients, workers and GET /health', integer(0), 8786)
  .option('--host <host>', 'interface to listen on', '0.0.0.0')
  .action(runScheduler)

program
  .command('worker')
  .description('run a worker that joins the scheduler at <address> (ws://host:port)')
  .argument('<address>', 'the scheduler address, e.g. ws://scheduler-host:8786')
  .option('-s, --slots <n>', 'execution threads: tasks run in parallel (one per core is a good fit)', integer(1), 1)
  .option('-n, --name <name>', 'worker name, unique per scheduler (default: host-pid)')
  .option('--host <host>', 'interface of the peer server (default: 127.0.0.1 for a loopback scheduler, else 0.0.0.0)')
  .option('--advertise-host <host>', 'host name other workers and clients use to reach this one (default: --host, or this machine name)')
  .action((address: string, options: { slots: number; name?: string; host?: string; advertiseHost?: string }) => {
    let schedulerHost = ''
    try {
      schedulerHost = new URL(address).hostname
    } catch {
      program.error(`skein worker: '${address}' is not a URL such as ws://host:8786`)
    }
    const host = options.host ?? (LOOPBACK.has(schedulerHost) ? '127.0.0.1' : '0.0.0.0')
    return runWorkerProcess({ scheduler: address, slots: options.slots, name: options.name, host, advertiseHost: options.advertiseHost })
  })

void program.parseAsync(process.argv)
