import { readFileSync } from 'node:fs'
import type { ServerOptions } from 'node:https'
import type { Socket } from 'node:net'
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls'
import WebSocket, { type ClientOptions } from 'ws'
import { ConnectionRefusedError, SecurityOptionsError, type SkeinError, TlsError } from './errors'
import { inProcessTls } from './in-process'
import { SOCKET_OPTIONS } from './socket'

/**
 * TLS for skein's connections (wss://), one shape for every part: each of
 * `cert`, `key` and `ca` is a file path or the PEM itself (a string holding
 * `-----BEGIN`, or a Buffer).
 */
export interface TlsOptions {
  /** This side's certificate: servers present it; parties present it when a server requires client certificates. */
  cert?: string | Buffer
  /** The private key of `cert`. */
  key?: string | Buffer
  /** The CA that the other side's certificate must be signed by; default: the system's CAs. */
  ca?: string | Buffer
  /** Servers only: refuse parties (clients, workers, peers) without a certificate signed by `ca` (mutual TLS). Default false. */
  requireClientCert?: boolean
}

/** Who uses the options: servers need a certificate; a client needs one only for servers that require it. */
export type TlsRole = 'scheduler' | 'worker' | 'client'

/** TLS options read and checked: PEM text (it crosses to the scheduler's thread), and the files it came from. */
export interface ResolvedTls {
  cert: string | null
  key: string | null
  ca: string | null
  requireClientCert: boolean
  /** The file each came from, when it was given as a path. */
  files: { cert?: string; key?: string; ca?: string }
}

const FIELDS = ['cert', 'key', 'ca', 'requireClientCert'] as const
const PEM_FIELDS = ['cert', 'key', 'ca'] as const
type PemField = (typeof PEM_FIELDS)[number]

/**
 * Reads and checks `options` (the value of a 'tls' option) for `role`; `what` names the owner in
 * messages ('Scheduler', 'Worker', 'Client.connect'). Throws SecurityOptionsError
 * (SKEIN_INVALID_OPTIONS) naming the field that is wrong.
 */
export function resolveTls(options: unknown, what: string, role: TlsRole): ResolvedTls {
  if (typeof options !== 'object' || options === null || Array.isArray(options) || Buffer.isBuffer(options)) {
    throw new SecurityOptionsError(`${what}: option 'tls' must be an object such as { cert, key, ca }, not ${describe(options)}`)
  }
  const given = options as Record<string, unknown>
  const unknown = Object.keys(given).filter((name) => !(FIELDS as readonly string[]).includes(name))
  if (unknown.length > 0) {
    throw new SecurityOptionsError(`${what}: unknown 'tls' option${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} (known: ${FIELDS.join(', ')})`)
  }
  const requireClientCert = given.requireClientCert ?? false
  if (typeof requireClientCert !== 'boolean') throw new SecurityOptionsError(`${what}: 'tls.requireClientCert' must be a boolean, not ${describe(requireClientCert)}`)
  if (role === 'client' && requireClientCert) {
    throw new SecurityOptionsError(`${what}: 'tls.requireClientCert' is for servers (the scheduler and workers); a client presents 'tls.cert' and 'tls.key' when a server requires them`)
  }
  const resolved: ResolvedTls = { cert: null, key: null, ca: null, requireClientCert, files: {} }
  for (const field of PEM_FIELDS) {
    const value = given[field]
    if (value === undefined) continue
    const pem = readPem(value, field, what)
    resolved[field] = pem.text
    if (pem.file !== undefined) resolved.files[field] = pem.file
  }
  if (role !== 'client' && (resolved.cert === null || resolved.key === null)) {
    const server = role === 'scheduler' ? 'the scheduler' : "the worker's peer server"
    throw new SecurityOptionsError(`${what}: 'tls.cert' and 'tls.key' are required: ${server} presents them to the parties that connect`)
  }
  if ((resolved.cert === null) !== (resolved.key === null)) {
    throw new SecurityOptionsError(`${what}: give both 'tls.cert' and 'tls.key' (a certificate and its private key), or neither`)
  }
  if (requireClientCert && resolved.ca === null) {
    throw new SecurityOptionsError(`${what}: 'tls.requireClientCert' needs 'tls.ca', the CA that client certificates must be signed by`)
  }
  try {
    createSecureContext(contextOptions(resolved))
  } catch (err) {
    throw new SecurityOptionsError(`${what}: the TLS certificate, key or CA cannot be used: ${(err as Error).message}`)
  }
  return resolved
}

function readPem(value: unknown, field: PemField, what: string): { text: string; file?: string } {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { text: checkedPem(Buffer.from(value).toString('utf8'), `'tls.${field}'`, what) }
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecurityOptionsError(`${what}: 'tls.${field}' must be a file path, PEM text or a Buffer, not ${describe(value)}`)
  }
  if (value.includes('-----BEGIN')) return { text: value }
  let text: string
  try {
    text = readFileSync(value, 'utf8')
  } catch (err) {
    throw new SecurityOptionsError(`${what}: cannot read 'tls.${field}' from ${value}: ${(err as Error).message}`)
  }
  return { text: checkedPem(text, `'tls.${field}' (${value})`, what), file: value }
}

function checkedPem(text: string, source: string, what: string): string {
  if (!text.includes('-----BEGIN')) throw new SecurityOptionsError(`${what}: ${source} is not PEM (no '-----BEGIN' line)`)
  return text
}

function contextOptions(tls: ResolvedTls): { cert?: string; key?: string; ca?: string } {
  return { cert: tls.cert ?? undefined, key: tls.key ?? undefined, ca: tls.ca ?? undefined }
}

/** What https.createServer needs to serve `tls`; `handshakeTimeout` bounds a TLS handshake that never ends. */
export function tlsServerOptions(tls: ResolvedTls, handshakeTimeout: number): ServerOptions {
  return {
    ...contextOptions(tls),
    requestCert: tls.requireClientCert,
    // Not a TLS-level rejection: for a certificate that does not verify, Node would close the
    // connection without a word. clientCertificateRefusal() refuses it instead, with the reason,
    // before the request or upgrade is served (see WsServer).
    rejectUnauthorized: false,
    handshakeTimeout,
  }
}

/** With `requireClientCert`, why the party on `socket` is refused (no certificate, or one `ca` did not sign); null when it may go on. */
export function clientCertificateRefusal(socket: Socket, tls: ResolvedTls | null): string | null {
  if (tls === null || !tls.requireClientCert) return null
  const secure = socket as TLSSocket
  if (secure.authorized === true) return null
  const cert = typeof secure.getPeerCertificate === 'function' ? secure.getPeerCertificate() : null
  if (cert === null || Object.keys(cert).length === 0) {
    return "this server requires a client certificate (mutual TLS) and none was presented: give 'tls.cert' and 'tls.key', signed by the cluster's CA"
  }
  return `this server does not accept the client certificate (${secure.authorizationError ?? 'unverified'}): it must be signed by the CA the server trusts`
}

/** ws hands its options to tls.connect, which takes a ready secure context (@types/ws does not list it). */
type TlsClientOptions = ClientOptions & { secureContext?: SecureContext }

const partyOptions = new WeakMap<ResolvedTls, TlsClientOptions>()

/**
 * Options for a WebSocket to a skein server: SOCKET_OPTIONS, plus this side's CA and certificate.
 * One secure context per settings, not one per connection (parsing PEM costs milliseconds).
 */
export function socketOptions(tls: ResolvedTls | null): TlsClientOptions {
  if (tls === null) return SOCKET_OPTIONS
  let options = partyOptions.get(tls)
  if (options === undefined) {
    options = { ...SOCKET_OPTIONS, secureContext: createSecureContext(contextOptions(tls)) }
    partyOptions.set(tls, options)
  }
  return options
}

/** Whether `address` is a wss:// URL. */
export function isTlsAddress(address: string): boolean {
  return address.startsWith('wss://')
}

/**
 * A party's TLS settings are for wss:// servers only: a ws:// address with them is a downgrade to
 * plain text the user did not ask for, refused here with the fix.
 */
export function checkTlsAddress(address: string, tls: ResolvedTls | null, what: string): void {
  if (tls !== null && !isTlsAddress(address)) {
    throw new SecurityOptionsError(`${what}: 'tls' is given but ${address} is not a wss:// address: connect to ${address.replace(/^ws:/, 'wss:')} (a server started with TLS), or drop 'tls'`)
  }
}

/** A server's refusal by HTTP status, kept per socket until its 'error' event explains it. */
const refusals = new WeakMap<WebSocket, SkeinError>()
const MAX_REFUSAL_BYTES = 1024
/** Refusals are a line of text sent with Connection: close; this only guards against a server that never ends one. */
const REFUSAL_READ_MS = 2000
const REFUSAL_CODE = /^SKEIN_[A-Z_]{1,40}$/

/**
 * A WebSocket to a skein server (the scheduler or a worker's peer server) with this side's TLS
 * settings. A refusal before the upgrade (an Origin, a cap, a plain client at a TLS port) keeps
 * the server's reason, which `connectionError` gives when the socket's 'error' event comes.
 */
export function openSocket(address: string, tls: ResolvedTls | null, server: string): WebSocket {
  const socket = new WebSocket(address, socketOptions(tls))
  socket.once('unexpected-response', (_req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      const body = Buffer.concat(chunks).toString('utf8').trim() || (res.statusMessage ?? '')
      const header = res.headers['skein-code']
      const code = typeof header === 'string' && REFUSAL_CODE.test(header) ? header : 'SKEIN_REFUSED'
      const status = res.statusCode ?? 0
      const message = `${server} refused the connection (HTTP ${status}): ${body}`
      refusals.set(socket, code === 'SKEIN_TLS' ? new TlsError(message, undefined) : new ConnectionRefusedError(code, message, status))
      socket.terminate()
    }
    const timer = setTimeout(finish, REFUSAL_READ_MS)
    timer.unref()
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_REFUSAL_BYTES) chunks.push(chunk.subarray(0, MAX_REFUSAL_BYTES - size))
      size += chunk.length
      if (size >= MAX_REFUSAL_BYTES) finish()
    })
    res.once('end', finish)
    res.once('close', finish)
    res.once('error', finish)
  })
  return socket
}

/** OpenSSL's certificate verification failures, as Node reports them in `code`. */
const VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/**
 * The error to report for a socket's 'error' event before it opened: the server's refusal, a
 * TlsError naming the TLS reason and its code, or `err` itself. `server` names the other side
 * ("the scheduler at wss://...") and `address` is the URL dialled.
 */
export function connectionError(socket: WebSocket, err: Error & { code?: string }, server: string, address: string): Error {
  const refused = refusals.get(socket)
  if (refused !== undefined) return refused
  const code = err.code
  if (code === undefined) return err
  const reason = err.message
  if (VERIFY_CODES.has(code)) {
    const how = code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH' ? 'is not for this host name' : "does not verify against this side's CA ('tls.ca', else the system's CAs)"
    return new TlsError(`${server}: its TLS certificate ${how} (${code}: ${reason})`, code)
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || (code === 'EPROTO' && /wrong version number|packet length too long/.test(reason))) {
    return new TlsError(`${server} does not speak TLS (${code}): connect to ${address.replace(/^wss:/, 'ws:')}, or start it with TLS`, code)
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
    return new TlsError(`${server} requires a client certificate and this side presented none (${code}): give 'tls.cert' and 'tls.key' (signed by the server's CA)`, code)
  }
  if (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    return new TlsError(`${server} refused the TLS handshake (${code}): if it requires client certificates, give 'tls.cert' and 'tls.key' (signed by the server's CA)`, code)
  }
  if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' || code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN' || code === 'ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR') {
    return new TlsError(`${server} did not accept this side's TLS certificate (${code}): it must be signed by the CA the server trusts`, code)
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return new TlsError(`${server}: TLS failed (${code}: ${reason})`, code)
  return err
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string '${value.slice(0, 40)}'` : `${typeof value} ${String(value).slice(0, 40)}`
}

/**
 * The TLS settings a client uses with the scheduler at `address` and its workers: its own
 * `tls` option; else, for a scheduler this process started, that scheduler's (its CA, and its
 * certificate for servers that require one); else none (wss:// then verifies against the
 * system's CAs).
 */
export function partyTls(options: unknown, address: string, what: string): ResolvedTls | null {
  if (options !== undefined) return resolveTls(options, what, 'client')
  return inProcessTls(address) ?? null
}
