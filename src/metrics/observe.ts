// Queries become observations here, from the outside of the query path. With the query
// registry (issue 12): its events, one observation per query as it ends. Without it: one
// middleware over the query routes reads the status and the sizing decision the path
// leaves on the context (as the request log does). Nothing in the query path counts.
import type { Context, MiddlewareHandler } from 'hono';
import type { PoolManager } from '../pool/pool.js';
import type { Query } from '../query/query.js';
import type { QueryRegistry } from '../query/registry.js';
import type { Decision } from '../server/query.js';
import type { GatewayMetrics, Outcome } from './metrics.js';

/** The routes that run a query, by the front end they belong to. */
const FRONT_ENDS: Record<string, string> = { '/query': 'query', '/query.json': 'drill' };

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

/** Every query of the registry, observed as it ends; returns the unsubscribe function. */
export function observeRegistry(metrics: GatewayMetrics, registry: QueryRegistry): () => void {
  // Queries that waited for a Drillbit to start: their wait was cold.
  const cold = new WeakSet<Query>();
  return registry.subscribe((event) => {
    const query = event.query;
    if (event.type === 'accuracy') {
      if (event.accuracy?.actual != null) metrics.readBytes(event.accuracy.actual);
      return;
    }
    if (event.type !== 'state') return;
    if (event.to === 'STARTING_DRILLBITS') cold.add(query);
    if (event.to !== 'FINISHED' && event.to !== 'FAILED' && event.to !== 'CANCELED') return;
    const t = query.times;
    const status = query.error?.status ?? 200;
    const outcome: Outcome = event.to === 'FINISHED' ? 'finished' : event.to === 'CANCELED' ? 'cancelled' : outcomeOf(status) === 'refused' ? 'refused' : 'failed';
    const seconds = (from: number | null, to: number | null) => (from === null || to === null ? undefined : (to - from) / 1000);
    metrics.observeQuery({
      frontEnd: query.frontEnd,
      outcome,
      status: event.to === 'CANCELED' ? 499 : status,
      sizingSeconds: seconds(t.created, t.sized),
      waitSeconds: seconds(t.sized, t.admitted),
      cold: cold.has(query),
      firstByteSeconds: seconds(t.created, t.started),
      bytesEstimated: query.plan?.bytes,
    });
  });
}
