// Drill's web root and form login, as Drill's own clients use them. GET / is Drill's
// HTML root, open to everyone as in Drill: clients probe it to see whether Drill is up
// (pydrill's is_active: HEAD / must answer 200). Drill's FORM authentication: POST
// /j_security_check with j_username and j_password; on success a 303 to / with a session
// cookie, on failure Drill's login page again (status 200) saying "Invalid
// username/password credentials." — sqlalchemy-drill and pydrill read exactly that. Here
// the password is a token (server.auth.tokens); the user name is not checked (the
// Drillbits run without authentication, so it carries no identity).
import type { Context } from 'hono';
import { z } from 'zod';
import { DromedarError } from '../util/errors.js';
import type { Authenticator } from './auth.js';
import { errors, type ApiRoutes } from './openapi.js';

const html = (c: Context, body: string, status: 200 = 200) => c.html(body, status, { 'cache-control': 'no-store' });

export function drillWebRoutes(api: ApiRoutes, auth: Authenticator): void {
  api.add(
    {
      method: 'get',
      path: '/',
      tag: 'drill',
      public: true,
      summary: "Drill's web root: a small HTML page, 200 while the gateway runs (clients probe it)",
      responses: { 200: { description: 'an HTML page', content: { 'text/html': z.string() } } },
    },
    (c) => html(c, rootPage(auth.enabled && !auth.hasSession(c) && c.req.header('authorization') === undefined ? 'login' : 'none')),
  );
  api.add(
    {
      method: 'get',
      path: '/login',
      tag: 'drill',
      public: true,
      summary: "Drill's login form (the password is a token)",
      responses: { 200: { description: 'an HTML form posting to /j_security_check', content: { 'text/html': z.string() } }, 303: { description: 'already logged in: to /' }, ...errors(400) },
    },
    (c) => {
      requireAuth(auth);
      return auth.hasSession(c) ? c.redirect('/', 303) : html(c, loginPage(null));
    },
  );
  api.add(
    {
      method: 'post',
      path: '/j_security_check',
      tag: 'drill',
      public: true,
      summary: "Drill's form login: j_username (not checked) and j_password (a token); a session cookie on success",
      request: {
        body: {
          content: {
            'application/x-www-form-urlencoded': z.object({ j_username: z.string().optional(), j_password: z.string() }),
          },
        },
      },
      responses: {
        200: { description: "wrong or missing password: Drill's login page with \"Invalid username/password credentials.\"", content: { 'text/html': z.string() } },
        303: {
          description: `logged in: to /, with the cookie Drill-Session-Id (HttpOnly, SameSite=Strict) of a session that ends after server.auth.session.idleTimeoutSecs idle or maxLifetimeSecs`,
          headers: { 'Set-Cookie': { description: 'Drill-Session-Id=...', schema: z.string() } },
        },
        ...errors(400, 413, 415),
      },
    },
    async (c) => {
      requireAuth(auth);
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
        throw new DromedarError('unsupported_media_type', `POST /j_security_check takes Drill's login form, application/x-www-form-urlencoded (got ${type || 'no content type'})`, 415);
      }
      const form = await c.req.parseBody();
      const password = form.j_password;
      if (typeof password !== 'string' || !auth.isToken(password)) return html(c, loginPage('Invalid username/password credentials.'));
      auth.openSession(c);
      return c.redirect('/', 303);
    },
  );
  api.add(
    {
      method: 'get',
      path: '/logout',
      tag: 'drill',
      public: true,
      summary: "Drill's logout: ends the session and clears its cookie",
      responses: { 200: { description: 'the web root page', content: { 'text/html': z.string() } } },
    },
    (c) => {
      auth.closeSession(c);
      return html(c, rootPage(auth.enabled ? 'login' : 'none'));
    },
  );
}

// Without tokens there is nothing to log in to: say so (Drill without authentication has
// no login either), rather than take a password and ignore it.
function requireAuth(auth: Authenticator): void {
  if (!auth.enabled) {
    throw new DromedarError('no_authentication', 'this gateway has no authentication (server.auth.tokens is empty): connect without a user name and password', 400);
  }
}

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}code{background:#f3f3f3;padding:0 .2em}';

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
${body}
</body>
</html>
`;
}

/** The web root. Never a login form: pydrill takes a page holding one for a failed login. */
export function rootPage(login: 'login' | 'none'): string {
  return page(
    'Dromedar',
    `<h1>Dromedar</h1>
<p>A SQL-aware gateway in front of Apache Drill: each query is sized from the files it reads and runs on as many Drillbits as it needs.</p>
<ul>
<li><code>POST /query.json</code>: Drill's query API (Drill REST clients, sqlalchemy-drill, pydrill)</li>
<li><code>POST /query</code>: SQL as text; <a href="/openapi.json">/openapi.json</a> describes every route</li>
<li><a href="/healthz">/healthz</a>: liveness</li>
</ul>
${login === 'login' ? '<p><a href="/login">Log in</a> with a token as the password.</p>' : ''}`,
  );
}

/** Drill's login page (rest/login.ftl): the form posts j_username and j_password; an error shows in red. */
export function loginPage(error: string | null): string {
  return page(
    'Dromedar: log in',
    `<form role="form" name="input" action="/j_security_check" method="POST">
${error ? `<p style="color:red">${error}</p>\n` : ''}<h4>Log in to Dromedar (the password is a token)</h4>
<p><input type="text" size="30" name="j_username" placeholder="Username" autofocus></p>
<p><input type="password" size="30" name="j_password" placeholder="Token" autocomplete="off"></p>
<p><button type="submit">Log In</button></p>
</form>`,
  );
}
