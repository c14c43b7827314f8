#!/usr/bin/env node
/**
 * The `skein` command: a standalone scheduler, or a worker that joins one, so
 * a cluster can span machines.
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TlsOptions } from '../protocol'
import { createLogger, parseLogLevel, type LogLevel, type Logger } from '../log'
import { DEFAULT_DEATH_TIMEOUT_MS, formatResources, machineMemory, parseBytes, parseResources, runWorkerProcess, tlsFromArgs } from '../worker'
import { createTestCertificates } from './certificates'
import { listeningAddresses, schedulerToken, type SchedulerToken } from './cli-security'
import { defaultShape } from './local-cluster'
import { packageRoot } from './paths'
import { runWorkerProcesses } from './worker-processes'

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`)
    return n
  }
}

/** The option parser `parse` with its error as commander's, so the message names the flag and the bad part. */
function strict<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }
}

/** Seconds ('60', '2.5'), or with a unit: '500ms', '30s', '2m'. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim())
  if (m === null) throw new InvalidArgumentError(`expected a duration such as 60, 30s, 500ms or 2m, not '${value.slice(0, 40)}'`)
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm'])
}

/** A count, or 'auto': one process per core's worth of slots. */
function workerCount(value: string): number | 'auto' {
  if (value === 'auto') return 'auto'
  return integer(1)(value)
}

function bytes(value: string): number {
  try {
    return parseBytes(value, '--memory-limit')
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

/** The --tls-* flags of `skein scheduler` and `skein worker`. */
interface TlsFlags {
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  tlsRequireClientCert?: boolean
}

function tlsOption(flags: TlsFlags): TlsOptions | undefined {
  return tlsFromArgs(flags.tlsCert, flags.tlsKey, flags.tlsCa, flags.tlsRequireClientCert)
}

function withTlsFlags(command: Command, server: string): Command {
  return command
    .option('--tls-cert <file>', `TLS: the PEM certificate ${server} presents (wss://), also shown to servers that require client certificates`)
    .option('--tls-key <file>', 'TLS: the private key of --tls-cert')
    .option('--tls-ca <file>', "TLS: the CA that other parts' certificates must be signed by (default: the system's CAs)")
    .option('--tls-require-client-cert', `TLS: ${server} refuses parties without a certificate signed by --tls-ca (mutual TLS)`)
}

interface SchedulerCommandOptions extends TlsFlags {
  port: number
  host: string
  tokenFile?: string
  insecure?: boolean
  allowOrigin?: string[]
  logLevel?: LogLevel
  eventLog?: string
  dashboardAddress: string
  dashboard: boolean
}

/**
 * The command's root logger, whose records name their component themselves (stderr: JSON lines,
 * or readable ones on a terminal) at --log-level, else SKEIN_LOG_LEVEL, else info.
 */
function commandLogger(level: LogLevel | undefined, command: string): Logger {
  try {
    return createLogger({ level }, `skein ${command}`)
  } catch (err) {
    return program.error(`skein ${command}: ${(err as Error).message}`)
  }
}

async function runScheduler(options: SchedulerCommandOptions): Promise<void> {
  // Loaded here so that `skein worker` never needs the native addon.
  const { Scheduler } = await import('../scheduler')
  const root = commandLogger(options.logLevel, 'scheduler')
  const log = root.child({ component: 'scheduler' })
  let token: SchedulerToken
  try {
    token = schedulerToken(options)
  } catch (err) {
    log.fatal((err as Error).message)
    process.exit(2)
  }
  const tls = tlsOption(options)
  let scheduler: InstanceType<typeof Scheduler>
  try {
    scheduler = new Scheduler({
      log: root,
      verbose: true,
      ...(options.dashboard ? { dashboardAddress: options.dashboardAddress } : { dashboard: false }),
      ...(token.value === null ? { insecure: true } : { token: token.value }),
      allowedOrigins: options.allowOrigin ?? [],
      ...(tls === undefined ? {} : { tls }),
      ...(options.eventLog === undefined ? {} : { eventLog: options.eventLog }),
    })
  } catch (err) {
    log.fatal((err as Error).message)
    process.exit(2)
  }
  try {
    await scheduler.listen({ port: options.port, host: options.host })
  } catch (err) {
    log.fatal({ address: `${options.host}:${options.port}` }, `cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`)
    process.exit(1)
  }
  const stop = () => {
    void scheduler.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const addresses = listeningAddresses(options.host, scheduler.port)
  const [ws, http] = tls === undefined ? ['ws', 'http'] : ['wss', 'https']
  const lines = [`skein scheduler listening on ${addresses.map((a) => `${ws}://${a}`).join(', ')} (health: ${http}://${addresses[0]}/health)`]
  if (addresses.length === 1 && /^(127\.|\[::1\]|localhost)/.test(addresses[0])) lines.push('  loopback only: other machines cannot connect (use --host 0.0.0.0, or an interface address, to accept them)')
  if (tls !== undefined) lines.push(`  TLS${tls.requireClientCert ? ' with client certificates (mutual TLS)' : ''}: workers need --tls-cert, --tls-key and --tls-ca; clients Client.connect(address, { tls: { ca${tls.requireClientCert ? ', cert, key' : ''} } })`)
  const dashboardLink = scheduler.dashboardLink
  if (dashboardLink !== null) {
    const port = new URL(dashboardLink).port
    lines.push(`  dashboard: ${http}://${addresses[0].replace(/:\d+$/, `:${port}`)}/status${token.value === null ? '' : ' (open it once with ?token=<the token> appended)'}`)
  }
  lines.push(...token.banner(`${ws}://${addresses[0]}`))
  process.stderr.write(`${lines.join('\n')}\n`)
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
}

const version = packageVersion()
const logLevelHelp =
  'records written to stderr (JSON lines, or readable lines on a terminal): error (why it stopped), warn (also trouble it lived through), info (also joins and reconnects), debug, trace; or silent. Default: SKEIN_LOG_LEVEL, else info'

const program = new Command()
  .name('skein')
  .description('skein: a distributed task scheduler for Node.js')
  .version(version, '-V, --version', 'print the version of skein')
  .showHelpAfterError()

/** A subcommand that also answers --version. */
function command(name: string): Command {
  return program.command(name).version(version, '-V, --version', 'print the version of skein')
}

withTlsFlags(command('scheduler'), 'the scheduler')
  .description('run a scheduler that clients and workers connect to')
  .option('-p, --port <port>', 'port for clients, workers and GET /health', integer(0), 8786)
  .option('--host <host>', 'interface to listen on (0.0.0.0: all of them)', '127.0.0.1')
  .option('--token-file <path>', 'the cluster token: read from this file, or made and written there (mode 600) if it does not exist; default SKEIN_TOKEN, else a new token printed once')
  .option('--insecure', 'accept connections without a token: anyone who reaches the port can run code on the workers')
  .option('--allow-origin <origin...>', 'browser Origins allowed to connect (others are refused)')
  .option('--log-level <level>', logLevelHelp, strict((v) => parseLogLevel(v)))
  .option('--event-log <file>', 'record every event the scheduling core gets into this file (emptied first), for `skein replay`')
  .option('--dashboard-address <address>', "where the dashboard listens: 'host:port' or ':port' on --host (a free port when it is taken)", ':8787')
  .option('--no-dashboard', 'serve no dashboard')
  .action(runScheduler)

async function runReplay(file: string, options: { story?: string; json?: boolean; core?: string }): Promise<void> {
  const { replayEventLog } = await import('../scheduler')
  const { formatReplay } = await import('./replay-command')
  try {
    const core = options.core === undefined ? undefined : (JSON.parse(options.core) as Record<string, unknown>)
    const summary = await replayEventLog(file, { ...(options.story === undefined ? {} : { story: options.story }), ...(core === undefined ? {} : { core }) })
    process.stdout.write(`${options.json ? JSON.stringify(summary, null, 2) : formatReplay(file, summary, options.story)}\n`)
    process.exitCode = summary.mismatch == null && summary.diverged == null ? 0 : 1
  } catch (err) {
    process.stderr.write(`skein replay: ${(err as Error).message}\n`)
    process.exitCode = 2
  }
}

command('replay')
  .description('run the events recorded by `skein scheduler --event-log` through a fresh scheduling core and check it sends the same messages (exit 1 if a batch differs, 2 if the log is unreadable)')
  .argument('<file>', 'the event log')
  .option('--story <key>', 'also print every transition of this task key over the run')
  .option('--json', 'print the summary as JSON')
  .option('--core <json>', 'what if: replay with these core options instead of the recorded ones, e.g. \'{"workStealing":false}\' (the first batch that differs is reported)')
  .action(runReplay)

interface WorkerCommandOptions extends TlsFlags {
  slots: number
  name?: string
  host?: string
  advertiseHost?: string
  tokenFile?: string
  memoryLimit?: number
  localDirectory?: string
  resources?: Record<string, number>
  deathTimeout: number
  nworkers?: number | 'auto'
  logLevel?: LogLevel
}

function runWorker(address: string, options: WorkerCommandOptions): Promise<void> | void {
  try {
    new URL(address)
  } catch {
    program.error(`skein worker: '${address}' is not a URL such as ws://host:8786`)
  }
  if (options.nworkers === undefined) {
    return runWorkerProcess({
      scheduler: address,
      slots: options.slots,
      name: options.name,
      host: options.host,
      advertiseHost: options.advertiseHost,
      tokenFile: options.tokenFile,
      tls: tlsOption(options),
      memoryLimit: options.memoryLimit,
      localDirectory: options.localDirectory,
      resources: options.resources,
      deathTimeoutMs: options.deathTimeout,
      logLevel: options.logLevel,
    })
  }
  const root = commandLogger(options.logLevel, 'worker')
  const count = options.nworkers === 'auto' ? defaultShape(undefined, options.slots, os.availableParallelism()).count : options.nworkers
  // Each process may use its share of the machine unless told otherwise (as Dask divides memory_limit='auto').
  const memoryLimit = options.memoryLimit ?? Math.floor(machineMemory() / count)
  const args = [address, '--slots', String(options.slots), '--memory-limit', String(memoryLimit), '--death-timeout-ms', String(options.deathTimeout), '--log-level', root.level]
  const flags: [string, string | undefined][] = [
    ['--host', options.host],
    ['--advertise-host', options.advertiseHost],
    ['--token-file', options.tokenFile],
    ['--local-directory', options.localDirectory],
    ['--resources', options.resources === undefined ? undefined : formatResources(options.resources)],
    ['--tls-cert', options.tlsCert],
    ['--tls-key', options.tlsKey],
    ['--tls-ca', options.tlsCa],
  ]
  for (const [flag, value] of flags) if (value !== undefined) args.push(flag, value)
  if (options.tlsRequireClientCert) args.push('--tls-require-client-cert')
  root.child({ component: 'worker' }).info(`starting ${count} worker process(es) of ${options.slots} slot(s) each`)
  runWorkerProcesses({ count, args, name: options.name, maxRestartsPerMinute: 10, logger: root })
}

withTlsFlags(command('worker'), "the worker's peer server")
  .description('run a worker that joins the scheduler at <address> (ws://host:port, or wss:// with TLS); it waits for the scheduler and rejoins one that restarts')
  .argument('<address>', 'the scheduler address, e.g. ws://scheduler-host:8786')
  .option('-s, --slots <n>', 'execution threads per worker process: tasks run in parallel (one per core is a good fit)', integer(1), 1)
  .option('--nworkers <n>', "worker processes to run, each supervised (restarted if it dies) and with --slots threads; 'auto': one slot per core", workerCount)
  .option('-n, --name <name>', 'worker name, unique per scheduler (default: host-pid; with --nworkers, NAME-0, NAME-1...)')
  .option('--host <host>', "interface of the peer server (default: this machine's address on its connection to the scheduler)")
  .option('--advertise-host <host>', 'host other workers and clients use to reach this one (default: --host, or for 0.0.0.0 the address above)')
  .option('--token-file <path>', 'file holding the cluster token (default: SKEIN_TOKEN, else SKEIN_TOKEN_FILE; none for an --insecure scheduler)')
  .option('--memory-limit <bytes>', "memory each worker process may use, e.g. 4GiB or 512MB: past 60% of it in stored values it spills them to disk, past 80% it starts no new task, past 95% it exits (default: the machine's memory, divided among --nworkers)", bytes)
  .option('--local-directory <dir>', 'where the worker makes its directory of spilled values (default: the OS temp directory)')
  .option('--resources <list>', 'what the worker offers to tasks that declare resources, as NAME=AMOUNT pairs: "GPU=2,MEM=10e9"', strict((v) => parseResources(v)))
  .addOption(
    new Option('--death-timeout <duration>', 'how long to wait for the scheduler, at start and after losing it, before exiting (code 3): seconds, or 500ms, 30s, 2m')
      .argParser(duration)
      .default(DEFAULT_DEATH_TIMEOUT_MS, `${DEFAULT_DEATH_TIMEOUT_MS / 1000}s`),
  )
  .option('--log-level <level>', logLevelHelp, strict((v) => parseLogLevel(v)))
  .action(runWorker)

command('certs')
  .description('make a self-signed CA and a certificate it signs, for a test or private cluster (needs the openssl command)')
  .argument('<dir>', 'where to write ca.pem, ca-key.pem, cert.pem and key.pem (keys mode 600)')
  .option('--hosts <list>', 'comma-separated host names and IP addresses the certificate is for (default: 127.0.0.1, ::1, localhost, this machine)')
  .option('--days <n>', 'days the certificates are valid', integer(1), 365)
  .option('--force', 'replace files that exist')
  .action(async (dir: string, options: { hosts?: string; days: number; force?: boolean }) => {
    const hosts = options.hosts?.split(',').map((h) => h.trim()).filter((h) => h.length > 0)
    try {
      const files = await createTestCertificates(dir, { hosts, days: options.days, force: options.force })
      const flags = `--tls-cert ${files.cert} --tls-key ${files.key} --tls-ca ${files.ca}`
      process.stderr.write(
        [
          `wrote ${files.ca}, ${files.caKey}, ${files.cert} and ${files.key}`,
          `  scheduler: skein scheduler ${flags} [--tls-require-client-cert]`,
          `  workers:   skein worker wss://<scheduler-host>:8786 ${flags}`,
          `  clients:   Client.connect('wss://<scheduler-host>:8786', { tls: { ca: '${files.ca}', cert: '${files.cert}', key: '${files.key}' } })`,
          '',
        ].join('\n'),
      )
    } catch (err) {
      process.stderr.write(`skein certs: ${(err as Error).message}\n`)
      process.exit(1)
    }
  })

void program.parseAsync(process.argv)
