// Reading a query request: SQL as text/plain or JSON, the QSF from body, query
// string or header. Bad input becomes a 4xx naming the field, never an exception.
import type { Context } from 'hono';
import { z } from 'zod';
import { parseQsf } from '../sizing/index.js';
import { DromedarError } from '../util/errors.js';

export interface QueryInput {
  sql: string;
  qsf: number | undefined;
  defaultSchema: string | undefined;
  autoLimit: number | undefined;
  options: Record<string, string | number | boolean> | undefined;
}

const queryBody = z.object({
  sql: z.string(),
  qsf: z.unknown().optional(),
  defaultSchema: z.string().min(1).optional(),
  autoLimit: z.number().int().nonnegative().optional(),
});

// Drill's request shape for POST /query.json.
const drillBody = z.object({
  queryType: z.string().default('SQL'),
  query: z.string(),
  autoLimit: z.union([z.string(), z.number()]).optional(),
  defaultSchema: z.string().optional(),
  userName: z.string().optional(),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export type QsfBounds = { min: number; max: number };

/** POST /query: text/plain SQL or JSON {sql, qsf, defaultSchema, autoLimit}. */
export async function readQueryInput(c: Context, bounds: QsfBounds): Promise<QueryInput> {
  const type = mediaType(c);
  let sql: string;
  let fromBody: Omit<z.infer<typeof queryBody>, 'sql'> = {};
  if (type === 'text/plain' || type === 'application/sql') {
    sql = await readText(c);
  } else if (type === 'application/json') {
    const parsed = queryBody.safeParse(await readJson(c));
    if (!parsed.success) throw fieldError(parsed.error);
    ({ sql, ...fromBody } = parsed.data);
  } else {
    throw new DromedarError('unsupported_media_type', `send SQL as text/plain or JSON {"sql": ...} (got ${type || 'no content type'})`, 415);
  }
  return {
    sql: requireSql(sql),
    qsf: qsfFrom(c, fromBody.qsf, bounds),
    defaultSchema: fromBody.defaultSchema,
    autoLimit: fromBody.autoLimit,
    options: undefined,
  };
}

/** POST /query.json: Drill's own request shape, so Drill REST clients work unchanged. */
export async function readDrillInput(c: Context, bounds: QsfBounds): Promise<QueryInput & { queryType: string }> {
  const type = mediaType(c);
  if (type !== 'application/json') {
    throw new DromedarError('unsupported_media_type', `POST /query.json takes application/json (got ${type || 'no content type'})`, 415);
  }
  const parsed = drillBody.safeParse(await readJson(c));
  if (!parsed.success) throw fieldError(parsed.error);
  const body = parsed.data;
  const autoLimit = body.autoLimit === undefined || body.autoLimit === '' ? undefined : Number(body.autoLimit);
  if (autoLimit !== undefined && !(Number.isInteger(autoLimit) && autoLimit >= 0)) {
    throw new DromedarError('invalid_request', 'autoLimit must be a whole number >= 0', 400);
  }
  return {
    queryType: body.queryType,
    sql: requireSql(body.query),
    qsf: qsfFrom(c, undefined, bounds),
    defaultSchema: body.defaultSchema || undefined,
    autoLimit,
    options: body.options,
  };
}

// Every source present is validated, so a bad value is never silently ignored; the
// body wins over the query string, which wins over the header.
function qsfFrom(c: Context, fromBody: unknown, bounds: QsfBounds): number | undefined {
  const query = c.req.query('qsf');
  const header = c.req.header('dromedar-qsf');
  const values = [
    fromBody === undefined ? undefined : parseQsf(fromBody, 'qsf', bounds),
    query === undefined ? undefined : parseQsf(query, 'qsf (query string)', bounds),
    header === undefined ? undefined : parseQsf(header, 'Dromedar-QSF (header)', bounds),
  ];
  return values.find((v) => v !== undefined);
}

function requireSql(sql: string): string {
  if (sql.trim() === '') throw new DromedarError('empty_sql', 'the SQL is empty', 400);
  return sql;
}

export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

async function readText(c: Context): Promise<string> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DromedarError('invalid_encoding', 'the body is not valid UTF-8', 400);
  }
}

export async function readJson(c: Context): Promise<unknown> {
  const text = await readText(c);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DromedarError('invalid_json', `the body is not valid JSON: ${(err as Error).message}`, 400);
  }
}

function fieldError(error: z.ZodError): DromedarError {
  const issue = error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  return new DromedarError('invalid_request', `${field}: ${issue.message}`, 400);
}
