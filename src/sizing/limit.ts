// Bounded concurrency for file system calls: a directory of 100,000 files must
// not start 100,000 calls at once (file descriptors, NFS servers), and all
// sizings in flight share the one bound. Callback-based on purpose: at 100,000
// calls a promise per call costs more than the calls themselves, several times
// more when async hooks are on (AsyncLocalStorage, test runners, tracing).

export class Limiter {
  private active = 0;
  // A FIFO with a moving head: Array#shift is O(n) on long queues.
  private waiting: Array<() => void> = [];
  private head = 0;

  constructor(private readonly max: number) {
    if (!(Number.isInteger(max) && max > 0)) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  }

  /** Calls start(done) once a slot is free; the call must invoke done exactly once. */
  schedule(start: (done: () => void) => void): void {
    const begin = () => start(() => this.release());
    if (this.active < this.max) {
      this.active++;
      begin();
    } else {
      this.waiting.push(begin);
    }
  }

  // A finished call hands its slot to the next waiting one, if any.
  private release(): void {
    if (this.head === this.waiting.length) {
      this.active--;
      return;
    }
    const next = this.waiting[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}
