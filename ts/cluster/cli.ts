#!/usr/bin/env node
/**
 * The `skein` command: a standalone scheduler, or a worker that joins one, so
 * a cluster can span machines.
 */
import { Command, InvalidArgumentError } from 'commander'
import { runWorkerProcess } from '../worker'
import { listeningAddresses, schedulerToken, type SchedulerToken } from './cli-security'

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`)
    return n
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

interface SchedulerCommandOptions {
  port: number
  host: string
  tokenFile?: string
  insecure?: boolean
  allowOrigin?: string[]
}

async function runScheduler(options: SchedulerCommandOptions): Promise<void> {
  // Loaded here so that `skein worker` never needs the native addon.
  const { Scheduler } = await import('../scheduler')
  let token: SchedulerToken
  try {
    token = schedulerToken(options)
  } catch (err) {
    process.stderr.write(`skein scheduler: ${(err as Error).message}\n`)
    process.exit(2)
  }
  const scheduler = new Scheduler({ verbose: true, ...(token.value === null ? { insecure: true } : { token: token.value }), allowedOrigins: options.allowOrigin ?? [] })
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
  const addresses = listeningAddresses(options.host, scheduler.port)
  const lines = [`skein scheduler listening on ${addresses.map((a) => `ws://${a}`).join(', ')} (health: http://${addresses[0]}/health)`]
  if (addresses.length === 1 && /^(127\.|\[::1\]|localhost)/.test(addresses[0])) lines.push('  loopback only: other machines cannot connect (use --host 0.0.0.0, or an interface address, to accept them)')
  lines.push(...token.banner(`ws://${addresses[0]}`))
  process.stderr.write(`${lines.join('\n')}\n`)
}

const program = new Command()
  .name('skein')
  .description('skein: a distributed task scheduler for Node.js')
  .showHelpAfterError()

program
  .command('scheduler')
  .description('run a scheduler that clients and workers connect to')
  .option('-p, --port <port>', 'port for clients, workers and GET /health', integer(0), 8786)
  .option('--host <host>', 'interface to listen on (0.0.0.0: all of them)', '127.0.0.1')
  .option('--token-file <path>', 'the cluster token: read from this file, or made and written there (mode 600) if it does not exist; default SKEIN_TOKEN, else a new token printed once')
  .option('--insecure', 'accept connections without a token: anyone who reaches the port can run code on the workers')
  .option('--allow-origin <origin...>', 'browser Origins allowed to connect (others are refused)')
  .action(runScheduler)

program
  .command('worker')
  .description('run a worker that joins the scheduler at <address> (ws://host:port)')
  .argument('<address>', 'the scheduler address, e.g. ws://scheduler-host:8786')
  .option('-s, --slots <n>', 'execution threads: tasks run in parallel (one per core is a good fit)', integer(1), 1)
  .option('-n, --name <name>', 'worker name, unique per scheduler (default: host-pid)')
  .option('--host <host>', 'interface of the peer server (default: 127.0.0.1 for a loopback scheduler, else 0.0.0.0)')
  .option('--advertise-host <host>', 'host name other workers and clients use to reach this one (default: --host, or this machine name)')
  .option('--token-file <path>', 'file holding the cluster token (default: SKEIN_TOKEN, else SKEIN_TOKEN_FILE; none for an --insecure scheduler)')
  .action((address: string, options: { slots: number; name?: string; host?: string; advertiseHost?: string; tokenFile?: string }) => {
    let schedulerHost = ''
    try {
      schedulerHost = new URL(address).hostname
    } catch {
      program.error(`skein worker: '${address}' is not a URL such as ws://host:8786`)
    }
    const host = options.host ?? (LOOPBACK.has(schedulerHost) ? '127.0.0.1' : '0.0.0.0')
    return runWorkerProcess({ scheduler: address, slots: options.slots, name: options.name, host, advertiseHost: options.advertiseHost, tokenFile: options.tokenFile })
  })

void program.parseAsync(process.argv)
