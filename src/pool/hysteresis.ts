// Grow at once, shrink late: the pool holds the largest size asked for until
// nothing has asked for it during a whole idle timeout. Alternating small and
// large queries therefore keep the large size instead of making the pool thrash.
export class Hysteresis {
  private held: number;
  private since = Date.now();

  constructor(
    private readonly floor: number,
    private readonly idleTimeoutMs: number,
  ) {
    this.held = floor;
  }

  get value(): number {
    return this.held;
  }

  /** Hold `size` for a full idle timeout from now (Drillbits adopted at start-up). */
  seed(size: number, now: number): void {
    this.held = Math.max(this.held, size);
    this.since = now;
  }

  update(demand: number, now: number): number {
    const target = Math.max(this.floor, demand);
    if (target >= this.held) {
      this.held = target;
      this.since = now;
    } else if (now - this.since >= this.idleTimeoutMs) {
      this.held = target;
      this.since = now;
    }
    return this.held;
  }
}
