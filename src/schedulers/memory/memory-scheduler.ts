// The in-memory scheduler: Drillbits that are records, not JVMs, with an in-memory Drill
// side (cluster view, idle, graceful shutdown) to match. The unit tests drive the pool
// over it with a fake clock (out-of-band shutdowns, crashes, Drillbits that never come
// ONLINE, launches that fail), and the offline gateway uses it as a stub whose Drillbits
// never come ONLINE. States are merged by the same code as the real schedulers'.
import type { ClusterDrillbit } from '../../drill/client.js';
import { merge, type DrillSide, type Member } from '../../drill/observer.js';
import { systemClock, type Clock } from '../../pool/clock.js';
import type { Drillbit, Scheduler } from '../scheduler.js';

export interface MemorySchedulerOptions {
  capacity?: number | null;
  clock?: Clock;
  /** How long a launched Drillbit takes to come ONLINE (Infinity: never). */
  startupMs?: number;
}

interface Bit extends Member {
  /** Drill's state for it; ABSENT: not registered (yet or any more). */
  registered: 'STARTUP' | 'ONLINE' | 'QUIESCENT' | 'ABSENT';
  /** Queries Drill runs on it (for isIdle). */
  queries: number;
}

export class MemoryScheduler implements Scheduler {
  readonly kind = 'memory';
  readonly capacity: number | null;
  /** Calls, for tests: list() and launch() counts, Drillbits launched and stopped. */
  lists = 0;
  launchCalls = 0;
  launched = 0;
  readonly stopped: string[] = [];
  /** Make the next launches fail (a scheduler that cannot place Drillbits). */
  failLaunches: Error | null = null;
  private readonly bits = new Map<string, Bit>();
  private readonly clock: Clock;
  private nextId = 1;

  /** The Drill side of these Drillbits, for the controller. */
  readonly drill: DrillSide = {
    cluster: async () => this.view(),
    isIdle: async (bit) => this.find(bit)?.queries === 0,
    retire: async (bit) => {
      const found = this.find(bit);
      if (!found || found.status !== 'running') return false;
      // Drill's graceful shutdown: QUIESCENT, then (no queries) the process exits.
      found.registered = 'QUIESCENT';
      if (found.queries === 0) this.end(found.id, 'exited after a graceful shutdown', 'ABSENT');
      return true;
    },
  };

  constructor(private readonly options: MemorySchedulerOptions = {}) {
    this.capacity = options.capacity ?? null;
    this.clock = options.clock ?? systemClock;
  }

  async start(): Promise<void> {}

  async list(): Promise<Drillbit[]> {
    this.lists++;
    const now = this.clock.now();
    for (const bit of this.bits.values()) {
      if (bit.status === 'running' && bit.registered === 'STARTUP' && now - bit.startedAt >= (this.options.startupMs ?? 0)) bit.registered = 'ONLINE';
    }
    const view = this.view();
    return [...this.bits.values()].map(({ registered: _r, queries: _q, ...member }) => merge(member, view));
  }

  async launch(count: number): Promise<void> {
    this.launchCalls++;
    if (this.failLaunches) throw this.failLaunches;
    for (let i = 0; i < count; i++) {
      const n = this.nextId++;
      const id = `mem-${n}`;
      this.bits.set(id, { id, host: '127.0.0.1', userPort: 31000 + n, controlPort: 32000 + n, dataPort: 33000 + n, httpPort: 34000 + n, startedAt: this.clock.now(), status: 'running', registered: 'STARTUP', queries: 0 });
      this.launched++;
    }
  }

  async stop(id?: string): Promise<void> {
    if (id === undefined) {
      for (const bitId of [...this.bits.keys()]) await this.stop(bitId);
      return;
    }
    if (this.bits.delete(id)) this.stopped.push(id);
  }

  // The world outside the gateway, for tests.

  /** The process dies (OOM, kill -9): FAILED with `why`. */
  crash(id: string, why = 'killed by signal SIGKILL'): void {
    this.end(id, `${id} exited (${why}) without being stopped by the gateway`, 'ABSENT');
  }

  /** Someone else asks Drill's graceful shutdown: QUIESCENT while the process still runs. */
  shutDownOutOfBand(id: string): void {
    const bit = this.bits.get(id);
    if (bit) bit.registered = 'QUIESCENT';
  }

  /** Drill's registry loses it (its ZooKeeper session expired) while the process runs. */
  unregister(id: string): void {
    const bit = this.bits.get(id);
    if (bit) bit.registered = 'ABSENT';
  }

  /** Queries Drill runs on it (a shrink must not retire it). */
  setQueries(id: string, queries: number): void {
    const bit = this.bits.get(id);
    if (bit) bit.queries = queries;
  }

  ids(): string[] {
    return [...this.bits.keys()];
  }

  private end(id: string, failure: string, registered: Bit['registered']): void {
    const bit = this.bits.get(id);
    if (!bit) return;
    bit.status = 'ended';
    bit.failure = failure;
    bit.registered = registered;
  }

  private find(bit: Pick<Drillbit, 'host' | 'httpPort'>): Bit | undefined {
    return [...this.bits.values()].find((b) => b.host === bit.host && b.httpPort === bit.httpPort);
  }

  private view(): ClusterDrillbit[] | null {
    const up = [...this.bits.values()].filter((b) => b.status === 'running' && b.registered !== 'ABSENT');
    if (up.length === 0 && [...this.bits.values()].every((b) => b.status !== 'running')) return null;
    return up.map((b) => ({
      address: b.host,
      httpPort: String(b.httpPort),
      userPort: String(b.userPort),
      controlPort: String(b.controlPort),
      dataPort: String(b.dataPort),
      version: '1.22.0',
      current: false,
      state: b.registered,
    }));
  }
}
