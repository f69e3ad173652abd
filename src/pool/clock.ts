// Time as the pool sees it: the real clock in the gateway, a fake one in the unit tests
// (test/support/fake-clock.ts), so hysteresis, timeouts and backoff are tested without waiting.
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; `background` timers do not keep the process alive. */
  after(ms: number, fn: () => void, background?: boolean): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn, background = false) {
    const timer = setTimeout(fn, Math.max(0, ms));
    if (background) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
