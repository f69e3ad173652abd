// POST /query and Drill's POST /query.json as thin views over a Query and its runner
// (src/query): make the Query, let the runner drive it, send Drill's answer on with
// the decision in headers. A client that goes away cancels its query, the same way
// DELETE /v1/queries/{id} does: it leaves the wait, or is cancelled in Drill.
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { finished, Readable } from 'node:stream';
import type { PoolManager } from '../pool/pool.js';
import { Query, type FrontEnd } from '../query/query.js';
import { QueryRegistry } from '../query/registry.js';
import { QueryRunner, type Answer } from '../query/runner.js';
import type { Sizer } from '../sizing/index.js';
import type { Logger } from '../util/log.js';
import type { QueryInput } from './input.js';
import { checkStatement } from './policy.js';
import type { QsfSetting } from './qsf.js';

export { isReadOnly } from '../query/runner.js';

export interface QueryDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: QsfSetting;
  /** How often a read-only query is re-run after a Drillbit was lost (0: never). */
  retries: number;
  log?: Logger;
  /** The gateway's queries (default: one made for these deps, keeping 100 finished). */
  registry?: QueryRegistry;
  /** Read each query's profile after its end for estimate vs actual (default true). */
  measure?: boolean;
}

/** What the request log shows of a query. */
export interface Decision {
  query: Query;
  retried: number;
  timings: Answer['timings'];
}

const engines = new WeakMap<QueryDeps, { registry: QueryRegistry; runner: QueryRunner }>();

/** The registry and runner of these deps (made once). */
export function queryEngine(deps: QueryDeps): { registry: QueryRegistry; runner: QueryRunner } {
  let engine = engines.get(deps);
  if (!engine) {
    const registry = deps.registry ?? new QueryRegistry({ finishedLimit: 100 });
    deps.registry = registry;
    const runner = new QueryRunner({
      sizer: deps.sizer,
      pool: deps.pool,
      qsf: () => deps.qsf.value,
      retries: deps.retries,
      check: checkStatement,
      log: deps.log,
      measure: deps.measure,
    });
    engine = { registry, runner };
    engines.set(deps, engine);
  }
  return engine;
}

export async function runQuery(c: Context, deps: QueryDeps, input: QueryInput & { queryType?: string }, frontEnd: FrontEnd = 'query'): Promise<Response> {
  const { registry, runner } = queryEngine(deps);
  const query = registry.create({ sql: input.sql, frontEnd, queryType: input.queryType, user: input.userName });
  // The client went away (@hono/node-server aborts the request's signal on a premature close).
  const signal = c.req.raw.signal;
  const gone = () => void query.cancel('the client went away');
  if (signal.aborted) gone();
  else signal.addEventListener('abort', gone, { once: true });
  const input_ = { qsf: input.qsf, defaultSchema: input.defaultSchema, autoLimit: input.autoLimit, options: input.options, userName: input.userName };
  const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  // Drill's clients have read timeouts (10 s, 30 s in BI tools) shorter than a cold start,
  // and Drill itself sends nothing before its first batch: on Drill's route the head goes
  // out after a moment, then JSON whitespace (which every JSON parser skips) until Drill answers.
  if (frontEnd === 'drill' && out) return keptAlive(c, out, query, runner.run(query, input_), deps);
  const answer = await runner.run(query, input_);
  c.set('decision' as never, { query, retried: answer.retried, timings: answer.timings } satisfies Decision as never);
  const headers = decisionHeaders(query, answer, deps.pool);
  headers.set('content-type', answer.contentType);
  if (answer.whole) return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status: answer.status, headers });
  return streamRest(c, query, answer, headers, deps.log);
}

/** How long Drill's route waits before it sends the head, and how often it then sends a space. */
export const KEEPALIVE = { afterMs: 2_000, everyMs: 5_000 };

async function keptAlive(c: Context, out: ServerResponse, query: Query, run: Promise<Answer>, deps: QueryDeps): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  const early = await Promise.race([
    run.then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    ),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), KEEPALIVE.afterMs))),
  ]);
  clearTimeout(timer);
  if (early && 'error' in early) throw early.error;
  if (early) {
    const { answer } = early;
    c.set('decision' as never, { query, retried: answer.retried, timings: answer.timings } satisfies Decision as never);
    const headers = decisionHeaders(query, answer, deps.pool);
    headers.set('content-type', answer.contentType);
    if (answer.whole) return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status: answer.status, headers });
    return streamRest(c, query, answer, headers, deps.log);
  }
  // What is known now goes in the head; the rest is in GET /v1/queries/{id}.
  const head: Record<string, string> = { 'content-type': 'application/json', 'dromedar-gateway-query-id': query.id, 'dromedar-keepalive': 'whitespace' };
  if (query.plan) {
    head['dromedar-drillbits-sized'] = String(query.plan.drillbits);
    head['dromedar-dataset-bytes'] = String(query.plan.bytes);
    head['dromedar-qsf'] = String(query.plan.qsf);
    head['dromedar-parsed'] = String(query.plan.parsed);
  }
  out.writeHead(200, head);
  out.write(' ');
  const beat = setInterval(() => out.write(' '), KEEPALIVE.everyMs);
  let answer: Answer;
  try {
    answer = await run;
  } catch (err) {
    // Drill's own shape for a query that could not run, in the 200 already sent.
    const message = (err as Error).message;
    out.end(JSON.stringify({ queryId: query.drillQueryId ?? query.id, columns: [], rows: [], metadata: [], queryState: 'FAILED', errorMessage: message }));
    return RESPONSE_ALREADY_SENT;
  } finally {
    clearInterval(beat);
  }
  c.set('decision' as never, { query, retried: answer.retried, timings: answer.timings } satisfies Decision as never);
  pipeAnswer(out, query, answer, deps.log);
  return RESPONSE_ALREADY_SENT;
}

function decisionHeaders(query: Query, answer: Answer, pool: PoolManager): Headers {
  const plan = query.plan!;
  const headers = new Headers({
    'dromedar-dataset-bytes': String(plan.bytes),
    'dromedar-qsf': String(plan.qsf),
    // What the cluster had when Drill ran the query, and what sizing asked for.
    'dromedar-drillbits': String(query.clusterDrillbits ?? pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE').length),
    'dromedar-drillbits-sized': String(plan.drillbits),
    'dromedar-parsed': String(plan.parsed),
    'dromedar-gateway-query-id': query.id,
    'server-timing': Object.entries(answer.timings)
      .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
      .join(', '),
  });
  if (answer.retried > 0) headers.set('dromedar-retried', String(answer.retried));
  if (query.drillQueryId) headers.set('dromedar-query-id', query.drillQueryId);
  if (query.drillbit) headers.set('dromedar-drillbit', query.drillbit.id);
  return headers;
}

// The rows go from Drill's socket to the client's through Node's pipe: backpressure
// both ways (the client's pace is Drill's pace, memory stays flat) and no per-chunk
// work beyond the copy and the row count. Drill ends a complete answer with
// queryState; an answer that stops without it was cut short in Drill (a Drillbit
// failed mid-stream, which Drill's REST API cannot report after the first row): then
// the client's connection is reset instead of ended, so it sees a truncated transfer.
function streamRest(c: Context, query: Query, answer: Answer, headers: Headers, log?: Logger): Response {
  const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  // Outside Node's HTTP server (app.request in tests): a Web stream of the same bytes;
  // its cancel destroys the body, which cancels the query.
  if (!out) return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status: answer.status, headers });
  const head: Record<string, string> = {};
  headers.forEach((value, key) => (head[key] = value));
  out.writeHead(answer.status, head);
  pipeAnswer(out, query, answer, log);
  // This very object (not a copy) tells @hono/node-server that the answer is being written.
  return RESPONSE_ALREADY_SENT;
}

function pipeAnswer(out: ServerResponse, query: Query, answer: Answer, log?: Logger): void {
  const body = answer.body;
  const truncated = (why: string) =>
    log?.warn(`Drill's answer to query ${query.drillQueryId ?? query.id} from ${query.drillbit?.id} ended without a queryState (${why}): the client's transfer is cut short`);
  body.pipe(out, { end: false });
  finished(body, (err) => {
    if (!err && answer.complete()) return void out.end();
    if (!out.destroyed && query.state !== 'CANCELED') truncated(err ? `Drill's connection failed: ${err.message}` : 'the stream ended early');
    out.destroy();
  });
  // The client went away (or its socket failed) before the end: stop reading from Drill
  // (the runner sees its body destroyed and cancels the query in Drill).
  out.once('close', () => {
    if (!body.readableEnded) void query.cancel('the client went away');
  });
}
