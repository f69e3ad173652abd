// The scaling policy, pure: from demand (the largest pool size a waiting or running query
// asked for), the Drillbits observed and the time, recommend a target size. No I/O, no
// timers: the controller asks, acts, and asks again (dask's AdaptiveCore.recommendations).
//
// Grow at once, shrink late: the target holds the largest size asked for until nothing
// asked for it during a whole idle timeout, so alternating small and large queries keep
// the large size instead of making the pool thrash. Always within [min, max].

export interface PolicyOptions {
  minDrillbits: number;
  maxDrillbits: number;
  /** Nothing asked for the held size for this long: shrink to what is asked now. */
  idleTimeoutMs: number;
}

export interface Recommendation {
  target: number;
  /** 'up' / 'down': the observed size differs from the target by `count`. */
  action: 'up' | 'down' | 'same';
  count: number;
  /** Why the target is what it is, in words that stay true (for events). */
  reason: string;
}

export class ScalePolicy {
  private held: number;
  private since: number;
  private seeded = false;

  constructor(
    private readonly options: PolicyOptions,
    now: number,
  ) {
    this.held = this.floor;
    this.since = now;
  }

  get target(): number {
    return this.held;
  }

  private get floor(): number {
    return Math.min(this.options.minDrillbits, this.options.maxDrillbits);
  }

  /** Drillbits adopted at start-up are held a full idle timeout from now, like fresh ones. Once. */
  seed(size: number, now: number): void {
    if (this.seeded) return;
    this.seeded = true;
    this.held = Math.max(this.held, Math.min(size, this.options.maxDrillbits));
    this.since = now;
  }

  /** Feeds the demand now; returns the target and what to do about `observed`. */
  recommend(demand: number, observed: number, now: number): Recommendation {
    const asked = Math.min(this.options.maxDrillbits, Math.max(this.floor, demand));
    if (asked >= this.held) {
      this.held = asked;
      this.since = now;
    } else if (now - this.since >= this.options.idleTimeoutMs) {
      this.held = asked;
      this.since = now;
    }
    const target = this.held;
    const reason =
      demand > this.options.maxDrillbits && target === this.options.maxDrillbits
        ? `demand for ${demand} Drillbit(s), capped at pool.maxDrillbits ${this.options.maxDrillbits}`
        : target === demand
          ? `demand for ${demand} Drillbit(s)`
          : target > demand && target > this.floor
            ? `holding ${target} Drillbit(s) until nothing asked for them for ${this.options.idleTimeoutMs} ms (demand now ${demand})`
            : `pool.minDrillbits is ${this.floor}`;
    const action = observed < target ? 'up' : observed > target ? 'down' : 'same';
    return { target, action, count: Math.abs(target - observed), reason };
  }
}
