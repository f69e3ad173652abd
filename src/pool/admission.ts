// Admission: who may run where. Leases, per-Drillbit slots (pool.queriesPerDrillbit) and
// the wait queue, first come first served: when Drillbits or slots free up, the earliest
// waiter that can run now gets them. A waiter that needs more Drillbits than are ONLINE
// lets later, smaller ones pass (its wait is for the controller, not for a slot); one that
// waits for a slot holds back every later one. No I/O: the controller offers the usable
// Drillbits after each pass, releases and cancels offer again.
import type { Drillbit } from '../schedulers/scheduler.js';
import { DromedarError } from '../util/errors.js';
import type { Clock, Timer } from './clock.js';

export type Progress = (online: number, wanted: number) => void;

export interface AdmissionOptions {
  clock: Clock;
  /** Waiters beyond this many are refused at once (503). */
  queueLimit: number;
  /** Queries one Drillbit runs at once. */
  slotsPerDrillbit: number;
  /** How long a query waits for its Drillbits or a slot. */
  queueTimeoutMs: number;
  /** The error for a waiter whose time ran out (it knows the cluster's story). */
  timedOut(need: number, online: number, slotsFull: boolean): DromedarError;
  /** Demand or occupancy changed: the controller should look. */
  changed(): void;
}

export interface Grant {
  drillbit: Drillbit;
  release(): void;
}

interface Ticket {
  need: number;
  /** Set once granted. */
  on: Drillbit | null;
  seen: number;
  onProgress?: Progress;
  timer?: Timer;
  resolve(grant: Grant): void;
  reject(err: unknown): void;
  detach(): void;
}

export class Admission {
  private readonly queue: Ticket[] = [];
  private readonly running = new Set<Ticket>();
  private readonly busy = new Map<string, number>();
  private usable: Drillbit[] = [];
  private closed: DromedarError | null = null;

  constructor(private readonly options: AdmissionOptions) {}

  /** Waits for `need` usable Drillbits and a free slot on one of them (the least busy). */
  request(need: number, options: { signal?: AbortSignal; onProgress?: Progress } = {}): Promise<Grant> {
    if (this.closed) return Promise.reject(this.closed);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(gone());
    if (this.queue.length >= this.options.queueLimit) {
      return Promise.reject(
        new DromedarError('pool_busy', `${this.queue.length} queries are already waiting for Drillbits (queue limit ${this.options.queueLimit}); try again shortly`, 503, { 'retry-after': '5' }),
      );
    }
    return new Promise<Grant>((resolve, reject) => {
      const ticket: Ticket = { need, on: null, seen: -1, resolve, reject, detach: () => {} };
      if (options.onProgress) ticket.onProgress = options.onProgress;
      // Cancel while waiting: out of the queue at once, nothing held.
      const abort = () => this.leave(ticket, gone());
      signal?.addEventListener('abort', abort, { once: true });
      ticket.detach = () => {
        signal?.removeEventListener('abort', abort);
        ticket.timer?.cancel();
      };
      ticket.timer = this.options.clock.after(this.options.queueTimeoutMs, () => {
        const online = this.usable.length;
        this.leave(ticket, this.options.timedOut(need, online, online >= need));
      });
      this.queue.push(ticket);
      this.progress(ticket);
      this.admit();
      this.options.changed();
    });
  }

  /** The Drillbits queries may be sent to now (ONLINE, not retiring); admits who can run. */
  offer(usable: Drillbit[]): void {
    this.usable = usable;
    for (const ticket of this.queue) this.progress(ticket);
    this.admit();
  }

  /** A Drillbit the controller retires: no new lease goes to it from now on (before Drill is asked). */
  withdraw(id: string): void {
    this.usable = this.usable.filter((b) => b.id !== id);
  }

  /** The largest pool size a waiting or running query asked for. */
  demand(): number {
    let level = 0;
    for (const t of this.queue) level = Math.max(level, t.need);
    for (const t of this.running) level = Math.max(level, t.need);
    return level;
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Queries of ours running on this Drillbit. */
  load(id: string): number {
    return this.busy.get(id) ?? 0;
  }

  /** Waiters for Drillbits that are not there yet (not those waiting for a slot). */
  get starved(): boolean {
    return this.queue.some((t) => t.need > this.usable.length);
  }

  /** Every waiter gets `err`; later requests too (the gateway is stopping). Leases stay theirs. */
  close(err: DromedarError): void {
    this.closed = err;
    for (const ticket of [...this.queue]) this.leave(ticket, err);
  }

  private admit(): void {
    const limit = this.options.slotsPerDrillbit;
    for (const ticket of [...this.queue]) {
      if (this.usable.length < ticket.need) continue;
      const bit = this.leastBusy();
      // Slots full for this one: full for everyone after it too (same Drillbits, same limit).
      if (!bit || this.load(bit.id) >= limit) break;
      this.grant(ticket, bit);
    }
  }

  private grant(ticket: Ticket, bit: Drillbit): void {
    this.queue.splice(this.queue.indexOf(ticket), 1);
    ticket.detach();
    ticket.on = bit;
    this.running.add(ticket);
    this.busy.set(bit.id, this.load(bit.id) + 1);
    let released = false;
    ticket.resolve({
      drillbit: bit,
      release: () => {
        if (released) return;
        released = true;
        this.running.delete(ticket);
        const left = this.load(bit.id) - 1;
        if (left > 0) this.busy.set(bit.id, left);
        else this.busy.delete(bit.id);
        this.admit();
        this.options.changed();
      },
    });
  }

  private leave(ticket: Ticket, err: unknown): void {
    const at = this.queue.indexOf(ticket);
    if (at < 0) return;
    this.queue.splice(at, 1);
    ticket.detach();
    ticket.reject(err);
    // A waiter that held back others (by needing a slot) is gone: they may run now.
    this.admit();
    this.options.changed();
  }

  private leastBusy(): Drillbit | null {
    let best: Drillbit | null = null;
    for (const bit of this.usable) if (!best || this.load(bit.id) < this.load(best.id)) best = bit;
    return best;
  }

  private progress(ticket: Ticket): void {
    const online = this.usable.length;
    if (online === ticket.seen) return;
    ticket.seen = online;
    ticket.onProgress?.(online, ticket.need);
  }
}

function gone(): DromedarError {
  return new DromedarError('client_closed', 'the client went away while waiting for Drillbits', 499);
}
