// The gateway's HTTP surface: small route groups on one Hono app, with optional
// bearer-token auth, a body limit, one log line per request, JSON errors for
// everything, and its own OpenAPI description generated from the route definitions.
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Logger } from '../util/log.js';
import { DromedarError } from '../util/errors.js';
import { GatewayMetrics } from '../metrics/metrics.js';
import { observeRegistry, refusalObserver } from '../metrics/observe.js';
import { adminRoutes } from './admin.js';
import { Authenticator, type SessionSettings } from './auth.js';
import { drillCompatRoutes, drillEndpointRefusal, DrillOptions, type DrillFacts } from './drill-compat.js';
import { dashboardRoutes, metricsRoutes } from './dashboard.js';
import { drillWebRoutes } from './drill-web.js';
import { errorResponse, toDromedarError } from './errors.js';
import { readQueryInput } from './input.js';
import { ApiRoutes, errors, type RouteSpec } from './openapi.js';
import { planRoutes } from './plan.js';
import { trinoRoutes, type TrinoDeps } from '../trino/routes.js';
import { queryRegistryRoutes } from './queries.js';
import { queryEngine, runQuery, type Decision, type QueryDeps } from './query.js';
import { decisionHeaders, drillResult, plan, qsfParameters, queryBody, sqlText } from './schemas.js';

export interface AppDeps extends QueryDeps {
  bodyLimitBytes: number;
  log: Logger;
  /** Tokens clients must send (Bearer, Basic password, or Drill's form login); none (or no `auth`): no authentication. */
  auth?: { tokens: readonly string[]; session?: SessionSettings; publicMetrics?: boolean };
  /** Drill's user impersonation on the Drillbits (drill.impersonation), and its option catalog. */
  drill?: DrillFacts;
  /** Where events become metrics (Gateway passes the one that also watches its scheduler). */
  metrics?: GatewayMetrics;
  /** Trino's client protocol (src/trino): the Drill schemas the gateway knows, timeouts, page size. */
  trino?: Pick<TrinoDeps, 'schemas' | 'clientTimeoutMs' | 'pageBytes'>;
}

const SESSION_DEFAULTS: SessionSettings = { idleTimeoutSecs: 3600, maxLifetimeSecs: 12 * 3600, maxSessions: 10_000 };

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const api = new ApiRoutes(app);
  const tokens = deps.auth?.tokens ?? [];
  app.use(requestLog(deps.log));
  // Before the body limit: a client without a token gets its 401 before its body is read.
  const authenticator = new Authenticator(tokens, deps.auth?.session ?? SESSION_DEFAULTS);
  const auth = authenticator.middleware();
  // server.auth.publicMetrics: a scraper without a token may read GET /metrics.
  const publicMetrics = deps.auth?.publicMetrics === true;
  if (auth) app.use((c, next) => (publicMetrics && c.req.path === '/metrics' && (c.req.method === 'GET' || c.req.method === 'HEAD') ? next() : auth(c, next)));
  const metrics = deps.metrics ?? new GatewayMetrics().watch({ pool: deps.pool, sizing: () => deps.sizer.cacheStats });
  // Every query, whatever its front end, is in the registry: the metrics hear its events.
  observeRegistry(metrics, queryEngine(deps).registry);
  app.use(refusalObserver(metrics));
  app.use(
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: async (c) => {
        // Read (and drop) a moderately oversized body, briefly, so the client, still sending,
        // sees the 413; past that (or announced beyond it), answer and close the connection.
        const announced = Number(c.req.header('content-length') ?? 0);
        const drained = announced <= DRAIN_LIMIT && (await discard(c.req.raw.body, DRAIN_LIMIT, DRAIN_MS));
        const headers: Record<string, string> = drained ? {} : { connection: 'close' };
        throw new DromedarError('body_too_large', `the body is over the limit of ${deps.bodyLimitBytes} bytes`, 413, headers);
      },
    }),
  );
  queryRoutes(api, deps);
  queryRegistryRoutes(api, () => queryEngine(deps).registry);
  app.route('/', planRoutes(deps.sizer, { qsf: deps.qsf }));
  adminRoutes(api, deps);
  drillCompatRoutes(api, deps, deps.drill ?? { impersonation: false, options: new DrillOptions(null) });
  metricsRoutes(api, metrics, publicMetrics);
  // Before Drill's web root: browsers asking for HTML at / get the dashboard, Drill's clients the root page.
  dashboardRoutes(app);
  drillWebRoutes(api, authenticator);
  trinoRoutes(api, { sizer: deps.sizer, pool: deps.pool, qsf: deps.qsf, log: deps.log, drillOptions: deps.drill?.options, queries: queryEngine(deps).registry, ...(deps.trino ?? { schemas: () => [], clientTimeoutMs: 300_000, pageBytes: 1 << 20 }) });
  openApiRoute(api, tokens.length > 0);
  app.notFound((c) => errorResponse(c, unrouted(c, api)));
  app.onError((err, c) => {
    const error = toDromedarError(err);
    if (error.status >= 500 && error.code === 'internal') deps.log.error({ err }, 'unhandled error');
    return errorResponse(c, error);
  });
  return app;
}

function queryRoutes(api: ApiRoutes, deps: AppDeps): void {
  const bounds = deps.qsf.bounds;
  const common: Pick<RouteSpec, 'method' | 'tag' | 'request'> = {
    method: 'post',
    tag: 'queries',
    request: { ...qsfParameters(bounds), body: { content: { 'application/json': queryBody(bounds) } } },
  };
  api.add(
    {
      ...common,
      path: '/query',
      summary: "size the query, scale the pool, run it on Drill and stream Drill's answer",
      request: { ...common.request, body: { content: { 'text/plain': sqlText, 'application/sql': sqlText, 'application/json': queryBody(bounds) } } },
      responses: {
        200: { description: "Drill's /query.json answer, streamed (Drill's own query errors too: queryState FAILED)", headers: decisionHeaders, content: { 'application/json': drillResult } },
        ...errors(400, 403, 413, 415, 502, 503, 504),
      },
    },
    async (c) => runQuery(c, deps, await readQueryInput(c, bounds)),
  );
  // Served by planRoutes (plan.ts), which reads its input exactly as POST /query reads JSON.
  api.describe({
    ...common,
    path: '/v1/plan',
    summary: 'the sizing decision for a query, without running it or starting anything',
    responses: { 200: { description: 'targets, bytes, QSF and Drillbits', content: { 'application/json': plan } }, ...errors(400, 403, 413, 415) },
  });
}

function openApiRoute(api: ApiRoutes, auth: boolean): void {
  let document: object | undefined;
  api.add(
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'gateway',
      summary: 'this description of the API (OpenAPI 3.1)',
      responses: { 200: { description: 'the OpenAPI document', content: { 'application/json': z.looseObject({ openapi: z.string() }) } } },
    },
    (c) => {
      document ??= api.document({
        title: 'Dromedar',
        version: VERSION,
        auth,
        description:
          'SQL-aware gateway in front of Apache Drill: sizes each query from file metadata, scales the Drill cluster to it, ' +
          "runs it and streams Drill's answer back. Errors are JSON {error, message}. A known path with another method answers " +
          "405 with Allow; Drill's other endpoints (shutdown, storage and option changes, query cancel, logs) answer 403; " +
          'requests the HTTP parser refuses answer 400 (431 for oversized headers).',
      });
      return c.json(document);
    },
  );
}

// No route took the request: a known path with another method, a Drill endpoint that is
// not served, or nothing at all.
function unrouted(c: Context, api: ApiRoutes): DromedarError {
  const path = c.req.path.slice(0, 200);
  const allowed = api.methodsAt(c.req.path);
  if (allowed.length > 0) {
    return new DromedarError('method_not_allowed', `${path} takes ${allowed.join(', ')}, not ${c.req.method}`, 405, { allow: allowed.join(', ') });
  }
  return drillEndpointRefusal(c) ?? new DromedarError('not_found', `no route ${c.req.method} ${path}`, 404);
}

const DRAIN_LIMIT = 64 * 2 ** 20;
const DRAIN_MS = 5_000;

/** Reads a body to its end and drops it; false when it is over `limit` bytes or `ms` long. */
async function discard(body: ReadableStream<Uint8Array> | null, limit: number, ms: number): Promise<boolean> {
  if (!body || body.locked) return true;
  let seen = 0;
  let expired = false;
  const reader = body.getReader();
  const timer = setTimeout(() => {
    expired = true;
    reader.cancel().catch(() => {});
  }, ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return !expired;
      seen += value.length;
      if (seen > limit) return false;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

// Method, path (never the query string: it may carry secrets), status and timing; never headers.
function requestLog(log: Logger) {
  return async (c: Context, next: () => Promise<void>) => {
    const start = performance.now();
    await next();
    const decision = c.get('decision' as never) as Decision | undefined;
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - start),
        ...(decision && {
          query: decision.query.id,
          bytes: decision.query.plan?.bytes,
          qsf: decision.query.plan?.qsf,
          drillbits: decision.query.clusterDrillbits,
          sized: decision.query.plan?.drillbits,
          parsed: decision.query.plan?.parsed,
          drillbit: decision.query.drillbit?.id,
          timings: decision.timings,
        }),
      },
      'request',
    );
  };
}
