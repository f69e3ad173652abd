// Admission alone: leases, slots, the FCFS queue, cancel while waiting, timeouts; a fake clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission } from '../src/pool/admission.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { DromedarError } from '../src/util/errors.js';
import { FakeClock, settle } from './support/fake-clock.js';

const bit = (n: number): Drillbit => ({ id: `b${n}`, host: 'h', userPort: n, controlPort: n, dataPort: n, httpPort: n, state: 'ONLINE', startedAt: n });

function admission(options: { slots?: number; queueLimit?: number; timeoutMs?: number } = {}) {
  const clock = new FakeClock();
  let changes = 0;
  const a = new Admission({
    clock,
    queueLimit: options.queueLimit ?? 10,
    slotsPerDrillbit: options.slots ?? 1,
    queueTimeoutMs: options.timeoutMs ?? 10_000,
    timedOut: (need, online, slotsFull) => new DromedarError(slotsFull ? 'pool_busy' : 'scale_timeout', `${online}/${need}`, slotsFull ? 503 : 504),
    changed: () => changes++,
  });
  return { a, clock, changes: () => changes };
}

const code = (c: string) => (err: unknown) => err instanceof DromedarError && err.code === c;

test('a waiter gets the least busy Drillbit once enough are usable', async () => {
  const { a } = admission({ slots: 2 });
  const first = a.request(2);
  a.offer([bit(1)]);
  await settle();
  assert.equal(a.queued, 1, 'one Drillbit is not enough for a query sized for two');
  a.offer([bit(1), bit(2)]);
  const g1 = await first;
  const g2 = await a.request(1);
  assert.notEqual(g1.drillbit.id, g2.drillbit.id, 'spread over the Drillbits');
  assert.equal(a.demand(), 2);
  g1.release();
  g1.release(); // twice: no effect
  assert.equal(a.load(g1.drillbit.id), 0);
  g2.release();
  assert.equal(a.demand(), 0);
});

test('slots: first come first served, and a waiter for a slot holds back later ones', async () => {
  const { a } = admission({ slots: 1 });
  a.offer([bit(1)]);
  const running = await a.request(1);
  const order: string[] = [];
  const w1 = a.request(1).then((g) => (order.push('w1'), g));
  const w2 = a.request(1).then((g) => (order.push('w2'), g));
  await settle();
  assert.deepEqual(order, []);
  running.release();
  const g1 = await w1;
  await settle();
  assert.deepEqual(order, ['w1'], 'one slot, one query');
  g1.release();
  (await w2).release();
  assert.deepEqual(order, ['w1', 'w2']);
});

test('a waiter for more Drillbits than there are lets a smaller, later one pass', async () => {
  const { a } = admission({ slots: 4 });
  a.offer([bit(1)]);
  const big = a.request(3);
  const small = await a.request(1);
  assert.equal(small.drillbit.id, 'b1');
  assert.equal(a.queued, 1);
  assert.equal(a.starved, true);
  a.offer([bit(1), bit(2), bit(3)]);
  (await big).release();
  small.release();
});

test('cancel while waiting for Drillbits: out of the queue at once, demand gone, 499', async () => {
  const { a, changes } = admission();
  const ac = new AbortController();
  const waiting = a.request(3, { signal: ac.signal });
  assert.equal(a.demand(), 3);
  const before = changes();
  ac.abort();
  await assert.rejects(waiting, (err: unknown) => err instanceof DromedarError && err.status === 499);
  assert.equal(a.queued, 0);
  assert.equal(a.demand(), 0);
  assert.ok(changes() > before, 'the controller is told');
});

test('cancel while waiting for a slot frees the place for the next one', async () => {
  const { a } = admission({ slots: 1 });
  a.offer([bit(1)]);
  const running = await a.request(1);
  const ac = new AbortController();
  const cancelled = a.request(1, { signal: ac.signal });
  const next = a.request(1);
  ac.abort();
  await assert.rejects(cancelled, code('client_closed'));
  running.release();
  assert.equal((await next).drillbit.id, 'b1', 'the one behind the cancelled waiter runs');
});

test('an already aborted signal never enters the queue', async () => {
  const { a } = admission();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(a.request(1, { signal: ac.signal }), code('client_closed'));
  assert.equal(a.queued, 0);
});

test('a granted query keeps its lease when its signal aborts later (the caller cancels in Drill, then releases)', async () => {
  const { a } = admission();
  a.offer([bit(1)]);
  const ac = new AbortController();
  const g = await a.request(1, { signal: ac.signal });
  ac.abort();
  assert.equal(a.load('b1'), 1);
  g.release();
  assert.equal(a.load('b1'), 0);
});

test('queue limit: 503 at once', async () => {
  const { a } = admission({ queueLimit: 2 });
  const waiting = [a.request(1), a.request(1)];
  await assert.rejects(a.request(1), (err: unknown) => err instanceof DromedarError && err.status === 503 && err.headers?.['retry-after'] === '5');
  a.close(new DromedarError('shutting_down', 'bye', 503));
  for (const w of waiting) await assert.rejects(w, code('shutting_down'));
  await assert.rejects(a.request(1), code('shutting_down'), 'closed for good');
});

test('the wait is bounded: 504 while Drillbits are missing, 503 when slots were the wait', async () => {
  const { a, clock } = admission({ slots: 1, timeoutMs: 5_000 });
  const missing = a.request(2);
  const rejected = assert.rejects(missing, (err: unknown) => err instanceof DromedarError && err.status === 504 && err.message === '0/2');
  await clock.advance(5_000);
  await rejected;
  a.offer([bit(1)]);
  const running = await a.request(1);
  const full = a.request(1);
  const busy = assert.rejects(full, (err: unknown) => err instanceof DromedarError && err.status === 503 && err.message === '1/1');
  await clock.advance(4_999);
  assert.equal(a.queued, 1, 'not before its time');
  await clock.advance(1);
  await busy;
  running.release();
});

test('progress is reported when the usable count changes, not on every offer', async () => {
  const { a } = admission();
  const seen: string[] = [];
  const w = a.request(2, { onProgress: (online, wanted) => seen.push(`${online}/${wanted}`) });
  a.offer([]);
  a.offer([bit(1)]);
  a.offer([bit(1)]);
  a.offer([bit(1), bit(2)]);
  (await w).release();
  assert.deepEqual(seen, ['0/2', '1/2', '2/2']);
});
