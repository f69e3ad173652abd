// Queries become observations here, from the outside of the query path: the query
// registry's events (issue 12), one observation per query as it ends, whatever its
// front end. A request refused before it became a query (unreadable input: empty SQL,
// bad JSON, a wrong content type) is seen by one middleware over the query routes, which
// knows (an AsyncLocalStorage the registry's events are heard in) whether its request
// became a query. Nothing in the query path counts.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MiddlewareHandler } from 'hono';
import type { Query } from '../query/query.js';
import type { QueryRegistry } from '../query/registry.js';
import type { GatewayMetrics, Outcome } from './metrics.js';

export function outcomeOf(status: number): Outcome {
  if (status < 400) return 'finished';
  if (status === 499) return 'cancelled';
  // The gateway said no before running anything: bad SQL, a policy, auth, a full queue.
  if (status < 500 || status === 503) return 'refused';
  return 'failed';
}

/** The routes that take a query, by the front end they are. */
const FRONT_ENDS: Record<string, string> = { '/query': 'query', '/query.json': 'drill' };

const request = new AsyncLocalStorage<{ query: boolean }>();

/** Requests to the query routes refused before they became a query, counted as refused queries. */
export function refusalObserver(metrics: GatewayMetrics): MiddlewareHandler {
  return async (c, next) => {
    const frontEnd = c.req.method === 'POST' ? FRONT_ENDS[c.req.path] : undefined;
    if (!frontEnd) return next();
    const seen = { query: false };
    await request.run(seen, next);
    const status = c.res.status;
    if (!seen.query && status >= 400) metrics.observeQuery({ frontEnd, outcome: outcomeOf(status), status });
  };
}

/** Every query of the registry, observed as it ends; returns the unsubscribe function. */
export function observeRegistry(metrics: GatewayMetrics, registry: QueryRegistry): () => void {
  // Queries that waited for a Drillbit to start: their wait was cold.
  const cold = new WeakSet<Query>();
  return registry.subscribe((event) => {
    const query = event.query;
    // Heard inside the request that made the query: that request is a query (refusalObserver).
    const seen = request.getStore();
    if (seen) seen.query = true;
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
