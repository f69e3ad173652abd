// The gateway's HTTP surface: small route groups mounted on one Hono app, with a
// body limit, one log line per request, and JSON errors for everything.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../util/log.js';
import { DromedarError } from '../util/errors.js';
import { adminRoutes } from './admin.js';
import { drillCompatRoutes } from './drill-compat.js';
import { errorResponse, toDromedarError } from './errors.js';
import { readQueryInput } from './input.js';
import { planRoutes } from './plan.js';
import { runQuery, type Decision, type QueryDeps } from './query.js';

export interface AppDeps extends QueryDeps {
  bodyLimitBytes: number;
  log: Logger;
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(requestLog(deps.log));
  app.use(
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: async (c) => {
        // Read (and drop) a moderately oversized body so the client, still sending, sees the
        // 413; past that, answer and close the connection rather than read on.
        const drained = await discard(c.req.raw.body, DRAIN_LIMIT);
        const headers: Record<string, string> = drained ? {} : { connection: 'close' };
        throw new DromedarError('body_too_large', `the body is over the limit of ${deps.bodyLimitBytes} bytes`, 413, headers);
      },
    }),
  );
  app.post('/query', async (c) => runQuery(c, deps, await readQueryInput(c, deps.qsf.bounds)));
  app.route('/', planRoutes(deps.sizer, { qsf: deps.qsf }));
  app.route('/', adminRoutes(deps));
  app.route('/', drillCompatRoutes(deps));
  app.notFound((c) => errorResponse(c, new DromedarError('not_found', `no route ${c.req.method} ${c.req.path}`, 404)));
  app.onError((err, c) => {
    const error = toDromedarError(err);
    if (error.status >= 500 && error.code === 'internal') deps.log.error({ err }, 'unhandled error');
    return errorResponse(c, error);
  });
  return app;
}

const DRAIN_LIMIT = 64 * 2 ** 20;

async function discard(body: ReadableStream<Uint8Array> | null, limit: number): Promise<boolean> {
  if (!body || body.locked) return true;
  let seen = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      seen += value.length;
      if (seen > limit) return false;
    }
  } catch {
    return false;
  } finally {
    reader.releaseLock();
  }
}

function requestLog(log: Logger) {
  return async (c: import('hono').Context, next: () => Promise<void>) => {
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
          bytes: decision.plan.bytes,
          qsf: decision.plan.qsf,
          drillbits: decision.drillbits,
          parsed: decision.plan.parsed,
          drillbit: decision.drillbit,
          timings: decision.timings,
        }),
      },
      'request',
    );
  };
}
