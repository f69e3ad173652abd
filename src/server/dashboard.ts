// Operating the gateway: GET /metrics (Prometheus), GET /v1/timeline (the history the
// dashboard draws) and the dashboard itself. The dashboard is a page shell with no data
// and no login form, given only to browsers asking for HTML at `/` (Drill's clients,
// which probe `/` with */* or nothing, keep getting Drill's web root); its script and
// style are files (a strict Content-Security-Policy allows nothing inline) and every
// number it shows comes from the authenticated JSON routes.
import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { ApiRoutes } from './openapi.js';

const ASSETS = new URL('../../../src/server/dashboard/', import.meta.url);

/** The dashboard's files, public like Drill's web root: code and style, no data. */
export const DASHBOARD_ASSETS: Record<string, string | undefined> = {
  '/dashboard/app.js': 'text/javascript; charset=utf-8',
  '/dashboard/app.css': 'text/css; charset=utf-8',
};

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** A browser navigating to the page (it asks for HTML by name); Drill's clients send *\/* or nothing. */
export function wantsDashboard(c: Context): boolean {
  if (c.req.method !== 'GET') return false;
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(c.req.header('accept') ?? '');
}

export function metricsRoutes(api: ApiRoutes, metrics: GatewayMetrics, isPublic = false): void {
  api.add(
    {
      method: 'get',
      path: '/metrics',
      tag: 'gateway',
      public: isPublic,
      summary: "Prometheus metrics (text format 0.0.4): queries, waits, Drillbits, scale events, Drillbit-seconds; answers while Drill is unreachable (dromedar_drill_reachable 0)",
      responses: { 200: { description: 'the metrics', content: { 'text/plain': z.string() } } },
    },
    async (c) => {
      const { contentType, body } = await metrics.render();
      return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
    },
  );
  api.add(
    {
      method: 'get',
      path: '/v1/timeline',
      tag: 'gateway',
      summary: 'the last hour: desired and observed Drillbits (samples), scale events with their reasons, Drillbit-seconds consumed',
      responses: {
        200: {
          description: 'the timeline',
          content: {
            'application/json': z.object({
              samples: z.array(z.object({ at: z.number(), desired: z.number(), starting: z.number(), online: z.number(), draining: z.number() })),
              events: z.array(z.object({ at: z.string(), from: z.number(), to: z.number(), reason: z.string(), code: z.string() })),
              drillbitSeconds: z.object({ total: z.number(), lastHour: z.number() }),
            }),
          },
        },
      },
    },
    (c) => c.json(metrics.timeline()),
  );
}

/**
 * Mounted before Drill's web root: browsers get the dashboard shell at `/`, everyone else
 * falls through; the page's two files. A middleware (not routes): the page and its files
 * are not API routes, so they stay out of the OpenAPI document and its route checks.
 */
export function dashboardRoutes(app: Hono): void {
  const files = new Map<string, string>();
  const read = (name: string) => {
    let text = files.get(name);
    if (text === undefined) files.set(name, (text = readFileSync(new URL(name, ASSETS), 'utf8')));
    return text;
  };
  app.use(async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    if (c.req.path === '/') {
      if (!wantsDashboard(c)) return next();
      return c.body(read('index.html'), 200, { 'content-type': 'text/html; charset=utf-8', vary: 'Accept', ...SECURITY_HEADERS });
    }
    const type = DASHBOARD_ASSETS[c.req.path];
    if (type === undefined) return next();
    return c.body(read(c.req.path.slice('/dashboard/'.length)), 200, { 'content-type': type, ...SECURITY_HEADERS });
  });
}
