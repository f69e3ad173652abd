// The gateway end to end: real Drillbits started by the local scheduler, a real
// ZooKeeper, real HTTP. One scheduler serves the whole file; a first gateway with a
// long idle timeout runs the sizing and compatibility tests, a second one with a short
// idle timeout (same Drillbits) the shrink, restart and admission tests.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { DrillClient } from '../src/drill/client.js';
import { resolveRuntime } from '../src/drill/install.js';
import { ensureTrips, type Dataset } from '../src/sample/trips.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { Gateway } from '../src/server/gateway.js';
import { createLogger } from '../src/util/log.js';
import { signal, sleep } from '../src/util/process.js';
import { jvmsMentioning, testConfig } from './support/env.js';

const config = testConfig({ pool: { idleTimeoutMs: 600_000, startTimeoutMs: 240_000, maxDrillbits: 3, queueLimit: 2 } });
const quiet = createLogger('silent');
let scheduler: LocalScheduler;
let gateway: Gateway;
let trips: Dataset;
const TRIPS = 'dfs.data.`trips`';

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, base = gateway.url): Promise<Answer> {
  const isText = typeof body === 'string';
  const res = await request(base + path, {
    method: method as 'GET',
    body: body === undefined ? undefined : isText ? body : JSON.stringify(body),
    headers: body === undefined ? headers : { 'content-type': isText ? 'text/plain' : 'application/json', ...headers },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const text = await res.body.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON (e.g. Drill's /status HTML) */
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, json };
}

const query = (sql: string, extra: Record<string, unknown> = {}, base?: string) => call('POST', '/query', { sql, ...extra }, {}, base);

function online(bits: { state: string }[]): number {
  return bits.filter((b) => b.state === 'ONLINE').length;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

before(async () => {
  scheduler = new LocalScheduler(config, await resolveRuntime(config));
  gateway = await Gateway.start(config, { scheduler, log: quiet });
  // Just under 3 x 100 MiB: QSF 100 asks for 3 Drillbits.
  trips = await ensureTrips(join(config.dataDir, 'trips'), 280 * 2 ** 20);
  mkdirSync(join(config.dataDir, 'people'), { recursive: true });
  writeFileSync(join(config.dataDir, 'people', 'p.json'), Array.from({ length: 100 }, (_, id) => JSON.stringify({ id, name: `p${id}` })).join('\n'));
});

after(async () => {
  await gateway?.stop({ drainMs: 1_000, stopDrillbits: false });
  await scheduler?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
});

describe('gateway: sizing, scaling and streaming with real Drill', () => {
  test('~280 MiB at QSF 100 runs on 3 Drillbits and answers exactly what Drill answers directly', async () => {
    const sql = `SELECT COUNT(*) AS n, ROUND(SUM(CAST(fare AS DOUBLE)), 2) AS fare FROM ${TRIPS}`;
    const res = await query(sql);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.queryState, 'COMPLETED', res.json.errorMessage);
    assert.equal(res.headers['dromedar-drillbits'], '3');
    assert.equal(res.headers['dromedar-drillbits-sized'], '3');
    assert.equal(res.headers['dromedar-dataset-bytes'], String(trips.bytes));
    assert.equal(res.headers['dromedar-qsf'], '100');
    assert.equal(res.headers['dromedar-parsed'], 'true');
    assert.equal(res.headers['dromedar-query-id'], res.json.queryId);
    assert.match(res.headers['server-timing']!, /sizing;dur=[\d.]+, scale;dur=[\d.]+, drill;dur=[\d.]+/);
    assert.equal(Number(res.json.rows[0].n), trips.rows);

    const cluster = await call('GET', '/v1/cluster');
    assert.equal(online(cluster.json.drillbits), 3);
    assert.equal(cluster.json.desired, 3);
    assert.ok(cluster.json.events.some((e: { to: number }) => e.to === 3));

    const bit = (await scheduler.list())[0]!;
    const direct = await DrillClient.at(bit.host, bit.httpPort).query({ queryType: 'SQL', query: sql });
    const directJson = (await direct.body.json()) as { rows: unknown[] };
    assert.deepEqual(res.json.rows, directJson.rows);
  });

  test('at QSF 1000 the same data is sized for 1 Drillbit, from body, query string or header', async () => {
    const sql = `SELECT COUNT(*) AS n FROM ${TRIPS}`;
    for (const res of [await query(sql, { qsf: 1000 }), await call('POST', '/query?qsf=1000', sql), await call('POST', '/query', sql, { 'dromedar-qsf': '1000' })]) {
      assert.equal(res.status, 200);
      // Sized for 1; the cluster still has the 3 of the query before (Dromedar-Drillbits: what Drill ran it on).
      assert.equal(res.headers['dromedar-drillbits-sized'], '1');
      assert.equal(res.headers['dromedar-drillbits'], '3');
      assert.equal(res.headers['dromedar-qsf'], '1000');
      assert.equal(Number(res.json.rows[0].n), trips.rows);
    }
  });

  test('a join sizes as the sum of its tables; metadata queries use 1 Drillbit', async () => {
    const plan = await call('POST', '/v1/plan', { sql: `SELECT * FROM ${TRIPS} t JOIN dfs.data.\`people\` p ON t.id = p.id` });
    assert.equal(plan.status, 200);
    const people = plan.json.targets.find((t: { path: string }) => t.path.endsWith('people'));
    assert.ok(people.bytes > 0);
    assert.equal(plan.json.bytes, trips.bytes + people.bytes);
    assert.equal(plan.json.drillbits, 3);
    for (const sql of ['SELECT * FROM sys.version', 'SELECT COUNT(*) AS n FROM INFORMATION_SCHEMA.`TABLES`']) {
      const res = await query(sql);
      assert.equal(res.status, 200);
      assert.equal(res.json.queryState, 'COMPLETED');
      assert.equal(res.headers['dromedar-drillbits-sized'], '1');
      assert.equal(res.headers['dromedar-dataset-bytes'], '0');
    }
  });

  test('a large result streams: rows arrive while Drill still runs the query, and memory stays flat', async () => {
    const res = await request(`${gateway.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: `SELECT * FROM ${TRIPS} LIMIT 3000000` }),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    assert.equal(res.statusCode, 200);
    const id = res.headers['dromedar-query-id'] as string;
    const reader = res.body[Symbol.asyncIterator]();
    const first = (await reader.next()).value as Buffer;
    assert.match(first.toString(), /"queryId"/);
    // We hold the stream: Drill cannot finish while its output waits on us.
    const profiles = await call('GET', '/profiles.json');
    assert.ok(
      profiles.json.runningQueries.some((q: { queryId: string }) => q.queryId === id),
      'the query is still running in Drill when its first rows reached the client',
    );
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    let bytes = first.length;
    let tail = '';
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      const chunk = next.value as Buffer;
      bytes += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-200);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.ok(bytes > 200 * 2 ** 20, `a result of hundreds of MB (got ${bytes} bytes)`);
    assert.match(tail, /"queryState":"COMPLETED"/);
    const growth = peak - rssBefore;
    assert.ok(growth < 96 * 2 ** 20, `gateway memory grew by ${Math.round(growth / 2 ** 20)} MiB while streaming ${Math.round(bytes / 2 ** 20)} MiB`);
  });

  test('ten concurrent queries on a warm pool launch nothing new', async () => {
    const launches = gateway.pool.launches;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => query(`SELECT COUNT(*) AS n FROM ${TRIPS} WHERE dir0 = '${2022 + (i % 4)}'`)));
    for (const res of results) assert.equal(res.json.queryState, 'COMPLETED');
    assert.equal(gateway.pool.launches, launches);
    assert.equal(online((await call('GET', '/v1/cluster')).json.drillbits), 3);
  });

  test("Drill's REST API through the gateway has Drill's shapes, for results and errors", async () => {
    const bit = (await scheduler.list())[0]!;
    const drill = `http://${bit.host}:${bit.httpPort}`;
    const ok = { queryType: 'SQL', query: 'SELECT * FROM sys.version', autoLimit: 10 };
    const bad = { queryType: 'SQL', query: 'SELECT * FROM dfs.data.`no/such/table`' };
    for (const body of [ok, bad]) {
      const [viaGateway, direct] = [await call('POST', '/query.json', body), await call('POST', '/query.json', body, {}, drill)];
      assert.equal(viaGateway.status, direct.status);
      assert.deepEqual(Object.keys(viaGateway.json).sort(), Object.keys(direct.json).sort());
      assert.equal(viaGateway.json.queryState, direct.json.queryState);
    }
    const failed = await call('POST', '/query.json', bad);
    assert.match(failed.json.errorMessage, /no\/such\/table|not found/i);

    for (const path of ['/status.json', '/cluster.json', '/storage.json', '/options.json', '/profiles.json']) {
      const [viaGateway, direct] = [await call('GET', path), await call('GET', path, undefined, {}, drill)];
      assert.equal(viaGateway.status, 200, path);
      assert.equal(typeof viaGateway.json, typeof direct.json, path);
      if (!Array.isArray(direct.json)) assert.deepEqual(Object.keys(viaGateway.json).sort(), Object.keys(direct.json).sort(), path);
    }
    const profile = await call('GET', `/profiles/${failed.json.queryId}.json`);
    assert.equal(profile.status, 200);
    assert.equal(typeof profile.json, 'object');
    assert.equal((await call('GET', '/status')).status, 200);

    for (const [method, path] of [['POST', '/gracefulShutdown'], ['POST', '/shutdown'], ['POST', '/quiescent'], ['POST', '/storage/dfs.json'], ['POST', '/option/planner.width.max_per_node']]) {
      const res = await call(method!, path!, {});
      assert.equal(res.status, 403, path);
      assert.equal(res.json.error, 'forbidden');
    }
    assert.equal(online(await scheduler.list()), 3, 'no Drillbit was shut down through the gateway');
  });

  test('bad requests get the documented JSON errors', async () => {
    const cases: [string, string, unknown, Record<string, string>, number, string, RegExp?][] = [
      ['POST', '/query', '{"sql": ', { 'content-type': 'application/json' }, 400, 'invalid_json'],
      ['POST', '/query', { sql: '   ' }, {}, 400, 'empty_sql'],
      ['POST', '/query', { sql: 'SELECT 1', qsf: 0 }, {}, 400, 'invalid_qsf', /qsf/],
      ['POST', '/query', { sql: 'SELECT 1', qsf: 'lots' }, {}, 400, 'invalid_qsf', /qsf/],
      ['POST', '/query?qsf=-5', 'SELECT 1', {}, 400, 'invalid_qsf', /query string/],
      ['POST', '/query', 'SELECT 1', { 'dromedar-qsf': 'NaN' }, 400, 'invalid_qsf', /Dromedar-QSF/],
      ['POST', '/query', { sql: 42 }, {}, 400, 'invalid_request', /sql/],
      ['POST', '/query', '<sql/>', { 'content-type': 'application/xml' }, 415, 'unsupported_media_type'],
      ['POST', '/query', 'x'.repeat(3 * 2 ** 20), {}, 413, 'body_too_large'],
      ['GET', '/no/such/route', undefined, {}, 404, 'not_found'],
      ['PUT', '/v1/qsf', { qsf: -1 }, {}, 400, 'invalid_qsf'],
      ['POST', '/query.json', { query: 'SELECT 1' }, { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ];
    for (const [method, path, body, headers, status, code, message] of cases) {
      const actual = await call(method, path, body, headers);
      assert.equal(actual.status, status, `${method} ${path}: ${JSON.stringify(actual.json)}`);
      assert.equal(actual.json.error, code, `${method} ${path}`);
      assert.equal(typeof actual.json.message, 'string');
      if (message) assert.match(actual.json.message, message);
    }
    assert.deepEqual((await call('PUT', '/v1/qsf', { qsf: 250 })).json, { qsf: 250 });
    assert.deepEqual((await call('GET', '/v1/qsf')).json, { qsf: 250 });
    assert.equal((await call('PUT', '/v1/qsf', { qsf: 100 })).status, 200);
  });
});

describe('sizing agrees with Drill on the files a query scans', () => {
  // Drill's plan names every file of a text scan: files=[file:/...]. Pruning happens at
  // planning, so a pruned query's plan lists only the remaining files.
  async function drillFiles(sql: string): Promise<string[]> {
    const bit = (await scheduler.list()).find((b) => b.state === 'ONLINE')!;
    const res = await DrillClient.at(bit.host, bit.httpPort).query({ queryType: 'SQL', query: `EXPLAIN PLAN FOR ${sql}` });
    const answer = (await res.body.json()) as { queryState: string; rows: { text: string }[]; errorMessage?: string };
    assert.equal(answer.queryState, 'COMPLETED', answer.errorMessage);
    const lists = [...answer.rows[0]!.text.matchAll(/files=\[([^\]]*)\]/g)].map((m) => m[1]!);
    assert.ok(lists.length > 0, answer.rows[0]!.text);
    return lists.flatMap((list) => list.split(', ').map((f) => f.replace(/^file:/, ''))).sort();
  }

  for (const [name, sql] of [
    ['a directory', `SELECT * FROM ${TRIPS}`],
    ['a glob', "SELECT * FROM dfs.data.`trips/202[34]/*.csvh`"],
    ['a pruned partition', `SELECT * FROM ${TRIPS} WHERE dir0 = '2024'`],
    ['pruning on two levels of IN and AND', `SELECT * FROM ${TRIPS} WHERE dir0 IN ('2022', '2025') AND city = 'Oslo'`],
  ]) {
    test(`${name}: the files counted are the files Drill scans`, async () => {
      const counted = (await gateway.sizer.files(sql!)).sort();
      assert.ok(counted.length > 0);
      assert.deepEqual(counted, await drillFiles(sql!));
    });
  }
});

describe('gateway: the pool shrinks, restarts and admits', () => {
  let second: Gateway;

  before(async () => {
    await gateway.stop({ stopDrillbits: false });
    second = await Gateway.start({ ...config, pool: { ...config.pool, idleTimeoutMs: 2_000, queueLimit: 10 } }, { scheduler, log: quiet });
    gateway = second;
  });

  test('a crashed Drillbit is noticed and replaced while it is still wanted', async () => {
    // Keep 3 wanted: a large query holds the pool at 3 for the idle timeout.
    await query(`SELECT COUNT(*) AS n FROM ${TRIPS}`);
    const victim = (await scheduler.list()).find((b) => b.state === 'ONLINE')!;
    signal(pidOf(victim), 'SIGKILL', false);
    await until('the pool to notice the crash', async () => {
      const events = (await call('GET', '/v1/cluster')).json.events as { reason: string }[];
      return events.some((e) => e.reason.includes(`${victim.id} failed`)) ? true : undefined;
    });
    const res = await query(`SELECT COUNT(*) AS n FROM ${TRIPS}`);
    assert.equal(res.json.queryState, 'COMPLETED', res.json.errorMessage);
    const cluster = await call('GET', '/v1/cluster');
    assert.ok(cluster.json.events.some((e: { reason: string }) => e.reason.includes(`${victim.id} failed`)), JSON.stringify(cluster.json.events));
    assert.equal(online(cluster.json.drillbits), 3);
    assert.ok(!cluster.json.drillbits.some((b: { id: string }) => b.id === victim.id));
  });

  test('after the idle timeout the pool drains to zero; the next query starts it again', async () => {
    await until('the pool to reach zero', async () => ((await call('GET', '/v1/cluster')).json.drillbits.length === 0 ? true : undefined), 120_000);
    const events = (await call('GET', '/v1/cluster')).json.events as { reason: string; to: number }[];
    assert.ok(events.some((e) => e.reason.includes('draining') && e.to === 0));
    const res = await query('SELECT * FROM sys.version');
    assert.equal(res.status, 200);
    assert.equal(res.json.queryState, 'COMPLETED');
    assert.equal(online((await call('GET', '/v1/cluster')).json.drillbits), 1);
  });

  test('concurrent queries of different sizes share one scale-up and none fails while the pool shrinks', async () => {
    const launches = gateway.pool.launches;
    const big = Array.from({ length: 3 }, () => query(`SELECT COUNT(*) AS n FROM ${TRIPS}`));
    const small = Array.from({ length: 3 }, () => query('SELECT COUNT(*) AS n FROM sys.drillbits'));
    const results = await Promise.all([...big, ...small]);
    for (const res of results) assert.equal(res.json.queryState, 'COMPLETED', JSON.stringify(res.json));
    assert.equal(gateway.pool.launches - launches, 2, 'from 1 to 3 Drillbits: two launches, shared by all');
    // Keep small queries coming while the idle timeout shrinks the pool to 1, then 0.
    const deadline = Date.now() + 8_000;
    let count = 0;
    while (Date.now() < deadline) {
      const res = await query(`SELECT COUNT(*) AS n FROM ${TRIPS} WHERE dir0 = '2024'`, { qsf: 1000 });
      assert.equal(res.json.queryState, 'COMPLETED', JSON.stringify(res.json));
      count++;
    }
    assert.ok(count > 0);
    const cluster = (await call('GET', '/v1/cluster')).json;
    assert.ok(cluster.events.some((e: { reason: string }) => e.reason.includes('draining')), 'the pool shrank meanwhile');
  });

  test('when the wait queue is full, queries get 503 with Retry-After; the cap is never exceeded', async () => {
    await until('the pool to reach zero', async () => ((await call('GET', '/v1/cluster')).json.drillbits.length === 0 ? true : undefined), 120_000);
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start({ ...config, pool: { ...config.pool, idleTimeoutMs: 2_000, queueLimit: 2 } }, { scheduler, log: quiet });
    const results = await Promise.all(Array.from({ length: 3 }, () => query('SELECT * FROM sys.version')));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 503]);
    const rejected = results.find((r) => r.status === 503)!;
    assert.equal(rejected.json.error, 'pool_busy');
    assert.ok(Number(rejected.headers['retry-after']) > 0);
    assert.ok((await scheduler.list()).length <= 3);
  });

  test('a scale-up that takes too long is a 504 saying how many Drillbits are up', async () => {
    await until('the pool to reach zero', async () => ((await call('GET', '/v1/cluster')).json.drillbits.length === 0 ? true : undefined), 120_000);
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start({ ...config, pool: { ...config.pool, startTimeoutMs: 300 } }, { scheduler, log: quiet });
    const res = await query('SELECT * FROM sys.version');
    assert.equal(res.status, 504);
    assert.equal(res.json.error, 'scale_timeout');
    assert.match(res.json.message, /only 0 of 1 Drillbits came ONLINE within 300 ms/);
  });
});

// The local scheduler's pid for a Drillbit (tests only: to crash it on purpose).
function pidOf(bit: Drillbit): number {
  const pids = jvmsMentioning(join(config.home, 'local', 'bits', bit.id, 'log'));
  assert.equal(pids.length, 1);
  return pids[0]!;
}
