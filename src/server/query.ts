// The query path: size, wait for the pool, forward to a Drillbit, stream back.
// Drill's bytes pass through untouched and unbuffered (a pull stream: the client's
// pace is Drill's pace), so a result of any size keeps the gateway's memory flat.
// Only the head of Drill's answer (up to the first row) is looked at: if it says
// a Drillbit was lost before any row, a read-only query is run once more.
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { finished, Readable } from 'node:stream';
import { DrillClient, type QueryRequest, type StreamedResponse } from '../drill/client.js';
import type { Lease, PoolManager, Progress } from '../pool/pool.js';
import type { Plan, Sizer } from '../sizing/index.js';
import { DromedarError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { QueryInput } from './input.js';
import { classifyStatement } from '../sql/statements.js';
import { checkStatement } from './policy.js';
import type { QsfSetting } from './qsf.js';

export interface QueryDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: QsfSetting;
  /** How often a read-only query is re-run after a Drillbit was lost (0: never). */
  retries: number;
  log?: Logger;
}

export interface Decision {
  plan: Plan;
  drillbits: number;
  drillbit: string;
  retried: number;
  timings: { sizing: number; scale: number; drill: number };
}

interface Head {
  /** What was read of Drill's answer: everything up to the first row, or all of it. */
  chunks: Buffer[];
  text: string;
  ended: boolean;
}

export async function runQuery(c: Context, deps: QueryDeps, input: QueryInput & { queryType?: string }, onProgress?: Progress): Promise<Response> {
  const t0 = performance.now();
  await checkStatement(input.sql, { workspaces: deps.sizer.workspaceMap, defaultSchema: input.defaultSchema });
  const plan = await deps.sizer.plan(input.sql, { qsf: input.qsf ?? deps.qsf.value, defaultSchema: input.defaultSchema });
  const t1 = performance.now();
  const retries = isReadOnly(input) ? deps.retries : 0;
  for (let attempt = 0; ; attempt++) {
    const start = performance.now();
    const lease = await deps.pool.acquire(plan.drillbits, { signal: c.req.raw.signal, onProgress });
    const failuresBefore = deps.pool.failures;
    const t2 = performance.now();
    let res: StreamedResponse;
    let head: Head;
    try {
      res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).query(drillRequest(input));
      head = await readHead(res.body);
    } catch (err) {
      lease.release();
      if (attempt < retries && err instanceof DromedarError && (err.code === 'drill_unreachable' || err.code === 'drill_connection_lost')) {
        await deps.pool.recover(lease.drillbit, c.req.raw.signal);
        continue;
      }
      throw err;
    }
    if (attempt < retries && head.ended && (await lostDrillbit(head.text, deps.pool, failuresBefore))) {
      lease.release();
      await deps.pool.recover(lease.drillbit, c.req.raw.signal);
      continue;
    }
    if (head.ended) head = await explainFailure(head, lease);
    const decision: Decision = {
      plan,
      drillbits: lease.drillbits,
      drillbit: lease.drillbit.id,
      retried: attempt,
      timings: { sizing: t1 - t0, scale: t2 - (attempt === 0 ? t1 : start), drill: performance.now() - t2 },
    };
    c.set('decision' as never, decision as never);
    const headers = decisionHeaders(decision, head.text);
    headers.set('content-type', res.headers['content-type'] ?? 'application/json');
    if (head.ended) {
      lease.release();
      return new Response(Buffer.concat(head.chunks), { status: res.status, headers });
    }
    res.body.unshift(Buffer.concat(head.chunks));
    return streamRest(c, res, headers, lease, deps.log);
  }
}

function drillRequest(input: QueryInput & { queryType?: string }): QueryRequest {
  const request: QueryRequest = { queryType: (input.queryType ?? 'SQL') as 'SQL', query: input.sql };
  if (input.autoLimit !== undefined) request.autoLimit = input.autoLimit;
  if (input.defaultSchema !== undefined) request.defaultSchema = input.defaultSchema;
  if (input.options !== undefined) request.options = input.options;
  if (input.userName !== undefined) request.userName = input.userName;
  return request;
}

const HEAD_LIMIT = 64 * 1024;
const FIRST_ROW = /"rows"\s*:\s*\[\s*\{/;

// Drill writes queryId, columns and metadata, then the rows; a query that fails before
// its first row ends there. So reading up to the first row costs no row latency.
// Read with read() (not an async iterator), so the rest can be piped afterwards.
async function readHead(body: Readable): Promise<Head> {
  // Failures are seen through readable() and finished(); an unheard 'error' would crash the process.
  body.on('error', () => {});
  const chunks: Buffer[] = [];
  let text = '';
  for (;;) {
    let chunk: Buffer | null;
    while ((chunk = body.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      text += chunk.toString('latin1');
      if (FIRST_ROW.test(text) || text.length > HEAD_LIMIT) return { chunks, text, ended: false };
    }
    if (body.readableEnded) return { chunks, text, ended: true };
    try {
      await readable(body);
    } catch (err) {
      throw new DromedarError('drill_connection_lost', `Drill closed the connection before the first row: ${(err as Error).message}`, 502);
    }
  }
}

/** Resolves when `body` has data or has ended; rejects when it fails. */
function readable(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      body.off('readable', onReadable).off('end', onEnd).off('error', done).off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = () => done();
    const onEnd = () => done();
    const onClose = () => done(body.readableEnded ? undefined : new Error('the connection closed'));
    body.on('readable', onReadable).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

// Drill's words when a Drillbit of the query went away (connection loss, shutdown).
const LOST = /lost connectivity|Failure type CONNECTION|ChannelClosedException|Connection refused|Drillbit (is )?shut ?down|ForemanSetupException.*(Connection|unavailable)/i;

// Drill names the cause only when it fails before sending the header; otherwise the
// pool tells whether a Drillbit died meanwhile.
async function lostDrillbit(head: string, pool: PoolManager, failuresBefore: number): Promise<boolean> {
  if (!head.includes('"FAILED"')) return false;
  if (LOST.test(head)) return true;
  if (head.includes('"errorMessage"')) return false;
  await pool.refresh();
  return pool.failures > failuresBefore;
}

/** Whether running the SQL twice is harmless: a query that only reads. */
export function isReadOnly(input: { sql: string; queryType?: string }): boolean {
  if ((input.queryType ?? 'SQL').toUpperCase() !== 'SQL') return false;
  return classifyStatement(input.sql).readOnly;
}

// Drill's REST answer carries no message for a query that failed after its header was
// written (Drill's own limitation). The whole answer is in hand then; add Drill's error
// from the query profile, so the client learns why.
async function explainFailure(head: Head, lease: Lease): Promise<Head> {
  if (!/"queryState"\s*:\s*"FAILED"/.test(head.text) || head.text.includes('"errorMessage"')) return head;
  const id = /"queryId"\s*:\s*"([^"]+)"/.exec(head.text)?.[1];
  let message = 'Drill reported the query FAILED without a message (a Drillbit of the query may have been lost)';
  for (let tries = 0; id && tries < 8; tries++) {
    try {
      const profile = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).json<{ error?: string }>('GET', `/profiles/${id}.json`);
      if (profile.error) {
        message = profile.error;
        break;
      }
    } catch {
      /* not written yet, or the Drillbit is gone */
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const text = Buffer.concat(head.chunks).toString('utf8');
  const enriched = text.replace(/,?\s*"queryState"\s*:\s*"FAILED"/, (state) => `,"errorMessage":${JSON.stringify(message)}\n${state}`);
  return { ...head, chunks: [Buffer.from(enriched)], text: enriched };
}

function decisionHeaders(d: Decision, head: string): Headers {
  const headers = new Headers({
    'dromedar-dataset-bytes': String(d.plan.bytes),
    'dromedar-qsf': String(d.plan.qsf),
    'dromedar-drillbits': String(d.drillbits),
    'dromedar-parsed': String(d.plan.parsed),
    'server-timing': Object.entries(d.timings)
      .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
      .join(', '),
  });
  if (d.retried > 0) headers.set('dromedar-retried', String(d.retried));
  const id = /"queryId"\s*:\s*"([^"]+)"/.exec(head.slice(0, 512))?.[1];
  if (id) headers.set('dromedar-query-id', id);
  headers.set('dromedar-drillbit', d.drillbit);
  return headers;
}

// The rows go from Drill's socket to the client's through Node's pipe: backpressure
// both ways (the client's pace is Drill's pace, memory stays flat) and no per-chunk
// work beyond the copy. Drill ends a complete answer with queryState; an answer that
// stops without it was cut short in Drill (a Drillbit failed mid-stream, which
// Drill's REST API cannot report after the first row): then the client's connection
// is reset instead of ended, so it sees a truncated transfer, not a clean end.
function streamRest(c: Context, res: StreamedResponse, headers: Headers, lease: Lease, log?: Logger): Response {
  const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  const body = res.body;
  let tail = '';
  body.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - TAIL))).slice(-TAIL)));
  const complete = () => COMPLETE.test(tail);
  const queryId = headers.get('dromedar-query-id') ?? 'unknown';
  const truncated = (why: string) => log?.warn(`Drill's answer to query ${queryId} from ${lease.drillbit.id} ended without a queryState (${why}): the client's transfer is cut short`);
  if (!out) {
    // Outside Node's HTTP server (app.request in tests): a Web stream of the same bytes.
    body.once('close', () => lease.release());
    return new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, { status: res.status, headers });
  }
  const head: Record<string, string> = {};
  headers.forEach((value, key) => (head[key] = value));
  out.writeHead(res.status, head);
  body.pipe(out, { end: false });
  finished(body, (err) => {
    lease.release();
    if (!err && (res.status !== 200 || complete())) return void out.end();
    if (!out.destroyed) truncated(err ? `Drill's connection failed: ${err.message}` : 'the stream ended early');
    out.destroy();
  });
  // The client went away (or its socket failed) before the end: stop reading from Drill.
  out.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  // This very object (not a copy) tells @hono/node-server that the answer is being written.
  return RESPONSE_ALREADY_SENT;
}

const TAIL = 256;
const COMPLETE = /"queryState"\s*:\s*"[A-Z_]+"\s*\}?\s*$/;
