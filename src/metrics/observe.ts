// Queries become observations here, from the outside of the query path: one middleware
// over the query routes reads the status and the sizing decision the path leaves on the
// context (the same one the request log reads). Nothing in the query path counts.
import type { Context, MiddlewareHandler } from 'hono';
import type { PoolManager } from '../pool/pool.js';
import type { Decision } from '../server/query.js';
import type { GatewayMetrics, Outcome } from './metrics.js';

/** The routes that run a query, by the front end they belong to. */
const FRONT_ENDS: Record<string, string> = { '/query': 'rest', '/query.json': 'drill' };

export function outcomeOf(status: number): Outcome {
  if (status < 400) return 'finished';
  if (status === 499) return 'cancelled';
  // The gateway said no before running anything: bad SQL, a policy, auth, a full queue.
  if (status < 500 || status === 503) return 'refused';
  return 'failed';
}

export function queryObserver(metrics: GatewayMetrics, pool: PoolManager): MiddlewareHandler {
  return async (c: Context, next) => {
    const frontEnd = c.req.method === 'POST' ? FRONT_ENDS[c.req.path] : undefined;
    if (!frontEnd) return next();
    const start = performance.now();
    const launches = pool.launches;
    await next();
    const status = c.res.status;
    const decision = c.get('decision' as never) as Decision | undefined;
    metrics.observeQuery({
      frontEnd,
      outcome: outcomeOf(status),
      status,
      firstByteSeconds: status < 400 ? (performance.now() - start) / 1000 : undefined,
      ...(decision && {
        sizingSeconds: decision.timings.sizing / 1000,
        waitSeconds: decision.timings.scale / 1000,
        // Cold when Drillbits were launched while it waited (shared scale-ups count for each waiter).
        cold: pool.launches > launches,
        bytesEstimated: decision.plan.bytes,
      }),
    });
  };
}
