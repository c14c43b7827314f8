import { randomBytes } from 'node:crypto'
import type { Credentials } from './credentials'
import { AuthenticationError, ProtocolVersionError, SkeinError } from './errors'

/**
 * The version of skein's wire protocol. Both ends of every connection must
 * speak the same one; it changes whenever a message changes shape.
 * (Version 1 was the protocol before the versioned handshake; 3 sends large values in
 * chunks, carries task retries, datasets and fire-and-forget; 4 forwards the lines tasks print,
 * adds run, replicate and who-has, the worker's long-running event for tasks that secede from
 * their slot, the task-stream request, the usage in worker heartbeats, allowOtherWorkers and
 * retry.)
 */
export const PROTOCOL_VERSION = 4

/** What a party connects as: to the scheduler as a client or a worker, or to a worker's peer server. */
export type PartyRole = 'client' | 'worker' | 'peer'

/** How a server asks connecting parties to prove the token: HMAC-SHA256 over both nonces, or not at all (insecure). */
export type AuthMethod = 'hmac-sha256' | 'none'

/** Features beyond the protocol version; each side lists what it offers (none are optional yet). */
export const CAPABILITIES: readonly string[] = []

const NONCE_BYTES = 32
const MAX_CAPABILITIES = 32
const MAX_CAPABILITY_LENGTH = 64

/** The server speaks first, before reading anything: its version, how to authenticate, and its nonce. */
export type Challenge = ['challenge', version: number, method: AuthMethod, nonce: Uint8Array, capabilities: string[]]
/** The party's answer: its version, role and nonce, and (when the server asks) HMAC(token, party label, server nonce, party nonce). */
export type Auth = ['auth', version: number, role: PartyRole, nonce: Uint8Array, proof: Uint8Array | null, capabilities: string[]]
/** The server's proof that it holds the token too: HMAC(token, server label, party nonce, server nonce); null when insecure. */
export type Authenticated = ['authenticated', proof: Uint8Array | null]

export const AUTH_FAILED = 'SKEIN_AUTH_FAILED'
export const VERSION_MISMATCH = 'SKEIN_PROTOCOL_VERSION'
export const HANDSHAKE = 'SKEIN_HANDSHAKE'

const partyLabel = (role: PartyRole) => `skein/${PROTOCOL_VERSION}/party/${role}`
const SERVER_LABEL = `skein/${PROTOCOL_VERSION}/server`

/**
 * The server's side of one connection's handshake. A failure throws a
 * SkeinError whose code and message go back to the party before the close.
 */
export class ServerHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES)
  /** The authenticated party's role and capabilities. */
  role: PartyRole | null = null
  capabilities: readonly string[] = []

  constructor(
    private readonly credentials: Credentials,
    /** 'scheduler' or 'worker', for messages. */
    private readonly server: string,
    private readonly roles: readonly PartyRole[],
  ) {}

  challenge(): Challenge {
    return ['challenge', PROTOCOL_VERSION, this.credentials.secure ? 'hmac-sha256' : 'none', this.nonce, [...CAPABILITIES]]
  }

  /** Checks the party's first message; returns the reply that completes the handshake. */
  answer(m: unknown[]): Authenticated {
    if (m[0] !== 'auth') {
      if (typeof m[0] === 'string' && m[0].startsWith('hello-')) {
        throw new ProtocolVersionError(
          `this ${this.server} speaks skein protocol ${PROTOCOL_VERSION}, which starts with an authenticated handshake; the other side sent '${m[0]}' at once, as skein protocol 1 did: run the same skein version everywhere`,
          PROTOCOL_VERSION,
          1,
        )
      }
      throw new SkeinError(HANDSHAKE, `the first message must be 'auth' (the answer to this ${this.server}'s challenge), not '${String(m[0]).slice(0, 32)}'`)
    }
    const [, version, role, nonce, proof, capabilities] = m
    if (typeof version !== 'number') throw new SkeinError(HANDSHAKE, `'auth' message: the protocol version must be a number`)
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolVersionError(`this ${this.server} speaks skein protocol ${PROTOCOL_VERSION}, the other side speaks ${version}: run the same skein version everywhere`, PROTOCOL_VERSION, version)
    }
    if (m.length !== 6) throw new SkeinError(HANDSHAKE, `'auth' message: expected 5 fields, found ${m.length - 1}`)
    if (!this.roles.includes(role as PartyRole)) {
      throw new SkeinError(HANDSHAKE, `'auth' message: a ${this.server} accepts ${this.roles.map((r) => `'${r}'`).join(' or ')} parties, not '${String(role).slice(0, 32)}'`)
    }
    if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES) throw new SkeinError(HANDSHAKE, `'auth' message: the nonce must be ${NONCE_BYTES} bytes`)
    if (!isCapabilities(capabilities)) throw new SkeinError(HANDSHAKE, `'auth' message: capabilities must be at most ${MAX_CAPABILITIES} short strings`)
    if (this.credentials.secure && !this.credentials.verify(proof, partyLabel(role as PartyRole), this.nonce, nonce)) {
      throw new AuthenticationError(
        proof === null
          ? `this ${this.server} requires the cluster's token and none was given (pass 'token' or 'tokenFile', or set SKEIN_TOKEN)`
          : `wrong token: the proof does not match this ${this.server}'s token`,
      )
    }
    this.role = role as PartyRole
    this.capabilities = capabilities
    return ['authenticated', this.credentials.secure ? this.credentials.prove(SERVER_LABEL, nonce, this.nonce) : null]
  }
}

/**
 * The connecting party's side of the handshake: answer the server's
 * challenge, then check that the server proved it holds the token too (a
 * party with a token sends nothing else to a server that cannot).
 */
export class PartyHandshake {
  private readonly nonce = randomBytes(NONCE_BYTES)
  private serverNonce: Uint8Array | null = null
  private secureServer = false
  done = false

  constructor(
    private readonly credentials: Credentials,
    private readonly role: PartyRole,
    /** Who the server is, for messages: "the scheduler at ws://..." */
    private readonly server: string,
  ) {}

  /**
   * One message from the server before the handshake is done. Returns the 'auth' message to send
   * after the challenge, or null once the server's proof checks out (`done` is then true).
   * Throws AuthenticationError, ProtocolVersionError or a SkeinError with the server's refusal.
   */
  receive(m: unknown[]): Auth | null {
    if (m[0] === 'error') throw refusal(m, this.server)
    if (this.serverNonce === null) return this.answer(m)
    if (m[0] !== 'authenticated') throw new SkeinError(HANDSHAKE, `${this.server} sent '${String(m[0]).slice(0, 32)}' where 'authenticated' was expected`)
    if (this.secureServer && !this.credentials.verify(m[1], SERVER_LABEL, this.nonce, this.serverNonce)) {
      throw new AuthenticationError(`${this.server} could not prove it holds the cluster's token: it is not the server this token belongs to`)
    }
    this.done = true
    return null
  }

  private answer(m: unknown[]): Auth {
    if (m[0] !== 'challenge') {
      throw new ProtocolVersionError(
        `${this.server} did not start with a versioned handshake (it sent '${String(m[0]).slice(0, 32)}'): it runs an older skein, which speaks protocol 1; this side speaks ${PROTOCOL_VERSION}`,
        PROTOCOL_VERSION,
        1,
      )
    }
    const [, version, method, nonce] = m
    if (version !== PROTOCOL_VERSION) {
      const theirs = typeof version === 'number' ? version : Number.NaN
      throw new ProtocolVersionError(`${this.server} speaks skein protocol ${String(version)}, this side speaks ${PROTOCOL_VERSION}: run the same skein version everywhere`, PROTOCOL_VERSION, theirs)
    }
    if (!(nonce instanceof Uint8Array) || nonce.byteLength !== NONCE_BYTES || (method !== 'none' && method !== 'hmac-sha256')) {
      throw new SkeinError(HANDSHAKE, `${this.server} sent a malformed challenge`)
    }
    if (method === 'none' && this.credentials.secure) {
      throw new AuthenticationError(
        `${this.server} runs without authentication (--insecure) although this side was given a token: it will not send anything to a server that cannot prove it holds the token (connect without a token to use an insecure cluster)`,
      )
    }
    if (method === 'hmac-sha256' && !this.credentials.secure) {
      throw new AuthenticationError(`${this.server} requires the cluster's token: pass 'token' or 'tokenFile', or set SKEIN_TOKEN (or SKEIN_TOKEN_FILE)`)
    }
    this.serverNonce = nonce
    this.secureServer = method === 'hmac-sha256'
    const proof = this.secureServer ? this.credentials.prove(partyLabel(this.role), nonce, this.nonce) : null
    return ['auth', PROTOCOL_VERSION, this.role, this.nonce, proof, [...CAPABILITIES]]
  }
}

function isCapabilities(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_CAPABILITIES && v.every((c) => typeof c === 'string' && c.length <= MAX_CAPABILITY_LENGTH)
}

/** The server's ['error', request, code, message] during the handshake, as the error it names. */
function refusal(m: unknown[], server: string): SkeinError {
  const code = typeof m[2] === 'string' ? m[2] : HANDSHAKE
  const message = `${server} refused the connection: ${typeof m[3] === 'string' ? m[3] : 'no reason given'}`
  if (code === AUTH_FAILED) return new AuthenticationError(message)
  if (code === VERSION_MISMATCH) return new ProtocolVersionError(message, PROTOCOL_VERSION, Number.NaN)
  return new SkeinError(code, message)
}
