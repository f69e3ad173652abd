// Reading a query request: SQL as text/plain or JSON, the QSF from body, query
// string or header. Bad input becomes a 4xx naming the field, never an exception.
import type { Context } from 'hono';
import { z } from 'zod';
import { DrillOptionCatalog } from '../drill/options.js';
import { parseQsf } from '../sizing/index.js';
import { DromedarError } from '../util/errors.js';
import { readDrillBody } from './drill-body.js';

export interface QueryInput {
  sql: string;
  qsf: number | undefined;
  defaultSchema: string | undefined;
  autoLimit: number | undefined;
  options: Record<string, string | number | boolean> | undefined;
  /** Drill's userName: run the query as this user (Drill impersonation). */
  userName?: string | undefined;
}

const queryBody = z.object({
  sql: z.string(),
  qsf: z.unknown().optional(),
  defaultSchema: z.string().min(1).optional(),
  autoLimit: z.number().int().nonnegative().optional(),
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
  // Sizing counts the Parquet row groups Drill keeps by its filter pushdown: switched off or
  // bounded differently, Drill reads more than the gateway sized for.
  'planner.store.parquet.rowgroup.filter.pushdown.': 'it changes which Parquet row groups Drill reads, so the gateway would size the query too small',
  'planner.in_subquery_threshold': 'it changes which IN lists Drill pushes into Parquet scans, so the gateway would size the query too small',
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

/**
 * The options of one /query.json request, checked as Drill would check them, but answered
 * with a 400 or 403 naming the option instead of Drill's bare "500 Query submission
 * failed": 400 for a name that is no Drill option name, 403 for a refused option, and
 * with Drill's option catalog at hand (src/drill/options.ts) 400 for an option this Drill
 * does not have, one it sets system-wide only, or a value Drill cannot read as the
 * option's kind (BaseOptionManager.setLocalOption, OptionValue.fromString). Range and
 * enum limits of single options are Drill's to check.
 */
export function checkDrillOptions(options: Record<string, string | number | boolean | null> | undefined | null, catalog?: DrillOptionCatalog | null): void {
  for (const [name, value] of Object.entries(options ?? {})) {
    if (!OPTION_NAME.test(name)) {
      throw new DromedarError('invalid_request', `options: ${JSON.stringify(name.slice(0, 100))} is not a Drill option name (letters, digits, _ and . only)`, 400);
    }
    const why = refusedOption(name);
    if (why !== null) throw new DromedarError('forbidden_option', `Drill option ${name} cannot be set through Dromedar: ${why}`, 403);
    if (value === null) throw new DromedarError('invalid_option', `options.${name}: a value is needed (null sets nothing; Drill fails the query on it)`, 400);
    if (!catalog) continue;
    const option = catalog.get(name);
    if (!option) throw new DromedarError('invalid_option', `options: Drill has no option ${name} (the names are those of sys.options and sys.internal_options)`, 400);
    if (!DrillOptionCatalog.settableInSession(option)) {
      throw new DromedarError('invalid_option', `options: Drill option ${name} can only be set system-wide (its scope is ${option.scopes}), not for one query`, 400);
    }
    const problem = valueProblem(String(value), option.kind);
    if (problem) throw new DromedarError('invalid_option', `options.${name}: ${JSON.stringify(String(value).slice(0, 100))} is not a valid value for Drill option ${name} of type ${option.kind} (${problem})`, 400);
  }
}

// OptionValue.fromString: the value trimmed, then Boolean strictly true/false in any case,
// Long.parseLong, Double.parseDouble.
const JAVA_LONG = /^[+-]?\d+$/;
const JAVA_DOUBLE = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?)$/;

function valueProblem(raw: string, kind: string): string | null {
  const value = javaTrim(raw);
  if (kind === 'BOOLEAN') return /^(true|false)$/i.test(value) ? null : 'true or false';
  if (kind === 'LONG') return JAVA_LONG.test(value) && BigInt(value.replace(/^\+/, '')) >= -(2n ** 63n) && BigInt(value.replace(/^\+/, '')) < 2n ** 63n ? null : 'a whole number';
  if (kind === 'DOUBLE') return JAVA_DOUBLE.test(value) ? null : 'a number';
  return null;
}

// Java's String.trim: every character up to U+0020 at both ends.
function javaTrim(text: string): string {
  return text.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
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

/** What Dromedar knows of the Drill behind a /query.json request. */
export interface DrillSettings {
  /** drill.impersonation: Drill runs a query as its userName. */
  impersonation: boolean;
  /** Drill's options (src/drill/options.ts), asked for only when a request sets options; null when unknown. */
  options?: () => Promise<DrillOptionCatalog | null>;
}

// QueryType's names; Drill runs only these, and the gateway only SQL.
const QUERY_TYPES = ['SQL', 'LOGICAL', 'PHYSICAL', 'EXECUTION', 'PREPARED_STATEMENT'];

/**
 * POST /query.json: Drill's own request shape, read as Drill 1.22 reads it (QueryWrapper,
 * QueryRunner), so Drill REST clients work unchanged: null or absent userName, autoLimit,
 * defaultSchema and options mean none; numbers and booleans count as their text; autoLimit
 * is whatever Integer.parseInt reads of it (anything else, or <= 0: no limit, as in Drill).
 * What Drill refuses, the gateway refuses too (400), naming the field, in Drill's error shape.
 */
export async function readDrillInput(c: Context, bounds: QsfBounds, drill: DrillSettings = { impersonation: false }): Promise<QueryInput & { queryType: string }> {
  const type = mediaType(c);
  if (type !== 'application/json') {
    throw new DromedarError('unsupported_media_type', `POST /query.json takes application/json (got ${type || 'no content type'})`, 415);
  }
  const body = readDrillBody(await readText(c));
  if (body === null) throw new DromedarError('invalid_request', "the body is empty: send Drill's JSON request, e.g. {\"queryType\": \"SQL\", \"query\": \"SELECT ...\"}", 400);
  // QueryWrapper upper-cases queryType in its constructor: without one Drill answers 400.
  if (body.queryType === null) throw new DromedarError('invalid_request', 'queryType is required (Drill\'s query types: SQL, LOGICAL, PHYSICAL; Dromedar runs SQL)', 400);
  const queryType = body.queryType.toUpperCase();
  if (!QUERY_TYPES.includes(queryType)) {
    throw new DromedarError('invalid_request', `queryType ${JSON.stringify(body.queryType.slice(0, 20))} is not one of Drill's query types (SQL, LOGICAL, PHYSICAL); Dromedar runs SQL`, 400);
  }
  // A physical or logical plan names its storage itself: no workspace confines it.
  if (queryType !== 'SQL') throw new DromedarError('forbidden', `queryType ${JSON.stringify(body.queryType.slice(0, 20))} is not accepted through Dromedar: only SQL`, 403);
  if (body.query === null) throw new DromedarError('invalid_request', 'query is required: the SQL to run', 400);
  const catalog = body.options && Object.keys(body.options).length > 0 ? await drill.options?.() : null;
  checkDrillOptions(body.options, catalog);
  return {
    queryType,
    sql: requireSql(body.query),
    qsf: qsfFrom(c, undefined, bounds),
    defaultSchema: body.defaultSchema || undefined,
    autoLimit: drillAutoLimit(body.autoLimit, body.autoLimitRowCount),
    options: (body.options ?? undefined) as Record<string, string> | undefined,
    userName: userNameFor(c, body.userName, drill.impersonation),
  };
}

// QueryWrapper.mapCount: Integer.parseInt of the trimmed text, 0 when that fails; an
// autoLimitRowCount given wins. BaseQueryRunner.applyRowLimit then limits only when > 0.
function drillAutoLimit(text: string | null, rowCount: number | null): number | undefined {
  if (rowCount !== null) return rowCount > 0 ? rowCount : undefined;
  if (text === null) return undefined;
  const value = javaTrim(text);
  if (!/^[+-]?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 && n <= 2 ** 31 - 1 ? n : undefined;
}

// BaseQueryRunner.applyUserName: an empty name is none. With impersonation on, Drill runs the
// query as the user (the deprecated User-Name header too, which the body wins over); off,
// Drill fails such a query ("User impersonation is not enabled"), so the gateway says why.
function userNameFor(c: Context, fromBody: string | null, impersonation: boolean): string | undefined {
  if (!impersonation) {
    if (fromBody) {
      throw new DromedarError(
        'impersonation_disabled',
        `userName ${JSON.stringify(fromBody.slice(0, 100))}: user impersonation is not enabled on this gateway's Drillbits, so a query cannot run as another user (leave userName null or empty, or set drill.impersonation: true)`,
        400,
      );
    }
    return undefined;
  }
  return fromBody || c.req.header('user-name') || undefined;
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
