// Faults with real parts: a Drillbit killed in the middle of a query, the gateway
// killed and restarted, ZooKeeper killed under load, and many clients at once.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { DrillClient } from '../src/drill/client.js';
import { resolveRuntime } from '../src/drill/install.js';
import { ensureTrips } from '../src/sample/trips.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { Gateway } from '../src/server/gateway.js';
import { readJsonFile } from '../src/util/files.js';
import { createLogger } from '../src/util/log.js';
import { isAlive, signal, sleep } from '../src/util/process.js';
import { cliEnv, startUp } from './support/cli.js';
import { jvmsMentioning, testConfig } from './support/env.js';

const TRIPS = 'dfs.data.`trips`';
const GROUPED = `SELECT city, COUNT(*) AS n, SUM(CAST(fare AS DOUBLE)) AS fare FROM ${TRIPS} GROUP BY city`;

async function post(url: string, body: unknown): Promise<{ status: number; headers: Record<string, string>; json: any }> {
  const res = await request(`${url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = { unparsable: text.slice(0, 200) };
  }
  return { status: res.statusCode, headers: res.headers as Record<string, string>, json };
}

async function pidOf(home: string, bit: Drillbit): Promise<number> {
  const record = await readJsonFile<{ pid: number }>(join(home, 'local', 'bits', bit.id, 'drillbit.json'));
  assert.ok(record);
  return record.pid;
}

describe('a Drillbit dies in the middle of a query', () => {
  const config = testConfig({ pool: { idleTimeoutMs: 600_000, maxDrillbits: 2 } });
  let scheduler: LocalScheduler;
  let gateway: Gateway;
  let expected: unknown;

  before(async () => {
    await ensureTrips(join(config.dataDir, 'trips'), 150 * 2 ** 20);
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
    gateway = await Gateway.start(config, { scheduler, log: createLogger('silent') });
    const first = await post(gateway.url, { sql: GROUPED });
    assert.equal(first.json.queryState, 'COMPLETED');
    assert.equal(first.headers['dromedar-drillbits'], '2');
    expected = sortRows(first.json.rows);
  });

  after(async () => {
    await gateway.stop();
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, []);
  });

  for (const role of ['a Drillbit running fragments', 'the foreman'] as const) {
    test(`killing ${role} mid-query: the read-only query is re-run once on the healed cluster`, async () => {
      const running = post(gateway.url, { sql: GROUPED });
      const victim = await findBit(scheduler, role === 'the foreman' ? 'foreman' : 'worker');
      signal(await pidOf(config.home, victim), 'SIGKILL', false);
      const res = await running;
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.queryState, 'COMPLETED', res.json.errorMessage);
      assert.equal(res.headers['dromedar-retried'], '1');
      assert.deepEqual(sortRows(res.json.rows), expected);
      const bits = await scheduler.list();
      assert.equal(bits.filter((b) => b.state === 'ONLINE').length, 2, 'the pool is back at its size');
      assert.ok(!bits.some((b) => b.id === victim.id));
    });
  }

  test('a Drillbit shut down out of band is replaced, the event says why, and the log has no storm', async () => {
    const lines: string[] = [];
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start(config, { scheduler, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }) });
    // The pool's own view (the scheduler still lists a Drillbit killed earlier until the pool stops it).
    const ready = Date.now() + 240_000;
    const up = () => gateway.pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE');
    while (up().length < 2 && Date.now() < ready) await sleep(200);
    const [victim] = up();
    assert.ok(victim, 'two Drillbits ONLINE before the shutdown');
    const started = Date.now();
    // Drill's own shutdown, asked of the Drillbit directly: the gateway did not ask for it.
    await DrillClient.at(victim!.host, victim!.httpPort).gracefulShutdown();
    const deadline = Date.now() + 240_000;
    const online = () => gateway.pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE' && b.id !== victim!.id).length;
    while (online() < 2 && Date.now() < deadline) await sleep(200);
    assert.equal(online(), 2, 'a replacement came ONLINE');
    const reasons = gateway.pool.snapshot().events.map((e) => e.reason);
    const lost = reasons.find((r) => r.startsWith(victim!.id));
    assert.match(
      lost ?? '',
      new RegExp(`^${victim!.id} (left ONLINE without being asked \\((Drill reports it (QUIESCENT|OFFLINE)|not \\(or no longer\\) registered in Drill)\\)|exited \\((exit code \\d+|signal \\w+)\\) without being stopped by the gateway)`),
      reasons.join('\n'),
    );
    assert.ok(reasons.some((r) => r.startsWith(`replacing ${victim!.id}`)), reasons.join('\n'));
    const scale = lines.filter((l) => l.includes('"event":"scale"'));
    assert.ok(scale.length <= 3, `${scale.length} scale lines in ${Date.now() - started} ms:\n${scale.join('')}`);
  });

  test('with retries off the client gets a clear error instead', async () => {
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start({ ...config, retries: 0 }, { scheduler, log: createLogger('silent') });
    const running = post(gateway.url, { sql: GROUPED });
    const victim = await findBit(scheduler, 'worker');
    signal(await pidOf(config.home, victim), 'SIGKILL', false);
    const res = await running;
    assert.ok(res.status === 502 || res.json.queryState === 'FAILED', JSON.stringify(res.json));
    assert.match(JSON.stringify(res.json), /errorMessage|drill_/);
  });

  // Drill's REST API cannot report a failure once rows are flowing; its answer just stops.
  test('a Drillbit lost after the first row: the client sees a cut-short transfer, never a clean end, and the log says why', async () => {
    const warnings: string[] = [];
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start({ ...config, retries: 0 }, { scheduler, log: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }) });
    const res = await request(`${gateway.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: `SELECT id, city, fare FROM ${TRIPS}` }),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    assert.equal(res.statusCode, 200);
    const body = res.body[Symbol.asyncIterator]();
    const first = await body.next();
    assert.match(String(first.value), /"queryId"/);
    // Unread, the answer holds Drill back (backpressure): the query is still running. Its
    // foreman is killed (a Drillbit that only runs fragments makes Drill end the answer
    // with queryState FAILED instead: well-formed, so passed on as it is).
    const foreman = (await scheduler.list()).find((b) => b.id === res.headers['dromedar-drillbit']);
    assert.ok(foreman, `the foreman ${String(res.headers['dromedar-drillbit'])} is running`);
    signal(await pidOf(config.home, foreman), 'SIGKILL', false);
    let text = String(first.value);
    await assert.rejects(async () => {
      for (let next = await body.next(); !next.done; next = await body.next()) text = String(next.value).slice(-300);
    }, 'the transfer must fail, not end');
    assert.doesNotMatch(text, /"queryState"/);
    assert.ok(
      warnings.some((line) => line.includes('ended without a queryState')),
      `the gateway logs the cut-short answer: ${warnings.join('')}`,
    );
  });
});

// While a query runs: the foreman has it as a query, the other Drillbit only fragments.
async function findBit(scheduler: LocalScheduler, role: 'foreman' | 'worker'): Promise<Drillbit> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const bit of (await scheduler.list()).filter((b) => b.state === 'ONLINE')) {
      const counts = await DrillClient.at(bit.host, bit.httpPort).queriesCount().catch(() => null);
      if (!counts) continue;
      if (role === 'foreman' && counts.queriesCount > 0) return bit;
      if (role === 'worker' && counts.queriesCount === 0 && counts.fragmentsCount > 0) return bit;
    }
    await sleep(50);
  }
  throw new Error(`no ${role} found`);
}

/** The pids `read` gives now and again after `ms`. */
async function lastingProcesses(read: () => number[], ms: number): Promise<number[]> {
  const first = read();
  await sleep(ms);
  const second = new Set(read());
  return first.filter((pid) => second.has(pid));
}

function describeProcesses(pids: number[]): string {
  const line = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 300);
    } catch {
      return '(gone)';
    }
  };
  return pids.map((pid) => `${pid}: ${line(pid)}`).join('; ') || 'none extra';
}

function sortRows(rows: { city: string }[]): unknown {
  return [...rows].sort((a, b) => a.city.localeCompare(b.city));
}

describe('the gateway is killed and started again', () => {
  const config = testConfig();
  const env = cliEnv(config.home);
  // Gateways this test started: a failed assertion must not leave one running (it would
  // restart its ZooKeeper for ever).
  const gateways: { kill(signal: NodeJS.Signals): boolean }[] = [];

  after(() => {
    for (const child of gateways) child.kill('SIGKILL');
    const left = jvmsMentioning(config.home);
    for (const pid of left) signal(pid, 'SIGKILL', false);
    config.cleanup();
    assert.deepEqual(left, []);
  });

  test('the new gateway adopts the running Drillbit and ZooKeeper, launches nothing, and answers', async () => {
    const first = await startUp(env, '--idle-timeout', '600000');
    gateways.push(first.child);
    const before = await post(first.url, { sql: 'SELECT * FROM sys.version' });
    assert.equal(before.json.queryState, 'COMPLETED');
    const jvms = jvmsMentioning(config.home);
    assert.equal(jvms.length, 2, 'one Drillbit and ZooKeeper');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    assert.ok(jvms.every(isAlive), 'a SIGKILLed gateway cannot stop its JVMs; the next one must deal with them');

    const second = await startUp(env, '--idle-timeout', '600000');
    gateways.push(second.child);
    try {
      assert.match(second.output(), /adopted bit-1/);
      assert.match(second.output(), /reusing ZooKeeper/);
      const after = await post(second.url, { sql: 'SELECT COUNT(*) AS n FROM sys.drillbits' });
      assert.equal(after.json.queryState, 'COMPLETED');
      assert.equal(after.json.rows[0].n, 1);
      const cluster = (await request(`${second.url}/v1/cluster`).then((r) => r.body.json())) as { events: unknown[] };
      assert.deepEqual(cluster.events, [], 'no scale-up was needed');
      // A process that lives a moment only (a JVM's child between fork and exec still shows
      // the JVM's command line) is not a duplicate: count those still there a second later.
      const settled = await lastingProcesses(() => jvmsMentioning(config.home), 1_000);
      assert.deepEqual(settled.sort(), [...jvms].sort(), `no duplicate launched: ${describeProcesses(settled.filter((pid) => !jvms.includes(pid)))}`);
    } finally {
      second.child.kill('SIGINT');
      await new Promise((resolve) => second.child.once('exit', resolve));
    }
    assert.deepEqual(jvmsMentioning(config.home), []);
  });
});

describe('ZooKeeper outage and load', () => {
  const config = testConfig({ pool: { idleTimeoutMs: 5_000, maxDrillbits: 2, queueLimit: 100 } });
  let scheduler: LocalScheduler;
  let gateway: Gateway;

  before(async () => {
    await ensureTrips(join(config.dataDir, 'trips'), 150 * 2 ** 20);
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
    gateway = await Gateway.start(config, { scheduler, log: createLogger('silent') });
  });

  after(async () => {
    await gateway.stop();
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, []);
  });

  test('ZooKeeper killed under load: clear errors during the outage, success after, the gateway stays up', async () => {
    assert.equal((await post(gateway.url, { sql: 'SELECT * FROM sys.version' })).json.queryState, 'COMPLETED');
    const zkPid = scheduler.pids().at(-1)!;
    const outcomes: string[] = [];
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const res = await post(gateway.url, { sql: `SELECT COUNT(*) AS n FROM ${TRIPS} WHERE dir0 = '2023'`, qsf: 1000 });
        // Every answer is either rows or a readable error.
        assert.ok(res.json.queryState === 'COMPLETED' || typeof (res.json.errorMessage ?? res.json.message) === 'string', JSON.stringify(res.json));
        outcomes.push(res.json.queryState ?? res.json.error);
      }
    })();
    await sleep(1_000);
    signal(zkPid, 'SIGKILL', false);
    await sleep(15_000);
    stop = true;
    await load;
    assert.notEqual(scheduler.pids().at(-1), zkPid, 'ZooKeeper was restarted');
    const res = await post(gateway.url, { sql: `SELECT COUNT(*) AS n FROM ${TRIPS} WHERE dir0 = '2023'` });
    assert.equal(res.json.queryState, 'COMPLETED', res.json.errorMessage);
    assert.ok(outcomes.length > 0);
    assert.equal((await request(`${gateway.url}/healthz`)).statusCode, 200);
  });

  test('50 clients mixing small and large queries: no unexpected errors, the cap holds, no thrashing', async () => {
    const latencies: number[] = [];
    const failures: string[] = [];
    let maxSeen = 0;
    const deadline = Date.now() + 30_000;
    const sampler = (async () => {
      while (Date.now() < deadline) {
        maxSeen = Math.max(maxSeen, (await scheduler.list()).filter((b) => b.state !== 'FAILED').length);
        await sleep(200);
      }
    })();
    const eventsBefore = gateway.pool.snapshot().events.length;
    const client = async (i: number) => {
      while (Date.now() < deadline) {
        const large = i % 5 === 0;
        const sql = large ? `SELECT COUNT(*) AS n FROM ${TRIPS}` : `SELECT COUNT(*) AS n FROM ${TRIPS} WHERE dir0 = '${2022 + (i % 4)}'`;
        const started = performance.now();
        const res = await post(gateway.url, { sql, qsf: large ? 100 : 1000 });
        latencies.push(performance.now() - started);
        if (res.json.queryState !== 'COMPLETED') failures.push(JSON.stringify(res.json).slice(0, 200));
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => client(i)));
    await sampler;
    latencies.sort((a, b) => a - b);
    const p = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
    const events = gateway.pool.snapshot().events.length - eventsBefore;
    console.log(`load: ${latencies.length} queries by 50 clients in 30 s; p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; ${events} scale events; max ${maxSeen} Drillbits`);
    assert.deepEqual(failures, []);
    assert.ok(maxSeen <= 2, `never more than maxDrillbits (saw ${maxSeen})`);
    assert.ok(events <= 6, `bounded scale events (saw ${events})`);
  });
});
