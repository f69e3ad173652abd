// Marathon's bad answers, each one readable line with what to do, never a tight retry
// loop: a non-leader's 502 HTML page, 503 during an election, a Marathon that accepts and
// never answers, redirects to the leader. On the Marathon TEST DOUBLE (not Marathon); no
// Drillbit starts here (tasks are held in TASK_STAGING), so this file is quick.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Config } from '../src/config/load.js';
import { MarathonScheduler } from '../src/schedulers/marathon/marathon-scheduler.js';
import { DromedarError } from '../src/util/errors.js';
import { testConfig } from './support/env.js';
import { MarathonDouble } from './support/marathon-double.js';

const APP = `/dromedar-errors-${process.pid}/drillbits`;
let dir: string;
let base: ReturnType<typeof testConfig>;
const doubles: MarathonDouble[] = [];
const schedulers: MarathonScheduler[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dromedar-marathon-errors-'));
  base = testConfig();
});

after(async () => {
  for (const s of schedulers) await s.stop().catch(() => {});
  for (const d of doubles) await d.close();
  base?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function double(options: Partial<ConstructorParameters<typeof MarathonDouble>[0]> = {}): Promise<MarathonDouble> {
  const d = new MarathonDouble({ workDir: join(dir, `double-${doubles.length}`), instances: 2, ...options });
  await d.start();
  d.holdStaging(APP);
  doubles.push(d);
  return d;
}

function scheduler(settings: Partial<Config['scheduler']['marathon']>, logs: string[]): MarathonScheduler {
  const config: Config = {
    ...base,
    scheduler: { ...base.scheduler, kind: 'marathon', marathon: { ...base.scheduler.marathon, appId: APP, heap: '512M', directMemory: '1G', mem: 2048, requestRetryMs: 3_000, ...settings } },
  };
  const s = new MarathonScheduler(config, { log: (l) => logs.push(l), events: false });
  schedulers.push(s);
  return s;
}

test("a non-leader's 502 HTML page: one line naming the page, retried with backoff, then a clear error", async () => {
  const d = await double({ nonLeader: 'html502' });
  const logs: string[] = [];
  const s = scheduler({ url: d.urlOf(1) }, logs);
  const started = Date.now();
  await assert.rejects(s.start(), (err: unknown) => {
    assert.ok(err instanceof DromedarError && err.code === 'marathon_no_leader', String(err));
    assert.match(err.message, /answered 502 to GET \/v2\/.*an HTML page "Error 502 Bad Gateway".*check that Marathon is up and has elected a leader/);
    assert.ok(!err.message.includes('<html') && !err.message.includes('\n'), 'one line, no HTML');
    return true;
  });
  const elapsed = Date.now() - started;
  const asked = d.requests.filter((r) => r.instance === 1).length;
  assert.ok(asked <= 12, `backoff, not a tight loop: ${asked} requests in ${elapsed} ms`);
  assert.ok(logs.length <= 2 && logs.every((l) => !l.includes('<html')), `at most a line or two: ${logs.join(' | ')}`);
});

test('the same Marathons with the leader among them: the 502 is skipped and the leader answers', async () => {
  const d = await double({ nonLeader: 'html502' });
  const logs: string[] = [];
  const s = scheduler({ url: d.urlOf(1), urls: [d.urlOf(0)] }, logs);
  await s.start();
  await s.launch(1);
  assert.equal((await s.client.app(APP))?.instances, 1);
  assert.ok(d.requests.some((r) => r.instance === 0 && r.method === 'POST' && r.status === 201), 'created through the leader');
});

test('a non-leader that redirects: followed, with the credentials kept for the same host', async () => {
  const d = await double({ nonLeader: 'redirect', auth: { users: { u: 'p-redirect' } } });
  const s = scheduler({ url: d.urlOf(1), user: 'u', password: 'p-redirect' }, []);
  await s.start();
  await s.launch(1);
  assert.ok(d.requests.some((r) => r.instance === 1 && r.status === 307));
  assert.ok(d.requests.some((r) => r.instance === 0 && r.method === 'POST' && r.status === 201));
});

test('during an election (503 everywhere) a change waits with backoff and goes through once a leader is elected', async () => {
  const d = await double();
  const logs: string[] = [];
  const s = scheduler({ url: d.urlOf(0), urls: [d.urlOf(1)], requestRetryMs: 20_000 }, logs);
  await s.start();
  const electionAt = Date.now();
  const election = d.failover(1, { gapMs: 3_000 });
  await s.launch(1);
  await election;
  assert.ok(Date.now() - electionAt >= 2_900, 'it waited for the election');
  const during = d.requests.filter((r) => r.at >= electionAt && r.at < electionAt + 3_000);
  assert.ok(during.length <= 16, `${during.length} requests in the 3 s without a leader`);
  assert.ok(logs.some((l) => /answered 503 .*Could not determine the current leader; retrying in/.test(l)), logs.join(' | '));
  assert.ok(logs.some((l) => /Marathon answers again/.test(l)));
  assert.equal((await s.client.app(APP))?.instances, 1);
});

test('a Marathon that accepts and never answers: a timeout error that says so', async () => {
  const silent: Server = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  try {
    const s = scheduler({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 500, requestRetryMs: 1_000 }, []);
    await assert.rejects(s.start(), (err: unknown) => {
      assert.ok(err instanceof DromedarError && err.code === 'marathon_unreachable', String(err));
      assert.match(err.message, new RegExp(`Marathon at http://127\\.0\\.0\\.1:${port} did not answer GET /v2/.* within 0\\.5 s`));
      return true;
    });
  } finally {
    silent.close();
  }
});
