// Trino's client protocol over the gateway: POST /v1/statement starts a query and
// answers at once (QUEUED while Drillbits start), each GET of nextUri answers within
// about a second with the state and, once Drill answers, a page of rows; DELETE of
// nextUri (or DELETE /v1/query/{id}) cancels. The SQL goes through the same sizing,
// statement rules and pool as POST /query.
import type { Context } from 'hono';
import { z } from 'zod';
import { errorSchema, type ApiRoutes } from '../server/openapi.js';
import type { PoolManager } from '../pool/pool.js';
import type { DrillOptions } from '../server/drill-compat.js';
import type { Sizer } from '../sizing/index.js';
import type { QueryRegistry } from '../query/registry.js';
import { DromedarError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { answerMetadata, rewriteMetadata, type StaticAnswer } from './metadata.js';
import { T } from './types.js';
import { queryError, resultsJson, TRINO_VERSION, type Results, type Stats } from './protocol.js';
import { TrinoQuery, TrinoRegistry } from './query.js';
import { control, defaultSchema, drillOptions, readSession, toDrillQuoting, type TrinoSession } from './session.js';

export interface TrinoDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: { value: number };
  log: Logger;
  drillOptions?: DrillOptions;
  /** Names the gateway knows without Drill: Drill schema names (dfs.data, cp.default, ...). */
  schemas: () => string[];
  /** Cancel a query nobody polled for this long (Trino's query.client.timeout). */
  clientTimeoutMs: number;
  /** Rows per page are cut at this many bytes of encoded JSON. */
  pageBytes: number;
  /** The gateway's query registry (GET/DELETE /v1/queries), when the app has one. */
  queries?: QueryRegistry;
}

const MAX_WAIT_MS = 1_000;
const started = Date.now();

const resultsSchema = z.looseObject({ id: z.string(), infoUri: z.string(), nextUri: z.string().optional(), stats: z.looseObject({ state: z.string() }) }).describe("Trino's QueryResults");
const text = (description: string) => ({ description, content: { 'application/json': errorSchema } });
const executing = z.object({ id: z.string().regex(/^[A-Za-z0-9_]+$/), slug: z.string().regex(/^[A-Za-z0-9]+$/), token: z.string().regex(/^\d+$/) });
const queryId = z.object({ id: z.string().regex(/^[A-Za-z0-9_]+$/) });

export function trinoRoutes(api: ApiRoutes, deps: TrinoDeps): TrinoRegistry {
  const registry = new TrinoRegistry(deps.clientTimeoutMs);
  const tag = 'trino';
  api.add(
    { method: 'get', path: '/v1/info', tag, summary: "Trino's server info: a started coordinator", responses: { 200: { description: 'nodeVersion, environment, coordinator, starting, uptime', content: { 'application/json': z.looseObject({ nodeVersion: z.object({ version: z.string() }) }) } } } },
    (c) => c.json({ nodeVersion: { version: TRINO_VERSION }, environment: 'dromedar', coordinator: true, starting: false, uptime: uptime() }),
  );
  api.add({ method: 'get', path: '/v1/info/state', tag, summary: "Trino's node state", responses: { 200: { description: '"ACTIVE"', content: { 'application/json': z.string() } } } }, (c) => c.json('ACTIVE'));
  api.add(
    {
      method: 'post',
      path: '/v1/statement',
      tag,
      summary: "Trino's client protocol: start a query (the SQL is the body); answers at once, QUEUED while Drillbits start",
      request: { body: { content: { 'text/plain': z.string() } } },
      responses: { 200: { description: 'QueryResults: follow nextUri', content: { 'application/json': resultsSchema } }, 400: text('an empty statement or malformed session headers') },
    },
    async (c) => postStatement(c, deps, registry),
  );
  const page = { method: 'get' as const, path: '/v1/statement/executing/{id}/{slug}/{token}', tag, request: { params: executing } };
  api.add(
    { ...page, summary: 'the next page of a Trino query (within about a second): its state, and rows once Drill answers', responses: { 200: { description: 'QueryResults', content: { 'application/json': resultsSchema } }, 404: text('no such query'), 410: text('a token already passed') } },
    async (c) => getResults(c, registry),
  );
  api.add({ ...page, method: 'delete', summary: 'cancel the query (in Drill when it runs there)', responses: { 204: { description: 'cancelled' }, 404: text('no such query') } }, (c) =>
    cancel(c, registry, c.req.param('id') ?? '', c.req.param('slug')),
  );
  api.add(
    { method: 'get', path: '/v1/query/{id}', tag, request: { params: queryId }, summary: "a Trino query's info (infoUri)", responses: { 200: { description: 'state, SQL, session, stats, error', content: { 'application/json': z.looseObject({ queryId: z.string(), state: z.string() }) } }, 404: text('no such query') } },
    (c) => {
      const q = registry.get(c.req.param('id') ?? '');
      if (!q) return notFound(c, 'Query not found');
      return c.json({ queryId: q.id, state: q.state, query: q.spec.sql, session: { user: q.spec.user, source: q.spec.source, clientTags: q.spec.tags }, drillQueryId: q.drillQueryId, stats: stats(q), error: q.failure && queryError(q.failure.code, q.failure.status, q.failure.message) });
    },
  );
  api.add({ method: 'delete', path: '/v1/query/{id}', tag, request: { params: queryId }, summary: 'cancel a Trino query', responses: { 204: { description: 'cancelled' }, 404: text('no such query') } }, (c) => cancel(c, registry, c.req.param('id') ?? ''));
  return registry;
}

function uptime(): string {
  return `${((Date.now() - started) / 60_000).toFixed(2)}m`;
}

// Malformed protocol requests: the status a Trino coordinator answers (400, 404, 410:
// clients treat 404/410 on nextUri as gone), with the gateway's JSON {error, message}.
function plain(_c: Context, status: 400 | 404 | 410, message: string): Response {
  throw new DromedarError(status === 400 ? 'invalid_request' : status === 404 ? 'not_found' : 'gone', message, status);
}

function notFound(c: Context, message: string): Response {
  return plain(c, 404, message);
}

function base(c: Context): string {
  const url = new URL(c.req.url);
  // Behind a TLS terminator (see the README), the URIs the client follows are its own.
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || url.protocol.replace(':', '');
  const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() || c.req.header('host') || url.host;
  return `${proto}://${host}`;
}

async function postStatement(c: Context, deps: TrinoDeps, registry: TrinoRegistry): Promise<Response> {
  const sql = await c.req.text();
  if (sql.trim() === '') return plain(c, 400, 'SQL statement is empty');
  let session: TrinoSession;
  try {
    session = readSession((name) => c.req.header(name));
  } catch (err) {
    return plain(c, 400, (err as Error).message);
  }
  const uri = base(c);
  const headers = new Headers({ 'content-type': 'application/json' });
  let spec: { sql: string; options: Record<string, string> | undefined };
  try {
    const ctl = control(sql, session);
    if (ctl && ctl.kind !== 'execute') {
      applyControl(ctl, headers);
      // As Trino: a column `result` (true) beside the updateType; trino-jdbc needs columns.
      return staticAnswer(uri, { columns: [{ name: 'result', type: T.boolean.name, typeSignature: T.boolean.signature }], rows: ['[true]'], updateType: updateType(ctl.kind) }, headers);
    }
    const text = ctl?.kind === 'execute' ? ctl.sql : sql;
    const meta = answerMetadata(text, session, deps.schemas());
    if (meta) return staticAnswer(uri, meta, headers);
    const options = deps.drillOptions;
    const catalog = options && Object.keys(session.properties).length > 0 ? await options.get(deps.pool, c.req.raw.signal) : null;
    spec = { sql: rewriteMetadata(toDrillQuoting(text).replace(/;\s*$/, ''), session.catalog), options: drillOptions(session, catalog) };
  } catch (err) {
    return failedAnswer(uri, err, headers);
  }
  const q = new TrinoQuery(
    { sql: spec.sql, defaultSchema: defaultSchema(session), options: spec.options, user: session.user, source: session.source, tags: session.tags },
    { sizer: deps.sizer, pool: deps.pool, qsf: deps.qsf, log: deps.log, queries: deps.queries },
    deps.pageBytes,
  );
  registry.add(q);
  // A moment for a query that starts at once (a Drillbit is up): fewer round trips.
  await q.waitStarted(performance.now() + 50);
  return new Response(resultsJson(results(q, uri, [])), { status: 200, headers });
}

function updateType(kind: string): string {
  return { use: 'USE', set: 'SET SESSION', reset: 'RESET SESSION', prepare: 'PREPARE', deallocate: 'DEALLOCATE' }[kind] ?? kind.toUpperCase();
}

// The X-Trino-Set-* answers; a SET SESSION is checked as a Drill option first.
function applyControl(ctl: Exclude<ReturnType<typeof control>, null>, headers: Headers): void {
  switch (ctl.kind) {
    case 'use':
      headers.set('x-trino-set-catalog', ctl.catalog);
      if (ctl.schema) headers.set('x-trino-set-schema', ctl.schema);
      break;
    case 'set':
      drillOptions({ properties: { [ctl.name]: ctl.value } } as TrinoSession, null);
      headers.set('x-trino-set-session', `${ctl.name}=${encodeURIComponent(ctl.value)}`);
      break;
    case 'reset':
      headers.set('x-trino-clear-session', ctl.name);
      break;
    case 'prepare':
      headers.set('x-trino-added-prepare', `${encodeURIComponent(ctl.name)}=${encodeURIComponent(ctl.sql)}`);
      break;
    case 'deallocate':
      headers.set('x-trino-deallocated-prepare', encodeURIComponent(ctl.name));
      break;
  }
}

let staticSequence = 0;

function staticId(): string {
  const now = new Date().toISOString();
  return `${now.slice(0, 10).replace(/-/g, '')}_${now.slice(11, 19).replace(/:/g, '')}_s${String(staticSequence++ % 10000).padStart(4, '0')}_drome`;
}

const FINISHED_STATS = (rows: number): Stats => ({ state: 'FINISHED', queued: false, scheduled: true, nodes: 0, totalSplits: 0, completedSplits: 0, elapsedTimeMillis: 0, queuedTimeMillis: 0, processedRows: rows, processedBytes: 0, physicalInputBytes: 0 });

function staticAnswer(uri: string, answer: StaticAnswer, headers: Headers): Response {
  const id = staticId();
  const body: Results = {
    id,
    infoUri: `${uri}/v1/query/${id}`,
    stats: FINISHED_STATS(answer.rows.length),
    columns: answer.columns,
    rows: answer.rows,
    ...(answer.updateType ? { updateType: answer.updateType } : {}),
  };
  return new Response(resultsJson(body), { status: 200, headers });
}

function failedAnswer(uri: string, err: unknown, headers: Headers): Response {
  const e = err instanceof DromedarError ? err : new DromedarError('internal', 'internal error in the gateway; see its log', 500);
  const id = staticId();
  const body: Results = { id, infoUri: `${uri}/v1/query/${id}`, stats: { ...FINISHED_STATS(0), state: 'FAILED' }, error: queryError(e.code === 'syntax_error' ? 'drill_query_failed' : e.code, e.status, e.code === 'syntax_error' ? `PARSE ERROR: ${e.message}` : e.message) };
  return new Response(resultsJson(body), { status: 200, headers });
}

function stats(q: TrinoQuery): Stats {
  const now = q.ended ?? performance.now();
  const queuedUntil = q.startedRunning ?? q.ended ?? now;
  return {
    state: q.state,
    queued: q.state === 'QUEUED',
    scheduled: q.state !== 'QUEUED',
    nodes: q.up,
    totalSplits: q.wanted,
    completedSplits: q.state === 'QUEUED' ? q.up : q.done ? q.wanted : 0,
    elapsedTimeMillis: Math.round(now - q.created),
    queuedTimeMillis: Math.round(queuedUntil - q.created),
    processedRows: q.processedRows,
    processedBytes: q.processedBytes,
    physicalInputBytes: q.plan?.bytes ?? 0,
  };
}

function results(q: TrinoQuery, uri: string, rows: string[]): Results {
  const r: Results = {
    id: q.id,
    infoUri: `${uri}/v1/query/${q.id}`,
    stats: stats(q),
  };
  const next = `${uri}/v1/statement/executing/${q.id}/${q.slug}/${q.token}`;
  if (!q.done) {
    // No partialCancelUri: Drill cannot cancel one stage (DELETE of nextUri cancels all).
    r.nextUri = next;
  }
  if (q.columns && q.state !== 'FAILED' && q.state !== 'CANCELED') r.columns = q.columns;
  if (rows.length > 0) r.rows = rows;
  if (q.failure && (q.state === 'FAILED' || q.state === 'CANCELED')) r.error = queryError(q.failure.code, q.failure.status, q.failure.message);
  return r;
}

async function getResults(c: Context, registry: TrinoRegistry): Promise<Response> {
  const q = registry.get(c.req.param('id') ?? '');
  const token = Number(c.req.param('token'));
  if (!q || q.slug !== c.req.param('slug') || !Number.isInteger(token)) return notFound(c, 'Query not found');
  q.lastPoll = performance.now();
  // The page last sent, again: a client retrying a GET whose answer it lost.
  if (q.lastServed && token === q.lastServed.token) return new Response(q.lastServed.body, { headers: { 'content-type': 'application/json' } });
  if (token !== q.token) return plain(c, 410, `Query ${q.id}: token ${token} is gone (the next is ${q.token})`);
  q.token++;
  const deadline = performance.now() + MAX_WAIT_MS;
  const wasQueued = q.state === 'QUEUED';
  await q.waitStarted(deadline);
  // The answer that says RUNNING comes as soon as Drill took the query (a client's
  // progress shows it); rows come with the next.
  const page = q.state === 'RUNNING' && !wasQueued ? await q.nextPage(deadline) : { rows: [] };
  const body = resultsJson(results(q, base(c), page.rows));
  q.lastServed = { token, body };
  q.lastPoll = performance.now();
  return new Response(body, { headers: { 'content-type': 'application/json' } });
}

function cancel(c: Context, registry: TrinoRegistry, id: string, slug?: string): Response {
  const q = registry.get(id);
  if (!q || (slug !== undefined && q.slug !== slug)) return notFound(c, 'Query not found');
  void q.cancel();
  return c.body(null, 204);
}
