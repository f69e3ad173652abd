// A client that disconnects while its query waits for Drillbits takes the query out of the
// pool's queue at once: real HTTP into the offline gateway (in-memory scheduler whose
// Drillbits never come ONLINE), a real client that gives up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { sleep } from '../src/util/process.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';

let gateway: OfflineGateway;

before(async () => {
  gateway = await startOfflineGateway({ queueTimeoutMs: 120_000, files: { 'sales/a.json': '{"id": 1}\n' } });
});

after(async () => {
  await gateway?.close();
});

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what} within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}

test('a client that goes away while its query waits for Drillbits leaves the queue at once', async () => {
  const ac = new AbortController();
  const answer = request(`${gateway.url}/query`, { method: 'POST', body: 'SELECT * FROM dfs.data.`sales`', headers: { 'content-type': 'text/plain' }, signal: ac.signal });
  answer.catch(() => {});
  await until('the query is queued', () => gateway.pool.snapshot().queued === 1, 10_000);
  assert.ok(gateway.scheduler.launched >= 1, 'its Drillbit was launched');
  ac.abort();
  await assert.rejects(answer);
  const took = await until('the queue is empty', () => gateway.pool.snapshot().queued === 0, 2_000);
  assert.ok(took < 2_000);
  assert.equal(gateway.pool.snapshot().running, 0, 'no slot held for a client that is gone');
});
