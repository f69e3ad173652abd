// Optional bearer-token authentication, and the check that a gateway reachable from
// other machines is not left open. Tokens are compared as SHA-256 digests with
// timingSafeEqual: equal lengths always, and every configured token is compared, so
// neither the length nor the position of a match shows in the response time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { DromedarError } from '../util/errors.js';

/** Routes any client may call: liveness probes carry no token. */
export const PUBLIC_ROUTES = [{ method: 'GET', path: '/healthz' }] as const;

// RFC 6750: "Bearer" (any case), one or more spaces, a b64token.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const REALM = 'Bearer realm="dromedar"';

/** Middleware refusing requests without a configured token; null when no token is configured. */
export function bearerAuth(tokens: readonly string[]): MiddlewareHandler | null {
  if (tokens.length === 0) return null;
  const digests = tokens.map(digest);
  return async (c, next) => {
    if (!isPublic(c)) check(c.req.header('authorization'), digests);
    await next();
  };
}

function isPublic(c: Context): boolean {
  // HEAD is GET without a body (Hono answers it with the GET route).
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  return PUBLIC_ROUTES.some((r) => r.method === method && r.path === c.req.path);
}

function check(header: string | undefined, digests: Buffer[]): void {
  if (header === undefined) throw unauthorized('this gateway needs a token: send Authorization: Bearer <token> (the dromedar CLI sends $DROMEDAR_TOKEN)', REALM);
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) throw unauthorized('the Authorization header must be "Bearer <token>"', `${REALM}, error="invalid_request"`);
  const presented = digest(token);
  let match = false;
  for (const known of digests) match = timingSafeEqual(known, presented) || match;
  // The message never repeats what was sent: it may be a real token meant for elsewhere.
  if (!match) throw unauthorized('the bearer token is not valid', `${REALM}, error="invalid_token"`);
}

function unauthorized(message: string, challenge: string): DromedarError {
  return new DromedarError('unauthorized', message, 401, { 'www-authenticate': challenge });
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
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
