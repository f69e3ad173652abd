// Every error leaves the gateway as JSON {error, message} with its status; nothing
// else (no stack trace, no HTML). On Drill's routes the message also comes as Drill's
// `errorMessage` (GenericExceptionMapper's shape), which Drill's clients show.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DromedarError } from '../util/errors.js';
import { isDrillPath } from './drill-compat.js';

export function toDromedarError(err: unknown): DromedarError {
  if (err instanceof DromedarError) return err;
  if (err instanceof HTTPException) return new DromedarError(err.status === 413 ? 'body_too_large' : 'bad_request', err.message || 'bad request', err.status);
  return new DromedarError('internal', 'internal error in the gateway; see its log', 500);
}

export function errorResponse(c: Context, err: unknown): Response {
  const error = toDromedarError(err);
  const status = (error.status >= 400 && error.status <= 599 ? error.status : 500) as ContentfulStatusCode;
  for (const [key, value] of Object.entries(error.headers)) c.header(key, value);
  const body: Record<string, string> = { error: error.code, message: error.message };
  // Drill's own clients (pydrill, sqlalchemy-drill) read `errorMessage`.
  if (isDrillPath(c.req.path)) body.errorMessage = error.message;
  return c.json(body, status);
}
