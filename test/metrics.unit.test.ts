// /metrics without Drill: scraped over real HTTP from the real app (offline gateway: no
// Drillbit can start) and parsed by parse-prometheus-text-format; the counts checked
// against the requests this test sent. The accounting (Drillbit-seconds, scale events,
// the timeline) over a pool whose snapshots the test writes, on a clock it moves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GatewayMetrics, reasonCode } from '../src/metrics/metrics.js';
import { observeRegistry } from '../src/metrics/observe.js';
import { Query } from '../src/query/query.js';
import { QueryRegistry } from '../src/query/registry.js';
import type { Lease } from '../src/pool/pool.js';
import type { Plan } from '../src/sizing/index.js';
import type { PoolManager, ScaleEvent } from '../src/pool/pool.js';
import type { Drillbit, Scheduler } from '../src/schedulers/scheduler.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';
import { Scrape, scrape } from './support/prometheus.js';

const TOKEN = 'tok_metrics_5e1d9c3b7a';
const auth = { authorization: `Bearer ${TOKEN}` };

async function query(base: string, path: '/query' | '/query.json', body: string): Promise<number> {
  const type = path === '/query' ? 'text/plain' : 'application/json';
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'content-type': type }, body });
  await res.arrayBuffer();
  return res.status;
}

describe('/metrics on a gateway without Drill', () => {
  let gateway: OfflineGateway;
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN], files: { 'trips/a.json': '{"a":1}\n'.repeat(100) } });
  });
  after(() => gateway.close());

  test('needs the token like every route; answers in the text format with prom-client content type', async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'unauthorized');
    const scraped = await scrape(gateway.url, TOKEN);
    assert.match(scraped.contentType, /^text\/plain; version=0\.0\.4/);
  });

  test('queries counted by front end and outcome; refusals by status; no SQL in any label', async () => {
    const before = await scrape(gateway.url, TOKEN);
    const sent = [
      ['/query', '', 400],
      ['/query', 'SELECT * FROM dfs.data.`../../etc/passwd`', 403],
      ['/query', 'SELECT * FROM dfs.data.`trips`', 504],
      ['/query.json', JSON.stringify({ queryType: 'SQL', query: '' }), 400],
      ['/query.json', JSON.stringify({ queryType: 'SQL', query: 'SELECT a FROM dfs.data.`trips`' }), 504],
    ] as const;
    for (const [path, body, status] of sent) assert.equal(await query(gateway.url, path, body), status, `${path} ${body}`);
    const after = await scrape(gateway.url, TOKEN);
    const delta = (labels: Record<string, string>) => after.value('dromedar_queries_total', labels) - before.value('dromedar_queries_total', labels);
    assert.equal(delta({ front_end: 'query', outcome: 'refused', status: '400' }), 1);
    assert.equal(delta({ front_end: 'query', outcome: 'refused', status: '403' }), 1);
    assert.equal(delta({ front_end: 'query', outcome: 'failed', status: '504' }), 1);
    assert.equal(delta({ front_end: 'drill', outcome: 'refused', status: '400' }), 1);
    assert.equal(delta({ front_end: 'drill', outcome: 'failed', status: '504' }), 1);
    assert.equal(after.family('dromedar_queries_total').type, 'counter');
    for (const family of after.families) {
      assert.match(family.name, /^dromedar_[a-z0-9_]+$/, family.name);
      for (const sample of family.samples) {
        if (family.type === 'counter') assert.match(sample.name, /_total$/, sample.name);
        for (const value of Object.values(sample.labels)) assert.doesNotMatch(value, /select|trips|\//i, `${sample.name} label ${value}`);
      }
    }
  });

  test('keeps answering while Drill is unreachable, and says so', async () => {
    const scraped = await scrape(gateway.url, TOKEN);
    assert.equal(scraped.value('dromedar_drill_reachable'), 0);
    assert.equal(scraped.value('dromedar_drillbits', { state: 'online' }), 0);
    assert.equal(scraped.value('dromedar_drillbits_max'), 2);
    assert.equal(scraped.family('dromedar_query_wait_seconds').type, 'histogram');
    const timeline = await fetch(`${gateway.url}/v1/timeline`, { headers: auth });
    assert.equal(timeline.status, 200);
    const body = (await timeline.json()) as { samples: unknown[]; drillbitSeconds: { total: number } };
    // The offline gateway's in-memory Drillbits (launched by the earlier 504s, never ONLINE in
    // Drill) cost time too: the timeline answers with that, sampled, while no Drill answers.
    assert.ok(body.samples.length > 0, 'samples while Drill is unreachable');
    assert.ok(Number.isFinite(body.drillbitSeconds.total));
  });
});

describe('server.auth.publicMetrics', () => {
  test('lets a scraper without a token read /metrics, and nothing else', async () => {
    const gateway = await startOfflineGateway({ tokens: [TOKEN], config: { server: { auth: { tokens: [TOKEN], publicMetrics: true } } } });
    try {
      const scraped = await scrape(gateway.url);
      assert.equal(scraped.value('dromedar_drillbits_desired'), 0);
      for (const path of ['/v1/timeline', '/v1/cluster', '/v1/qsf']) {
        const res = await fetch(`${gateway.url}${path}`);
        await res.arrayBuffer();
        assert.equal(res.status, 401, path);
      }
    } finally {
      await gateway.close();
    }
  });
});

describe('the accounting, on a pool the test drives and a clock it moves', () => {
  let now = 1_000_000;
  let snap: ReturnType<PoolManager['snapshot']> = { desired: 0, drillbits: [], events: [], queued: 0, running: 0, warnings: [] };
  const pool = { snapshot: () => snap, maxDrillbits: 4, launches: 0 } as unknown as PoolManager;
  const bit = (id: string, state: Drillbit['state'], startedAt: number): Drillbit => ({ id, host: '127.0.0.1', userPort: 1, controlPort: 2, dataPort: 3, httpPort: 9, state, startedAt });
  const event = (from: number, to: number, reason: string): ScaleEvent => ({ at: new Date(now).toISOString(), from, to, reason });

  test('Drillbit-seconds: each Drillbit from its start while starting, online or draining; scale events by reason code, once each', async () => {
    const metrics = new GatewayMetrics({ now: () => now }).watch({ pool });
    const up = event(0, 2, 'demand for 2 Drillbit(s)');
    snap = { ...snap, desired: 2, drillbits: [bit('bit-1', 'STARTING', now), bit('bit-2', 'STARTING', now)], events: [up] };
    metrics.timeline(); // a sample now (the gateway samples once a second)
    now += 10_000;
    snap = { ...snap, drillbits: [bit('bit-1', 'ONLINE', now - 10_000), bit('bit-2', 'ONLINE', now - 10_000)] };
    let s = await Scrape.of((await metrics.render()).body);
    assert.equal(s.value('dromedar_drillbit_seconds_total'), 20);
    assert.equal(s.value('dromedar_scale_events_total', { reason: 'demand', direction: 'up' }), 1);
    now += 5_000;
    const down = event(2, 1, 'idle for 60000 ms: draining bit-2');
    snap = { ...snap, desired: 1, drillbits: [bit('bit-1', 'ONLINE', now - 15_000), bit('bit-2', 'DRAINING', now - 15_000)], events: [up, down] };
    s = await Scrape.of((await metrics.render()).body);
    assert.equal(s.value('dromedar_drillbit_seconds_total'), 30);
    assert.equal(s.value('dromedar_scale_events_total', { reason: 'demand', direction: 'up' }), 1, 'an event is counted once however often it is seen');
    assert.equal(s.value('dromedar_scale_events_total', { reason: 'idle', direction: 'down' }), 1);
    now += 5_000;
    snap = { ...snap, drillbits: [bit('bit-1', 'FAILED', now - 20_000)], events: [up, down, event(1, 0, 'bit-1 failed: exited with code 1')] };
    s = await Scrape.of((await metrics.render()).body);
    assert.equal(s.value('dromedar_drillbit_seconds_total'), 40, 'a failed Drillbit costs nothing more; bit-2 is gone');
    assert.equal(s.value('dromedar_drillbits', { state: 'failed' }), 1);
    assert.equal(s.value('dromedar_scale_events_total', { reason: 'failure', direction: 'down' }), 1);
    const timeline = metrics.timeline();
    assert.deepEqual(timeline.events.map((e) => e.code), ['demand', 'idle', 'failure']);
    assert.equal(timeline.drillbitSeconds.total, 40);
    assert.equal(timeline.drillbitSeconds.lastHour, 40);
    assert.deepEqual(timeline.samples.map((x) => [x.desired, x.starting, x.online, x.draining]), [[2, 2, 0, 0], [2, 0, 2, 0], [1, 0, 1, 1], [1, 0, 0, 0]]);
  });

  test('reason codes from the pool\'s words; scheduler errors counted by operation', async () => {
    assert.equal(reasonCode({ at: '', from: 0, to: 1, reason: 'demand for 1 Drillbit(s)' }), 'demand');
    assert.equal(reasonCode({ at: '', from: 1, to: 0, reason: 'idle for 100 ms: draining bit-3' }), 'idle');
    assert.equal(reasonCode({ at: '', from: 1, to: 0, reason: 'bit-3 failed: killed' }), 'failure');
    assert.equal(reasonCode({ at: '', from: 1, to: 0, reason: 'something new' }), 'other');
    // The pool's words after its split into policy and controller (branch pool).
    assert.equal(reasonCode({ at: '', from: 1, to: 2, reason: 'replacing bit-1 (demand for 2 Drillbit(s))' }), 'replaced');
    assert.equal(reasonCode({ at: '', from: 0, to: 1, reason: 'pool.minDrillbits is 1' }), 'minimum');
    assert.equal(reasonCode({ at: '', from: 2, to: 1, reason: 'bit-2 left ONLINE without being asked (no longer registered in Drill); stopping it' }), 'failure');
    assert.equal(reasonCode({ at: '', from: 2, to: 1, reason: 'bit-4 did not come ONLINE within 120000 ms (pool.drillbitStartTimeoutMs); stopping it' }), 'failure');
    const metrics = new GatewayMetrics({ now: () => now }).watch({ pool });
    const failing = { kind: 'x', capacity: 1, list: async () => Promise.reject(new Error('zk down')) } as unknown as Scheduler;
    const wrapped = metrics.instrument(failing);
    await assert.rejects(wrapped.list(), /zk down/);
    await assert.rejects(wrapped.list(), /zk down/);
    const s = await Scrape.of((await metrics.render()).body);
    assert.equal(s.value('dromedar_scheduler_errors_total', { operation: 'list' }), 2);
    assert.equal(s.value('dromedar_scheduler_up'), 0);
  });
});

describe('queries from the registry (issue 12): one observation each as it ends', () => {
  test('finished cold and warm, cancelled while waiting, failed and refused by status; bytes read from the accuracy', async () => {
    const metrics = new GatewayMetrics();
    const registry = new QueryRegistry({ finishedLimit: 10 });
    observeRegistry(metrics, registry);
    const plan = { targets: [], bytes: 1_000, qsf: 1, drillbits: 2, parsed: true, measure: 'parquet' } as unknown as Plan;
    const drillbit: Drillbit = { id: 'bit-1', host: '127.0.0.1', userPort: 1, controlPort: 2, dataPort: 3, httpPort: 9, state: 'ONLINE', startedAt: 0 };
    const lease: Lease = { drillbit, drillbits: 2, release() {} };
    const t0 = Date.now();
    const cold = new Query({ sql: 'SELECT 1', frontEnd: 'query' }, t0);
    registry.add(cold);
    cold.sized(plan, t0 + 100);
    cold.waiting(0, 2);
    cold.waiting(1, 2);
    cold.admitted(lease, 2, t0 + 5_100);
    cold.started(t0 + 5_300);
    cold.end('FINISHED', null, t0 + 6_000);
    cold.measured({ estimate: 1_000, actual: 900, ratio: 1.11, comparable: true, why: null } as never);
    const warm = new Query({ sql: 'SELECT 2', frontEnd: 'drill' }, t0);
    registry.add(warm);
    warm.sized(plan, t0 + 10);
    warm.admitted(lease, 2, t0 + 20);
    warm.started(t0 + 50);
    warm.end('FINISHED', null, t0 + 60);
    const waiting = registry.create({ sql: 'SELECT 3', frontEnd: 'query' });
    waiting.waiting(0, 2);
    await waiting.cancel('DELETE /v1/queries');
    registry.create({ sql: 'SELECT 4', frontEnd: 'query' }).end('FAILED', { code: 'scale_timeout', message: 'x', status: 504 });
    registry.create({ sql: 'SELECT 5', frontEnd: 'trino' }).end('FAILED', { code: 'forbidden', message: 'x', status: 403 });
    const s = await Scrape.of((await metrics.render()).body);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'query', outcome: 'finished', status: '200' }), 1);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'drill', outcome: 'finished', status: '200' }), 1);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'query', outcome: 'cancelled', status: '499' }), 1);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'query', outcome: 'failed', status: '504' }), 1);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'trino', outcome: 'refused', status: '403' }), 1);
    assert.equal(s.count('dromedar_query_wait_seconds', { start: 'cold' }), 1);
    assert.equal(s.sum('dromedar_query_wait_seconds', { start: 'cold' }), 5);
    assert.equal(s.count('dromedar_query_wait_seconds', { start: 'warm' }), 1);
    assert.equal(s.sum('dromedar_query_first_byte_seconds', { front_end: 'query' }), 5.3);
    assert.equal(s.value('dromedar_query_estimated_bytes_total'), 2_000);
    assert.equal(s.value('dromedar_query_read_bytes_total'), 900);
  });
});
