import { createHmac, timingSafeEqual } from 'node:crypto'
import type http from 'node:http'

/** The cookie a browser gets once it showed the token. */
export const SESSION_COOKIE = 'skein-dashboard'

/**
 * Who may see the dashboard: with a token, a request must carry it (`Authorization: Bearer`,
 * or `?token=` once, which sets an HttpOnly cookie). The cookie holds an HMAC of the token,
 * not the token: a page, a log or a proxy that sees the cookie does not learn the secret.
 */
export class DashboardAuth {
  private readonly token: Buffer | null
  private readonly session: Buffer | null

  constructor(token: string | null) {
    this.token = token === null ? null : Buffer.from(token, 'utf8')
    this.session = token === null ? null : Buffer.from(createHmac('sha256', token).update('skein dashboard session').digest('base64url'))
  }

  get required(): boolean {
    return this.token !== null
  }

  /** Whether `req` shows the token or the session cookie. */
  allows(req: http.IncomingMessage): boolean {
    if (this.token === null) return true
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
    if (bearer !== null && same(Buffer.from(bearer[1].trim(), 'utf8'), this.token)) return true
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE)
    return cookie !== null && same(Buffer.from(cookie, 'utf8'), this.session!)
  }

  /** Whether `given` (a `?token=` value) is the token. */
  matches(given: string): boolean {
    return this.token !== null && same(Buffer.from(given, 'utf8'), this.token)
  }

  /** The Set-Cookie header that lets this browser in from now on. */
  sessionCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.session!.toString()}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`
  }
}

function same(a: Buffer, b: Buffer): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b)
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}
