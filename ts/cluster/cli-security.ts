import { existsSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { Credentials, generateToken } from '../protocol'

/** The token a standalone scheduler runs with, and the lines that tell its user how to pass it on. */
export interface SchedulerToken {
  /** null: insecure. */
  value: string | null
  banner(address: string): string[]
}

/**
 * --insecure, else --token-file (read it, or create it with a new token), else SKEIN_TOKEN or
 * SKEIN_TOKEN_FILE, else a new token printed once (as Jupyter prints its URL with a token).
 */
export function schedulerToken(options: { tokenFile?: string; insecure?: boolean }, env: NodeJS.ProcessEnv = process.env): SchedulerToken {
  if (options.insecure) {
    if (options.tokenFile !== undefined) throw new Error('--insecure and --token-file contradict each other')
    return {
      value: null,
      banner: () => ['WARNING: no authentication (--insecure): anyone who can reach this port can run code on the workers'],
    }
  }
  if (options.tokenFile !== undefined) {
    const file = options.tokenFile
    if (!existsSync(file)) {
      const token = generateToken()
      writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' })
      return { value: token, banner: (address) => [`token written to ${file}: start workers with \`skein worker ${address} --token-file ${file}\``] }
    }
    const token = Credentials.fromFile(file).token!
    return { value: token, banner: (address) => [`token read from ${file}: start workers with \`skein worker ${address} --token-file ${file}\``] }
  }
  if (env.SKEIN_TOKEN || env.SKEIN_TOKEN_FILE) {
    const source = env.SKEIN_TOKEN ? Credentials.fromToken(env.SKEIN_TOKEN, 'SKEIN_TOKEN') : Credentials.fromFile(env.SKEIN_TOKEN_FILE!)
    return { value: source.token!, banner: () => ['token from the environment (SKEIN_TOKEN / SKEIN_TOKEN_FILE): give workers and clients the same'] }
  }
  const token = generateToken()
  return {
    value: token,
    banner: (address) => [
      `token (shown only now; workers and clients need it): ${token}`,
      `  workers: SKEIN_TOKEN=${token} skein worker ${address}`,
      `  clients: Client.connect('${address}', { token: '${token}' }), or SKEIN_TOKEN in their environment`,
    ],
  }
}

/** host:port forms that reach a server listening on `host`: for a wildcard, this machine's interface addresses. */
export function listeningAddresses(host: string, port: number): string[] {
  const bracket = (a: string) => (a.includes(':') ? `[${a}]` : a)
  if (host !== '0.0.0.0' && host !== '::') return [`${bracket(host)}:${port}`]
  const found: string[] = []
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const e of entries ?? []) {
      if (e.internal) continue
      if (host === '0.0.0.0' && e.family !== 'IPv4') continue
      // Link-local IPv6 needs a zone to be reachable: not an address to hand out.
      if (e.family === 'IPv6' && e.address.toLowerCase().startsWith('fe80:')) continue
      found.push(`${bracket(e.address)}:${port}`)
    }
  }
  found.push(`${host === '::' ? '[::1]' : '127.0.0.1'}:${port}`)
  return found
}
