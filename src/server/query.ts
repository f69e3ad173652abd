// The query path: size, wait for the pool, forward to a Drillbit, stream back.
// Drill's bytes pass through untouched and unbuffered (a pull stream: the client's
// pace is Drill's pace), so a result of any size keeps the gateway's memory flat.
import type { Context } from 'hono';
import type { Readable } from 'node:stream';
import { DrillClient, type QueryRequest } from '../drill/client.js';
import type { Lease, PoolManager, Progress } from '../pool/pool.js';
import type { Plan, Sizer } from '../sizing/index.js';
import type { QueryInput } from './input.js';
import type { QsfSetting } from './qsf.js';

export interface QueryDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: QsfSetting;
}

export interface Decision {
  plan: Plan;
  drillbits: number;
  drillbit: string;
  timings: { sizing: number; scale: number; drill: number };
}

export async function runQuery(c: Context, deps: QueryDeps, input: QueryInput & { queryType?: string }, onProgress?: Progress): Promise<Response> {
  const t0 = performance.now();
  const plan = await deps.sizer.plan(input.sql, { qsf: input.qsf ?? deps.qsf.value, defaultSchema: input.defaultSchema });
  const t1 = performance.now();
  const lease = await deps.pool.acquire(plan.drillbits, { signal: c.req.raw.signal, onProgress });
  const t2 = performance.now();
  try {
    const request: QueryRequest = { queryType: (input.queryType ?? 'SQL') as 'SQL', query: input.sql };
    if (input.autoLimit !== undefined) request.autoLimit = input.autoLimit;
    if (input.defaultSchema !== undefined) request.defaultSchema = input.defaultSchema;
    if (input.options !== undefined) request.options = input.options;
    const drill = DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort);
    const res = await drill.query(request);
    const source = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await source.next();
    const t3 = performance.now();
    const decision: Decision = {
      plan,
      drillbits: lease.drillbits,
      drillbit: lease.drillbit.id,
      timings: { sizing: t1 - t0, scale: t2 - t1, drill: t3 - t2 },
    };
    c.set('decision' as never, decision as never);
    const headers = decisionHeaders(decision, first.done ? undefined : first.value);
    headers.set('content-type', res.headers['content-type'] ?? 'application/json');
    return new Response(passThrough(first, source, res.body, lease), { status: res.status, headers });
  } catch (err) {
    lease.release();
    throw err;
  }
}

function decisionHeaders(d: Decision, firstChunk: Buffer | undefined): Headers {
  const headers = new Headers({
    'dromedar-dataset-bytes': String(d.plan.bytes),
    'dromedar-qsf': String(d.plan.qsf),
    'dromedar-drillbits': String(d.drillbits),
    'dromedar-parsed': String(d.plan.parsed),
    'server-timing': Object.entries(d.timings)
      .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
      .join(', '),
  });
  // Drill writes the query id first; it is in the first chunk.
  const id = firstChunk && /"queryId"\s*:\s*"([^"]+)"/.exec(firstChunk.subarray(0, 512).toString('latin1'))?.[1];
  if (id) headers.set('dromedar-query-id', id);
  return headers;
}

function passThrough(first: IteratorResult<Buffer>, source: AsyncIterator<Buffer>, body: Readable, lease: Lease): ReadableStream<Uint8Array> {
  let pending: IteratorResult<Buffer> | null = first;
  const finish = () => lease.release();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = pending ?? (await source.next());
          pending = null;
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
        body.destroy();
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}
