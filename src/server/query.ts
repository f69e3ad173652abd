// The query path: size, wait for the pool, forward to a Drillbit, stream back.
// Drill's bytes pass through untouched and unbuffered (a pull stream: the client's
// pace is Drill's pace), so a result of any size keeps the gateway's memory flat.
// Only the head of Drill's answer (up to the first row) is looked at: if it says
// a Drillbit was lost before any row, a read-only query is run once more.
import type { Context } from 'hono';
import { DrillClient, type QueryRequest, type StreamedResponse } from '../drill/client.js';
import type { Lease, PoolManager, Progress } from '../pool/pool.js';
import type { Plan, Sizer } from '../sizing/index.js';
import { DromedarError } from '../util/errors.js';
import type { QueryInput } from './input.js';
import { checkStatement } from './policy.js';
import type { QsfSetting } from './qsf.js';

export interface QueryDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: QsfSetting;
  /** How often a read-only query is re-run after a Drillbit was lost (0: never). */
  retries: number;
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
  /** The rest of the answer (one iterator: a second would close the stream). */
  source: AsyncIterator<Buffer>;
}

export async function runQuery(c: Context, deps: QueryDeps, input: QueryInput & { queryType?: string }, onProgress?: Progress): Promise<Response> {
  const t0 = performance.now();
  checkStatement(input.sql);
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
      head = await readHead(res);
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
    return new Response(passThrough(head, res, lease), { status: res.status, headers });
  }
}

function drillRequest(input: QueryInput & { queryType?: string }): QueryRequest {
  const request: QueryRequest = { queryType: (input.queryType ?? 'SQL') as 'SQL', query: input.sql };
  if (input.autoLimit !== undefined) request.autoLimit = input.autoLimit;
  if (input.defaultSchema !== undefined) request.defaultSchema = input.defaultSchema;
  if (input.options !== undefined) request.options = input.options;
  return request;
}

const HEAD_LIMIT = 64 * 1024;
const FIRST_ROW = /"rows"\s*:\s*\[\s*\{/;

// Drill writes queryId, columns and metadata, then the rows; a query that fails before
// its first row ends there. So reading up to the first row costs no row latency.
async function readHead(res: StreamedResponse): Promise<Head> {
  const source = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let text = '';
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await source.next();
    } catch (err) {
      throw new DromedarError('drill_connection_lost', `Drill closed the connection before the first row: ${(err as Error).message}`, 502);
    }
    if (next.done) return { chunks, text, ended: true, source };
    chunks.push(next.value);
    text += next.value.toString('latin1');
    if (FIRST_ROW.test(text) || text.length > HEAD_LIMIT) return { chunks, text, ended: false, source };
  }
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
  const first = input.sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/^[\s(]+/, '')
    .split(/\s/, 1)[0]!
    .toUpperCase();
  return ['SELECT', 'WITH', 'VALUES', 'EXPLAIN', 'SHOW', 'DESCRIBE', 'DESC'].includes(first);
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
  return headers;
}

function passThrough(head: Head, res: StreamedResponse, lease: Lease): ReadableStream<Uint8Array> {
  const pending = [...head.chunks];
  const { source } = head;
  const finish = () => lease.release();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const buffered = pending.shift();
          if (buffered) return controller.enqueue(buffered);
          const next = head.ended ? { done: true as const, value: undefined } : await source.next();
          if (next.done) {
            controller.close();
            finish();
          } else {
            controller.enqueue(next.value);
          }
        } catch (err) {
          finish();
          controller.error(err);
        }
      },
      cancel() {
        res.body.destroy();
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}
