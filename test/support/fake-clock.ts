// A clock the test moves: timers fire in order as time advances, and each firing lets
// the promises it started settle before the next (the pool's work is all in memory then).
import type { Clock, Timer } from '../../src/pool/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t = Date.UTC(2026, 0, 1);
  private seq = 0;
  private timers: Pending[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    const timer: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((p) => p !== timer)) };
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((p) => p !== next);
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets every promise chain started so far run to its end (no real I/O is pending). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
