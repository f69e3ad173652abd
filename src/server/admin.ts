// Dromedar's own API: the running default QSF, the pool's state, health.
import { Hono } from 'hono';
import type { PoolManager } from '../pool/pool.js';
import { mediaType, readJson } from './input.js';
import type { QsfSetting } from './qsf.js';
import { DromedarError } from '../util/errors.js';

export function adminRoutes(deps: { pool: PoolManager; qsf: QsfSetting }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/v1/qsf', (c) => c.json({ qsf: deps.qsf.value }));
  app.put('/v1/qsf', async (c) => {
    if (mediaType(c) !== 'application/json') throw new DromedarError('unsupported_media_type', 'PUT /v1/qsf takes JSON {"qsf": <number>}', 415);
    const body = await readJson(c);
    if (typeof body !== 'object' || body === null || !('qsf' in body)) throw new DromedarError('invalid_request', 'qsf: required', 400);
    return c.json({ qsf: deps.qsf.set((body as { qsf: unknown }).qsf) });
  });
  app.get('/v1/cluster', (c) => {
    const { desired, drillbits, events, queued, running } = deps.pool.snapshot();
    return c.json({
      desired,
      queued,
      running,
      drillbits: drillbits.map((b) => ({ id: b.id, address: b.host, httpPort: b.httpPort, userPort: b.userPort, state: b.state })),
      events,
    });
  });
  return app;
}
