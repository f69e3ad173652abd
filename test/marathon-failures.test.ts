// The Marathon scheduler against Marathon's failure modes, staged by the Marathon TEST
// DOUBLE (test/support/marathon-double.ts: not Marathon; it runs real Drillbits on this
// machine, on three "agents" 127.0.0.1-3 with finite memory, behind three Marathon
// instances of which one leads). One ZooKeeper and one Drillbits app for the file; the
// tests run in order and hand the cluster on:
//   offers -> health check vs linger -> events and request rate -> leader failover ->
//   rolling restart -> gateway restart.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../src/config/load.js';
import { DrillClient } from '../src/drill/client.js';
import { DrillObserver } from '../src/drill/observer.js';
import { resolveRuntime } from '../src/drill/install.js';
import { EmbeddedZooKeeper } from '../src/schedulers/local/zookeeper.js';
import { MarathonScheduler } from '../src/schedulers/marathon/marathon-scheduler.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { sleep } from '../src/util/process.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { MarathonDouble } from './support/marathon-double.js';

type Settings = Config['scheduler']['marathon'];
const APP = `/dromedar-failures-${process.pid}/drillbits`;
// One Drillbit task: 2048 MB. Agents hold 2500 MB: one Drillbit each.
const AGENT_MEM = 2500;

describe('Marathon scheduler against Marathon failure modes (on the Marathon TEST DOUBLE, real Drillbits)', () => {
  let base: ReturnType<typeof testConfig>;
  let zookeeper: EmbeddedZooKeeper;
  let zkConnect: string;
  let drillHome: string;
  let double: MarathonDouble;
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const schedulers: MarathonScheduler[] = [];

  const configWith = (settings: Partial<Settings> = {}): Config => ({
    ...base,
    scheduler: {
      ...base.scheduler,
      kind: 'marathon',
      marathon: {
        ...base.scheduler.marathon,
        url: double.urlOf(0),
        urls: [double.urlOf(1), double.urlOf(2)],
        user: 'dromedar',
        password: 'pw-failures',
        appId: APP,
        zkConnect,
        drillHome,
        clusterId: `failures-${process.pid}`,
        heap: '512M',
        directMemory: '1G',
        mem: 2048,
        cpus: 0.5,
        bindAddress: '$HOST',
        constraints: [['hostname', 'UNIQUE']],
        healthCheck: { protocol: 'MESOS_HTTP', gracePeriodSeconds: 120, intervalSeconds: 2, timeoutSeconds: 2, maxConsecutiveFailures: 3 },
        taskKillGracePeriodSeconds: 20,
        deploymentTimeoutMs: 120_000,
        requestRetryMs: 30_000,
        pollIntervalMs: 5_000,
        ...settings,
      },
    },
  });
  const gateway = async (settings: Partial<Settings> = {}): Promise<MarathonScheduler> => {
    const scheduler = new MarathonScheduler(configWith(settings), { log });
    schedulers.push(scheduler);
    await scheduler.start();
    return scheduler;
  };

  before(async () => {
    base = testConfig();
    const runtime = await resolveRuntime(base);
    drillHome = runtime.home;
    zookeeper = new EmbeddedZooKeeper(join(base.home, 'zookeeper'), runtime);
    zkConnect = await zookeeper.start();
    double = new MarathonDouble({
      workDir: join(base.home, 'marathon'),
      auth: { users: { dromedar: 'pw-failures' } },
      agents: ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((hostname) => ({ hostname, cpus: 2, mem: AGENT_MEM })),
      instances: 3,
      nonLeader: 'html502',
      stagingMs: 100,
    });
    await double.start();
  });

  after(async () => {
    for (const s of schedulers) await s.stop().catch(() => {});
    await double?.close();
    await zookeeper?.stop();
    const left = base ? jvmsMentioning(base.home) : [];
    base?.cleanup();
    assert.deepEqual(left, [], 'no Drillbit or ZooKeeper JVM of this test outlives it');
  });

  let scheduler: MarathonScheduler;

  test('instances waiting for offers: the reason is told, and a drain does not wait for them', { timeout: 180_000 }, async () => {
    // Two agents only for now: the third Drillbit has nowhere to go (mem, hostname UNIQUE).
    double.partition('127.0.0.3');
    scheduler = await gateway();
    await scheduler.launch(3);
    const online = await until(async () => online2(await scheduler.list(), 2), 150_000, '2 Drillbits ONLINE');
    const words = await until(async () => (await scheduler.list(), scheduler.placement()), 20_000, 'a placement reason');
    assert.match(words, /^2 of 3 Drillbits placed; 1 waiting for offers: /);
    assert.match(words, /insufficient mem \(a Drillbit needs 2048 MB: scheduler\.marathon\.mem\) on every agent/);
    assert.match(words, /constraints \[\["hostname","UNIQUE"\]\] not met/);
    // The scale-up deployment still holds the app; a drain must not wait for it.
    const [bit] = online;
    const started = Date.now();
    await new DrillObserver().retire(bit!);
    await until(async () => !(await scheduler.list()).some((b) => b.id === bit!.id && b.state === 'ONLINE'), 60_000, 'the drained Drillbit left ONLINE');
    await scheduler.stop(bit!.id);
    assert.ok(Date.now() - started < 60_000, 'the drain did not wait out the stuck deployment');
    assert.ok(logs.some((l) => /locked by this gateway's own deployment .*overriding it/.test(l)), 'its own stuck scale-up was overridden');
    const app = await scheduler.client.app(APP);
    assert.equal(app?.instances, 2, '3 asked, 1 drained: 2');
    // The freed agent takes the waiting instance.
    await until(async () => online2(await scheduler.list(), 2), 150_000, '2 Drillbits ONLINE again');
    await until(async () => (await scheduler.list(), scheduler.placement() === null), 20_000, 'nothing waits any more');
    double.partition('127.0.0.3', false);
  });

  test("a drained Drillbit's exit is no failure: its health check keeps passing and Marathon starts no replacement", { timeout: 120_000 }, async () => {
    const bits = online2(await scheduler.list(), 2);
    const victim = bits[0]!;
    const tasksBefore = (await scheduler.client.app(APP))!.tasks!.map((t) => t.id).sort();
    assert.ok(await new DrillObserver().retire(victim));
    // The gateway does not kill it yet (as if it were restarting): Drill exits, the task lingers.
    await until(async () => !(await drillOnline(bits[1]!)).includes(`${victim.host}:${victim.userPort}`), 60_000, 'Drill no longer lists it');
    // Three failed checks 2 s apart would kill it; wait well past that.
    await sleep(12_000);
    const app = await scheduler.client.app(APP);
    assert.deepEqual(app!.tasks!.map((t) => t.id).sort(), tasksBefore, 'no task killed, none added');
    const task = app!.tasks!.find((t) => t.id === victim.id)!;
    assert.equal(task.state, 'TASK_RUNNING');
    assert.ok(task.healthCheckResults?.every((h) => h.alive), 'the lingering task stays healthy');
    await scheduler.stop(victim.id);
    await until(async () => (await scheduler.client.app(APP))!.tasks!.length === 1, 40_000, 'the drained task is gone');
    assert.equal((await scheduler.client.app(APP))!.instances, 1, 'killed with scale=true: not replaced');
  });

  test('with the event stream up, the steady state costs < 1 request per 10 s; it falls back to polling when the stream drops, then returns', { timeout: 120_000 }, async () => {
    await until(async () => double.eventStreams > 0 && online2(await scheduler.list(), 1).length === 1, 30_000, 'the event stream attached');
    const from = Date.now();
    // The pool controller lists every 2 s at rest; list faster than that.
    while (Date.now() - from < 30_000) {
      await scheduler.list();
      await sleep(500);
    }
    const steady = apiRequests(from);
    console.log(`steady state: ${steady.length} Marathon requests in 30 s with events up (${(steady.length / 30).toFixed(3)}/s)`);
    assert.ok(steady.length < 3, `fewer than 3 requests in 30 s (saw ${steady.length}: ${steady.map((r) => `${r.method} ${r.path}`).join(', ')})`);

    double.refuseEvents();
    const downAt = Date.now();
    // A change Marathon makes on its own is still seen: polling took over.
    const [only] = online2(await scheduler.list(), 1);
    await raw('DELETE', `/v2/apps${APP}/tasks/${encodeURIComponent(only!.id)}`); // killed, Marathon replaces it
    await until(async () => (await scheduler.list()).some((b) => b.id === only!.id && b.state === 'FAILED'), 20_000, 'the kill seen by polling');
    await until(async () => online2(await scheduler.list(), 1).some((b) => b.id !== only!.id), 150_000, 'the replacement ONLINE');
    await scheduler.stop(only!.id);
    const polled = apiRequests(downAt);
    assert.ok(polled.length > 0, 'it polled');
    assert.ok(logs.some((l) => /event stream .*polling the app at a low rate/.test(l)), 'the fallback was logged once');
    await until(
      async () => {
        const app = (await scheduler.client.app(APP))!;
        return app.tasks!.length === app.instances && app.tasks!.every((t) => t.state === 'TASK_RUNNING') && (await scheduler.client.deployments()).length === 0;
      },
      60_000,
      'the app settled',
    );
    await scheduler.list();
    const quiet = Date.now();
    while (Date.now() - quiet < 10_000) {
      await scheduler.list();
      await sleep(500);
    }
    const requests = apiRequests(quiet);
    const seen = requests.map((r) => `${r.method} ${r.path} +${r.at - quiet} ms`).join(', ');
    // The app is read every pollIntervalMs (5 s): at most 3 reads in 10 s; beside them only
    // the reconnect attempts of the event stream (a leader lookup each, with backoff).
    const reads = requests.filter((r) => r.path.startsWith(`/v2/apps${APP}`));
    assert.ok(reads.length <= 3, `polling at a low rate (pollIntervalMs 5 s): ${reads.length} app reads in 10 s (${seen})`);
    assert.ok(requests.every((r) => r.path.startsWith(`/v2/apps${APP}`) || r.path.startsWith('/v2/leader')), seen);
    assert.ok(requests.length - reads.length <= 2, `reconnect attempts back off: ${seen}`);

    double.refuseEvents(false);
    await until(async () => double.eventStreams > 0, 70_000, 'the event stream came back');
    assert.ok(logs.some((l) => /event stream is back/.test(l)));
  });

  test('leader failover in the middle of a scale-up: the scale-up completes, one readable line per outage, no tight loop', { timeout: 200_000 }, async () => {
    const failoverAt = Date.now();
    const launching = scheduler.launch(1);
    // The leader dies; for 4 s no Marathon leads (503), then instance 1 does (instance 2 answers 502 HTML).
    void double.failover(1, { gapMs: 4_000, stopOld: true });
    await launching;
    await until(async () => online2(await scheduler.list(), 2).length === 2, 150_000, 'the second Drillbit ONLINE under the new leader');
    assert.equal((await scheduler.client.app(APP))!.instances, 2);
    const during = double.requests.filter((r) => r.at >= failoverAt && r.at <= failoverAt + 4_000);
    assert.ok(during.length <= 30, `backoff, not a tight loop: ${during.length} requests in the 4 s without a leader`);
    const outageLines = logs.filter((l) => /answered 50[23]|cannot reach Marathon/.test(l));
    assert.ok(outageLines.length >= 1 && outageLines.length <= 3, `one line per outage: ${outageLines.join(' | ')}`);
    assert.ok(outageLines.every((l) => !l.includes('<html')), 'no HTML in the log');
    await double.restartInstance(0);
  });

  test('an operator restarts the Drillbits app: the rolling restart completes, no query fails, the gateway does not fight it', { timeout: 240_000 }, async () => {
    await until(async () => (await scheduler.client.deployments()).length === 0 || null, 120_000, 'the scale-up deployment finished (its tasks healthy)');
    const old = online2(await scheduler.list(), 2).map((b) => b.id);
    const instances = (await scheduler.client.app(APP))!.instances;
    let stop = false;
    let queries = 0;
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        const online = (await scheduler.list()).filter((b) => b.state === 'ONLINE');
        if (online.length) {
          const bit = online[queries % online.length]!;
          const answer = await select(bit).catch((err) => `error: ${String(err)}`);
          if (answer !== 'ok' && (await scheduler.list()).some((b) => b.id === bit.id && b.state === 'ONLINE')) failures.push(`${bit.id}: ${answer}`);
          queries++;
        }
        await sleep(200);
      }
    })();
    try {
      // Three agents, two instances, hostname UNIQUE: Marathon starts one new task, kills an old one when it is healthy, and so on.
      await raw('POST', `/v2/apps${APP}/restart`);
      // What the pool does meanwhile: stop() the tasks it sees FAILED (Marathon killed them).
      await until(
        async () => {
          const bits = await scheduler.list();
          for (const b of bits.filter((x) => x.state === 'FAILED')) await scheduler.stop(b.id);
          const fresh = bits.filter((b) => b.state === 'ONLINE' && !old.includes(b.id));
          return fresh.length === 2 && (await scheduler.client.deployments()).length === 0;
        },
        220_000,
        'two new Drillbits ONLINE and the restart finished',
      );
    } finally {
      stop = true;
      await load.catch(() => {});
    }
    assert.equal((await scheduler.client.app(APP))!.instances, instances, 'instances as before: no kill with scale=true during the restart');
    assert.deepEqual(failures, [], `no query failed on an ONLINE Drillbit (${queries} run)`);
    assert.ok(queries > 10, `queries ran throughout (${queries})`);
  });

  test('a gateway restart under load leaves the Drillbits alone: the next gateway adopts them, none is killed', { timeout: 120_000 }, async () => {
    const running = online2(await scheduler.list(), 2);
    const ids = running.map((b) => b.id).sort();
    const stoppedAt = Date.now();
    const inFlight = running.map((b) => select(b, 'SELECT count(*) AS n FROM sys.options'));
    await scheduler.stop(); // SIGTERM of the gateway
    const next = await gateway();
    const adopted = online2(await until(async () => next.list().then((b) => (online2(b, 2).length === 2 ? b : null)), 30_000, 'adopted ONLINE'), 2);
    assert.deepEqual(adopted.map((b) => b.id).sort(), ids, 'the same Drillbits');
    assert.deepEqual(await Promise.all(inFlight), ['ok', 'ok'], 'queries running across the restart finished');
    const changes = double.requests.filter((r) => r.at >= stoppedAt && r.method !== 'GET');
    assert.deepEqual(changes, [], 'no scale to 0, no kill: only reads');
    assert.ok(logs.some((l) => l.startsWith(`leaving Marathon app ${APP}`)));
    scheduler = next;
  });

  // ---- helpers ----------------------------------------------------------------------------

  function online2(bits: Drillbit[], n: number): Drillbit[] {
    const online = bits.filter((b) => b.state === 'ONLINE');
    return online.length >= n ? online : [];
  }

  function apiRequests(since: number) {
    return double.requests.filter((r) => r.at >= since && !r.path.startsWith('/v2/events'));
  }

  async function raw(method: 'POST' | 'DELETE', path: string): Promise<void> {
    const res = await fetch(double.urlOf(double.leaderIndex ?? 0) + path, { method, headers: { authorization: `Basic ${Buffer.from('dromedar:pw-failures').toString('base64')}` } });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.text()}`);
  }
});

async function select(bit: Drillbit, query = 'SELECT 1 AS x FROM (VALUES (1))'): Promise<string> {
  const res = await DrillClient.at(bit.host, bit.httpPort).query({ queryType: 'SQL', query });
  const body = (await res.body.json()) as { queryState?: string; errorMessage?: string };
  return body.queryState === 'COMPLETED' ? 'ok' : `${body.queryState}: ${body.errorMessage ?? ''}`.slice(0, 200);
}

async function drillOnline(bit: Drillbit): Promise<string[]> {
  const view = await new DrillObserver().cluster([bit]);
  return (view ?? []).filter((d) => d.state === 'ONLINE').map((d) => `${d.address}:${d.userPort}`);
}

async function until<T>(check: () => Promise<T | null | false | undefined | '' | 0>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value && !(Array.isArray(value) && value.length === 0)) return value as T;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(300);
  }
}
