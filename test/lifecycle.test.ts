// Queries as objects, end to end with real Drillbits: the registry routes, cancel in
// each state (DELETE and a client that goes away), Drill's own view of its running
// queries as the oracle, profiles after their Drillbit is gone, and reads that start
// nothing. One Drillbit, one query at a time on it (pool.queriesPerDrillbit 1), so a
// long query holds the only slot and the next one waits.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ensureTrips } from '../src/sample/trips.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import { resolveRuntime } from '../src/drill/install.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { Gateway } from '../src/server/gateway.js';
import { pino } from 'pino';
import { sleep } from '../src/util/process.js';
import { jvmsMentioning, testConfig } from './support/env.js';

const config = testConfig({ pool: { idleTimeoutMs: 600_000, startTimeoutMs: 240_000, maxDrillbits: 1, queriesPerDrillbit: 1 }, queries: { history: 5 } });
// 8 cities over ~200,000 rows: a self-join on city makes ~5e9 rows to count, minutes of work.
const LONG = 'SELECT COUNT(*) AS n FROM dfs.data.`trips` a JOIN dfs.data.`trips` b ON a.city = b.city';
const SHORT = 'SELECT * FROM sys.version';
let scheduler: LocalScheduler;
let gateway: Gateway;
const lines: string[] = [];

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

async function call(method: string, path: string, body?: unknown, base = gateway.url, signal?: AbortSignal): Promise<Answer> {
  const res = await request(base + path, {
    method: method as 'GET',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    headersTimeout: 0,
    bodyTimeout: 0,
    signal,
  });
  const text = await res.body.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, json, text };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The registry's entry for `sql` in the given list, once there. */
async function listed(list: 'running' | 'queued' | 'finished', sql: string, state?: string): Promise<any> {
  return until(`${sql} in ${list}`, async () => {
    const all = (await call('GET', '/v1/queries')).json;
    return all[list].find((q: { sql: string; state: string }) => q.sql === sql && (!state || q.state === state));
  });
}

const bit = (): Drillbit => gateway.pool.snapshot().drillbits.find((b) => b.state === 'ONLINE')!;
async function drillRunning(): Promise<string[]> {
  const b = bit();
  const profiles = await call('GET', '/profiles.json', undefined, `http://${b.host}:${b.httpPort}`);
  return profiles.json.runningQueries.map((q: { queryId: string }) => q.queryId);
}

before(async () => {
  await ensureTrips(join(config.dataDir, 'trips'), 8 * 2 ** 20);
  scheduler = new LocalScheduler(config, await resolveRuntime(config));
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  gateway = await Gateway.start(config, { scheduler, log });
});

after(async () => {
  await gateway?.stop({ drainMs: 1_000 });
  await scheduler?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
});

describe('query lifecycle with real Drill', () => {
  test('reads on an idle gateway start nothing: a /status.json poller, the cluster, storage; 503 in Drill\'s shape where only Drill answers', async () => {
    const until10s = Date.now() + 10_000;
    let polls = 0;
    while (Date.now() < until10s) {
      const status = await call('GET', '/status.json');
      assert.equal(status.status, 200);
      assert.deepEqual(status.json, { status: 'Running!' });
      polls++;
      await sleep(500);
    }
    const cluster = await call('GET', '/cluster.json');
    assert.deepEqual(cluster.json.drillbits, []);
    const storage = await call('GET', '/storage.json');
    assert.equal(storage.json[0].name, 'dfs');
    assert.ok(storage.json[0].config.workspaces.data);
    const options = await call('GET', '/options.json');
    assert.equal(options.status, 503);
    assert.match(options.json.errorMessage, /no Drillbit is running/);
    assert.ok(polls >= 15);
    assert.equal(gateway.pool.launches, 0, 'no read launched a Drillbit');
    assert.deepEqual(gateway.pool.snapshot().drillbits, []);
  });

  test("a Drill client with a 10 s read timeout gets its answer from a cold gateway (whitespace keeps the connection alive)", async () => {
    assert.equal(gateway.pool.snapshot().drillbits.length, 0, 'cold: no Drillbit yet');
    const t0 = Date.now();
    const res = await request(`${gateway.url}/query.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queryType: 'SQL', query: SHORT }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await res.body.text();
    const took = Date.now() - t0;
    assert.equal(res.statusCode, 200);
    const answer = JSON.parse(text);
    assert.equal(answer.queryState, 'COMPLETED', text.slice(0, 300));
    assert.equal(answer.rows.length, 1);
    // Only meaningful when the cold start outlasted the client's timeout.
    if (took > 10_000) assert.equal(res.headers['dromedar-keepalive'], 'whitespace');
    assert.ok(gateway.pool.launches >= 1);
  });

  test('a query is FINISHED in the registry with its sizing, Drillbit, rows, bytes and timings; headers tell the truth', async () => {
    const sql = 'SELECT id, city FROM dfs.data.`trips` LIMIT 1234';
    const res = await call('POST', '/query', { sql });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(res.json.queryState, 'COMPLETED');
    assert.equal(res.headers['dromedar-drillbits'], '1', 'the Drillbits ONLINE when Drill ran it');
    assert.equal(res.headers['dromedar-drillbits-sized'], '1');
    const id = res.headers['dromedar-gateway-query-id']!;
    const view = await until('the query ended', async () => {
      const v = (await call('GET', `/v1/queries/${id}`)).json;
      return v.state === 'FINISHED' && v.accuracy ? v : undefined;
    });
    assert.equal(view.drillQueryId, res.json.queryId);
    assert.equal(view.rows, 1234);
    assert.equal(view.bytes, Buffer.byteLength(res.text));
    assert.equal(view.drillbit.id, res.headers['dromedar-drillbit']);
    assert.equal(view.sizing.drillbits, 1);
    assert.equal(view.clusterDrillbits, 1);
    assert.equal(view.frontEnd, 'query');
    assert.ok(view.durations.total >= view.durations.drill);
    // CSV: Drill's text scan reports no bytes; the accuracy says so rather than inventing a ratio.
    assert.equal(view.accuracy.estimate, view.sizing.bytes);
    assert.equal(view.accuracy.comparable, false);
    const list = (await call('GET', '/v1/queries')).json;
    assert.equal(list.finished[0].id, id);
    // /query.json is a view over the same registry.
    const drill = await call('POST', '/query.json', { queryType: 'SQL', query: SHORT });
    assert.equal(drill.json.queryState, 'COMPLETED');
    assert.equal((await call('GET', `/v1/queries/${drill.headers['dromedar-gateway-query-id']}`)).json.frontEnd, 'drill');
  });

  test('unknown id: 404; a finished query: 409 with its final state', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await call(method, '/v1/queries/no-such-query');
      assert.equal(res.status, 404);
      assert.equal(res.json.error, 'unknown_query');
    }
    const done = (await call('GET', '/v1/queries')).json.finished[0];
    const res = await call('DELETE', `/v1/queries/${done.id}`);
    assert.equal(res.status, 409);
    assert.match(res.json.message, /already ended FINISHED/);
  });

  test('a client that disconnects from a long query: CANCELED in the registry and gone from Drill within 2 s, the slot free', async () => {
    const abort = new AbortController();
    const client = call('POST', '/query', { sql: LONG }, gateway.url, abort.signal).catch((err: Error) => err);
    const running = await listed('running', LONG);
    // Drill is at work (it sends nothing before its first batch).
    await until('Drill runs it', async () => ((await drillRunning()).length > 0 ? true : undefined));
    const t0 = Date.now();
    abort.abort();
    assert.ok((await client) instanceof Error);
    const ended = await until('CANCELED', async () => {
      const v = (await call('GET', `/v1/queries/${running.id}`)).json;
      return v.state === 'CANCELED' ? v : undefined;
    });
    assert.ok(ended.drillQueryId, 'the Drill query id was found for the cancel');
    await until('gone from Drill', async () => (!(await drillRunning()).includes(ended.drillQueryId) ? true : undefined), 2_000 - (Date.now() - t0));
    assert.ok(Date.now() - t0 <= 2_000, `cancelled in Drill in ${Date.now() - t0} ms`);
    assert.equal(ended.cancelReason, 'the client went away');
    // The only slot is free: the next query runs.
    const next = await call('POST', '/query', { sql: SHORT });
    assert.equal(next.json.queryState, 'COMPLETED');
    assert.ok(lines.some((l) => l.includes('"event":"cancel"') && l.includes(running.id)), 'one log line per cancel');
  });

  test('DELETE of a queued and of a running query', async () => {
    const long = call('POST', '/query', { sql: LONG });
    const running = await listed('running', LONG);
    await until('Drill runs it', async () => ((await drillRunning()).length > 0 ? true : undefined));
    const waiting = call('POST', '/query', { sql: SHORT });
    const queued = await listed('queued', SHORT, 'QUEUED');

    const dq = await call('DELETE', `/v1/queries/${queued.id}`);
    assert.equal(dq.status, 200, dq.text);
    assert.equal(dq.json.drill, 'not-sent');
    const waited = await waiting;
    assert.equal(waited.status, 409);
    assert.equal(waited.json.error, 'cancelled');
    assert.equal((await call('GET', `/v1/queries/${queued.id}`)).json.state, 'CANCELED');

    const t0 = Date.now();
    const dr = await call('DELETE', `/v1/queries/${running.id}`);
    assert.equal(dr.status, 200, dr.text);
    assert.equal(dr.json.drill, 'cancelled', dr.json.message);
    const view = (await call('GET', `/v1/queries/${running.id}`)).json;
    assert.equal(view.state, 'CANCELED');
    await until('gone from Drill', async () => (!(await drillRunning()).includes(view.drillQueryId) ? true : undefined), 2_000 - (Date.now() - t0));
    const client = await long;
    assert.equal(client.status, 409);
    const next = await call('POST', '/query', { sql: SHORT });
    assert.equal(next.json.queryState, 'COMPLETED');
    // The query is cancelled now: a second DELETE is a 409.
    assert.equal((await call('DELETE', `/v1/queries/${running.id}`)).status, 409);
  });

  test("a profile is readable after its Drillbit was drained (the cluster's shared profile store)", async () => {
    const res = await call('POST', '/query', { sql: 'SELECT COUNT(*) AS n FROM dfs.data.`trips`' });
    const id = res.json.queryId as string;
    assert.equal((await call('GET', `/profiles/${id}.json`)).json.queryId ?? id, id);
    const old = bit();
    await scheduler.drain(old.id);
    await until('no Drillbit', async () => ((await scheduler.list()).some((b) => b.state === 'ONLINE') ? undefined : true), 120_000, 250);
    await gateway.pool.refresh();
    const launches = gateway.pool.launches;
    const stored = await call('GET', `/profiles/${id}.json`);
    assert.equal(stored.status, 200, stored.text.slice(0, 300));
    assert.match(stored.text, new RegExp(id));
    assert.equal(gateway.pool.launches, launches, 'reading a profile starts nothing');
    // A new Drillbit reads the same store.
    assert.equal((await call('POST', '/query', { sql: SHORT })).json.queryState, 'COMPLETED');
    const fresh = bit();
    assert.notEqual(fresh.id, old.id);
    const direct = await call('GET', `/profiles/${id}.json`, undefined, `http://${fresh.host}:${fresh.httpPort}`);
    assert.equal(direct.status, 200, direct.text.slice(0, 300));
    assert.match(direct.text, new RegExp(id));
  });
});
