// The pool: the policy (how many Drillbits), admission (which query runs where, who
// waits) and the controller (the reconcile loop that makes the scheduler match), put
// together behind one small surface for the query path. Queries wait on admission,
// never on a command; demand is a level, not a request, so ten queries that need the
// same size launch no more than one would.
import { DrillObserver, type DrillSide } from '../drill/observer.js';
import type { Drillbit, Scheduler } from '../schedulers/scheduler.js';
import { DromedarError } from '../util/errors.js';
import { Admission, type Progress } from './admission.js';
import { systemClock, type Clock } from './clock.js';
import { Controller, type ScaleEvent } from './controller.js';
import { ScalePolicy } from './policy.js';

export type { Progress } from './admission.js';
export type { ScaleEvent } from './controller.js';

export interface PoolOptions {
  minDrillbits: number;
  maxDrillbits: number;
  /** Nothing asked for this many Drillbits for this long: shrink. */
  idleTimeoutMs: number;
  /** How long a query waits for its Drillbits or a slot on one (then 504, or 503 when slots were the wait). */
  queueTimeoutMs: number;
  /** A launched Drillbit not ONLINE after this long is stopped and replaced (while wanted). */
  drillbitStartTimeoutMs: number;
  /** How long a query that lost a Drillbit waits for Drill's view to settle before its re-run. */
  recoverTimeoutMs?: number;
  /** A retired Drillbit that has not left Drill after this long is stopped anyway. */
  drainTimeoutMs?: number;
  /** How many queries may wait for Drillbits at once; beyond that: 503. */
  queueLimit: number;
  /** Queries one Drillbit runs at once; more wait here (default: no limit). */
  queriesPerDrillbit?: number;
  /** Reconcile period while something is changing, and while all is quiet. */
  fastIntervalMs?: number;
  slowIntervalMs?: number;
  /** Settings that were adjusted (e.g. capped), shown in /v1/cluster. */
  warnings?: string[];
  clock?: Clock;
  /** Drill's side of the Drillbits (default: the real DrillObserver over HTTP). */
  drill?: DrillSide;
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

/** A query's hold on the pool: the Drillbit to send it to, until released. */
export interface Lease {
  drillbit: Drillbit;
  /** The pool size the query was sized for (after the cap). */
  drillbits: number;
  release(): void;
}

export interface PoolSnapshot {
  desired: number;
  drillbits: Drillbit[];
  events: ScaleEvent[];
  queued: number;
  running: number;
  warnings: string[];
}

export class PoolManager {
  private readonly clock: Clock;
  private readonly drill: DrillSide;
  private readonly policy: ScalePolicy;
  private readonly admission: Admission;
  private readonly controller: Controller;
  private stopped = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: PoolOptions,
  ) {
    if (scheduler.capacity !== null && options.maxDrillbits > scheduler.capacity) {
      // Never a hidden cap (queries would wait out the timeout for Drillbits that cannot come).
      throw new DromedarError(
        'invalid_config',
        `pool.maxDrillbits is ${options.maxDrillbits}, but the ${scheduler.kind} scheduler can run at most ${scheduler.capacity} Drillbit(s); lower pool.maxDrillbits (or leave it unset)`,
      );
    }
    this.clock = options.clock ?? systemClock;
    this.drill = options.drill ?? new DrillObserver();
    this.policy = new ScalePolicy(options, this.clock.now());
    this.admission = new Admission({
      clock: this.clock,
      queueLimit: options.queueLimit,
      slotsPerDrillbit: options.queriesPerDrillbit ?? Infinity,
      queueTimeoutMs: options.queueTimeoutMs,
      timedOut: (need, online, slotsFull) => this.timedOut(need, online, slotsFull),
      changed: () => this.steer(),
    });
    this.controller = new Controller({
      scheduler,
      drill: this.drill,
      policy: this.policy,
      admission: this.admission,
      clock: this.clock,
      drillbitStartTimeoutMs: options.drillbitStartTimeoutMs,
      drainTimeoutMs: options.drainTimeoutMs ?? 15 * 60_000,
      idleTimeoutMs: options.idleTimeoutMs,
      ...(options.fastIntervalMs !== undefined ? { fastIntervalMs: options.fastIntervalMs } : {}),
      ...(options.slowIntervalMs !== undefined ? { slowIntervalMs: options.slowIntervalMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  }

  get maxDrillbits(): number {
    return this.options.maxDrillbits;
  }

  start(): void {
    this.stopped = false;
    this.controller.start();
  }

  /** Stops the loop; waiting queries get 503 (running ones keep their leases). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.admission.close(new DromedarError('shutting_down', 'the gateway is shutting down', 503, { 'retry-after': '10' }));
    await this.controller.stop();
  }

  /** The size the pool is steering to now. */
  desired(): number {
    return this.policy.target;
  }

  /** Why Drillbits the scheduler was asked for wait unplaced (Scheduler.placement), or null. */
  placement(): string | null {
    return this.scheduler.placement?.() ?? null;
  }

  snapshot(): PoolSnapshot {
    return {
      desired: this.desired(),
      drillbits: this.controller.observed,
      events: [...this.controller.events],
      queued: this.admission.queued,
      running: this.admission.inFlight,
      warnings: [...(this.options.warnings ?? [])],
    };
  }

  /**
   * Waits until `need` Drillbits are ONLINE (capped at maxDrillbits) and one has a free
   * slot, then leases the least busy. An aborted `signal` takes the query out of the queue
   * at once (499); a lease is the caller's to release.
   */
  async acquire(need: number, options: { signal?: AbortSignal; onProgress?: Progress } = {}): Promise<Lease> {
    const capped = Math.max(1, Math.min(need, this.options.maxDrillbits));
    const grant = await this.admission.request(capped, options);
    return { drillbit: grant.drillbit, drillbits: capped, release: grant.release };
  }

  /**
   * After a query lost a Drillbit: observe again now, then wait (bounded) until Drill's
   * own view of the cluster lists no Drillbit that is gone. Until then Drill would plan
   * fragments onto the dead one, and a re-run would fail the same way.
   */
  async recover(suspect: Drillbit, signal?: AbortSignal): Promise<void> {
    this.options.log?.(`a query lost Drillbit ${suspect.id}; waiting for the cluster to settle before re-running it`);
    const deadline = this.clock.now() + (this.options.recoverTimeoutMs ?? 60_000);
    while (this.clock.now() < deadline && !this.stopped) {
      if (signal?.aborted) throw new DromedarError('client_closed', 'the client went away while the cluster recovered', 499);
      await this.refresh();
      if (await this.settled(suspect)) return;
      await new Promise<void>((resolve) => this.clock.after(250, resolve));
    }
  }

  /** Drillbits lost since start: a query can tell whether one died while it ran. */
  get failures(): number {
    return this.controller.failures;
  }

  /** Drillbits launched since start (tests check that shared scale-ups launch once). */
  get launches(): number {
    return this.controller.launches;
  }

  /** One reconcile pass from now, and wait for it. */
  refresh(): Promise<void> {
    return this.controller.refresh();
  }

  /** Ask for a reconcile pass now. */
  kick(): void {
    this.controller.kick();
  }

  // Demand changed. The policy follows it at once; a pass (which asks the scheduler and
  // Drill) runs only when the pool must grow: shrinking waits for the periodic pass anyway
  // (idle timeout), so a warm query costs no call.
  private steer(): void {
    const { target } = this.policy.recommend(this.admission.demand(), this.controller.size, this.clock.now());
    if (!this.controller.observing || this.controller.size < target || this.admission.starved) this.controller.kick();
  }

  private async settled(suspect: Drillbit): Promise<boolean> {
    const usable = this.controller.observed.filter((b) => b.state === 'ONLINE');
    // Its process may be dead but not yet reaped, and Drill's registry lag: until it is seen
    // gone, it must answer to count as alive (a re-run must not be sent to it again).
    if (usable.some((b) => b.id === suspect.id) && (await this.drill.cluster([suspect])) === null) return false;
    if (usable.length === 0) return true;
    const known = new Set(this.controller.observed.map((b) => `${b.host}:${b.userPort}`));
    const view = await this.drill.cluster(usable);
    return view !== null && view.every((d) => known.has(`${d.address}:${d.userPort}`));
  }

  private timedOut(need: number, online: number, slotsFull: boolean): DromedarError {
    if (slotsFull) {
      return new DromedarError(
        'pool_busy',
        `all ${online} Drillbits run ${this.options.queriesPerDrillbit} queries each (pool.queriesPerDrillbit) and none finished within ${this.options.queueTimeoutMs} ms (pool.queueTimeoutMs); try again shortly`,
        503,
        { 'retry-after': '10' },
      );
    }
    const failure = this.controller.lastFailure;
    return new DromedarError(
      'scale_timeout',
      `only ${online} of ${need} Drillbits came ONLINE within ${this.options.queueTimeoutMs} ms (pool.queueTimeoutMs)${failure ? `; last failure: ${failure.split('\n')[0]}` : ''}${this.placement() ? `; ${this.placement()}` : ''}`,
      504,
    );
  }
}
