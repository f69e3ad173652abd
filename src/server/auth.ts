// Optional token authentication, in the three forms Drill's clients can send: a bearer
// token, HTTP Basic with the token as the password (pydrill, curl -u, JDBC-style
// tools), and Drill's form login (POST /j_security_check, see login.ts), whose session
// cookie then stands for the token. Tokens are compared as SHA-256 digests with
// timingSafeEqual: equal lengths always, and every configured token is compared, so
// neither the length nor the position of a match shows in the response time. Sessions
// live in memory, bounded in number, idle time and age; the map is keyed by the SHA-256
// of the session id, so a lookup's timing says nothing about the ids it holds.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/load.js';
import { DromedarError } from '../util/errors.js';

/**
 * Routes any client may call: liveness probes (/healthz, and Drill's web root, which
 * Drill serves to everyone and clients such as pydrill probe) and Drill's login pages.
 */
export const PUBLIC_ROUTES = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/login' },
  { method: 'GET', path: '/logout' },
  { method: 'POST', path: '/j_security_check' },
  // The dashboard's script and style (no data: the page gets that from the /v1 routes, with a token).
  { method: 'GET', path: '/dashboard/app.js' },
  { method: 'GET', path: '/dashboard/app.css' },
] as const;

/** Drill's own session cookie name (WebServer.createSessionHandler, without TLS). */
export const SESSION_COOKIE = 'Drill-Session-Id';

// RFC 6750: "Bearer" (any case), one or more spaces, a b64token. RFC 7617: "Basic", a token68.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;
const CHALLENGE = 'Bearer realm="dromedar", Basic realm="dromedar", charset="UTF-8"';

export type SessionSettings = Config['server']['auth']['session'];

interface Session {
  /** When the login happened (the clock's ms): the session ends maxLifetimeSecs later at the latest. */
  createdAt: number;
}

export class Authenticator {
  private readonly digests: Buffer[];
  private readonly sessions: LRUCache<string, Session>;

  constructor(
    tokens: readonly string[],
    readonly settings: SessionSettings,
    /** Milliseconds of a monotonic clock (tests move it). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.digests = tokens.map(digest);
    // ttl + updateAgeOnGet: an entry lives idleTimeoutSecs past its last use; max: the oldest go first.
    this.sessions = new LRUCache<string, Session>({
      max: settings.maxSessions,
      ttl: settings.idleTimeoutSecs * 1000,
      updateAgeOnGet: true,
      perf: { now },
      // Read the clock on every look-up (by default lru-cache reuses a reading for 1 ms).
      ttlResolution: 0,
    });
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Whether `presented` is one of the configured tokens (constant time in the tokens). */
  isToken(presented: string): boolean {
    const candidate = digest(presented);
    let match = false;
    for (const known of this.digests) match = timingSafeEqual(known, candidate) || match;
    return match;
  }

  /** Middleware refusing requests without a valid token; null when no token is configured. */
  middleware(): MiddlewareHandler | null {
    if (!this.enabled) return null;
    return async (c, next) => {
      if (!isPublic(c)) this.check(c);
      await next();
    };
  }

  // An Authorization header, when present, decides; without one, Drill's session cookie does.
  private check(c: Context): void {
    const header = c.req.header('authorization');
    if (header === undefined) {
      if (this.hasSession(c)) return;
      throw unauthorized('this gateway needs a token: send Authorization: Bearer <token>, HTTP Basic auth with the token as the password, or log in at /j_security_check with it (the dromedar CLI sends $DROMEDAR_TOKEN)');
    }
    const bearer = BEARER.exec(header)?.[1];
    const token = bearer ?? basicPassword(header);
    if (token === undefined) throw unauthorized('the Authorization header must be "Bearer <token>" or "Basic <base64 of user:token>"', 'invalid_request');
    // The message never repeats what was sent: it may be a real token meant for elsewhere.
    if (!this.isToken(token)) throw unauthorized(bearer !== undefined ? 'the bearer token is not valid' : 'the password (a token) is not valid', 'invalid_token');
  }

  /** Opens a session for a client that presented a token, and sets its cookie. */
  openSession(c: Context): void {
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(sessionKey(id), { createdAt: this.now() });
    setCookie(c, SESSION_COOKIE, id, { path: '/', httpOnly: true, sameSite: 'Strict', maxAge: this.settings.maxLifetimeSecs });
  }

  /** Whether the request carries the cookie of a live session (which the call keeps alive). */
  hasSession(c: Context): boolean {
    const id = getCookie(c, SESSION_COOKIE);
    if (id === undefined || id.length > 100) return false;
    const key = sessionKey(id);
    const session = this.sessions.get(key);
    if (session === undefined) return false;
    if (this.now() - session.createdAt > this.settings.maxLifetimeSecs * 1000) {
      this.sessions.delete(key);
      return false;
    }
    return true;
  }

  /** Ends the request's session, if any, and clears its cookie. */
  closeSession(c: Context): void {
    const id = getCookie(c, SESSION_COOKIE);
    if (id !== undefined) this.sessions.delete(sessionKey(id));
    deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict' });
  }

  /** Live sessions (for tests and status). */
  get sessionCount(): number {
    this.sessions.purgeStale();
    return this.sessions.size;
  }
}

/** The password of an HTTP Basic header; undefined when the header is not Basic or malformed. */
function basicPassword(header: string): string | undefined {
  const encoded = BASIC.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function isPublic(c: Context): boolean {
  // HEAD is GET without a body (Hono answers it with the GET route).
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  return PUBLIC_ROUTES.some((r) => r.method === method && r.path === c.req.path);
}

function unauthorized(message: string, error?: 'invalid_request' | 'invalid_token'): DromedarError {
  const challenge = error ? CHALLENGE.replace('Bearer realm="dromedar"', `Bearer realm="dromedar", error="${error}"`) : CHALLENGE;
  return new DromedarError('unauthorized', message, 401, { 'www-authenticate': challenge });
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function sessionKey(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
}

/** The warning to log at start when the gateway listens beyond loopback without tokens; null if none. */
export function exposureWarning(host: string, tokens: readonly string[]): string | null {
  if (isLoopback(host) || tokens.length > 0) return null;
  return (
    `Dromedar listens on ${host}, reachable from other machines, and no token is configured: anyone who can ` +
    'connect can run SQL over the data and change the QSF. Set server.auth.tokens or DROMEDAR_TOKENS, or listen on 127.0.0.1'
  );
}
