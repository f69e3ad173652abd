// The local scheduler against real Drillbits and a real ZooKeeper: one cluster for
// the whole file, scaled and drained by the tests in turn.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DrillClient } from '../src/drill/client.js';
import { resolveRuntime, type DrillRuntime } from '../src/drill/install.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { sleep } from '../src/util/process.js';
import { drain, jvmsMentioning, testConfig, waitOnline } from './support/env.js';

const config = testConfig();
let runtime: DrillRuntime;
let scheduler: LocalScheduler;

async function sql(bit: Drillbit, query: string): Promise<{ queryState: string; rows: Record<string, unknown>[]; errorMessage?: string }> {
  const res = await DrillClient.at(bit.host, bit.httpPort).query({ queryType: 'SQL', query });
  return (await res.body.json()) as { queryState: string; rows: Record<string, unknown>[] };
}

before(async () => {
  runtime = await resolveRuntime(config);
  scheduler = new LocalScheduler(config, runtime);
  await scheduler.start();
});

after(async () => {
  await scheduler?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
});

describe('local scheduler with real Drillbits', () => {
  test('two Drillbits come ONLINE with their own ports and see each other', async () => {
    await scheduler.launch(2);
    const online = await waitOnline(scheduler, 2);
    assert.equal((await scheduler.list()).length, 2);
    const ports = online.flatMap((b) => [b.userPort, b.controlPort, b.dataPort, b.httpPort]);
    assert.equal(new Set(ports).size, 8, 'every port is distinct');
    const result = await sql(online[0]!, 'SELECT * FROM sys.drillbits');
    assert.equal(result.queryState, 'COMPLETED');
    assert.equal(result.rows.length, 2);
    assert.deepEqual(new Set(result.rows.map((r) => r.user_port)), new Set(online.map((b) => b.userPort)));
  });

  test('a query over a generated dataset in the dfs workspace', async () => {
    const dir = join(config.dataDir, 'people');
    mkdirSync(dir, { recursive: true });
    const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: i, age: i % 90 }));
    writeFileSync(join(dir, 'a.json'), lines.slice(0, 500).join('\n'));
    writeFileSync(join(dir, 'b.json'), lines.slice(500).join('\n'));
    const [bit] = await waitOnline(scheduler, 2);
    const result = await sql(bit!, 'SELECT COUNT(*) AS n, SUM(age) AS s FROM dfs.data.`people`');
    assert.equal(result.queryState, 'COMPLETED', result.errorMessage);
    assert.equal(result.rows[0]!.n, 1000);
    assert.equal(result.rows[0]!.s, lines.reduce((sum, _, i) => sum + (i % 90), 0));
  });

  test('workspaces are confined to the data folder', async () => {
    const [bit] = await waitOnline(scheduler, 1);
    const result = await sql(bit!, 'SELECT * FROM dfs.`/etc/passwd`');
    assert.equal(result.queryState, 'FAILED');
  });

  test('draining one Drillbit leaves the other serving queries', async () => {
    const [keep, drop] = await waitOnline(scheduler, 2);
    await drain(scheduler, drop!.id);
    const left = await scheduler.list();
    assert.deepEqual(left.map((b) => b.id), [keep!.id]);
    const result = await sql(keep!, 'SELECT COUNT(*) AS n FROM sys.drillbits');
    assert.equal(result.rows[0]!.n, 1);
  });

  test('a restarted gateway adopts the running Drillbits and ZooKeeper instead of launching new ones', async () => {
    const before = await waitOnline(scheduler, 1);
    const second = new LocalScheduler(config, runtime);
    await second.start();
    const adopted = await second.list();
    assert.deepEqual(adopted.map((b) => [b.id, b.state]), before.map((b) => [b.id, 'ONLINE']));
    assert.equal((await second.list()).length, 1, 'no duplicate launch');
    assert.equal(second.zkConnect, scheduler.zkConnect, 'ZooKeeper reused');
  });

  test('a Drillbit that cannot start is reported FAILED with its log, not waited on', async () => {
    const broken = new LocalScheduler(
      { ...config, scheduler: { ...config.scheduler, local: { ...config.scheduler.local, jvmOptions: ['-XX:+NoSuchJvmFlag'] } } },
      runtime,
    );
    await broken.start(); // adopts the running Drillbit of this home
    const healthy = (await broken.list()).length;
    await broken.launch(1);
    const deadline = Date.now() + 60_000;
    let failed: Drillbit | undefined;
    while (!failed && Date.now() < deadline) {
      failed = (await broken.list()).find((b) => b.state === 'FAILED');
      if (!failed) await sleep(300);
    }
    assert.ok(failed, 'the broken Drillbit is reported FAILED');
    assert.match(failed.failure ?? '', /NoSuchJvmFlag/);
    await broken.stop(failed.id);
    assert.equal((await broken.list()).length, healthy, 'a stopped Drillbit is forgotten');
  });
});
