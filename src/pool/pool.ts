// The pool manager: a reconcile loop in the manner of a Kubernetes controller.
// Desired size comes from demand (the queries waiting and running, each with the
// Drillbit count sizing gave it); observed state comes from the scheduler. Each pass
// compares the two and acts, level-triggered and idempotent: running it twice in a
// row does nothing the second time. Queries wait on the pool, never on a command.
import { DrillClient } from '../drill/client.js';
import { DrillObserver } from '../drill/observer.js';
import type { Drillbit, Scheduler } from '../schedulers/scheduler.js';
import { DromedarError, describe } from '../util/errors.js';
import { Hysteresis } from './hysteresis.js';

export interface PoolOptions {
  minDrillbits: number;
  maxDrillbits: number;
  /** Nothing asked for this many Drillbits for this long: shrink. */
  idleTimeoutMs: number;
  /** How long a query waits for its Drillbits before it gets a 504. */
  startTimeoutMs: number;
  /** How many queries may wait for Drillbits at once; beyond that: 503. */
  queueLimit: number;
  /** Queries one Drillbit runs at once; more wait here (default: no limit). */
  queriesPerDrillbit?: number;
  /** Reconcile period while something is changing, and while all is quiet. */
  fastIntervalMs?: number;
  slowIntervalMs?: number;
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

export interface ScaleEvent {
  at: string;
  from: number;
  to: number;
  reason: string;
}

/** A query's hold on the pool: the Drillbit to send it to, until released. */
export interface Lease {
  drillbit: Drillbit;
  /** The pool size the query was sized for (after the cap). */
  drillbits: number;
  release(): void;
}

interface Demand {
  need: number;
  /** Set once the query runs; the Drillbit it runs on. */
  on: string | null;
  wake?: () => void;
}

export type Progress = (online: number, wanted: number) => void;

const EVENT_LIMIT = 100;

export class PoolManager {
  private readonly demands = new Set<Demand>();
  private readonly inFlight = new Map<string, number>();
  private readonly draining = new Map<string, Promise<void>>();
  private readonly events: ScaleEvent[] = [];
  private readonly hold: Hysteresis;
  private observed: Drillbit[] = [];
  private launched = 0;
  private failed = 0;
  private seeded = false;
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: PoolOptions,
  ) {
    this.hold = new Hysteresis(options.minDrillbits, options.idleTimeoutMs);
  }

  get maxDrillbits(): number {
    return this.options.maxDrillbits;
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pass;
    await Promise.allSettled(this.draining.values());
    for (const demand of this.demands) demand.wake?.();
  }

  /** The size the pool is steering to now. */
  desired(): number {
    return this.hold.value;
  }

  /** Why Drillbits the scheduler was asked for wait unplaced (Scheduler.placement), or null. */
  placement(): string | null {
    return this.scheduler.placement?.() ?? null;
  }

  snapshot(): { desired: number; drillbits: Drillbit[]; events: ScaleEvent[]; queued: number; running: number } {
    const demands = [...this.demands];
    return {
      desired: this.desired(),
      drillbits: this.observed,
      events: [...this.events],
      queued: demands.filter((d) => d.on === null).length,
      running: demands.filter((d) => d.on !== null).length,
    };
  }

  /**
   * Waits until `need` Drillbits are ONLINE (capped at maxDrillbits), then leases the
   * least busy one. Queries that need the same size share one scale-up: demand is a
   * level, not a request, so ten of them launch nothing more than one would.
   */
  async acquire(need: number, options: { signal?: AbortSignal; onProgress?: Progress } = {}): Promise<Lease> {
    const capped = Math.max(1, Math.min(need, this.options.maxDrillbits));
    const waiting = [...this.demands].filter((d) => d.on === null).length;
    if (waiting >= this.options.queueLimit) {
      throw new DromedarError('pool_busy', `${waiting} queries are already waiting for Drillbits (queue limit ${this.options.queueLimit}); try again shortly`, 503, { 'retry-after': '5' });
    }
    const demand: Demand = { need: capped, on: null };
    this.demands.add(demand);
    this.steer();
    try {
      const drillbit = await this.waitFor(demand, options);
      let released = false;
      return {
        drillbit,
        drillbits: capped,
        release: () => {
          if (released) return;
          released = true;
          this.inFlight.set(drillbit.id, (this.inFlight.get(drillbit.id) ?? 1) - 1);
          this.demands.delete(demand);
          this.steer();
          // A Drillbit has room again: queries waiting for one look again.
          for (const d of this.demands) if (d.on === null) d.wake?.();
        },
      };
    } catch (err) {
      this.demands.delete(demand);
      this.steer();
      throw err;
    }
  }

  // Demand changed. The hold follows it at once; a reconcile pass (which asks the
  // scheduler, e.g. Drill's /cluster.json) runs only when the pool must grow. Shrinking
  // waits for the periodic pass anyway (idle timeout), so a warm query costs no call.
  private steer(): void {
    const desired = this.hold.update(this.demandLevel(), Date.now());
    if (!this.seeded || this.active().length < desired) this.kick();
  }

  /** The largest pool size any waiting or running query asked for (after the cap). */
  private demandLevel(): number {
    let level = 0;
    for (const d of this.demands) level = Math.max(level, d.need);
    return Math.min(this.options.maxDrillbits, level);
  }

  private async waitFor(demand: Demand, options: { signal?: AbortSignal; onProgress?: Progress }): Promise<Drillbit> {
    const deadline = Date.now() + this.options.startTimeoutMs;
    let lastOnline = -1;
    const limit = this.options.queriesPerDrillbit ?? Infinity;
    for (let first = true; ; first = false) {
      const online = this.usable();
      const bit = online.length >= demand.need ? this.leastBusy(online) : null;
      if (bit && (this.inFlight.get(bit.id) ?? 0) < limit) {
        // Claimed in the same step as the check: another waiter woken with this one sees it taken.
        demand.on = bit.id;
        this.inFlight.set(bit.id, (this.inFlight.get(bit.id) ?? 0) + 1);
        return bit;
      }
      if (first) this.kick();
      if (online.length !== lastOnline) {
        lastOnline = online.length;
        options.onProgress?.(online.length, demand.need);
      }
      if (this.stopped) throw new DromedarError('shutting_down', 'the gateway is shutting down', 503, { 'retry-after': '10' });
      if (options.signal?.aborted) throw new DromedarError('client_closed', 'the client went away while waiting for Drillbits', 499);
      const failure = this.observed.find((b) => b.state === 'FAILED')?.failure;
      if (Date.now() >= deadline && bit) {
        throw new DromedarError(
          'pool_busy',
          `all ${online.length} Drillbits run ${limit} queries each (pool.queriesPerDrillbit) and none finished within ${this.options.startTimeoutMs} ms; try again shortly`,
          503,
          { 'retry-after': '10' },
        );
      }
      if (Date.now() >= deadline) {
        throw new DromedarError(
          'scale_timeout',
          `only ${online.length} of ${demand.need} Drillbits came ONLINE within ${this.options.startTimeoutMs} ms${failure ? `; last failure: ${failure.split('\n')[0]}` : ''}${this.scheduler.placement?.() ? `; ${this.scheduler.placement()}` : ''}`,
          504,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(1_000, deadline - Date.now()));
        demand.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * After a query lost a Drillbit: observe again now, then wait (bounded) until Drill's
   * own view of the cluster lists no Drillbit that is gone. Until then Drill would plan
   * fragments onto the dead one, and a re-run would fail the same way.
   */
  async recover(suspect: Drillbit, signal?: AbortSignal): Promise<void> {
    this.options.log?.(`a query lost Drillbit ${suspect.id}; waiting for the cluster to settle before re-running it`);
    const deadline = Date.now() + this.options.startTimeoutMs;
    while (Date.now() < deadline && !this.stopped) {
      if (signal?.aborted) throw new DromedarError('client_closed', 'the client went away while the cluster recovered', 499);
      await this.refresh();
      if (await this.settled()) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Drillbits seen failed since start: a query can tell whether one died while it ran. */
  get failures(): number {
    return this.failed;
  }

  /** One reconcile pass from now, and wait for it. */
  async refresh(): Promise<void> {
    this.kick();
    while (this.pass) await this.pass;
  }

  private async settled(): Promise<boolean> {
    const [bit] = this.usable();
    if (!bit) return true;
    const known = new Set(this.observed.filter((b) => b.state !== 'FAILED').map((b) => `${b.host}:${b.userPort}`));
    try {
      const view = await DrillClient.at(bit.host, bit.httpPort).cluster();
      return view.drillbits.every((d) => known.has(`${d.address}:${d.userPort}`));
    } catch {
      return false;
    }
  }

  private usable(): Drillbit[] {
    return this.observed.filter((b) => b.state === 'ONLINE' && !this.draining.has(b.id));
  }

  private leastBusy(online: Drillbit[]): Drillbit {
    let best = online[0]!;
    for (const bit of online) if ((this.inFlight.get(bit.id) ?? 0) < (this.inFlight.get(best.id) ?? 0)) best = bit;
    return best;
  }

  /** Ask for a reconcile pass now; passes never overlap, a request during one runs another after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pass = this.reconcile()
      .catch((err) => this.options.log?.(`reconcile failed: ${describe(err)}`))
      .finally(() => {
        this.pass = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        const busy = [...this.demands].some((d) => d.on === null) || this.observed.some((b) => b.state !== 'ONLINE');
        this.timer = setTimeout(() => this.kick(), busy ? (this.options.fastIntervalMs ?? 100) : (this.options.slowIntervalMs ?? 2_000));
        this.timer.unref();
      });
  }

  private async reconcile(): Promise<void> {
    this.observed = await this.scheduler.list();
    if (!this.seeded) {
      // Drillbits adopted from an earlier gateway get a full idle timeout, like fresh ones.
      this.seeded = true;
      this.hold.seed(this.active().length, Date.now());
    }
    for (const bit of this.observed.filter((b) => b.state === 'FAILED')) {
      this.record(this.active().length + 1, this.active().length, `${bit.id} failed: ${(bit.failure ?? 'unknown').split('\n')[0]}`);
      await this.scheduler.stop(bit.id);
      this.inFlight.delete(bit.id);
      this.failed++;
    }
    const demand = this.demandLevel();
    const desired = this.hold.update(demand, Date.now());
    const active = this.active();
    if (active.length < desired) {
      this.record(active.length, desired, `demand for ${demand} Drillbit(s)`);
      await this.scheduler.launch(desired - active.length);
      this.launched += desired - active.length;
      this.observed = await this.scheduler.list();
    } else if (active.length > desired) {
      await this.shrink(active, desired);
    }
    for (const d of this.demands) d.wake?.();
  }

  /** Drillbits that count toward the size: starting or online, not on their way out. */
  private active(): Drillbit[] {
    return this.observed.filter((b) => (b.state === 'STARTING' || b.state === 'ONLINE') && !this.draining.has(b.id));
  }

  // Drain only Drillbits with no query of ours on them and, by Drill's own count,
  // no queries or fragments: a shrink never kills a running query.
  private async shrink(active: Drillbit[], desired: number): Promise<void> {
    const candidates = active.filter((b) => (this.inFlight.get(b.id) ?? 0) === 0).sort((a, b) => b.startedAt - a.startedAt);
    let excess = active.length - desired;
    for (const bit of candidates) {
      if (excess <= 0) break;
      if (bit.state === 'ONLINE' && !(await this.idleInDrill(bit))) continue;
      // A query may have leased it while we asked Drill.
      if ((this.inFlight.get(bit.id) ?? 0) > 0 || this.hold.value > desired) continue;
      excess--;
      this.record(active.length, active.length - 1, `idle for ${this.options.idleTimeoutMs} ms: draining ${bit.id}`);
      active = active.filter((b) => b !== bit);
      const drain = new DrillObserver()
        .retire(bit)
        .then(() => this.scheduler.stop(bit.id))
        .catch((err) => this.options.log?.(`draining ${bit.id} failed: ${describe(err)}`))
        .finally(() => {
          this.draining.delete(bit.id);
          this.inFlight.delete(bit.id);
          this.kick();
        });
      this.draining.set(bit.id, drain);
    }
  }

  private async idleInDrill(bit: Drillbit): Promise<boolean> {
    try {
      const counts = await DrillClient.at(bit.host, bit.httpPort).queriesCount();
      return counts.queriesCount === 0 && counts.fragmentsCount === 0;
    } catch {
      return false;
    }
  }

  /** Drillbits launched since start (tests check that shared scale-ups launch once). */
  get launches(): number {
    return this.launched;
  }

  private record(from: number, to: number, reason: string): void {
    const event = { at: new Date().toISOString(), from, to, reason };
    this.events.push(event);
    if (this.events.length > EVENT_LIMIT) this.events.shift();
    this.options.log?.(`scale ${from} -> ${to}: ${reason}`, { event: 'scale', from, to, reason });
  }
}
