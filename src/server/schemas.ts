// The shapes of requests and responses as the OpenAPI document shows them. These
// describe, they do not validate: request parsing stays in input.ts (its zod schemas
// are private; once it exports them, the request bodies here should be those).
import { z } from 'zod';
import { REFUSED_DRILL_OPTIONS, type QsfBounds } from './input.js';

export const sqlText = z.string().min(1).describe('the SQL, Drill dialect (tables as dfs.<workspace>.`path`), at most 1 MiB');

/** The QSF as a number within the configured bounds (query string, header). */
export function qsfNumber(bounds: QsfBounds, where: string): z.ZodNumber {
  return z.number().min(bounds.min).max(bounds.max).describe(`query-scale-factor for this request (MiB read per Drillbit), ${where}`);
}

/** JSON body of POST /query and POST /v1/plan. */
export function queryBody(bounds: QsfBounds) {
  return z.object({
    sql: sqlText,
    qsf: z
      .union([qsfNumber(bounds, 'in the body'), z.string().describe('the same as a decimal string, e.g. "250"')])
      .optional()
      .describe('query-scale-factor for this query; wins over ?qsf= and Dromedar-QSF'),
    defaultSchema: z.string().min(1).optional().describe('schema for unqualified tables, e.g. dfs.data'),
    autoLimit: z.number().int().min(0).optional().describe("Drill's autoLimit: at most this many rows"),
  });
}

/** ?qsf= and the Dromedar-QSF header, as POST /query and POST /v1/plan read them. */
export function qsfParameters(bounds: QsfBounds) {
  return {
    query: z.object({ qsf: qsfNumber(bounds, 'from the query string').optional() }),
    headers: z.object({ 'Dromedar-QSF': qsfNumber(bounds, 'from a header').optional() }),
  };
}

/** Drill's own request body of POST /query.json. */
export const drillQueryBody = z.object({
  queryType: z.enum(['SQL']).default('SQL').describe("only SQL: Drill's PHYSICAL and LOGICAL plans can read any storage"),
  query: sqlText,
  autoLimit: z.union([z.number().int().min(0), z.string().regex(/^\d*$/)]).optional(),
  defaultSchema: z.string().optional(),
  userName: z.string().optional(),
  options: z
    .record(z.string().regex(/^[A-Za-z0-9_.]+$/), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe(
      `Drill session options for this query. Refused with 403 forbidden_option (names case-insensitive; a trailing dot is a prefix): ${Object.keys(REFUSED_DRILL_OPTIONS).map((n) => (n.endsWith('.') ? `${n}*` : n)).join(', ')}`,
    ),
});

/** Drill's answer to a query, as /query.json streams it. */
export const drillResult = z.looseObject({
  queryId: z.string().optional(),
  columns: z.array(z.string()).optional(),
  rows: z.array(z.record(z.string(), z.unknown())).optional(),
  metadata: z.array(z.string()).optional(),
  queryState: z.string().optional().describe('COMPLETED, or FAILED with errorMessage'),
  attemptedAutoLimit: z.number().optional(),
  errorMessage: z.string().optional(),
});

export const decisionHeaders = {
  'Dromedar-Dataset-Bytes': { description: 'bytes the query reads as sizing counts them (sizing.measure: Parquet column chunks from footers, or file sizes); POST /v1/plan explains them per table', schema: z.string() },
  'Dromedar-QSF': { description: 'the QSF the query was sized with', schema: z.string() },
  'Dromedar-Drillbits': { description: 'the Drillbits the query was sized for', schema: z.string() },
  'Dromedar-Parsed': { description: 'false when the SQL could not be parsed (minimum size)', schema: z.string() },
  'Dromedar-Query-Id': { description: "Drill's query id", schema: z.string() },
  'Dromedar-Drillbit': { description: 'the Drillbit the query was sent to (its foreman), as the scheduler names it', schema: z.string() },
  'Server-Timing': { description: 'sizing, scale and drill durations', schema: z.string() },
};

const fallback = z.object({
  files: z.number().int(),
  bytes: z.number(),
  reason: z.string().describe('e.g. a corrupt or truncated Parquet footer, a file gone between listing and reading'),
  example: z.string().describe('one of the files'),
});

/** One table a query reads and how its bytes were counted (a view holds its own targets). */
export const planTarget = z.object({
  name: z.string().describe('the table as Drill resolves it, e.g. dfs.data.`sales`'),
  plugin: z.string(),
  workspace: z.string().nullable(),
  path: z.string().nullable().describe('absolute path or glob of its files'),
  bytes: z.number().describe('bytes counted: what Drill reads (measure scan) or the files\' sizes (measure files)'),
  bytesStored: z.number().describe('the sizes of the files counted, after directory pruning'),
  files: z.number().int().describe('files counted, after directory pruning'),
  missing: z.boolean().describe('no file matches the path (0 bytes)'),
  counted: z
    .enum(['parquet', 'files', 'mixed', 'view', 'metadata', 'unknown'])
    .describe('parquet: column chunks from the footers; files: file sizes (text, JSON, measure files); mixed: both; view: its targets; metadata: cp, sys, INFORMATION_SCHEMA read no files; unknown: could not be sized'),
  columns: z.array(z.string()).nullable().describe("Parquet: the columns counted (['*']: all); null when no Parquet file was counted"),
  rowGroups: z
    .object({ kept: z.number().int(), total: z.number().int() })
    .nullable()
    .describe("Parquet: row groups kept by Drill's filter pushdown (min/max of literal comparisons), of all non-empty row groups"),
  pruning: z.array(z.string()).describe('what cut files (dirN) and row groups, with the counts'),
  fallbacks: z.array(fallback).describe('files that looked like Parquet but were counted at their size, and why'),
  notes: z.array(z.string()).describe('other remarks: files not Parquet, compressed files, filters that pruned nothing'),
  rescan: z.string().nullable().describe('why Drill scans this table once more than the SQL names it (a decorrelated subquery, NOT IN)'),
  view: z
    .object({
      file: z.string().describe('the .view.drill file'),
      defaultSchema: z.string().describe("the schema the view's SQL is read in (its workspaceSchemaPath)"),
      parsed: z.boolean().describe("false when the view's SQL (or a view inside it) could not be parsed"),
      // Not a recursive schema: the OpenAPI document is built schema by schema, without shared $defs.
      targets: z.array(z.looseObject({})).describe('what the view reads (for the columns the query reads of it): targets of this same shape'),
    })
    .nullable()
    .describe('a Drill view: expanded, its own targets sized'),
  unknown: z.string().nullable().describe('why this target could not be sized (a view that cannot be read, loops, names a missing table): 0 bytes, the plan parsed false'),
});

export const plan = z.object({
  targets: z.array(planTarget),
  bytes: z.number().describe('the sum of the targets\' bytes'),
  qsf: z.number(),
  drillbits: z.number().int(),
  parsed: z.boolean().describe('false when the SQL or a view could not be parsed, or a target could not be sized: the size is a minimum'),
  measure: z.enum(['scan', 'files']).describe('sizing.measure: scan counts what Drill reads, files the files\' sizes'),
});

export const qsfValue = z.object({ qsf: z.number() });

export function qsfUpdate(bounds: QsfBounds) {
  return z.object({ qsf: z.union([qsfNumber(bounds, 'the new running default'), z.string().describe('the same as a decimal string')]) });
}

export const cluster = z.object({
  desired: z.number().int(),
  queued: z.number().int(),
  running: z.number().int(),
  drillbits: z.array(
    z.object({
      id: z.string(),
      address: z.string(),
      httpPort: z.number().int(),
      userPort: z.number().int(),
      state: z.enum(['STARTING', 'ONLINE', 'DRAINING', 'FAILED']),
    }),
  ),
  events: z.array(z.object({ at: z.string(), from: z.number().int(), to: z.number().int(), reason: z.string() })),
});

const queryError = z.object({ code: z.string(), message: z.string(), status: z.number().int() });
const iso = z.string().nullable();

/** Estimate vs what Drill's profile reports having read (src/sizing/actual.ts). */
export const queryAccuracy = z
  .looseObject({
    estimate: z.number().describe("the plan's bytes"),
    actual: z.number().nullable().describe('bytes Drill reports its scans read; null when no scan reports bytes (text, JSON)'),
    ratio: z.number().nullable().describe('estimate / actual'),
    comparable: z.boolean().describe('whether Drill reported all it read and the plan counted only what Drill reports'),
    why: z.string().nullable(),
    profile: z.looseObject({}).describe('the bytes per scan, as read from the profile'),
  })
  .nullable();

/** One query as GET /v1/queries/{id} shows it. */
export const queryView = z.object({
  id: z.string().describe("the gateway's query id (DELETE /v1/queries/{id} takes it)"),
  drillQueryId: z.string().nullable().describe("Drill's query id, once Drill named it (/profiles/{id}.json)"),
  frontEnd: z.string().describe('how it arrived: query (POST /query), drill (POST /query.json), trino'),
  state: z.enum(['QUEUED', 'STARTING_DRILLBITS', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELED']),
  progress: z.object({ online: z.number().int(), wanted: z.number().int() }).nullable().describe('while STARTING_DRILLBITS: n of N Drillbits ONLINE'),
  sql: z.string(),
  user: z.string().nullable(),
  sizing: z
    .object({ bytes: z.number(), qsf: z.number(), drillbits: z.number().int(), parsed: z.boolean(), measure: z.string(), targets: z.array(z.looseObject({})) })
    .nullable()
    .describe('the sizing decision (POST /v1/plan shape)'),
  clusterDrillbits: z.number().int().nullable().describe('Drillbits ONLINE in the cluster when Drill ran it'),
  leasedFor: z.number().int().nullable().describe('the pool size it waited for (sizing, capped at pool.maxDrillbits)'),
  drillbit: z.object({ id: z.string(), host: z.string(), httpPort: z.number().int() }).nullable().describe('the foreman'),
  times: z.object({ created: z.string(), sized: iso, admitted: iso, started: iso, ended: iso }),
  durations: z.object({ sizing: z.number().nullable(), waiting: z.number().nullable(), drill: z.number().nullable(), total: z.number().nullable() }).describe('ms'),
  rows: z.number().int().describe('rows streamed to the client'),
  bytes: z.number().int().describe("bytes of Drill's answer streamed to the client"),
  drillState: z.string().nullable().describe("Drill's queryState at the end of its answer"),
  error: queryError.nullable(),
  cancelReason: z.string().nullable(),
  accuracy: queryAccuracy.describe("estimate vs actual from Drill's profile, read after the end (null until then)"),
  accuracyNote: z.string().nullable(),
});

export const queryList = z.object({
  running: z.array(queryView),
  queued: z.array(queryView).describe('being sized, waiting for a slot, or for Drillbits'),
  finished: z.array(queryView).describe('the last query.history finished, newest first'),
});

export const cancelOutcome = z.object({
  id: z.string(),
  state: z.enum(['CANCELED']),
  drill: z.enum(['not-sent', 'cancelled', 'refused', 'unreachable', 'unknown-id']).describe("what Drill's cancel on the foreman did"),
  message: z.string(),
});
