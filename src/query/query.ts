// One query, from arrival to end: what every front end (POST /query, Drill's
// /query.json, the Trino protocol) is a view over. The Query is the model; the
// runner (runner.ts) drives it through its states, the registry (registry.ts) keeps
// it findable. Front ends, the metrics and the dashboard only read it and subscribe.
import { randomUUID } from 'node:crypto';
import type { Lease } from '../pool/pool.js';
import type { Drillbit } from '../schedulers/scheduler.js';
import type { Accuracy } from '../sizing/actual.js';
import type { Plan } from '../sizing/index.js';

/**
 * - `QUEUED`: arrived, being sized, or waiting for a free slot on an ONLINE Drillbit;
 * - `STARTING_DRILLBITS`: waiting for Drillbits to come ONLINE (`progress`: n of N);
 * - `RUNNING`: sent to Drill, Drill's answer streaming;
 * - `FINISHED`: Drill's answer was streamed to its end (Drill's own query failures,
 *   queryState FAILED inside a 200, end as `FAILED`);
 * - `FAILED`: the gateway or Drill could not run it (`error` says why);
 * - `CANCELED`: cancelled (DELETE /v1/queries/{id}, or the client went away).
 */
export type QueryState = 'QUEUED' | 'STARTING_DRILLBITS' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELED';

/** The states a query ends in; a query in one of them never changes state again. */
export const FINAL_STATES: ReadonlySet<QueryState> = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** The front ends a query can arrive through (open-ended: a new front end names itself). */
export type FrontEnd = 'query' | 'drill' | 'trino' | (string & {});

export interface QueryInit {
  sql: string;
  /** Which front end took the query (POST /query: `query`, /query.json: `drill`, Trino: `trino`). */
  frontEnd: FrontEnd;
  /** Drill's queryType (SQL unless a Drill client says otherwise). */
  queryType?: string;
  /** The user the client named (Drill impersonation), when any. */
  user?: string;
  /** An id to use instead of a fresh UUID (tests, front ends with their own id scheme). */
  id?: string;
}

/** Times as ms since the epoch; null until reached. */
export interface QueryTimes {
  /** The query arrived. */
  created: number;
  /** Sizing finished (the decision is known). */
  sized: number | null;
  /** A Drillbit slot was leased (the wait ended). */
  admitted: number | null;
  /** Drill's answer began (its response head). */
  started: number | null;
  /** The query reached its final state. */
  ended: number | null;
}

/** Why a query failed or was cancelled: a stable code, a readable message, the HTTP status it maps to. */
export interface QueryError {
  code: string;
  message: string;
  status: number;
}

/** While STARTING_DRILLBITS: how many of the Drillbits the query waits for are ONLINE. */
export interface StartingProgress {
  online: number;
  wanted: number;
}

/** What a cancel did. `drill` says what Drill answered when the query was running there. */
export interface CancelOutcome {
  /** False when the query had already ended (then `state` is its final state). */
  cancelled: boolean;
  state: QueryState;
  /**
   * - `not-sent`: Drill never had the query (it was waiting), nothing to cancel there;
   * - `cancelled`: Drill's cancel on the foreman accepted it;
   * - `refused`: Drill answered, but did not cancel (message says what it said);
   * - `unreachable`: Drill's foreman could not be reached (the slot is freed all the same);
   * - `unknown-id`: the query was sent but Drill's query id was not known yet.
   */
  drill: 'not-sent' | 'cancelled' | 'refused' | 'unreachable' | 'unknown-id' | null;
  message: string;
}

/** What subscribers hear: every state change, progress while Drillbits start, and the end's accuracy. */
export type QueryEvent =
  | { type: 'state'; query: Query; from: QueryState; to: QueryState }
  | { type: 'progress'; query: Query; progress: StartingProgress }
  | { type: 'drill-id'; query: Query; drillQueryId: string }
  | { type: 'accuracy'; query: Query; accuracy: Accuracy | null };

export type QueryListener = (event: QueryEvent) => void;

/** The Drillbit a query ran on, as the API shows it. */
export interface DrillbitRef {
  id: string;
  host: string;
  httpPort: number;
}

/** A query as the API shows it (`GET /v1/queries/{id}`): plain JSON, no live objects. */
export interface QueryView {
  id: string;
  drillQueryId: string | null;
  frontEnd: string;
  state: QueryState;
  /** "2 of 3" while STARTING_DRILLBITS. */
  progress: StartingProgress | null;
  sql: string;
  user: string | null;
  sizing: { bytes: number; qsf: number; drillbits: number; parsed: boolean; measure: string; targets: Plan['targets'] } | null;
  /** Drillbits ONLINE in the cluster when Drill ran the query; null until it runs. */
  clusterDrillbits: number | null;
  /** The Drillbits the pool was sized to for this query (after the cap). */
  leasedFor: number | null;
  drillbit: DrillbitRef | null;
  times: { created: string; sized: string | null; admitted: string | null; started: string | null; ended: string | null };
  /** Durations in ms: sizing, waiting for Drillbits/slot, Drill (start to end), total. */
  durations: { sizing: number | null; waiting: number | null; drill: number | null; total: number | null };
  rows: number;
  bytes: number;
  /** Drill's HTTP status and queryState as Drill's answer ended, when it did. */
  drillState: string | null;
  error: QueryError | null;
  cancelReason: string | null;
  /** Estimate vs what Drill's profile says was read; null until read after the end (or when unavailable). */
  accuracy: Accuracy | null;
  /** Why `accuracy` is null after the end, when it is. */
  accuracyNote: string | null;
}

/**
 * One query. Its fields are written by the runner only (through the methods below);
 * everything else reads them or subscribes. `signal` aborts when the query is cancelled
 * (by DELETE or by its client going away), and everything working for the query —
 * the wait for Drillbits, the request to Drill — listens to it.
 */
export class Query {
  readonly id: string;
  readonly sql: string;
  readonly frontEnd: FrontEnd;
  readonly queryType: string;
  readonly user: string | null;
  readonly times: QueryTimes;
  private _state: QueryState = 'QUEUED';
  private _progress: StartingProgress | null = null;
  private _drillQueryId: string | null = null;
  private _plan: Plan | null = null;
  private _lease: Lease | null = null;
  private _drillbit: Drillbit | null = null;
  private _clusterDrillbits: number | null = null;
  private _rows = 0;
  private _bytes = 0;
  private _drillState: string | null = null;
  private _error: QueryError | null = null;
  private _cancelReason: string | null = null;
  private _accuracy: Accuracy | null = null;
  private _accuracyNote: string | null = null;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<QueryListener>();
  private canceller: ((reason: string) => Promise<CancelOutcome>) | null = null;
  private cancelling: Promise<CancelOutcome> | null = null;

  constructor(init: QueryInit, now = Date.now()) {
    this.id = init.id ?? randomUUID();
    this.sql = init.sql;
    this.frontEnd = init.frontEnd;
    this.queryType = init.queryType ?? 'SQL';
    this.user = init.user ?? null;
    this.times = { created: now, sized: null, admitted: null, started: null, ended: null };
  }

  get state(): QueryState {
    return this._state;
  }
  /** True once FINISHED, FAILED or CANCELED. */
  get done(): boolean {
    return FINAL_STATES.has(this._state);
  }
  /** While STARTING_DRILLBITS: n of N ONLINE. */
  get progress(): StartingProgress | null {
    return this._progress;
  }
  /** Drill's query id, once Drill's answer named it. */
  get drillQueryId(): string | null {
    return this._drillQueryId;
  }
  /** The sizing decision, once made. */
  get plan(): Plan | null {
    return this._plan;
  }
  /** The query's hold on the pool while it has one (released at the end). */
  get lease(): Lease | null {
    return this._lease;
  }
  /** The foreman: the Drillbit Drill's answer came from. */
  get drillbit(): Drillbit | null {
    return this._drillbit;
  }
  /** Drillbits ONLINE in the cluster when Drill ran the query. */
  get clusterDrillbits(): number | null {
    return this._clusterDrillbits;
  }
  /** Rows streamed to the client so far. */
  get rows(): number {
    return this._rows;
  }
  /** Bytes of Drill's answer streamed to the client so far. */
  get bytes(): number {
    return this._bytes;
  }
  get error(): QueryError | null {
    return this._error;
  }
  get cancelReason(): string | null {
    return this._cancelReason;
  }
  get accuracy(): Accuracy | null {
    return this._accuracy;
  }
  /** Aborts when the query is cancelled. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Listen to this query's events; returns the unsubscribe function. */
  subscribe(listener: QueryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Cancel in any state: a waiting query leaves the wait, a running one is cancelled in
   * Drill (by the runner's canceller) and its slot freed. Resolves with what happened;
   * a query that had already ended is left as it was (`cancelled: false`).
   */
  cancel(reason: string): Promise<CancelOutcome> {
    if (this.cancelling) return this.cancelling;
    if (this.done) return Promise.resolve({ cancelled: false, state: this._state, drill: null, message: `the query already ended ${this._state}` });
    this._cancelReason = reason;
    this.abort.abort(new Error(reason));
    const canceller = this.canceller;
    this.cancelling = (async (): Promise<CancelOutcome> => {
      let outcome: CancelOutcome = { cancelled: true, state: 'CANCELED', drill: 'not-sent', message: 'cancelled while waiting; Drill never had it' };
      if (canceller) {
        try {
          outcome = await canceller(reason);
        } catch (err) {
          outcome = { cancelled: true, state: 'CANCELED', drill: 'unreachable', message: (err as Error).message };
        }
      }
      this.end('CANCELED', { code: 'cancelled', message: reason, status: 499 });
      return { ...outcome, state: this._state };
    })();
    return this.cancelling;
  }

  /** The JSON view of the query (the registry's answer). */
  view(): QueryView {
    const t = this.times;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const span = (from: number | null, to: number | null) => (from === null || to === null ? null : to - from);
    const plan = this._plan;
    const bit = this._drillbit;
    return {
      id: this.id,
      drillQueryId: this._drillQueryId,
      frontEnd: this.frontEnd,
      state: this._state,
      progress: this._state === 'STARTING_DRILLBITS' ? this._progress : null,
      sql: this.sql,
      user: this.user,
      sizing: plan && { bytes: plan.bytes, qsf: plan.qsf, drillbits: plan.drillbits, parsed: plan.parsed, measure: plan.measure, targets: plan.targets },
      clusterDrillbits: this._clusterDrillbits,
      leasedFor: this._lease?.drillbits ?? this.leasedFor,
      drillbit: bit && { id: bit.id, host: bit.host, httpPort: bit.httpPort },
      times: { created: iso(t.created)!, sized: iso(t.sized), admitted: iso(t.admitted), started: iso(t.started), ended: iso(t.ended) },
      durations: {
        sizing: span(t.created, t.sized),
        waiting: span(t.sized, t.admitted ?? (t.started === null ? t.ended : null)),
        drill: span(t.admitted, t.ended),
        total: span(t.created, t.ended),
      },
      rows: this._rows,
      bytes: this._bytes,
      drillState: this._drillState,
      error: this._error,
      cancelReason: this._cancelReason,
      accuracy: this._accuracy,
      accuracyNote: this._accuracyNote,
    };
  }

  // ---- written by the runner ----
  private leasedFor: number | null = null;

  /** @internal The runner: sizing is done. */
  sized(plan: Plan, now = Date.now()): void {
    this._plan = plan;
    this.times.sized = now;
  }

  /** @internal The runner: the pool reports n of N Drillbits ONLINE while the query waits. */
  waiting(online: number, wanted: number): void {
    if (this.done || this._state === 'RUNNING') return;
    this._progress = { online, wanted };
    this.emit({ type: 'progress', query: this, progress: this._progress });
    this.move(online < wanted ? 'STARTING_DRILLBITS' : 'QUEUED');
  }

  /** @internal The runner: a slot was leased on `lease.drillbit`; `online` = Drillbits ONLINE in the cluster now. */
  admitted(lease: Lease, online: number, now = Date.now()): void {
    this._lease = lease;
    this.leasedFor = lease.drillbits;
    this._drillbit = lease.drillbit;
    this._clusterDrillbits = online;
    this.times.admitted = now;
    this._progress = null;
    this.move('RUNNING');
  }

  /** @internal The runner: the lease is given back (a retry leases again). */
  released(): void {
    this._lease = null;
  }

  /** @internal The runner: Drill's answer began. */
  started(now = Date.now()): void {
    this.times.started = now;
  }

  /** @internal The runner: Drill named the query's id. */
  identified(drillQueryId: string): void {
    if (this._drillQueryId === drillQueryId) return;
    this._drillQueryId = drillQueryId;
    this.emit({ type: 'drill-id', query: this, drillQueryId });
  }

  /** @internal The runner: more of Drill's answer went to the client. */
  streamed(rows: number, bytes: number): void {
    this._rows += rows;
    this._bytes += bytes;
  }

  /** @internal The runner: Drill's answer ended with this queryState. */
  drillEnded(state: string | null): void {
    this._drillState = state;
  }

  /** @internal The runner: how a cancel is carried out while the query is in Drill (null: nothing to do there). */
  onCancel(canceller: ((reason: string) => Promise<CancelOutcome>) | null): void {
    this.canceller = canceller;
  }

  /** @internal The runner: the query reached its final state. Later calls change nothing. */
  end(state: 'FINISHED' | 'FAILED' | 'CANCELED', error: QueryError | null = null, now = Date.now()): void {
    if (this.done) return;
    this._error = error;
    this.times.ended = now;
    this._progress = null;
    this.move(state);
  }

  /** @internal The runner: estimate vs actual, read from Drill's profile after the end. */
  measured(accuracy: Accuracy | null, note: string | null = null): void {
    this._accuracy = accuracy;
    this._accuracyNote = note;
    this.emit({ type: 'accuracy', query: this, accuracy });
  }

  private move(to: QueryState): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.emit({ type: 'state', query: this, from, to });
  }

  private emit(event: QueryEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure is its own; the query goes on.
      }
    }
  }
}
