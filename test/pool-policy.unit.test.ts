// The scaling policy alone: pure, so time is a number the test passes in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScalePolicy } from '../src/pool/policy.js';

const IDLE = 60_000;
const policy = (min = 0, max = 4) => new ScalePolicy({ minDrillbits: min, maxDrillbits: max, idleTimeoutMs: IDLE }, 0);

test('grows at once to the demand, within min and max', () => {
  const p = policy(1, 4);
  assert.deepEqual(p.recommend(0, 0, 0), { target: 1, action: 'up', count: 1, reason: 'pool.minDrillbits is 1' });
  assert.deepEqual(p.recommend(3, 1, 10), { target: 3, action: 'up', count: 2, reason: 'demand for 3 Drillbit(s)' });
  const capped = p.recommend(9, 3, 20);
  assert.equal(capped.target, 4);
  assert.equal(capped.reason, 'demand for 9 Drillbit(s), capped at pool.maxDrillbits 4');
});

test('holds the largest size for a whole idle timeout, then shrinks to what is asked', () => {
  const p = policy();
  p.recommend(3, 0, 0);
  const held = p.recommend(1, 3, IDLE - 1);
  assert.equal(held.target, 3);
  assert.equal(held.action, 'same');
  assert.match(held.reason, /holding 3 Drillbit\(s\) until nothing asked for them for 60000 ms \(demand now 1\)/);
  const shrunk = p.recommend(1, 3, IDLE);
  assert.deepEqual([shrunk.target, shrunk.action, shrunk.count], [1, 'down', 2]);
});

test('alternating small and large queries keep the large size (no thrash)', () => {
  const p = policy();
  const targets: number[] = [];
  for (let t = 0; t < 10 * IDLE; t += IDLE / 3) targets.push(p.recommend((t / (IDLE / 3)) % 2 === 0 ? 4 : 1, 4, t).target);
  assert.deepEqual(new Set(targets), new Set([4]));
});

test('a demand for the held size restarts the idle timeout', () => {
  const p = policy();
  p.recommend(2, 0, 0);
  p.recommend(2, 2, IDLE - 10); // asked again just before the timeout
  assert.equal(p.recommend(0, 2, IDLE + 10).target, 2);
  assert.equal(p.recommend(0, 2, 2 * IDLE).target, 0);
});

test('adopted Drillbits are held a full idle timeout from the seed, once', () => {
  const p = policy(0, 4);
  p.seed(2, 1_000);
  assert.equal(p.recommend(0, 2, 1_000 + IDLE - 1).target, 2);
  p.seed(4, 1_000 + IDLE - 1); // a second seed changes nothing
  assert.equal(p.recommend(0, 2, 1_000 + IDLE).target, 0);
});

test('minDrillbits above maxDrillbits is held at max', () => {
  assert.equal(policy(5, 3).recommend(0, 0, 0).target, 3);
});
