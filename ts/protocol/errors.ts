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

/** A token, token file or TLS setting that cannot be used (too short, unreadable, contradictory). */
export class SecurityOptionsError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}
