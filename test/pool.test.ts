// The pool manager's own rules, over an in-memory scheduler TEST DOUBLE whose Drillbits
// are ONLINE as soon as they are asked for (no JVMs): what a warm query costs the
// scheduler, and the per-Drillbit query limit. Real Drillbits: gateway/reliability tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoolManager } from '../src/pool/pool.js';
import type { Drillbit, Scheduler } from '../src/schedulers/scheduler.js';
import { DromedarError } from '../src/util/errors.js';

class InstantScheduler implements Scheduler {
  readonly kind = 'instant-test-double';
  readonly capacity = 8;
  lists = 0;
  private bits: Drillbit[] = [];
  async start(): Promise<void> {}
  async list(): Promise<Drillbit[]> {
    this.lists++;
    return [...this.bits];
  }
  async launch(count: number): Promise<void> {
    for (const n = this.bits.length + count; this.bits.length < n; ) {
      const i = this.bits.length + 1;
      this.bits.push({ id: `bit-${i}`, host: '127.0.0.1', userPort: i, controlPort: i, dataPort: i, httpPort: i, state: 'ONLINE', startedAt: Date.now() });
    }
  }
  async stop(id?: string): Promise<void> {
    this.bits = id === undefined ? [] : this.bits.filter((b) => b.id !== id);
  }
}

function pool(scheduler: Scheduler, options: Partial<ConstructorParameters<typeof PoolManager>[1]> = {}): PoolManager {
  const p = new PoolManager(scheduler, { minDrillbits: 0, maxDrillbits: 4, idleTimeoutMs: 60_000, startTimeoutMs: 5_000, queueLimit: 10, slowIntervalMs: 60_000, ...options });
  p.start();
  return p;
}

test('a warm query costs the scheduler nothing: no list() per acquire or release', async () => {
  const scheduler = new InstantScheduler();
  const p = pool(scheduler);
  try {
    (await p.acquire(2)).release();
    await p.refresh();
    const before = scheduler.lists;
    for (let i = 0; i < 50; i++) (await p.acquire(1 + (i % 2))).release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(scheduler.lists - before, 0);
    assert.equal(p.desired(), 2, 'the hold still follows demand');
  } finally {
    await p.stop();
  }
});

test('queriesPerDrillbit: further queries wait for a free slot, first come first served', async () => {
  const scheduler = new InstantScheduler();
  const p = pool(scheduler, { queriesPerDrillbit: 2 });
  try {
    const running = [await p.acquire(1), await p.acquire(1)];
    assert.deepEqual(running.map((l) => l.drillbit.id), ['bit-1', 'bit-1']);
    const order: number[] = [];
    const waiting = [1, 2].map((n) => p.acquire(1).then((lease) => (order.push(n), lease)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(order, [], 'both wait while bit-1 runs 2');
    assert.equal(p.snapshot().queued, 2);
    running[0]!.release();
    const first = await waiting[0]!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(order, [1], 'one slot freed, one query admitted');
    running[1]!.release();
    const second = await waiting[1]!;
    assert.deepEqual(order, [1, 2]);
    first.release();
    second.release();
  } finally {
    await p.stop();
  }
});

test('queriesPerDrillbit: a query that finds no slot within its wait gets 503 with Retry-After', async () => {
  const scheduler = new InstantScheduler();
  const p = pool(scheduler, { queriesPerDrillbit: 1, startTimeoutMs: 300 });
  try {
    const lease = await p.acquire(1);
    await assert.rejects(p.acquire(1), (err: unknown) => err instanceof DromedarError && err.status === 503 && err.code === 'pool_busy' && /queriesPerDrillbit/.test(err.message) && err.headers?.['retry-after'] !== undefined);
    lease.release();
    (await p.acquire(1)).release();
  } finally {
    await p.stop();
  }
});
