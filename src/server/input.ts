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

/**
 * Drill session options a client may not set through POST /query.json `options`, by
 * lower-case name (Drill's option names are case-insensitive), or by prefix when the
 * key ends in a dot. Everything else (planner switches, reader and writer formats,
 * memory and width, ...) goes to Drill, which refuses what is system-only itself.
 * Drill 1.22's options: ExecConstants, PlannerSettings, SystemOptionManager.
 */
export const REFUSED_DRILL_OPTIONS: Readonly<Record<string, string>> = {
  // The gateway must read the SQL as Drill will: its table names (for sizing and for
  // confining paths to the workspaces) and its dirN columns (for pruning).
  'planner.parser.quoting_identifiers': 'it changes how Drill reads identifiers, so Dromedar would misread the tables the query names (sizing, workspace confinement)',
  'drill.exec.storage.file.partition.column.label': 'it renames the dirN columns, so Dromedar would prune directories Drill reads',
  'drill.exec.storage.implicit.': "it renames Drill's implicit file columns, which could then take the dirN names Dromedar prunes by",
  // What a query leaves behind and who else is affected.
  'exec.query_profile.save': 'every query must leave its profile (audit, and Dromedar reads errors from it)',
  'exec.persistent_table.umask': 'the permissions of written files are set by the deployment',
  new_view_default_permissions: 'the permissions of written views are set by the deployment',
  'store.hive.conf.properties': 'it overrides storage configuration, which is not reachable through Dromedar',
  'exec.queue.': "Drill's admission queues are the whole cluster's, not one query's",
  'drill.exec.testing.controls': 'it injects faults into the Drillbits',
};

// Drill's option names: ASCII letters, digits, '_' and '.'.
const OPTION_NAME = /^[A-Za-z0-9_.]{1,200}$/;

/** Why Dromedar refuses a Drill session option, or null when it passes it on. */
export function refusedOption(name: string): string | null {
  const key = name.toLowerCase();
  for (const [refused, why] of Object.entries(REFUSED_DRILL_OPTIONS)) {
    if (refused.endsWith('.') ? key.startsWith(refused) : key === refused) return why;
  }
  return null;
}

/** 400 for a name that is no Drill option name, 403 naming the first refused option. */
export function checkDrillOptions(options: Record<string, unknown> | undefined): void {
  for (const name of Object.keys(options ?? {})) {
    if (!OPTION_NAME.test(name)) {
      throw new DromedarError('invalid_request', `options: ${JSON.stringify(name.slice(0, 100))} is not a Drill option name (letters, digits, _ and . only)`, 400);
    }
    const why = refusedOption(name);
    if (why !== null) throw new DromedarError('forbidden_option', `Drill option ${name} cannot be set through Dromedar: ${why}`, 403);
  }
}

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
  checkDrillOptions(body.options);
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
