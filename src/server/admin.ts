// Dromedar's own API: the running default QSF, the pool's state, health.
import { z } from 'zod';
import type { PoolManager } from '../pool/pool.js';
import { DromedarError } from '../util/errors.js';
import { mediaType, readJson } from './input.js';
import { errors, type ApiRoutes } from './openapi.js';
import type { QsfSetting } from './qsf.js';
import { cluster, qsfUpdate, qsfValue } from './schemas.js';

const json = (schema: z.ZodType) => ({ 'application/json': schema });

export function adminRoutes(api: ApiRoutes, deps: { pool: PoolManager; qsf: QsfSetting }): void {
  api.add(
    {
      method: 'get',
      path: '/healthz',
      tag: 'gateway',
      summary: 'liveness: the gateway answers (no token needed)',
      public: true,
      responses: { 200: { description: 'alive', content: json(z.object({ status: z.literal('ok') })) } },
    },
    (c) => c.json({ status: 'ok' }),
  );
  api.add(
    { method: 'get', path: '/v1/qsf', tag: 'gateway', summary: 'the running default QSF', responses: { 200: { description: 'the QSF', content: json(qsfValue) } } },
    (c) => c.json({ qsf: deps.qsf.value }),
  );
  api.add(
    {
      method: 'put',
      path: '/v1/qsf',
      tag: 'gateway',
      summary: 'change the running default QSF (until restart)',
      request: { body: { content: json(qsfUpdate(deps.qsf.bounds)) } },
      responses: { 200: { description: 'the new QSF', content: json(qsfValue) }, ...errors(400, 413, 415) },
    },
    async (c) => {
      if (mediaType(c) !== 'application/json') throw new DromedarError('unsupported_media_type', 'PUT /v1/qsf takes JSON {"qsf": <number>}', 415);
      const body = await readJson(c);
      if (typeof body !== 'object' || body === null || !('qsf' in body)) throw new DromedarError('invalid_request', 'qsf: required', 400);
      return c.json({ qsf: deps.qsf.set((body as { qsf: unknown }).qsf) });
    },
  );
  api.add(
    {
      method: 'get',
      path: '/v1/cluster',
      tag: 'gateway',
      summary: 'the pool: desired size, Drillbits and their states, recent scaling events',
      responses: { 200: { description: 'the pool', content: json(cluster) } },
    },
    (c) => {
      const { desired, drillbits, events, queued, running, warnings } = deps.pool.snapshot();
      return c.json({
        desired,
        queued,
        running,
        drillbits: drillbits.map((b) => ({ id: b.id, address: b.host, httpPort: b.httpPort, userPort: b.userPort, state: b.state })),
        events,
        warnings,
        ...(deps.pool.placement() ? { placement: deps.pool.placement() } : {}),
      });
    },
  );
}
