// The mechanism: something that can run N Drillbits and tell what runs. The
// policy (how many, from which signal) lives in sizing/ and pool/, not here.

/**
 * STARTING: launched, not yet ONLINE in Drill. ONLINE: registered in ZooKeeper and
 * serving. DRAINING: graceful shutdown requested (Drill: QUIESCENT, then OFFLINE).
 * FAILED: the process or task ended without being asked to.
 */
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
  /** Why the Drillbit failed, with the tail of its log where there is one. */
  failure?: string;
}

export interface Scheduler {
  readonly kind: string;
  /** The most Drillbits this mechanism can host (local: what fits in memory), or null if unbounded. */
  readonly capacity: number | null;
  /** Prepare (e.g. ZooKeeper) and adopt what an earlier gateway left running. Idempotent. */
  start(): Promise<void>;
  /** The Drillbits as they are now, with states read from Drill itself. */
  list(): Promise<Drillbit[]>;
  /**
   * Make sure `n` Drillbits are running or starting, not counting draining or failed
   * ones; launches the missing ones and returns without waiting for them. Never
   * removes a Drillbit: shrinking is `drain`, on Drillbits the caller chose.
   */
  scaleTo(n: number): Promise<void>;
  /** Graceful shutdown of one Drillbit: it finishes its queries, then its process or task ends. */
  drain(id: string): Promise<void>;
  /** Forget a failed Drillbit (clean up what it left). */
  remove(id: string): Promise<void>;
  /** Stop everything this scheduler started (draining first when `graceful`). */
  stop(options?: { graceful?: boolean }): Promise<void>;
}
