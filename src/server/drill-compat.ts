// Drill's REST API, served by the gateway so that Drill REST clients and BI tools
// work pointed at it unchanged. Reads pass through to a Drillbit (starting one if
// none is up); Drill's admin endpoints are not reachable through the gateway.
import { Hono } from 'hono';
import { DrillClient } from '../drill/client.js';
import { DromedarError } from '../util/errors.js';
import { readDrillInput } from './input.js';
import { runQuery, type QueryDeps } from './query.js';

const READ_ONLY = ['/status', '/status.json', '/cluster.json', '/storage.json', '/options.json', '/profiles.json'];
const ADMIN = /^\/(gracefulShutdown|shutdown|quiescent|storage\/|option\/|options\/|credentials\/|profiles\/cancel\/)/;

export function drillCompatRoutes(deps: QueryDeps): Hono {
  const app = new Hono();
  app.post('/query.json', async (c) => runQuery(c, deps, await readDrillInput(c, deps.qsf.bounds)));
  for (const path of READ_ONLY) app.get(path, (c) => passThrough(deps, path, c.req.raw.signal));
  app.get('/profiles/:id{[\\w-]+\\.json}', (c) => passThrough(deps, `/profiles/${c.req.param('id')}`, c.req.raw.signal));
  app.all('*', (c, next) => {
    if (ADMIN.test(c.req.path)) {
      throw new DromedarError('forbidden', `Drill's admin endpoint ${c.req.path} is not reachable through Dromedar`, 403);
    }
    return next();
  });
  return app;
}

async function passThrough(deps: QueryDeps, path: string, signal: AbortSignal): Promise<Response> {
  const lease = await deps.pool.acquire(1, { signal });
  try {
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).stream('GET', path);
    const body = Buffer.from(await res.body.arrayBuffer());
    return new Response(body, { status: res.status, headers: { 'content-type': res.headers['content-type'] ?? 'application/json' } });
  } finally {
    lease.release();
  }
}
