// marathon-python (PyPI `marathon` 0.13.0, the client the original Dromedar used) drives
// the Marathon TEST DOUBLE as a real client would: several server URLs (a dead one, a
// non-leader that proxies, the leader), ids with and without the leading slash,
// Python's `True`/`False` query booleans, /v2/info, /v2/leader, /v2/queue with the
// offer-matching reasons, a deployment cancelled (rollback), kills with scale=true
// (a gone task: 200, no-op), a rolling restart and the /v2/events stream. No Drill here:
// the tasks are `sleep`, so this file is quick.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { freePort } from '../src/util/net.js';
import { MarathonDouble } from './support/marathon-double.js';
import { pythonEnv, runPython, type PythonEnv } from './support/python.js';

const script = readFileSync(fileURLToPath(new URL('../../test/python/marathon_client.py', import.meta.url)), 'utf8');
let dir: string;
let double: MarathonDouble;
let python: PythonEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dromedar-marathon-python-'));
  double = new MarathonDouble({
    workDir: dir,
    auth: { users: { py: 'py-pw' } },
    agents: [{ hostname: '127.0.0.1', cpus: 2, mem: 1024 }, { hostname: '127.0.0.2', cpus: 2, mem: 1024 }],
    instances: 2,
    // Marathon's default: a non-leader proxies. (A 307 would lose the credentials: requests
    // drops Authorization on a redirect to another port.)
    nonLeader: 'proxy',
    stagingMs: 50,
  });
  await double.start();
  python = await pythonEnv('marathon-python', ['marathon==0.13.0']);
});

after(async () => {
  await double?.close();
  assert.deepEqual(double?.pids() ?? [], [], 'no task of the double outlives the test');
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('marathon-python agrees with the double: info, leader, queue reasons, rollback, kills, restart, events', { timeout: 240_000 }, async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const servers = [dead, double.urlOf(1), double.urlOf(0)].join(',');
  const result = await runPython(python, script, [servers, 'py:py-pw'], { timeoutMs: 200_000 });
  assert.equal(result.code, 0, `marathon-python failed:\n${result.stderr.split('\n').slice(-25).join('\n')}`);
  const out = JSON.parse(result.stdout.trim().split('\n').pop()!);
  assert.match(out.info.version, /^1\.10\./);
  assert.equal(out.info.master, 'zk://127.0.0.1:2181/mesos');
  assert.equal(out.info.zk, 'zk://127.0.0.1:2181/marathon');
  assert.equal(out.leader.leader, new URL(double.urlOf(0)).host, '/v2/leader names the leading instance');
  assert.equal(out.created_id, '/py-app');
  assert.equal(out.get_app_id, '/py-app', 'GET /v2/apps//py-app is /py-app');
  assert.deepEqual(out.hosts, ['127.0.0.1', '127.0.0.2'], 'hostname UNIQUE spreads the tasks');
  assert.equal(out.queue.count, 1, 'the third instance waits');
  assert.ok(out.queue.reasons.UnfulfilledConstraint > 0, `declined for the constraint: ${JSON.stringify(out.queue.reasons)}`);
  assert.equal(out.locked_kill, 409, 'a kill with scale=true while the scale-up holds the app is refused');
  assert.ok(out.rollback_has_id, 'DELETE /v2/deployments/{id} answers the rollback deployment');
  assert.equal(out.after_rollback_instances, 2, 'the rollback restored instances');
  assert.deepEqual(out.kill_scale, ['deploymentId', 'version']);
  assert.deepEqual(out.kill_gone_scale, ['deploymentId', 'version'], 'a gone task with scale=true: 200, no-op');
  assert.equal(out.kill_gone, 404, 'a gone task without scale: 404');
  assert.equal(out.instances_after_kills, 1);
  assert.ok(out.restart_has_id);
  assert.ok(out.restart_replaced_all, 'the restart replaced every task');
  for (const type of ['event_stream_attached', 'status_update_event', 'deployment_info', 'deployment_success']) {
    assert.ok(out.events.includes(type), `event ${type} seen (saw ${out.events.join(', ')})`);
  }
  // Python's requests sent the booleans as `True`/`False`; the double read them as Jersey does.
  assert.ok(double.requests.some((r) => /force=True/.test(r.path) && r.status === 200), 'force=True accepted');
  assert.ok(double.requests.some((r) => r.instance === 1 && r.status === 200), 'the non-leader answered (proxied)');
});
