// Drives one Query: statement check and sizing, the wait for Drillbits (with the
// query's AbortSignal, so a cancel leaves the queue), Drill's /query.json on the
// foreman, and the stream of Drill's answer. Drill's bytes pass through untouched and
// unbuffered (a pull stream: the client's pace is Drill's pace); rows and bytes are
// counted on the way. Only the head of Drill's answer (up to the first row) is looked
// at: if it says a Drillbit was lost before any row, a read-only query runs once more.
// A cancel, in any state, goes through query.cancel(); the runner carries it out in
// Drill (Drill's REST cancel on the foreman) and frees the slot whatever Drill says.
import { finished, Readable, Transform } from 'node:stream';
import { DrillClient, type QueryRequest, type StreamedResponse } from '../drill/client.js';
import type { Lease, PoolManager } from '../pool/pool.js';
import type { Drillbit } from '../schedulers/scheduler.js';
import { accuracy } from '../sizing/actual.js';
import type { Sizer } from '../sizing/index.js';
import { DromedarError, describe } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { CancelOutcome, Query } from './query.js';
import { RowCounter } from './rows.js';

export interface RunnerDeps {
  sizer: Sizer;
  pool: PoolManager;
  /** The QSF used when the request names none. */
  qsf: () => number;
  /** How often a read-only query is re-run after a Drillbit was lost (0: never). */
  retries: number;
  /** Statement rules (refuses what the gateway does not run); throws a DromedarError. */
  check?: (sql: string) => void;
  log?: Logger;
  /** Read the profile after the end for estimate vs actual (default true). */
  measure?: boolean;
}

/** What a front end asks Drill for (the Drill /query.json fields beside the SQL). */
export interface RunInput {
  qsf?: number;
  defaultSchema?: string;
  autoLimit?: number;
  options?: Record<string, string | number | boolean>;
  userName?: string;
}

/** Drill's answer as it starts streaming: the front end sends `body` on (or reads it). */
export interface Answer {
  /** Drill's HTTP status. */
  status: number;
  /** Drill's content type. */
  contentType: string;
  /** Drill's whole answer from its first byte (rows and bytes are counted as it is read). */
  body: Readable;
  /** True when Drill's answer is already whole (it failed or was small): `body` holds all of it. */
  whole: boolean;
  /** Whether what was read so far ends the way a complete Drill answer ends (its queryState). */
  complete(): boolean;
  /** Read-only re-runs after a lost Drillbit. */
  retried: number;
  /** ms: sizing, waiting for the pool, Drill until its answer began. */
  timings: { sizing: number; scale: number; drill: number };
}

interface Head {
  chunks: Buffer[];
  text: string;
  ended: boolean;
}

const DRILL_ID = /"queryId"\s*:\s*"([^"]+)"/;

export class QueryRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /**
   * Runs the query until Drill's answer starts streaming. Throws a DromedarError (the
   * query then ended FAILED, or CANCELED with status 499) when it cannot get there.
   */
  async run(query: Query, input: RunInput = {}): Promise<Answer> {
    try {
      return await this.attempt(query, input);
    } catch (err) {
      const error = query.signal.aborted
        ? new DromedarError('cancelled', `the query was cancelled: ${query.cancelReason ?? 'cancelled'}`, 409)
        : err instanceof DromedarError
          ? err
          : new DromedarError('internal', describe(err), 500);
      // cancel() ends a cancelled query itself; everything else ends here.
      if (!query.signal.aborted) query.end('FAILED', { code: error.code, message: error.message, status: error.status });
      throw error;
    }
  }

  private async attempt(query: Query, input: RunInput): Promise<Answer> {
    const { pool } = this.deps;
    const t0 = performance.now();
    this.deps.check?.(query.sql);
    const plan = await this.deps.sizer.plan(query.sql, { qsf: input.qsf ?? this.deps.qsf(), defaultSchema: input.defaultSchema });
    query.sized(plan);
    const t1 = performance.now();
    const retries = isReadOnly(query) ? this.deps.retries : 0;
    for (let attempt = 0; ; attempt++) {
      const start = performance.now();
      if (query.signal.aborted) throw new DromedarError('cancelled', 'cancelled', 499);
      const lease = await pool.acquire(plan.drillbits, { signal: query.signal, onProgress: (online, wanted) => query.waiting(online, wanted) });
      if (query.signal.aborted) {
        lease.release();
        throw new DromedarError('cancelled', 'cancelled', 499);
      }
      const failuresBefore = pool.failures;
      query.admitted(lease, pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE').length);
      let body: Readable | null = null;
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        lease.release();
        query.released();
      };
      query.onCancel((reason) => this.cancelInDrill(query, lease.drillbit, reason, () => body, free));
      const t2 = performance.now();
      let res: StreamedResponse;
      let head: Head;
      try {
        res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).query(drillRequest(query, input), query.signal);
        body = res.body;
        query.started();
        head = await readHead(res.body, (text) => {
          const id = DRILL_ID.exec(text)?.[1];
          if (id) query.identified(id);
        });
      } catch (err) {
        free();
        query.onCancel(null);
        if (query.signal.aborted) throw err;
        if (attempt < retries && err instanceof DromedarError && (err.code === 'drill_unreachable' || err.code === 'drill_connection_lost')) {
          await pool.recover(lease.drillbit, query.signal);
          continue;
        }
        throw err;
      }
      if (attempt < retries && head.ended && (await lostDrillbit(head.text, pool, failuresBefore))) {
        free();
        query.onCancel(null);
        await pool.recover(lease.drillbit, query.signal);
        continue;
      }
      if (head.ended) head = await explainFailure(head, lease.drillbit);
      const timings = { sizing: t1 - t0, scale: t2 - (attempt === 0 ? t1 : start), drill: performance.now() - t2 };
      return this.answer(query, res, head, free, attempt, timings);
    }
  }

  // Drill's answer, counted as it flows; the query ends when it ends.
  private answer(query: Query, res: StreamedResponse, head: Head, free: () => void, retried: number, timings: Answer['timings']): Answer {
    const counter = new RowCounter();
    let tail = '';
    const count = (chunk: Buffer) => {
      query.streamed(counter.feed(chunk), chunk.length);
      tail = (tail + chunk.toString('latin1', Math.max(0, chunk.length - TAIL))).slice(-TAIL);
    };
    const complete = () => res.status !== 200 || COMPLETE.test(tail);
    const contentType = res.headers['content-type'] ?? 'application/json';
    const settle = (err: Error | null | undefined, body: Readable) => {
      free();
      query.onCancel(null);
      const drillState = /"queryState"\s*:\s*"([A-Z_]+)"\s*\}?\s*$/.exec(tail)?.[1] ?? null;
      query.drillEnded(drillState);
      if (!err && body.readableEnded && complete()) {
        if (res.status !== 200) query.end('FAILED', { code: 'drill_error', message: drillMessage(tail) ?? `Drill answered ${res.status}`, status: res.status });
        else if (drillState === 'COMPLETED') query.end('FINISHED');
        else if (drillState === 'CANCELED') query.end('CANCELED', { code: 'cancelled', message: 'Drill cancelled the query', status: 499 });
        else query.end('FAILED', { code: 'drill_query_failed', message: drillMessage(tail) ?? `Drill ended the query ${drillState}`, status: 200 });
      } else if (!body.readableEnded && !err) {
        // Destroyed from our side before its end: the front end's client went away.
        void query.cancel('the client went away');
      } else {
        query.end('FAILED', { code: 'drill_connection_lost', message: err ? `Drill's connection failed: ${err.message}` : "Drill's answer ended without a queryState", status: 502 });
      }
      this.measureLater(query);
    };
    if (head.ended) {
      const whole = Buffer.concat(head.chunks);
      count(whole);
      const body = Readable.from([whole], { objectMode: false });
      // A small whole answer: the query ends now, not when the client has read it.
      res.body.destroy();
      settle(null, { readableEnded: true } as Readable);
      return { status: res.status, contentType, body, whole: true, complete, retried, timings };
    }
    res.body.unshift(Buffer.concat(head.chunks));
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        count(chunk);
        done(null, chunk);
      },
    });
    res.body.on('error', (err) => counted.destroy(err));
    counted.on('close', () => {
      if (!res.body.destroyed) res.body.destroy();
    });
    res.body.pipe(counted);
    finished(counted, { readable: true, writable: false }, (err) => settle(err && err.code !== 'ERR_STREAM_PREMATURE_CLOSE' ? err : null, counted));
    return { status: res.status, contentType, body: counted, whole: false, complete, retried, timings };
  }

  /**
   * Cancels in Drill: Drill's REST cancel on the foreman (GET /profiles/cancel/{id},
   * which answers 200 text whether it cancelled or not), then drops Drill's connection
   * and frees the slot, whatever Drill said.
   */
  private async cancelInDrill(query: Query, foreman: Drillbit, reason: string, body: () => Readable | null, free: () => void): Promise<CancelOutcome> {
    const drill = DrillClient.at(foreman.host, foreman.httpPort);
    let outcome: CancelOutcome;
    try {
      const id = query.drillQueryId ?? (await runningIdOf(drill, query));
      if (!id) {
        outcome = { cancelled: true, state: 'CANCELED', drill: 'unknown-id', message: "Drill had not named the query yet; its connection was closed, which ends it in Drill" };
      } else {
        query.identified(id);
        const res = await drill.stream('GET', `/profiles/cancel/${encodeURIComponent(id)}`);
        const said = (await res.body.text()).trim().slice(0, 300);
        const ok = res.status === 200 && /^Cancelled query|canceled on node/i.test(said);
        outcome = { cancelled: true, state: 'CANCELED', drill: ok ? 'cancelled' : 'refused', message: `Drill on ${foreman.id} answered ${res.status}: ${said}` };
      }
    } catch (err) {
      outcome = { cancelled: true, state: 'CANCELED', drill: 'unreachable', message: `Drill's cancel on ${foreman.id} failed (${describe(err)}); the slot is freed all the same` };
    }
    body()?.destroy();
    free();
    this.deps.log?.info({ event: 'cancel', query: query.id, drillQueryId: query.drillQueryId, drillbit: foreman.id, drill: outcome.drill }, `cancelled query ${query.id} (${reason}): ${outcome.message}`);
    return outcome;
  }

  // Estimate vs actual from Drill's profile, after the end; never on the client's path.
  private measureLater(query: Query): void {
    if (this.deps.measure === false) return;
    const plan = query.plan;
    const id = query.drillQueryId;
    if (!plan || !id) return query.measured(null, id ? 'no sizing decision' : 'Drill never named the query');
    void (async () => {
      for (let tries = 0; tries < 20; tries++) {
        const bit = this.profileHost(query.drillbit);
        if (!bit) break;
        try {
          const profile = await DrillClient.at(bit.host, bit.httpPort).json<{ state?: unknown; end?: unknown }>('GET', `/profiles/${id}.json`);
          // QueryState 2 COMPLETED, 3 CANCELED, 4 FAILED: the profile is final.
          if (profile.end && [2, 3, 4, 'COMPLETED', 'CANCELED', 'FAILED'].includes(profile.state as never)) {
            return query.measured(accuracy(plan, profile));
          }
        } catch {
          // Not written yet, or that Drillbit is gone: try again (another, with the shared store).
        }
        await new Promise((resolve) => setTimeout(resolve, 250).unref());
      }
      query.measured(null, "Drill's profile of the query could not be read");
    })();
  }

  // The foreman while it is ONLINE; else any ONLINE Drillbit (profiles are in one shared store).
  private profileHost(foreman: Drillbit | null): Drillbit | undefined {
    const online = this.deps.pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE');
    return online.find((b) => b.id === foreman?.id) ?? online[0];
  }
}

function drillRequest(query: Query, input: RunInput): QueryRequest {
  const request: QueryRequest = { queryType: query.queryType as 'SQL', query: query.sql };
  if (input.autoLimit !== undefined) request.autoLimit = input.autoLimit;
  if (input.defaultSchema !== undefined) request.defaultSchema = input.defaultSchema;
  if (input.options !== undefined) request.options = input.options;
  if (input.userName !== undefined) request.userName = input.userName;
  return request;
}

// Drill sends nothing of its answer (not even the HTTP head) before the first batch,
// so a query cancelled before that is found among the cluster's running queries
// (/profiles/running.json, the ZooKeeper store): the newest that started after the
// query was sent, with its SQL (Drill shows the first 150 characters and 8 lines).
// Drill registers a query a moment after it arrives: asked a few times.
async function runningIdOf(drill: DrillClient, query: Query): Promise<string | null> {
  const since = (query.times.admitted ?? query.times.created) - 2_000;
  const snippet = (sql: string) => sql.slice(0, 150).split(/\r?\n/).slice(0, 8).join('\n');
  const ours = snippet(query.sql).replace(/\s+/g, ' ').trim();
  for (let tries = 0; tries < 5; tries++) {
    const running = await drill.json<{ runningQueries?: Array<{ queryId: string; query: string; startTime: number }> }>('GET', '/profiles/running.json');
    const mine = (running.runningQueries ?? [])
      .filter((q) => q.startTime >= since && q.query.replace(/ \.\.\. $/, '').replace(/\s+/g, ' ').trim() === ours)
      .sort((a, b) => b.startTime - a.startTime);
    if (mine[0]) return mine[0].queryId;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return null;
}

function drillMessage(text: string): string | null {
  const match = /"errorMessage"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return null;
  }
}

const HEAD_LIMIT = 64 * 1024;
const FIRST_ROW = /"rows"\s*:\s*\[\s*\{/;
const TAIL = 256;
const COMPLETE = /"queryState"\s*:\s*"[A-Z_]+"\s*\}?\s*$/;

// Drill writes queryId, columns and metadata, then the rows; a query that fails before
// its first row ends there. So reading up to the first row costs no row latency.
// Read with read() (not an async iterator), so the rest can be piped afterwards.
async function readHead(body: Readable, onText: (text: string) => void): Promise<Head> {
  // Failures are seen through readable() and finished(); an unheard 'error' would crash the process.
  body.on('error', () => {});
  const chunks: Buffer[] = [];
  let text = '';
  for (;;) {
    let chunk: Buffer | null;
    while ((chunk = body.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      text += chunk.toString('latin1');
      onText(text);
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
async function explainFailure(head: Head, foreman: Drillbit): Promise<Head> {
  if (!/"queryState"\s*:\s*"FAILED"/.test(head.text) || head.text.includes('"errorMessage"')) return head;
  const id = DRILL_ID.exec(head.text)?.[1];
  let message = 'Drill reported the query FAILED without a message (a Drillbit of the query may have been lost)';
  for (let tries = 0; id && tries < 8; tries++) {
    try {
      const profile = await DrillClient.at(foreman.host, foreman.httpPort).json<{ error?: string }>('GET', `/profiles/${id}.json`);
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

/** The Lease type, for front ends that show it. */
export type { Lease };
