// The query registry over HTTP: what runs, waits and recently ended, one query in
// full, and cancel. A view over src/query (the registry and each Query's cancel).
import { z } from 'zod';
import type { QueryRegistry } from '../query/registry.js';
import { DromedarError } from '../util/errors.js';
import { errors, type ApiRoutes } from './openapi.js';
import { cancelOutcome, queryList, queryView } from './schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': schema });
const params = z.object({ id: z.string().regex(/^[\w-]+$/).describe("the gateway's query id") });

export function queryRegistryRoutes(api: ApiRoutes, registry: () => QueryRegistry): void {
  api.add(
    {
      method: 'get',
      path: '/v1/queries',
      tag: 'queries',
      summary: 'the running, the queued and the last finished queries (query.history), newest first',
      responses: { 200: { description: 'the queries', content: json(queryList) } },
    },
    (c) => c.json(registry().view()),
  );
  api.add(
    {
      method: 'get',
      path: '/v1/queries/{id}',
      tag: 'queries',
      summary: 'one query: state, sizing decision, timings, Drillbit, rows, bytes, error, estimate vs actual',
      request: { params },
      responses: { 200: { description: 'the query', content: json(queryView) }, ...errors(404) },
    },
    (c) => c.json(find(registry(), c.req.param('id') ?? '').view()),
  );
  api.add(
    {
      method: 'delete',
      path: '/v1/queries/{id}',
      tag: 'queries',
      summary: 'cancel a query in any state: a waiting one leaves the queue, a running one is cancelled in Drill and its slot freed',
      description:
        "The slot is freed even when Drill refuses the cancel or cannot be reached; `drill` says what Drill did. A query that already ended answers 409 with its final state.",
      request: { params },
      responses: { 200: { description: 'cancelled', content: json(cancelOutcome) }, ...errors(404, 409) },
    },
    async (c) => {
      const query = find(registry(), c.req.param('id') ?? '');
      if (query.done) throw new DromedarError('query_ended', `query ${query.id} already ended ${query.state}`, 409);
      const outcome = await query.cancel('cancelled by DELETE /v1/queries/{id}');
      if (!outcome.cancelled) throw new DromedarError('query_ended', `query ${query.id} already ended ${outcome.state}`, 409);
      return c.json({ id: query.id, state: 'CANCELED', drill: outcome.drill ?? 'not-sent', message: outcome.message });
    },
  );
}

function find(registry: QueryRegistry, id: string) {
  const query = registry.get(id);
  if (!query) throw new DromedarError('unknown_query', `no query ${id.slice(0, 100)} (the gateway keeps the last query.history finished ones)`, 404);
  return query;
}
