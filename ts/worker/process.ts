import type { TlsOptions } from '../protocol'
import { Worker, type WorkerOptions } from './worker'

/** The `tls` option from --tls-* flags (files), or undefined when none is given; Worker checks the rest. */
export function tlsFromArgs(cert: string | undefined, key: string | undefined, ca: string | undefined, requireClientCert: boolean | undefined): TlsOptions | undefined {
  if (cert === undefined && key === undefined && ca === undefined && !requireClientCert) return undefined
  const tls: TlsOptions = {}
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (ca !== undefined) tls.ca = ca
  if (requireClientCert) tls.requireClientCert = true
  return tls
}

/**
 * Runs a worker as this process's only job: logs one line when ready, exits
 * when the scheduler connection drops, on SIGINT/SIGTERM, and (when forked
 * with an IPC channel) when the parent goes away, so it never outlives it.
 */
export async function runWorkerProcess(options: WorkerOptions & { quiet?: boolean }): Promise<void> {
  if (process.send) process.on('disconnect', () => process.exit(0))
  // The token is the worker's, not its tasks': they (and what they start) do not inherit it.
  const token = options.token ?? (options.tokenFile === undefined ? process.env.SKEIN_TOKEN || undefined : undefined)
  delete process.env.SKEIN_TOKEN
  let worker: Worker
  try {
    worker = await Worker.start({ ...options, token })
  } catch (err) {
    process.stderr.write(`skein worker: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const stop = () => {
    void worker.close().then(() => process.exit(worker.exitCode))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  if (!options.quiet) process.stderr.write(`skein worker '${worker.name}' (id ${worker.id}) ready: ${worker.slots} slot(s), peer server ${worker.address}, scheduler ${options.scheduler}\n`)
  await worker.closed
  process.exit(worker.exitCode)
}
