// One Trino query, from POST /v1/statement to its last page, as a view over the
// gateway's Query (src/query, issue 12), which owns the state: sizing, the wait for
// Drillbits (QUEUED / STARTING_DRILLBITS with n of N up: Trino's QUEUED), Drill's
// answer paged as the client pulls (RUNNING), then FINISHED, FAILED or CANCELED.
// This adds what only the Trino protocol has: the nextUri secret and token, the page
// last sent (a retried GET), and the pager over Drill's answer. Cancel works in every
// state (Query.cancel: the wait is aborted; a running query is cancelled in Drill on
// its foreman), whoever asks (DELETE of nextUri, DELETE /v1/queries/{id}). A query
// nobody polls for clientTimeoutMs fails as ABANDONED_QUERY, as Trino's does.
import { randomBytes } from 'node:crypto';
import { DrillClient, type QueryRequest } from '../drill/client.js';
import type { Lease, PoolManager } from '../pool/pool.js';
import { Query, type CancelOutcome, type QueryError as ModelError } from '../query/query.js';
import type { QueryRegistry } from '../query/registry.js';
import { checkStatement } from '../server/policy.js';
import type { Sizer } from '../sizing/index.js';
import { DromedarError, describe } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { DrillAnswerReader, Pager, type Page } from './pager.js';
import type { TrinoColumn } from './types.js';

export type TrinoState = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED';

export interface RunnerDeps {
  sizer: Sizer;
  pool: PoolManager;
  qsf: { value: number };
  log?: Logger;
  /** The gateway's registry of queries (GET/DELETE /v1/queries), when there is one. */
  queries?: QueryRegistry;
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

let sequence = 0;

function trinoId(): string {
  const now = new Date().toISOString();
  return `${now.slice(0, 10).replace(/-/g, '')}_${now.slice(11, 19).replace(/:/g, '')}_${String(sequence++ % 100000).padStart(5, '0')}_drome`;
}

export class TrinoQuery {
  readonly model: Query;
  /** The nextUri secret: a token guessed from the id alone is not enough. */
  readonly slug = `x${randomBytes(16).toString('hex')}`;
  readonly created = performance.now();
  startedRunning: number | undefined;
  ended: number | undefined;
  /** Drillbits up and wanted while waiting; the lease's size once running. */
  up = 0;
  wanted = 0;
  lastPoll = performance.now();
  /** The token the client is expected to ask for next. */
  token = 0;
  lastServed: Served | undefined;
  /** Columns (and rows, pages, bytes) once Drill's answer is being read. */
  pager: Pager | undefined;
  private lease: Lease | undefined;
  private reader: DrillAnswerReader | undefined;
  private readonly started: Promise<void>;
  private paging: Promise<unknown> = Promise.resolve();

  constructor(
    readonly spec: QuerySpec,
    private readonly deps: RunnerDeps,
    private readonly pageBytes: number,
  ) {
    this.model = new Query({ sql: spec.sql, frontEnd: 'trino', user: spec.user, id: trinoId() });
    this.model.subscribe((event) => {
      if (event.type === 'state' && this.model.done) this.cleanUp();
    });
    deps.queries?.add(this.model);
    this.started = this.start().catch((err) => this.fail(err));
  }

  get id(): string {
    return this.model.id;
  }

  get state(): TrinoState {
    const s = this.model.state;
    return s === 'STARTING_DRILLBITS' ? 'QUEUED' : s === 'RUNNING' && !this.pager ? 'QUEUED' : s;
  }

  get failure(): ModelError | null {
    return this.model.error;
  }

  get drillQueryId(): string | undefined {
    return this.model.drillQueryId ?? undefined;
  }

  get plan() {
    return this.model.plan ?? undefined;
  }

  get columns(): TrinoColumn[] | undefined {
    return this.pager?.columns;
  }

  get done(): boolean {
    return this.model.done;
  }

  get processedRows(): number {
    return this.pager?.rowCount ?? 0;
  }

  get processedBytes(): number {
    return this.reader?.bytesRead ?? 0;
  }

  private async start(): Promise<void> {
    const model = this.model;
    await checkStatement(this.spec.sql, { workspaces: this.deps.sizer.workspaceMap, defaultSchema: this.spec.defaultSchema });
    const plan = await this.deps.sizer.plan(this.spec.sql, { qsf: this.deps.qsf.value, defaultSchema: this.spec.defaultSchema });
    model.sized(plan);
    this.wanted = plan.drillbits;
    if (this.done) return;
    const lease = await this.deps.pool.acquire(plan.drillbits, {
      signal: model.signal,
      onProgress: (online, wanted) => {
        this.up = online;
        this.wanted = wanted;
        model.waiting(online, wanted);
      },
    });
    if (this.done) return lease.release();
    this.lease = lease;
    this.up = lease.drillbits;
    model.admitted(lease, lease.drillbits);
    model.onCancel((reason) => this.cancelInDrill(reason));
    const request: QueryRequest = { queryType: 'SQL', query: this.spec.sql };
    if (this.spec.defaultSchema) request.defaultSchema = this.spec.defaultSchema;
    if (this.spec.options && Object.keys(this.spec.options).length > 0) request.options = this.spec.options;
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).query(request, model.signal);
    model.started();
    if (res.status !== 200) {
      const text = (await res.body.text().catch(() => '')).slice(0, 2000);
      throw new DromedarError('drill_error', drillMessage(text) ?? `Drill answered ${res.status}: ${text.slice(0, 300)}`, 502);
    }
    this.reader = new DrillAnswerReader(res.body);
    // Trino's QUEUED lasts until Drill has taken the query (its answer's head is in).
    // Drill names the query first, long before a join's first row: from then on a
    // cancel reaches Drill.
    for (;;) {
      const complete = await this.reader.readHead(performance.now() + 250);
      if (this.reader.head.queryId && !model.drillQueryId) model.identified(this.reader.head.queryId);
      if (complete || this.done) break;
    }
    if (this.done) return;
    this.pager = new Pager(this.reader, { pageBytes: this.pageBytes });
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
    const before = this.processedBytes;
    let page: Page;
    try {
      page = await this.pager.next(deadline);
    } catch (err) {
      this.fail(err);
      return empty;
    }
    this.model.streamed(page.rows.length, this.processedBytes - before);
    if (page.done && !this.done) await this.finish();
    return page;
  }

  // Drill's answer is read to its end: COMPLETED, or a failure Drill wrote into it.
  private async finish(): Promise<void> {
    const tail = this.reader!.tail;
    this.model.drillEnded(tail.queryState ?? null);
    if (tail.queryState === 'COMPLETED') return this.model.end('FINISHED');
    let message = tail.errorMessage;
    // Drill names no reason for a failure after its header: the profile has it.
    if (!message && this.drillQueryId && this.lease) message = await profileError(this.lease, this.drillQueryId);
    this.model.end('FAILED', { code: 'drill_query_failed', message: message ?? `Drill ended the query ${tail.queryState ?? 'without a final state'}`, status: 400 });
  }

  /** DELETE of nextUri: cancels the query in whatever state it is (a no-op once it ended). */
  cancel(): Promise<CancelOutcome> {
    return this.model.cancel('the client cancelled the query');
  }

  /** Nobody polled for the client timeout: cancelled in Drill, FAILED as ABANDONED_QUERY. */
  abandon(): void {
    if (this.done) return;
    // Started before the end releases the lease (it reads the lease at once).
    if (this.lease) void this.cancelInDrill('abandoned by its client');
    this.model.end('FAILED', { code: 'ABANDONED_QUERY', message: 'Query was abandoned by the client: no poll within the client timeout', status: 410 });
  }

  fail(err: unknown): void {
    if (this.done) return;
    const error = err instanceof DromedarError ? err : new DromedarError('internal', describe(err), 500);
    const drill = this.lease && this.drillQueryId && error.code !== 'drill_query_failed' ? { lease: this.lease, id: this.drillQueryId } : undefined;
    this.model.end('FAILED', { code: error.code, message: error.message, status: error.status });
    if (drill) void cancelInDrill(drill.lease, drill.id, this.deps.log);
  }

  // Query.cancel while the query is in Drill: Drill's REST cancel on its foreman.
  private async cancelInDrill(reason: string): Promise<CancelOutcome> {
    const lease = this.lease;
    // Drill's REST answer names the query with its first batch: a join that has sent
    // none yet is found among the foreman's running queries by its text (when exactly one).
    const id = this.drillQueryId ?? (lease ? await runningByText(lease, this.spec.sql) : undefined);
    if (!lease || !id) return { cancelled: true, state: 'CANCELED', drill: 'unknown-id', message: `${reason}; Drill's query id was not known yet` };
    if (!this.drillQueryId) this.model.identified(id);
    const ok = await cancelInDrill(lease, id, this.deps.log);
    return { cancelled: true, state: 'CANCELED', drill: ok ? 'cancelled' : 'unreachable', message: reason };
  }

  // The query ended (whoever ended it): stop reading Drill, give the slot back, log it.
  private cleanUp(): void {
    if (this.ended !== undefined) return;
    this.ended = performance.now();
    this.reader?.destroy();
    this.lease?.release();
    if (this.lease) this.model.released();
    this.lease = undefined;
    this.deps.log?.info(
      { query: this.id, drillQueryId: this.drillQueryId, state: this.model.state, user: this.spec.user, source: this.spec.source, tags: this.spec.tags, rows: this.processedRows, ms: Math.round(this.ended - this.created), error: this.failure?.message },
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
async function cancelInDrill(lease: Lease, queryId: string, log?: Logger): Promise<boolean> {
  try {
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).stream('GET', `/profiles/cancel/${encodeURIComponent(queryId)}`);
    await res.body.text();
    return res.status < 400;
  } catch (err) {
    log?.warn(`cancelling Drill query ${queryId} on ${lease.drillbit.id} failed: ${describe(err)}`);
    return false;
  }
}

async function runningByText(lease: Lease, sql: string): Promise<string | undefined> {
  try {
    const profiles = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).json<{ runningQueries?: Array<{ queryId: string; query: string }> }>('GET', '/profiles.json');
    const same = (profiles.runningQueries ?? []).filter((q) => q.query.trim() === sql.trim());
    return same.length === 1 ? same[0]!.queryId : undefined;
  } catch {
    return undefined;
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
      if (!q.done && now - q.lastPoll > this.clientTimeoutMs) q.abandon();
      else if (q.done && now - (q.ended ?? now) > this.keepMs) this.queries.delete(id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const q of this.queries.values()) void q.cancel();
  }
}
