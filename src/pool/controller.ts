// The reconcile loop, in the manner of a Kubernetes controller: observe (the scheduler's
// list, which carries Drill's view), compare (the policy's target with what runs), act
// (launch, retire, stop). Level-triggered and idempotent: a pass after a pass with no
// change does nothing. Actions run in the background and return at once; until a launch
// shows up in the list it counts as expected (Kubernetes' "expectations"), so a slow
// scheduler never gets the same launch twice. Errors back off exponentially. A log line
// is written when what it says changes, never once per pass.
import type { DrillSide } from '../drill/observer.js';
import type { Drillbit, Scheduler } from '../schedulers/scheduler.js';
import { describe } from '../util/errors.js';
import type { Admission } from './admission.js';
import type { Clock, Timer } from './clock.js';
import type { ScalePolicy } from './policy.js';

export interface ScaleEvent {
  at: string;
  from: number;
  to: number;
  reason: string;
}

export interface ControllerOptions {
  scheduler: Scheduler;
  drill: DrillSide;
  policy: ScalePolicy;
  admission: Admission;
  clock: Clock;
  /** A launched Drillbit not ONLINE in Drill after this long is stopped (and replaced while wanted). */
  drillbitStartTimeoutMs: number;
  /** A retired Drillbit still in Drill after this long is stopped anyway (a stuck query). */
  drainTimeoutMs: number;
  idleTimeoutMs: number;
  /** Pass period while something changes, and while all is quiet. */
  fastIntervalMs?: number;
  slowIntervalMs?: number;
  /** Backoff after failed passes or actions: doubles from fastIntervalMs up to this. */
  maxBackoffMs?: number;
  log?: (line: string, fields?: Record<string, unknown>) => void;
}

const EVENT_LIMIT = 100;
const GHOST_LIMIT_MS = 60_000;

export class Controller {
  /** The Drillbits of the last pass, as the pool counts them (retiring ones DRAINING). */
  observed: Drillbit[] = [];
  readonly events: ScaleEvent[] = [];
  /** Drillbits lost since start (failed, left ONLINE unasked, never came ONLINE). */
  failures = 0;
  /** Drillbits launched since start. */
  launches = 0;
  /** The last loss, in words (a query's 504 says it). */
  lastFailure: string | null = null;

  private readonly retiring = new Map<string, number>();
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly wasOnline = new Set<string>();
  private readonly firstSeen = new Map<string, number>();
  private readonly known = new Set<string>();
  private expected: { count: number; at: number }[] = [];
  private launching: Promise<void> | null = null;
  /** Why the next launch happens, when it replaces a lost Drillbit. */
  private replacing: string[] = [];
  /**
   * Lost Drillbits Drill may still list: a killed Drillbit stays in Drill's registry until
   * its ZooKeeper session expires, and Drill plans fragments on it meanwhile (the query
   * fails in fragment initialization). Queries wait until Drill no longer lists them.
   */
  private readonly ghosts = new Map<string, { host: string; userPort: number; since: number }>();
  private seeded = false;
  private timer: Timer | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private errors = 0;
  private launchErrors = 0;
  private launchNotBefore = 0;
  private said = new Map<string, string>();

  constructor(private readonly o: ControllerOptions) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.pass;
    await this.launching;
    await Promise.allSettled(this.stopping.values());
  }

  /** One pass from now, and wait for it. */
  async refresh(): Promise<void> {
    this.kick();
    while (this.pass) await this.pass;
  }

  /** Ask for a pass now; passes never overlap, a request during one runs another after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = null;
    this.pass = this.reconcile()
      .then(
        () => {
          if (this.errors > 0) this.say('pass', null, 'the pool controller recovered');
          this.errors = 0;
        },
        (err) => {
          this.errors++;
          this.say('pass', describe(err), `pool controller pass failed (retrying with backoff): ${describe(err)}`);
        },
      )
      .finally(() => {
        this.pass = null;
        if (this.stopped) return;
        if (this.again && this.errors === 0) {
          this.again = false;
          this.kick();
          return;
        }
        this.again = false;
        this.timer = this.o.clock.after(this.nextDelay(), () => this.kick(), true);
      });
  }

  /** Drillbits that count toward the size: starting or online (or asked for), not retiring or stopping. */
  get size(): number {
    return this.counted().length + this.pending();
  }

  /** Whether a pass has observed the scheduler yet. */
  get observing(): boolean {
    return this.seeded;
  }

  private nextDelay(): number {
    const fast = this.o.fastIntervalMs ?? 100;
    if (this.errors > 0) return this.backoff(this.errors);
    const changing =
      this.o.admission.queued > 0 ||
      this.pending() > 0 ||
      this.retiring.size > 0 ||
      this.stopping.size > 0 ||
      this.observed.some((b) => b.state !== 'ONLINE');
    return changing ? fast : (this.o.slowIntervalMs ?? 2_000);
  }

  private backoff(failures: number): number {
    return Math.min((this.o.fastIntervalMs ?? 100) * 2 ** failures, this.o.maxBackoffMs ?? 30_000);
  }

  private async reconcile(): Promise<void> {
    const { scheduler, clock } = this.o;
    const repaired = await scheduler.repair?.();
    if (repaired) this.o.log?.(repaired);
    const listed = await scheduler.list();
    const now = clock.now();
    this.expect(listed, now);

    const view: Drillbit[] = [];
    for (const bit of listed) {
      if (this.stopping.has(bit.id)) continue;
      if (!this.firstSeen.has(bit.id)) this.firstSeen.set(bit.id, now);
      const retired = this.retiring.get(bit.id);
      if (retired !== undefined) {
        // Retired: done once it has left Drill (or its process ended); stopped anyway when stuck.
        if (bit.state === 'FAILED' || bit.state === 'STARTING') this.stopNow(bit.id);
        else if (now - retired > this.o.drainTimeoutMs) {
          this.o.log?.(`${bit.id} did not finish draining within ${this.o.drainTimeoutMs} ms (pool.drainTimeoutMs); stopping it`);
          this.stopNow(bit.id);
        } else view.push({ ...bit, state: 'DRAINING' });
        continue;
      }
      const lost = this.lost(bit, now);
      if (lost) {
        this.lose(bit, lost);
        continue;
      }
      if (bit.state === 'ONLINE') this.wasOnline.add(bit.id);
      view.push(bit);
    }
    this.observed = view;
    const online = view.filter((b) => b.state === 'ONLINE');
    this.o.admission.offer((await this.ghostsListed(online, now)) ? [] : online);

    const counted = this.counted();
    if (!this.seeded) {
      this.seeded = true;
      this.o.policy.seed(counted.length, now);
    }
    const rec = this.o.policy.recommend(this.o.admission.demand(), counted.length + this.pending(), now);
    if (rec.action === 'up' && !this.launching && now >= this.launchNotBefore) this.launch(rec.count, counted.length + this.pending(), rec.target, rec.reason, now);
    else if (rec.action === 'down' && this.pending() === 0) await this.shrink(counted, rec.target);
  }

  /** Why `bit` is lost (it failed, left ONLINE unasked, or never came ONLINE), or null. */
  private lost(bit: Drillbit, now: number): string | null {
    const first = (bit.failure ?? '').split('\n')[0];
    if (bit.state === 'FAILED') return first || `${bit.id} ended`;
    if (bit.state === 'DRAINING') return `${bit.id} left ONLINE without being asked (${bit.detail ?? 'Drill reports it shutting down'})`;
    if (bit.state === 'STARTING' && this.wasOnline.has(bit.id)) {
      // Drill's registry no longer lists it. When no Drillbit answers at all, nothing is known: wait.
      if (bit.drill === 'UNKNOWN' || bit.drill === undefined) return null;
      return `${bit.id} left ONLINE without being asked (${bit.detail ?? 'no longer registered in Drill'})`;
    }
    if (bit.state === 'STARTING' && now - (this.firstSeen.get(bit.id) ?? now) > this.o.drillbitStartTimeoutMs) {
      return `${bit.id} did not come ONLINE within ${this.o.drillbitStartTimeoutMs} ms (pool.drillbitStartTimeoutMs)${bit.detail ? `: ${bit.detail}` : ''}`;
    }
    return null;
  }

  // Whether Drill still lists a lost Drillbit (then no query is admitted). Bounded: after
  // GHOST_LIMIT_MS (far beyond Drill's ZooKeeper session timeout) a ghost is forgotten.
  private async ghostsListed(online: Drillbit[], now: number): Promise<boolean> {
    if (this.ghosts.size === 0) return false;
    const view = online.length > 0 ? await this.o.drill.cluster(online) : null;
    for (const [id, ghost] of this.ghosts) {
      const listed = view?.some((d) => d.address === ghost.host && Number(d.userPort) === ghost.userPort) ?? false;
      if (!listed || now - ghost.since > GHOST_LIMIT_MS) this.ghosts.delete(id);
    }
    const names = [...this.ghosts.keys()].join(', ');
    this.say('ghosts', names || null, names ? `waiting for Drill to drop ${names} from its registry before queries run (its ZooKeeper session has not expired yet)` : 'Drill no longer lists the lost Drillbits; queries run again');
    return this.ghosts.size > 0;
  }

  private lose(bit: Drillbit, why: string): void {
    this.ghosts.set(bit.id, { host: bit.host, userPort: bit.userPort, since: this.o.clock.now() });
    const size = this.counted().length + this.pending();
    this.failures++;
    this.lastFailure = why;
    this.record(size, Math.max(0, size - 1), `${why}; stopping it`);
    this.replacing.push(bit.id);
    this.stopNow(bit.id);
  }

  /** Drillbits counted toward the size in the last pass. */
  private counted(): Drillbit[] {
    return this.observed.filter((b) => (b.state === 'STARTING' || b.state === 'ONLINE') && !this.retiring.has(b.id));
  }

  private pending(): number {
    return this.expected.reduce((sum, e) => sum + e.count, 0);
  }

  // New ids in the list fulfil expectations, oldest first; ones never fulfilled expire.
  private expect(listed: Drillbit[], now: number): void {
    let fresh = listed.filter((b) => !this.known.has(b.id)).length;
    for (const b of listed) this.known.add(b.id);
    for (const e of this.expected) {
      const take = Math.min(fresh, e.count);
      e.count -= take;
      fresh -= take;
    }
    for (const e of this.expected) {
      if (e.count > 0 && now - e.at > this.o.drillbitStartTimeoutMs) {
        this.failures++;
        this.lastFailure = `the ${this.o.scheduler.kind} scheduler listed ${e.count} of the Drillbits asked for none within ${this.o.drillbitStartTimeoutMs} ms (pool.drillbitStartTimeoutMs)`;
        this.o.log?.(this.lastFailure);
        e.count = 0;
      }
    }
    this.expected = this.expected.filter((e) => e.count > 0);
  }

  private launch(count: number, from: number, to: number, reason: string, now: number): void {
    const why = this.replacing.length > 0 ? `replacing ${this.replacing.join(', ')} (${reason})` : reason;
    this.replacing = [];
    this.record(from, to, why);
    const expectation = { count, at: now };
    this.expected.push(expectation);
    this.launching = this.o.scheduler
      .launch(count)
      .then(
        () => {
          this.launches += count;
          this.launchErrors = 0;
          this.say('launch', null, `launching Drillbits works again`);
        },
        (err) => {
          // Nothing will show up: the next pass (after backoff) decides again.
          this.expected = this.expected.filter((e) => e !== expectation);
          this.launchErrors++;
          this.launchNotBefore = this.o.clock.now() + this.backoff(this.launchErrors);
          this.lastFailure = `launching ${count} Drillbit(s) failed: ${describe(err)}`;
          this.say('launch', describe(err), `${this.lastFailure} (retrying with backoff)`);
        },
      )
      .finally(() => {
        this.launching = null;
        this.kick();
      });
  }

  // Retire only Drillbits with no query of ours on them and, by Drill's own count, no
  // queries or fragments: a shrink never kills a running query. Newest first.
  private async shrink(counted: Drillbit[], target: number): Promise<void> {
    // Listed later = launched later, for Drillbits started in the same millisecond.
    const candidates = counted
      .filter((b) => this.o.admission.load(b.id) === 0)
      .reverse()
      .sort((a, b) => b.startedAt - a.startedAt);
    let size = counted.length;
    for (const bit of candidates) {
      if (size <= target) break;
      if (bit.state === 'ONLINE' && !(await this.o.drill.isIdle(bit))) continue;
      // A query may have leased it, or demand come back, while Drill was asked.
      if (this.o.admission.load(bit.id) > 0 || this.o.policy.target > size - 1 || this.stopped) continue;
      this.record(size, size - 1, `idle for ${this.o.idleTimeoutMs} ms: draining ${bit.id}`);
      size--;
      this.retiring.set(bit.id, this.o.clock.now());
      // In the same step as the check above: a query admitted later never gets a Drillbit
      // that is shutting down ("Foreman is shutting down").
      this.o.admission.withdraw(bit.id);
      this.observed = this.observed.map((b) => (b.id === bit.id ? { ...b, state: 'DRAINING' } : b));
      if (bit.state !== 'ONLINE') {
        this.stopNow(bit.id); // nothing to drain yet
        continue;
      }
      void this.o.drill.retire(bit).then((asked) => {
        if (!asked) {
          this.o.log?.(`${bit.id} does not answer Drill's graceful shutdown; stopping it (SIGTERM runs the same shutdown)`);
          this.stopNow(bit.id);
        }
      });
    }
  }

  private stopNow(id: string): void {
    if (this.stopping.has(id)) return;
    this.observed = this.observed.filter((b) => b.id !== id);
    const done = this.o.scheduler
      .stop(id)
      .catch((err) => this.o.log?.(`stopping ${id} failed: ${describe(err)}`))
      .finally(() => {
        this.stopping.delete(id);
        this.retiring.delete(id);
        this.wasOnline.delete(id);
        this.firstSeen.delete(id);
        this.kick();
      });
    this.stopping.set(id, done);
  }

  private record(from: number, to: number, reason: string): void {
    const event = { at: new Date(this.o.clock.now()).toISOString(), from, to, reason };
    this.events.push(event);
    if (this.events.length > EVENT_LIMIT) this.events.shift();
    this.o.log?.(`scale ${from} -> ${to}: ${reason}`, { event: 'scale', from, to, reason });
  }

  /** Logs `line` when the condition `key` changes to `value` (null: cleared, logged only if it was set). */
  private say(key: string, value: string | null, line: string): void {
    const before = this.said.get(key) ?? null;
    if (before === value) return;
    if (value === null) this.said.delete(key);
    else this.said.set(key, value);
    if (value !== null || before !== null) this.o.log?.(line);
  }
}
