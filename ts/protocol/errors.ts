/** Base of every error skein raises; `code` is stable, the message is for people. */
export class SkeinError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }

  override get name(): string {
    return this.constructor.name
  }
}

/**
 * A connection was refused because one side could not prove it holds the
 * cluster's token: a wrong or missing token, or a server that could not
 * prove it knows the token (so it is not the cluster's). Nothing was sent
 * beyond the handshake.
 */
export class AuthenticationError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_AUTH_FAILED', message)
  }
}

/** The two ends of a connection speak different versions of skein's protocol: run one skein version across the cluster. */
export class ProtocolVersionError extends SkeinError {
  constructor(
    message: string,
    readonly local: number,
    readonly remote: number,
  ) {
    super('SKEIN_PROTOCOL_VERSION', message)
  }
}

/** An options object given to a call has an unknown option or a value of the wrong type (the message names it). */
export class InvalidOptionsError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}

/** A token, token file or TLS setting that cannot be used (too short, unreadable, contradictory). */
export class SecurityOptionsError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}

/**
 * A TLS connection failed: the other side's certificate does not verify
 * against the CA (or is for another host), a server requires a client
 * certificate this side does not have or did not accept it, or one side
 * speaks TLS and the other does not. The message names the reason and the
 * OpenSSL/Node code (`tlsCode`).
 */
export class TlsError extends SkeinError {
  constructor(
    message: string,
    /** Node's or OpenSSL's code for the failure (e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE), when there is one. */
    readonly tlsCode: string | undefined,
  ) {
    super('SKEIN_TLS', message)
  }
}

/** A server refused a connection before any WebSocket existed (HTTP status and the server's reason). */
export class ConnectionRefusedError extends SkeinError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message)
  }
}
