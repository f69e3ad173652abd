// The pool as a whole (policy, admission, controller) over the in-memory scheduler, with a
// fake clock: scale-up shared by queries, hysteresis and shrink, replacement of failed
// Drillbits, out-of-band shutdowns, start timeouts, backoff, and cancel in each state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoolManager, type PoolOptions } from '../src/pool/pool.js';
import { MemoryScheduler } from '../src/schedulers/memory/memory-scheduler.js';
import { DromedarError } from '../src/util/errors.js';
import { FakeClock, settle } from './support/fake-clock.js';

const STARTUP = 1_000;
const IDLE = 60_000;

function setup(options: Partial<PoolOptions> & { startupMs?: number; capacity?: number } = {}) {
  const clock = new FakeClock();
  const scheduler = new MemoryScheduler({ clock, startupMs: options.startupMs ?? STARTUP, capacity: options.capacity ?? null });
  const lines: string[] = [];
  const pool = new PoolManager(scheduler, {
    minDrillbits: 0,
    maxDrillbits: 4,
    idleTimeoutMs: IDLE,
    queueTimeoutMs: 300_000,
    drillbitStartTimeoutMs: 30_000,
    drainTimeoutMs: 120_000,
    queueLimit: 10,
    queriesPerDrillbit: 2,
    clock,
    drill: scheduler.drill,
    log: (line) => lines.push(line),
    ...options,
  });
  pool.start();
  return { clock, scheduler, pool, lines };
}

const states = (pool: PoolManager) => pool.snapshot().drillbits.map((b) => `${b.id}:${b.state}`);
const reasons = (pool: PoolManager) => pool.snapshot().events.map((e) => `${e.from}->${e.to} ${e.reason}`);

test('queries that need the same size share one scale-up', async () => {
  const { clock, scheduler, pool } = setup();
  const leases = Promise.all(Array.from({ length: 4 }, () => pool.acquire(2)));
  await clock.advance(STARTUP + 500);
  const got = await leases;
  assert.equal(scheduler.launched, 2, 'four queries, two Drillbits');
  assert.equal(pool.launches, 2);
  assert.deepEqual(reasons(pool), ['0->2 demand for 2 Drillbit(s)']);
  assert.deepEqual(new Set(got.map((l) => l.drillbit.id)), new Set(['mem-1', 'mem-2']));
  for (const l of got) l.release();
  await pool.stop();
});

test('hysteresis: the size is held for the idle timeout, then idle Drillbits are retired, newest first', async () => {
  const { clock, scheduler, pool } = setup();
  const lease = pool.acquire(3);
  await clock.advance(STARTUP + 500);
  (await lease).release();
  (await pool.acquire(1)).release(); // a small query does not shrink a held pool
  scheduler.setQueries('mem-1', 1); // Drill still runs something on mem-1 (not ours)
  await clock.advance(IDLE - 2_000);
  assert.equal(pool.desired(), 3);
  assert.equal(scheduler.ids().length, 3, 'nothing retired before the idle timeout');
  await clock.advance(5_000);
  assert.equal(pool.desired(), 0);
  assert.deepEqual(scheduler.ids(), ['mem-1'], 'retired the idle ones, kept the one Drill says is busy');
  assert.deepEqual(reasons(pool).slice(1), [`3->2 idle for ${IDLE} ms: draining mem-3`, `2->1 idle for ${IDLE} ms: draining mem-2`]);
  scheduler.setQueries('mem-1', 0);
  await clock.advance(3_000);
  assert.deepEqual(scheduler.ids(), []);
  await pool.stop();
});

test('a Drillbit that fails is noticed within one pass and replaced while wanted; the event says why', async () => {
  const { clock, scheduler, pool } = setup({ minDrillbits: 1 });
  await clock.advance(STARTUP + 500);
  assert.deepEqual(states(pool), ['mem-1:ONLINE']);
  scheduler.crash('mem-1', 'killed by signal SIGKILL');
  await pool.refresh();
  assert.equal(pool.failures, 1);
  assert.deepEqual(reasons(pool).slice(1), [
    '1->0 mem-1 exited (killed by signal SIGKILL) without being stopped by the gateway; stopping it',
    '0->1 replacing mem-1 (pool.minDrillbits is 1)',
  ]);
  await clock.advance(STARTUP + 500);
  assert.deepEqual(states(pool), ['mem-2:ONLINE']);
  assert.deepEqual(scheduler.stopped, ['mem-1'], 'the failed one is cleaned up');
  await pool.stop();
});

test('out-of-band shutdown: noticed within one pass, replaced, the reason is true, no log storm', async () => {
  const { clock, scheduler, pool, lines } = setup({ minDrillbits: 1 });
  await clock.advance(STARTUP + 500);
  const before = lines.length;
  scheduler.shutDownOutOfBand('mem-1'); // someone POSTed /gracefulShutdown to the Drillbit itself
  await pool.refresh();
  assert.deepEqual(reasons(pool).slice(1), [
    '1->0 mem-1 left ONLINE without being asked (Drill reports it QUIESCENT); stopping it',
    '0->1 replacing mem-1 (pool.minDrillbits is 1)',
  ]);
  // The old bug: 862 lines of "scale 0 -> 1: demand for 0 Drillbit(s)" in 137 s.
  await clock.advance(137_000);
  assert.deepEqual(states(pool), ['mem-2:ONLINE']);
  const said = lines.slice(before);
  assert.equal(said.length, 2, said.join('\n'));
  assert.equal(new Set(said).size, said.length, 'no line repeated');
  await pool.stop();
});

test('a Drillbit Drill no longer lists (its registration is gone) counts as left ONLINE', async () => {
  const { clock, scheduler, pool } = setup({ minDrillbits: 1 });
  await clock.advance(STARTUP + 500);
  scheduler.unregister('mem-1');
  await pool.refresh();
  assert.match(reasons(pool)[1]!, /^1->0 mem-1 left ONLINE without being asked \(not \(or no longer\) registered in Drill\); stopping it$/);
  await pool.stop();
});

test('a Drillbit that never comes ONLINE is stopped after drillbitStartTimeoutMs and replaced; the query 504s with why', async () => {
  const { clock, scheduler, pool } = setup({ startupMs: Infinity, queueTimeoutMs: 70_000 });
  const waiting = pool.acquire(1);
  const rejected = assert.rejects(waiting, (err: unknown) => {
    assert.ok(err instanceof DromedarError && err.status === 504, String(err));
    assert.match(err.message, /only 0 of 1 Drillbits came ONLINE within 70000 ms \(pool\.queueTimeoutMs\); last failure: mem-2 did not come ONLINE within 30000 ms \(pool\.drillbitStartTimeoutMs\)/);
    return true;
  });
  await clock.advance(31_000);
  assert.match(reasons(pool)[1]!, /^1->0 mem-1 did not come ONLINE within 30000 ms \(pool\.drillbitStartTimeoutMs\); stopping it$/);
  assert.equal(scheduler.launched, 2, 'replaced while the query waits');
  await clock.advance(40_000);
  await rejected;
  assert.equal(pool.snapshot().queued, 0);
  await pool.stop();
});

test('launch errors back off exponentially and are logged once, then once when they stop', async () => {
  const { clock, scheduler, pool, lines } = setup();
  scheduler.failLaunches = new Error('no Mesos offers fit');
  const waiting = pool.acquire(1);
  await clock.advance(60_000);
  // A fixed 100 ms pass would have tried 600 times.
  assert.ok(scheduler.launchCalls >= 5 && scheduler.launchCalls <= 12, `${scheduler.launchCalls} launch attempts in 60 s`);
  assert.deepEqual(lines.filter((l) => /failed/.test(l)), ['launching 1 Drillbit(s) failed: no Mesos offers fit (retrying with backoff)']);
  scheduler.failLaunches = null;
  await clock.advance(30_000 + STARTUP + 500);
  (await waiting).release();
  assert.ok(lines.includes('launching Drillbits works again'));
  await pool.stop();
});

test('cancel while STARTING_DRILLBITS: out of the queue at once; what it launched is retired after the idle timeout', async () => {
  const { clock, scheduler, pool } = setup({ startupMs: 10_000 });
  const ac = new AbortController();
  const waiting = pool.acquire(2, { signal: ac.signal, onProgress: () => {} });
  await clock.advance(500);
  assert.deepEqual(states(pool), ['mem-1:STARTING', 'mem-2:STARTING']);
  ac.abort();
  await assert.rejects(waiting, (err: unknown) => err instanceof DromedarError && err.code === 'client_closed' && err.status === 499);
  assert.equal(pool.snapshot().queued, 0);
  await clock.advance(IDLE + 15_000);
  assert.deepEqual(scheduler.ids(), [], 'nothing left running for a query that is gone');
  await pool.stop();
});

test('cancel while waiting for a slot, and release of a running query, free the place at once', async () => {
  const { clock, pool } = setup({ queriesPerDrillbit: 1, maxDrillbits: 1 });
  const first = pool.acquire(1);
  await clock.advance(STARTUP + 500);
  const running = await first;
  const ac = new AbortController();
  const queued = pool.acquire(1, { signal: ac.signal });
  const next = pool.acquire(1);
  await settle();
  assert.equal(pool.snapshot().queued, 2);
  ac.abort();
  await assert.rejects(queued, (err: unknown) => err instanceof DromedarError && err.status === 499);
  assert.equal(pool.snapshot().queued, 1);
  running.release();
  const second = await next;
  assert.equal(pool.snapshot().running, 1);
  second.release();
  assert.deepEqual([pool.snapshot().queued, pool.snapshot().running], [0, 0]);
  await pool.stop();
});

test('stop: waiting queries get 503 shutting_down', async () => {
  const { pool } = setup({ startupMs: Infinity });
  const waiting = pool.acquire(1);
  await settle();
  await pool.stop();
  await assert.rejects(waiting, (err: unknown) => err instanceof DromedarError && err.code === 'shutting_down' && err.status === 503);
});

test('recover: returns once Drill lists no Drillbit that is gone', async () => {
  const { clock, scheduler, pool } = setup({ minDrillbits: 2 });
  await clock.advance(STARTUP + 500);
  const [victim] = pool.snapshot().drillbits;
  scheduler.crash(victim!.id);
  await pool.recover(victim!);
  assert.equal(pool.failures, 1);
  assert.ok(!pool.snapshot().drillbits.some((b) => b.id === victim!.id));
  await pool.stop();
});

test('pool.maxDrillbits above what the scheduler can host is an error, not a hidden cap', () => {
  assert.throws(
    () => setup({ capacity: 3, maxDrillbits: 5 }),
    (err: unknown) => err instanceof DromedarError && err.code === 'invalid_config' && /pool\.maxDrillbits is 5, but the memory scheduler can run at most 3/.test(err.message),
  );
});
