import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { SkeinError } from '../protocol'

const run = promisify(execFile)

/** Making certificates failed: no `openssl` command, a file in the way, or openssl refused. */
export class CertificateError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_CERTIFICATES', message)
  }
}

export interface TestCertificateOptions {
  /**
   * Host names and IP addresses the certificate is for: every address workers and clients dial.
   * Default 127.0.0.1, ::1, localhost and this machine's name.
   */
  hosts?: readonly string[]
  /** Days the CA and the certificate are valid; default 365. */
  days?: number
  /** Replace files that exist (default false: refuse). */
  force?: boolean
  /** The openssl command; default `openssl` on the PATH. */
  openssl?: string
}

/** The files written (absolute paths): give `{ cert, key, ca }` to every part of the cluster as its `tls`. */
export interface TestCertificates {
  /** The CA's certificate: what every side verifies the others against. */
  ca: string
  /** The CA's private key (keep it, or delete it once no more certificates are needed). */
  caKey: string
  /** A certificate signed by the CA, for the hosts, usable by servers and as a client certificate. */
  cert: string
  key: string
}

const FILES = { ca: 'ca.pem', caKey: 'ca-key.pem', cert: 'cert.pem', key: 'key.pem' } as const

/**
 * Makes a self-signed CA and one certificate it signs, for a test or private cluster, with the
 * system's `openssl` command: EC P-256 keys (mode 600), SANs for `hosts`, extended key usage for
 * both TLS servers and clients (the same certificate serves mutual TLS). Writes ca.pem,
 * ca-key.pem, cert.pem and key.pem into `dir` (made if missing).
 */
export async function createTestCertificates(dir: string, options: TestCertificateOptions = {}): Promise<TestCertificates> {
  const hosts = options.hosts ?? ['127.0.0.1', '::1', 'localhost', os.hostname()]
  const days = options.days ?? 365
  const openssl = options.openssl ?? 'openssl'
  if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((h) => typeof h === 'string' && /^[A-Za-z0-9.:*-]+$/.test(h))) {
    throw new CertificateError(`hosts must be a non-empty list of host names and IP addresses, not ${JSON.stringify(hosts)}`)
  }
  if (!Number.isInteger(days) || days < 1) throw new CertificateError(`days must be a positive integer, not ${days}`)
  const out = path.resolve(dir)
  const files = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, path.join(out, f)])) as unknown as TestCertificates
  const existing = Object.values(files).filter((f) => existsSync(f))
  if (existing.length > 0 && !options.force) throw new CertificateError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: choose another directory, or replace them (force / --force)`)
  mkdirSync(out, { recursive: true })
  // Removed, not overwritten: a new file gets mode 600, an old one would keep its mode.
  for (const f of existing) rmSync(f)
  const work = mkdtempSync(path.join(os.tmpdir(), 'skein-certs-'))
  const config = path.join(work, 'openssl.cnf')
  try {
    const sh = async (args: string[]): Promise<string> => {
      try {
        // An empty config: the system's openssl.cnf must not add extensions of its own.
        return (await run(openssl, args, { env: { ...process.env, OPENSSL_CONF: config } })).stdout
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: string }
        if (e.code === 'ENOENT') throw new CertificateError(`the '${openssl}' command was not found: install OpenSSL (e.g. apt-get install openssl) to make certificates`)
        throw new CertificateError(`${openssl} ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`)
      }
    }
    const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',')
    writeFileSync(
      config,
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        'CN = skein',
        '[ca]',
        'basicConstraints = critical, CA:true, pathlen:0',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '[leaf]',
        'basicConstraints = critical, CA:false',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth, clientAuth',
        `subjectAltName = ${san}`,
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    )
    const newKey = () => sh(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    // Keys go to stdout and are written here with mode 600: never a moment readable by others.
    const writeKey = (file: string, pem: string) => writeFileSync(file, pem, { mode: 0o600, flag: 'wx' })
    const [caKey, key] = await Promise.all([newKey(), newKey()])
    writeKey(files.caKey, caKey)
    writeKey(files.key, key)
    const serial = () => `0x${(randomBytes(8).readBigUInt64BE() >> 1n).toString(16)}`
    const ca = await sh(['req', '-config', config, '-x509', '-new', '-key', files.caKey, '-sha256', '-days', String(days), '-subj', `/CN=skein test CA ${randomBytes(4).toString('hex')}`, '-extensions', 'ca', '-set_serial', serial()])
    writeFileSync(files.ca, ca, { flag: 'wx' })
    const csr = path.join(work, 'cert.csr')
    await sh(['req', '-config', config, '-new', '-key', files.key, '-subj', `/CN=${hosts[0]}`, '-out', csr])
    const cert = await sh(['x509', '-req', '-in', csr, '-CA', files.ca, '-CAkey', files.caKey, '-sha256', '-days', String(days), '-set_serial', serial(), '-extfile', config, '-extensions', 'leaf'])
    writeFileSync(files.cert, cert, { flag: 'wx' })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return files
}
