// One Trino query, from POST /v1/statement to its last page: sizing, the wait for
// Drillbits (QUEUED, with n of N up), Drill's answer paged as the client pulls
// (RUNNING), then FINISHED, FAILED or CANCELED. Cancel works in every state: a
// waiting query leaves the pool's queue (its signal), a running one is cancelled in
// Drill on its foreman and its lease freed. A query nobody polls for clientTimeoutMs
// is cancelled, as Trino abandons it.
//
// Issue 12's Query object (src/query/) is the gateway-wide owner of a query's
// lifecycle; until it lands this is the Trino front end's own, with the same states.
import { randomBytes } from 'node:crypto';
import { DrillClient, type QueryRequest } from '../drill/client.js';
import type { Lease, PoolManager } from '../pool/pool.js';
import { checkStatement } from '../server/policy.js';
import type { Plan, Sizer } from '../sizing/index.js';
import { DromedarError, describe } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { DrillAnswerReader, Pager, type Page } from './pager.js';
import type { TrinoColumn } from './types.js';

export type TrinoState = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED';

export interface QueryFailure {
  message: string;
  code: string;
  status: number;
}

export interface RunnerDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: { value: number };
  log?: Logger;
}

export interface QuerySpec {
  sql: string;
  defaultSchema?: string;
  options?: Record<string, string | number | boolean>;
  user: string;
  source?: string;
  tags?: string[];
}

/** A page handed to the client, kept so a retried GET of the same token gets it again. */
export interface Served {
  token: number;
  body: string;
}

const TODAY = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');
let sequence = 0;

export class TrinoQuery {
  readonly id: string;
  /** The nextUri secret: a token guessed from the id alone is not enough. */
  readonly slug = `x${randomBytes(16).toString('hex')}`;
  state: TrinoState = 'QUEUED';
  readonly created = performance.now();
  startedRunning: number | undefined;
  ended: number | undefined;
  plan: Plan | undefined;
  /** Drillbits up and wanted while QUEUED; the lease's size once RUNNING. */
  up = 0;
  wanted = 0;
  failure: QueryFailure | undefined;
  drillQueryId: string | undefined;
  lastPoll = performance.now();
  /** The token the client is expected to ask for next. */
  token = 0;
  lastServed: Served | undefined;
  /** Columns (and rows, pages, bytes) once Drill's answer is being read. */
  pager: Pager | undefined;
  private lease: Lease | undefined;
  private reader: DrillAnswerReader | undefined;
  private readonly abort = new AbortController();
  private readonly started: Promise<void>;
  private paging: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spec: QuerySpec,
    private readonly deps: RunnerDeps,
    private readonly pageBytes: number,
  ) {
    const n = String(sequence++ % 100000).padStart(5, '0');
    const time = new Date().toISOString().slice(11, 19).replace(/:/g, '');
    this.id = `${TODAY()}_${time}_${n}_drome`;
    this.started = this.start().catch((err) => this.fail(err));
  }

  get columns(): TrinoColumn[] | undefined {
    return this.pager?.columns;
  }

  get done(): boolean {
    return this.state === 'FINISHED' || this.state === 'FAILED' || this.state === 'CANCELED';
  }

  get processedRows(): number {
    return this.pager?.rowCount ?? 0;
  }

  get processedBytes(): number {
    return this.reader?.bytesRead ?? 0;
  }

  private async start(): Promise<void> {
    checkStatement(this.spec.sql);
    this.plan = await this.deps.sizer.plan(this.spec.sql, { qsf: this.deps.qsf.value, defaultSchema: this.spec.defaultSchema });
    this.wanted = this.plan.drillbits;
    if (this.done) return;
    const lease = await this.deps.pool.acquire(this.plan.drillbits, {
      signal: this.abort.signal,
      onProgress: (online, wanted) => {
        this.up = online;
        this.wanted = wanted;
      },
    });
    if (this.done) return lease.release();
    this.lease = lease;
    this.up = lease.drillbits;
    const request: QueryRequest = { queryType: 'SQL', query: this.spec.sql };
    if (this.spec.defaultSchema) request.defaultSchema = this.spec.defaultSchema;
    if (this.spec.options && Object.keys(this.spec.options).length > 0) request.options = this.spec.options;
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).query(request, this.abort.signal);
    this.reader = new DrillAnswerReader(res.body);
    if (res.status !== 200) {
      const text = (await res.body.text().catch(() => '')).slice(0, 2000);
      throw new DromedarError('drill_error', drillMessage(text) ?? `Drill answered ${res.status}: ${text.slice(0, 300)}`, 502);
    }
    // QUEUED until Drill has taken the query (its answer's head is in).
    while (!(await this.reader.readHead(performance.now() + 60_000))) if (this.done) return;
    this.drillQueryId = this.reader.head.queryId;
    this.pager = new Pager(this.reader, { pageBytes: this.pageBytes });
    if (this.done) return;
    this.state = 'RUNNING';
    this.startedRunning = performance.now();
  }

  /** Waits until the query has left QUEUED, or `deadline` (ms of performance.now()). */
  async waitStarted(deadline: number): Promise<void> {
    const wait = deadline - performance.now();
    if (wait <= 0 || this.state !== 'QUEUED') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.started, new Promise<void>((resolve) => (timer = setTimeout(resolve, wait)))]);
    clearTimeout(timer);
  }

  /** The next page of rows (RUNNING only); ends the query when Drill's answer is complete. */
  nextPage(deadline: number): Promise<Page> {
    // One page at a time, even when a client sends two GETs at once.
    const next = this.paging.then(() => this.readPage(deadline));
    this.paging = next.catch(() => {});
    return next;
  }

  private async readPage(deadline: number): Promise<Page> {
    const empty: Page = { rows: [], bytes: 0, done: this.done };
    if (this.state !== 'RUNNING' || !this.pager) return empty;
    let page: Page;
    try {
      page = await this.pager.next(deadline);
    } catch (err) {
      this.fail(err);
      return empty;
    }
    if (page.done && this.state === 'RUNNING') await this.finish();
    return page;
  }

  // Drill's answer is read to its end: COMPLETED, or a failure Drill wrote into it.
  private async finish(): Promise<void> {
    const tail = this.reader!.tail;
    if (tail.queryState === 'COMPLETED') {
      this.end('FINISHED');
      return;
    }
    let message = tail.errorMessage;
    // Drill names no reason for a failure after its header: the profile has it.
    if (!message && this.drillQueryId && this.lease) message = await profileError(this.lease, this.drillQueryId);
    this.fail(new DromedarError('drill_query_failed', message ?? `Drill ended the query ${tail.queryState ?? 'without a final state'}`, 400));
  }

  /** Cancels the query in whatever state it is (a no-op once it ended). */
  cancel(why: 'client' | 'abandoned'): void {
    if (this.done) return;
    this.failure =
      why === 'abandoned'
        ? { code: 'ABANDONED_QUERY', message: 'Query was abandoned by the client: no poll within the client timeout', status: 410 }
        : { code: 'USER_CANCELED', message: 'Query was canceled', status: 499 };
    const drill = this.lease && this.drillQueryId ? { lease: this.lease, id: this.drillQueryId } : undefined;
    this.end(why === 'abandoned' ? 'FAILED' : 'CANCELED');
    this.abort.abort();
    if (drill) void cancelInDrill(drill.lease, drill.id, this.deps.log);
    this.deps.log?.info({ query: this.id, drillQueryId: this.drillQueryId, why }, 'trino query cancelled');
  }

  fail(err: unknown): void {
    if (this.done) return;
    const error = err instanceof DromedarError ? err : new DromedarError('internal', describe(err), 500);
    if (this.abort.signal.aborted) return;
    this.failure = { code: error.code, message: error.message, status: error.status };
    const drill = this.lease && this.drillQueryId && error.code !== 'drill_query_failed' ? { lease: this.lease, id: this.drillQueryId } : undefined;
    this.end('FAILED');
    if (drill) void cancelInDrill(drill.lease, drill.id, this.deps.log);
  }

  private end(state: TrinoState): void {
    this.state = state;
    this.ended = performance.now();
    this.reader?.destroy();
    this.lease?.release();
    this.lease = undefined;
    this.deps.log?.info(
      { query: this.id, drillQueryId: this.drillQueryId, state, user: this.spec.user, source: this.spec.source, tags: this.spec.tags, rows: this.processedRows, ms: Math.round(this.ended - this.created), error: this.failure?.message },
      'trino query',
    );
  }
}

function drillMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errorMessage?: string };
    return body.errorMessage;
  } catch {
    return undefined;
  }
}

// Drill's REST cancel on the Drillbit that is foreman of the query.
async function cancelInDrill(lease: Lease, queryId: string, log?: Logger): Promise<void> {
  try {
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).stream('GET', `/profiles/cancel/${encodeURIComponent(queryId)}`);
    await res.body.text();
  } catch (err) {
    log?.warn(`cancelling Drill query ${queryId} on ${lease.drillbit.id} failed: ${describe(err)}`);
  }
}

async function profileError(lease: Lease, queryId: string): Promise<string | undefined> {
  for (let tries = 0; tries < 8; tries++) {
    try {
      const profile = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).json<{ error?: string }>('GET', `/profiles/${encodeURIComponent(queryId)}.json`);
      if (profile.error) return profile.error;
    } catch {
      /* not written yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

/** The Trino queries of this gateway: live ones, and finished ones for a while (retried GETs). */
export class TrinoRegistry {
  private readonly queries = new Map<string, TrinoQuery>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly clientTimeoutMs: number,
    private readonly keepMs = 15 * 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(5_000, Math.max(100, clientTimeoutMs / 4)));
    this.sweeper.unref();
  }

  add(query: TrinoQuery): void {
    this.queries.set(query.id, query);
  }

  get(id: string): TrinoQuery | undefined {
    return this.queries.get(id);
  }

  get size(): number {
    return this.queries.size;
  }

  /** Cancels abandoned queries, forgets long-finished ones. */
  sweep(now = performance.now()): void {
    for (const [id, q] of this.queries) {
      if (!q.done && now - q.lastPoll > this.clientTimeoutMs) q.cancel('abandoned');
      else if (q.done && now - (q.ended ?? now) > this.keepMs) this.queries.delete(id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const q of this.queries.values()) q.cancel('client');
  }
}
