import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SecurityOptionsError } from './errors'
import { inProcessToken } from './in-process'

/** Shorter shared secrets are refused: a token is the only thing between the network and running code. */
export const MIN_TOKEN_LENGTH = 16

/** How a party proves it holds the cluster's token, or that none is needed. */
export interface TokenOptions {
  /** The cluster's shared secret (at least 16 characters). */
  token?: string
  /** A file holding the token (surrounding whitespace ignored). */
  tokenFile?: string
}

/**
 * The cluster's shared secret, or its explicit absence. The token never
 * crosses the wire: each side proves it holds it with an HMAC over nonces
 * both sides chose (see handshake.ts).
 */
export class Credentials {
  private readonly key: Buffer | null

  private constructor(
    /** The token itself (to hand to this process's own workers and threads), or null when none. */
    readonly token: string | null,
  ) {
    this.key = token === null ? null : Buffer.from(token, 'utf8')
  }

  static readonly none = new Credentials(null)

  /** `source` names where the token came from, for the error when it is unusable. */
  static fromToken(token: string, source: string): Credentials {
    if (typeof token !== 'string') throw new SecurityOptionsError(`the token from ${source} must be a string, not ${typeof token}`)
    const trimmed = token.trim()
    if (trimmed.length < MIN_TOKEN_LENGTH) {
      throw new SecurityOptionsError(`the token from ${source} has ${trimmed.length} characters; at least ${MIN_TOKEN_LENGTH} are required (skein scheduler prints a random one)`)
    }
    return new Credentials(trimmed)
  }

  /** The token in `path`, e.g. one written by `skein scheduler --token-file`. */
  static fromFile(path: string): Credentials {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new SecurityOptionsError(`cannot read the token file ${path}: ${(err as Error).message}`)
    }
    return Credentials.fromToken(text, `the token file ${path}`)
  }

  /** Whether connections must prove the token. */
  get secure(): boolean {
    return this.key !== null
  }

  /** HMAC-SHA256 over `label` and two nonces; only meaningful when secure. */
  prove(label: string, first: Uint8Array, second: Uint8Array): Buffer {
    if (this.key === null) throw new Error('no token to prove')
    return createHmac('sha256', this.key).update(label).update(first).update(second).digest()
  }

  /** Constant-time check of a proof received from the other side. */
  verify(proof: unknown, label: string, first: Uint8Array, second: Uint8Array): boolean {
    if (!(proof instanceof Uint8Array)) return false
    const expected = this.prove(label, first, second)
    return proof.byteLength === expected.byteLength && timingSafeEqual(proof, expected)
  }
}

/** A fresh random token, as `skein scheduler` and LocalCluster make one: 256 bits, URL-safe. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url')
}

/** The credentials named by options (token beats tokenFile), or null when they name none. */
export function credentialsFromOptions(options: TokenOptions, what: string): Credentials | null {
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new SecurityOptionsError(`${what}: give either 'token' or 'tokenFile', not both`)
  }
  if (options.token !== undefined) return Credentials.fromToken(options.token, `${what}'s 'token' option`)
  if (options.tokenFile !== undefined) return Credentials.fromFile(options.tokenFile)
  return null
}

/** The credentials the environment names: SKEIN_TOKEN, else SKEIN_TOKEN_FILE; null when neither is set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | null {
  if (env.SKEIN_TOKEN) return Credentials.fromToken(env.SKEIN_TOKEN, 'the SKEIN_TOKEN environment variable')
  if (env.SKEIN_TOKEN_FILE) return Credentials.fromFile(env.SKEIN_TOKEN_FILE)
  return null
}

/**
 * The credentials a client or worker uses to connect to the server at `address`: its own options;
 * else, for a scheduler this process started, that scheduler's token; else SKEIN_TOKEN or
 * SKEIN_TOKEN_FILE; else none (which only an insecure scheduler accepts).
 */
export function partyCredentials(options: TokenOptions, address: string, what: string): Credentials {
  const own = credentialsFromOptions(options, what)
  if (own !== null) return own
  const local = inProcessToken(address)
  if (local !== undefined) return local === null ? Credentials.none : Credentials.fromToken(local, `the scheduler at ${address}`)
  return credentialsFromEnv() ?? Credentials.none
}
