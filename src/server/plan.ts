// POST /v1/plan: the sizing decision for a query, without running it or starting
// anything. The input is read exactly as POST /query reads JSON (same fields, same
// QSF sources: body, ?qsf=, Dromedar-QSF header), so a dry run predicts the real run.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { MAX_SQL_BYTES, type Sizer } from '../sizing/index.js';
import { DromedarError } from '../util/errors.js';
import { errorResponse } from './errors.js';
import { mediaType, readQueryInput } from './input.js';

// Room for the largest SQL with JSON escaping (quotes, newlines double in size).
const MAX_BODY_BYTES = 2 * MAX_SQL_BYTES + 64 * 1024;

export interface PlanRouteOptions {
  /** The running default QSF (PUT /v1/qsf changes it); without it, the configured one. */
  qsf?: { readonly value: number };
}

export function planRoutes(sizer: Pick<Sizer, 'plan' | 'qsfBounds'>, options: PlanRouteOptions = {}): Hono {
  const app = new Hono();
  app.post(
    '/v1/plan',
    async (c, next) => {
      const type = mediaType(c);
      if (type !== 'application/json') {
        throw new DromedarError('unsupported_media_type', `POST /v1/plan takes application/json (got ${type || 'no content type'})`, 415);
      }
      await next();
    },
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new DromedarError('body_too_large', `the body is over the limit of ${MAX_BODY_BYTES} bytes`, 413);
      },
    }),
    async (c) => {
      const input = await readQueryInput(c, sizer.qsfBounds);
      const plan = await sizer.plan(input.sql, { qsf: input.qsf ?? options.qsf?.value, defaultSchema: input.defaultSchema });
      return c.json(plan);
    },
  );
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
