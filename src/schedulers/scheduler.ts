// The mechanism: something that launches Drillbits, lists them and stops them. Every
// decision (how many, when one took too long to start, which one to retire, whether one
// that left ONLINE must be replaced) is the pool controller's (src/pool/controller.ts);
// Drill's side of each Drillbit (ONLINE or not, idle, graceful shutdown) is read by the
// one Drill observer (src/drill/observer.ts) that both schedulers use in list().

/**
 * STARTING: launched, not (yet) ONLINE in Drill. ONLINE: registered in ZooKeeper and
 * serving. DRAINING: Drill reports it QUIESCENT or OFFLINE (a graceful shutdown, asked by
 * the gateway or not: the controller knows which). FAILED: its process or task ended.
 */
import type { DrillView } from '../drill/observer.js';

export type DrillbitState = 'STARTING' | 'ONLINE' | 'DRAINING' | 'FAILED';

export interface Drillbit {
  /** Stable id chosen by the scheduler (local: bit-N, Marathon: the task id). */
  id: string;
  host: string;
  userPort: number;
  controlPort: number;
  dataPort: number;
  httpPort: number;
  state: DrillbitState;
  /** ms since epoch. */
  startedAt: number;
  /** Where it stands, in words, for events and timeouts ("Drill reports it QUIESCENT", "TASK_STAGING on agent-1"). */
  detail?: string;
  /** Why its process or task ended, with the tail of its log where there is one. */
  failure?: string;
  /** Where Drill's own view places it (set by the DrillObserver): UNKNOWN when no Drillbit answered. */
  drill?: DrillView;
}

export interface Scheduler {
  readonly kind: string;
  /** The most Drillbits this mechanism can host (local: what fits in memory), or null if unbounded. */
  readonly capacity: number | null;
  /** Prepare (e.g. ZooKeeper) and adopt what an earlier gateway left running. Idempotent. */
  start(): Promise<void>;
  /**
   * The Drillbits as they are now, states merged from the process or task and Drill's own
   * view (DrillObserver). A pure read: it restarts, kills and deletes nothing, and a
   * Drillbit whose process ended stays listed (FAILED) until `stop(id)`.
   */
  list(): Promise<Drillbit[]>;
  /** Launch `count` more Drillbits; returns once they are asked for, without waiting for them. */
  launch(count: number): Promise<void>;
  /**
   * With an id: end that Drillbit now (its process or task; SIGTERM runs Drill's own
   * shutdown) and forget it, cleaning up what it left; unknown ids are a no-op. Retiring
   * one gracefully is the observer's `retire` first. Without an id: stop everything this
   * scheduler started (Drillbits and what they need, e.g. ZooKeeper).
   */
  stop(id?: string): Promise<void>;
  /**
   * Bring back what the scheduler itself needs (local: the embedded ZooKeeper, if it died).
   * Idempotent and quick when all is well; the controller runs it once per pass. Returns
   * what it did, or null when nothing was needed.
   */
  repair?(): Promise<string | null>;
  /**
   * Why asked-for Drillbits are not placed yet, in words (Marathon: GET /v2/queue's offer
   * reasons, "2 of 3 Drillbits placed; 1 waiting for offers: insufficient mem on every
   * agent"), from the last list(); null when none waits. For /v1/cluster and the 504.
   */
  placement?(): string | null;
}
