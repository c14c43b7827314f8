/**
 * Worker process entry (dist/worker/main.js), forked by LocalCluster:
 *   node main.js <scheduler address> [--slots n] [--name name] [--host host] [--advertise-host host] [--heartbeat-ms ms] [--quiet]
 *                [--tls-cert file --tls-key file [--tls-ca file] [--tls-require-client-cert]]
 *                [--memory-limit bytes] [--memory '{"target":0.6,...}'] [--local-directory dir]
 *                [--resources GPU=2,MEM=10e9] [--death-timeout-ms ms] [--token-file file] [--log-level trace|debug|info|warn|error|fatal|silent]
 */
import { parseArgs } from 'node:util'
import type { MemoryFractions } from './memory-options'
import { parseLogLevel } from '../log'
import { runWorkerProcess, tlsFromArgs, WorkerExitCode } from './process'
import { parseResources } from './resources'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    slots: { type: 'string' },
    name: { type: 'string' },
    host: { type: 'string' },
    'advertise-host': { type: 'string' },
    /** Milliseconds between heartbeats (default 1000); keep well under the scheduler's heartbeat timeout. */
    'heartbeat-ms': { type: 'string' },
    /** No "ready" line (LocalCluster's workers). */
    quiet: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-require-client-cert': { type: 'boolean' },
    /** Bytes, or with a unit ('2GiB'). */
    'memory-limit': { type: 'string' },
    /** The `memory` option (thresholds) as JSON; the worker checks it. */
    memory: { type: 'string' },
    'local-directory': { type: 'string' },
    /** NAME=AMOUNT pairs (see parseResources). */
    resources: { type: 'string' },
    /** How long to wait for the scheduler, at start and after losing it. */
    'death-timeout-ms': { type: 'string' },
    'token-file': { type: 'string' },
    'log-level': { type: 'string' },
  },
})

if (positionals.length !== 1) {
  process.stderr.write('usage: node dist/worker/main.js <ws://scheduler:port> [--slots n] [--name name] [--host host] [--advertise-host host] [--quiet] [--tls-cert f --tls-key f --tls-ca f]\n')
  process.exit(2)
}

const deathTimeoutMs = values['death-timeout-ms'] === undefined ? undefined : Number(values['death-timeout-ms'])
void runWorkerProcess({
  scheduler: positionals[0],
  slots: values.slots === undefined ? undefined : Number(values.slots),
  name: values.name,
  host: values.host,
  advertiseHost: values['advertise-host'],
  heartbeatIntervalMs: values['heartbeat-ms'] === undefined ? undefined : Number(values['heartbeat-ms']),
  quiet: values.quiet,
  tls: tlsFromArgs(values['tls-cert'], values['tls-key'], values['tls-ca'], values['tls-require-client-cert']),
  memoryLimit: values['memory-limit'],
  memory: values.memory === undefined ? undefined : parseJson(values.memory),
  localDirectory: values['local-directory'],
  resources: values.resources === undefined ? undefined : checked(() => parseResources(values.resources!)),
  deathTimeoutMs,
  tokenFile: values['token-file'],
  logLevel: values['log-level'] === undefined ? undefined : checked(() => parseLogLevel(values['log-level']!)),
})

function checked<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    process.stderr.write(`skein worker: ${(err as Error).message}\n`)
    process.exit(WorkerExitCode.refused)
  }
}

function parseJson(text: string): MemoryFractions {
  try {
    return JSON.parse(text) as MemoryFractions
  } catch (err) {
    process.stderr.write(`skein worker: --memory must be JSON such as '{"target":0.6}': ${(err as Error).message}\n`)
    process.exit(WorkerExitCode.refused)
  }
}
