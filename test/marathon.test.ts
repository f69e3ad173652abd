// The Marathon scheduler with real Drillbits on a real ZooKeeper, run by the Marathon
// TEST DOUBLE (test/support/marathon-double.ts: not Marathon, it runs each task's cmd
// on this machine). The same scenarios run against a real Marathon when MARATHON_URL is
// set (with MARATHON_ZK_CONNECT and MARATHON_DRILL_HOME for the agents); the steps only
// the double can stage (a held deployment, a task stuck staging, a read-only user) are
// skipped there. One Drillbit cluster per suite, scaled 0 -> 3 -> 1 -> 0 by the tests in turn.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { loadConfig, type Config } from '../src/config/load.js';
import { DrillClient } from '../src/drill/client.js';
import { resolveRuntime } from '../src/drill/install.js';
import { EmbeddedZooKeeper } from '../src/schedulers/local/zookeeper.js';
import { drillbitCmd, drillbitsApp, shellWord } from '../src/schedulers/marathon/app-definition.js';
import { MarathonScheduler } from '../src/schedulers/marathon/marathon-scheduler.js';
import { renderDrillbitsApp } from '../src/schedulers/marathon/render.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';
import { DromedarError } from '../src/util/errors.js';
import { freePort } from '../src/util/net.js';
import { run, sleep } from '../src/util/process.js';
import { drain, jvmsMentioning, testConfig, waitOnline } from './support/env.js';
import { MarathonDouble } from './support/marathon-double.js';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
type MarathonSettings = Config['scheduler']['marathon'];

/** Where the Drillbits run: the test double here, or a real Marathon. */
interface Platform {
  url: string;
  auth: { user?: string; password?: string; token?: string };
  zkConnect: string;
  drillHome: string;
  /** Settings only this platform can serve (the double: a file:// fetch). */
  settings: Partial<MarathonSettings>;
  /** Ends a Drillbit without asking Marathon or Drill (the double: kill -9 of the JVM). */
  crash(bit: Drillbit): Promise<void>;
  close(): Promise<void>;
}

// ---- the app definition, without Marathon -------------------------------------------------

describe('Drillbits app definition', () => {
  const config = loadConfig({ env: {}, file: repo('marathon/drillbits.config.json') });

  test('one app with 4 ports, a /status health check on the HTTP port, resources, constraints and labels', () => {
    const app = drillbitsApp(config, 3);
    assert.equal(app.id, '/dromedar/drillbits');
    assert.equal(app.instances, 3);
    assert.deepEqual(app.portDefinitions.map((p) => [p.port, p.name]), [[0, 'user'], [0, 'control'], [0, 'data'], [0, 'http']]);
    assert.deepEqual(app.healthChecks.map((h) => [h.protocol, h.path, h.portIndex]), [['MESOS_HTTP', '/status', 3]]);
    assert.deepEqual([app.cpus, app.mem, app.disk, app.taskKillGracePeriodSeconds], [2, 4096, 0, 60]);
    assert.deepEqual(app.constraints, [['hostname', 'UNIQUE']]);
    assert.equal(app.fetch?.[0]?.uri, 'https://archive.apache.org/dist/drill/1.22.0/apache-drill-1.22.0.tar.gz');
    assert.match(app.labels['dromedar.spec'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(drillbitsApp(config, 1).labels['dromedar.spec'], app.labels['dromedar.spec'], 'scaling does not change the spec');
    assert.deepEqual(app.upgradeStrategy, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  });

  test('the Drillbits run in a container whose only host paths are the workspaces, with no env of the gateway', () => {
    const app = drillbitsApp(config, 1);
    assert.equal(app.container?.type, 'MESOS');
    assert.equal(app.container?.docker.image, 'eclipse-temurin:17-jdk');
    assert.deepEqual(app.container?.volumes, [
      { containerPath: '/data', hostPath: '/data', mode: 'RO' },
      { containerPath: '/data/tmp', hostPath: '/data/tmp', mode: 'RW' },
    ]);
    assert.deepEqual(app.env, {}, 'no variable (and so no secret) in the app');
    assert.match(app.cmd, /clean\(\) \{ exec env -i PATH=/, 'the JVM starts from an empty environment');
    const secrets = loadConfig({ env: { DROMEDAR_TOKENS: 'tok-1234567890abcdef', MARATHON_PASSWORD: 'pw-0987654321' }, file: repo('marathon/drillbits.config.json') });
    const text = JSON.stringify(drillbitsApp(secrets, 1));
    assert.ok(!text.includes('tok-1234567890abcdef') && !text.includes('pw-0987654321'), 'no secret anywhere in the app');
  });

  test('a drained Drillbit lingers behind a /status answer, so its health check does not kill it', async () => {
    const cmd = drillbitCmd(config);
    assert.match(cmd, /linger\.java "0\.0\.0\.0" "\$PORT3" 600/);
    const dir = mkdtempSync(join(tmpdir(), 'dromedar-linger-'));
    try {
      const start = cmd.indexOf("printf '%s' \"import com");
      const end = cmd.indexOf('> linger.java') + '> linger.java'.length;
      assert.equal((await run('sh', ['-c', cmd.slice(start, end)], { cwd: dir })).code, 0);
      const port = await freePort();
      const java = (await resolveRuntime(loadConfig({ env: {} }))).java;
      const child = spawn(java, ['-Xmx24m', join(dir, 'linger.java'), '127.0.0.1', String(port), '30'], { stdio: 'ignore' });
      try {
        let status = 0;
        const deadline = Date.now() + 20_000;
        while (status !== 200 && Date.now() < deadline) {
          status = await request(`http://127.0.0.1:${port}/status`).then(async (r) => (await r.body.dump(), r.statusCode), () => 0);
          if (status !== 200) await sleep(200);
        }
        assert.equal(status, 200, '/status answers while the task lingers');
        const other = await request(`http://127.0.0.1:${port}/cluster.json`);
        await other.body.dump();
        assert.equal(other.statusCode, 404, 'and nothing else: no Drill there');
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the cmd writes the Drillbit conf into the sandbox and starts it on $PORT0..3, advertising $HOST', async () => {
    const cmd = drillbitCmd(config);
    assert.equal((await run('sh', ['-n', '-c', cmd])).code, 0, 'valid sh');
    for (const file of ['drill-override.conf', 'logback.xml', 'storage-plugins-override.conf']) assert.ok(cmd.includes(`> conf/${file}`));
    assert.ok(cmd.includes('zk.connect: \\"master.mesos:2181\\"'));
    for (const [prop, port] of [['user.server.port', 0], ['bit.server.port', 1], ['bit.server.dataport', 2], ['http.port', 3]]) {
      assert.ok(cmd.includes(`"-Ddrill.exec.rpc.${prop}=$PORT${port}"`) || cmd.includes(`"-Ddrill.exec.${prop}=$PORT${port}"`), prop as string);
    }
    assert.ok(cmd.includes('DRILL_HOST_NAME="$HOST"'));
    assert.ok(cmd.includes('"-Ddrill.exec.rpc.bind_addr=0.0.0.0"'));
    assert.ok(cmd.includes('"$SANDBOX/conf:$MESOS_SANDBOX/apache-drill-1.22.0/jars/*:'), 'classpath: sandbox conf, then Drill on the agent');
  });

  test('shell words keep upper-case variables live and everything else literal', async () => {
    const tricky = 'a"b`c\\d $lower ${log.path} $PORT0/${HOST}';
    const out = await run('sh', ['-c', `printf '%s' ${shellWord(tricky)}`], { env: { PORT0: '31000', HOST: 'agent-1', PATH: process.env.PATH } });
    assert.equal(out.stdout, 'a"b`c\\d $lower ${log.path} 31000/agent-1');
  });

  test('a task memory that cannot hold heap + direct memory is refused before Marathon sees it', () => {
    const m = config.scheduler.marathon;
    const small = { ...config, scheduler: { ...config.scheduler, marathon: { ...m, mem: 2048 } } };
    assert.throws(() => drillbitsApp(small), (err: unknown) => err instanceof DromedarError && err.code === 'invalid_config' && /needs at least 3584 MB/.test(err.message));
  });

  test('marathon/drillbits.json is what render.ts makes of marathon/drillbits.config.json', () => {
    const rendered = renderDrillbitsApp(repo('marathon/drillbits.config.json'), 0, {});
    assert.equal(readFileSync(repo('marathon/drillbits.json'), 'utf8'), rendered, 'regenerate: node dist/src/schedulers/marathon/render.js marathon/drillbits.config.json > marathon/drillbits.json');
  });

  test('the gateway app and launch.sh are well-formed', async () => {
    const gateway = JSON.parse(readFileSync(repo('marathon/gateway.json'), 'utf8'));
    assert.equal(gateway.id, '/dromedar/gateway');
    assert.equal(gateway.instances, 1);
    assert.equal(gateway.healthChecks[0].path, '/healthz');
    assert.equal(gateway.env.DROMEDAR_SCHEDULER, 'marathon');
    assert.equal((await run('bash', ['-n', repo('marathon/launch.sh')])).code, 0);
  });

  test('the gateway app launch.sh deploys creates exactly marathon/drillbits.json, and carries no secret in clear', async () => {
    const env = { PATH: process.env.PATH, DROMEDAR_TOKENS: 'gateway-token-0123456789', MARATHON_PASSWORD: 'marathon-pw-0123456789', DROMEDAR_TOKENS_SECRET: 'dromedar/tokens' };
    const printed = await run('bash', [repo('marathon/launch.sh'), '--print'], { env });
    assert.equal(printed.code, 0, printed.stderr);
    assert.ok(!printed.stdout.includes('gateway-token-0123456789') && !printed.stdout.includes('marathon-pw-0123456789'), 'no secret in the app');
    const gatewayApp = JSON.parse(printed.stdout);
    assert.deepEqual(gatewayApp.env.DROMEDAR_TOKENS, { secret: 'dromedarTokens' });
    assert.deepEqual(gatewayApp.secrets.dromedarTokens, { source: 'dromedar/tokens' });
    // The gateway's config is what its env says (inline config + variables), as in its container.
    const gatewayEnv = Object.fromEntries(Object.entries(gatewayApp.env as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as NodeJS.ProcessEnv;
    const created = drillbitsApp(loadConfig({ env: gatewayEnv }), 0);
    assert.equal(JSON.stringify(created, null, 2) + '\n', readFileSync(repo('marathon/drillbits.json'), 'utf8'), 'the gateway creates the app drillbits.json shows');
  });

  test('MARATHON_URL lists an HA cluster; secrets come from *_FILE files; DROMEDAR_CONFIG_JSON holds the config inline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dromedar-secrets-'));
    try {
      writeFileSync(join(dir, 'token'), 'file-token-abc\n');
      const m = loadConfig({ env: { MARATHON_URL: 'http://m1:8080,http://m2:8080, http://m3:8080', MARATHON_TOKEN_FILE: join(dir, 'token'), DROMEDAR_CONFIG_JSON: '{"scheduler":{"marathon":{"appId":"/inline/bits"}}}' } }).scheduler.marathon;
      assert.deepEqual([m.url, m.urls, m.token, m.appId], ['http://m1:8080', ['http://m2:8080', 'http://m3:8080'], 'file-token-abc', '/inline/bits']);
      assert.throws(() => loadConfig({ env: { MARATHON_TOKEN_FILE: join(dir, 'missing') } }), /MARATHON_TOKEN_FILE=.*cannot read it \(ENOENT\)/);
      assert.throws(() => loadConfig({ env: { DROMEDAR_CONFIG_JSON: '{nope' } }), /DROMEDAR_CONFIG_JSON is not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the gateway image's entry point says in one line what it needs", async () => {
    const bare = await run('sh', [repo('marathon/entrypoint.sh')], { env: { PATH: process.env.PATH } });
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /^dromedar image: set MARATHON_URL MARATHON_ZK_CONNECT .*DROMEDAR_CONFIG_JSON.*marathon\/README\.md\n$/);
    const local = await run('sh', [repo('marathon/entrypoint.sh')], { env: { PATH: process.env.PATH, DROMEDAR_CONFIG_JSON: '{}', DROMEDAR_SCHEDULER: 'local' } });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /needs Drill and a JDK in the image/);
    const dockerfile = readFileSync(repo('Dockerfile'), 'utf8');
    assert.match(dockerfile, /ENTRYPOINT \["\/usr\/local\/bin\/dromedar-entrypoint"\]/);
  });

  test('MARATHON_* variables configure the scheduler, but not Marathon-set MARATHON_APP_ID', () => {
    const env = { MARATHON_URL: 'https://m.example:8443', MARATHON_TOKEN: 'tok', MARATHON_ZK_CONNECT: 'zk:2181', MARATHON_DRILLBITS_APP: '/a/b', MARATHON_APP_ID: '/dromedar/gateway' };
    const m = loadConfig({ env }).scheduler.marathon;
    assert.deepEqual([m.url, m.token, m.zkConnect, m.appId], ['https://m.example:8443', 'tok', 'zk:2181', '/a/b']);
  });
});

// ---- the scenarios, on the double or a real Marathon ----------------------------------------

const doubleOnly = 'needs the Marathon test double to stage it';
const TEST_APP_ROOT = `/dromedar-test-${process.pid}`;
const doubles = new Map<string, MarathonDouble>();
type TestConfig = ReturnType<typeof testConfig>;

scenarios('Marathon scheduler with real Drillbits, on the Marathon TEST DOUBLE (not a real Marathon)', true, false, async (config) => {
  const home = config.home;
  const runtime = await resolveRuntime(config);
  const zookeeper = new EmbeddedZooKeeper(join(home, 'zookeeper'), runtime);
  const zkConnect = await zookeeper.start();
  const double = new MarathonDouble({ workDir: join(home, 'marathon'), auth: { users: { dromedar: 's3cret-pw', viewer: 'viewer-pw' }, readOnly: ['viewer'] } });
  await double.start();
  doubles.set(home, double);
  // Site configuration fetched into each sandbox, as an operator would ship core-site.xml.
  await mkdir(join(home, 'site'), { recursive: true });
  await writeFile(join(home, 'site', 'core-site.xml'), '<?xml version="1.0"?>\n<configuration/>\n');
  assert.equal((await run('tar', ['-czf', join(home, 'site.tar.gz'), '-C', home, 'site'])).code, 0);
  return {
    url: double.url,
    auth: { user: 'dromedar', password: 's3cret-pw' },
    zkConnect,
    drillHome: runtime.home,
    settings: { fetch: [{ uri: pathToFileURL(join(home, 'site.tar.gz')).href, extract: true, executable: false, cache: false }], siteConf: 'site' },
    crash: async (bit) => {
      const sh = double.taskPid(bit.id);
      assert.ok(sh, `the double runs ${bit.id}`);
      const jvm = execFileSync('pgrep', ['-P', String(sh)], { encoding: 'utf8' }).trim().split('\n').map(Number)[0]!;
      process.kill(jvm, 'SIGKILL');
    },
    close: async () => {
      await double.close();
      await zookeeper.stop();
    },
  };
});

const real = process.env.MARATHON_URL;
const realSkip = !real
  ? 'MARATHON_URL is not set: no real Marathon to run these scenarios against'
  : !process.env.MARATHON_ZK_CONNECT || !process.env.MARATHON_DRILL_HOME
    ? 'MARATHON_URL is set, but MARATHON_ZK_CONNECT and MARATHON_DRILL_HOME (as the agents see them) are not'
    : false;
scenarios('Marathon scheduler with real Drillbits, on a real Marathon (MARATHON_URL)', false, realSkip, async () => {
  const auth = { user: process.env.MARATHON_USER, password: process.env.MARATHON_PASSWORD, token: process.env.MARATHON_TOKEN };
  return {
    url: real!,
    auth: Object.fromEntries(Object.entries(auth).filter(([, v]) => v)) as Platform['auth'],
    zkConnect: process.env.MARATHON_ZK_CONNECT!,
    drillHome: process.env.MARATHON_DRILL_HOME!,
    settings: {},
    // No kill -9 from here: a kill without scale is the nearest (Marathon replaces the task).
    crash: async (bit) => void (await raw(real!, auth, 'DELETE', `/v2/apps${TEST_APP_ROOT}/drillbits/tasks/${encodeURIComponent(bit.id)}`)),
    close: async () => void (await raw(real!, auth, 'DELETE', `/v2/groups${TEST_APP_ROOT}?force=true`)),
  };
});

function scenarios(title: string, isDouble: boolean, skip: string | false, makePlatform: (base: TestConfig) => Promise<Platform>): void {
  const hasAuth = isDouble || Boolean(process.env.MARATHON_USER || process.env.MARATHON_TOKEN);
  describe(title, { skip }, () => {
    let base: TestConfig;
    let platform: Platform;
    let scheduler: MarathonScheduler;
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);

    /** The test's config with these Marathon settings on top. */
    const configWith = (settings: Partial<MarathonSettings> = {}): Config => ({
      ...base,
      scheduler: {
        ...base.scheduler,
        kind: 'marathon',
        marathon: {
          ...base.scheduler.marathon,
          url: platform.url,
          ...platform.auth,
          appId: `${TEST_APP_ROOT}/drillbits`,
          zkConnect: platform.zkConnect,
          drillHome: platform.drillHome,
          clusterId: `marathon-test-${process.pid}`,
          heap: '512M',
          directMemory: '1G',
          mem: 2048,
          cpus: 0.5,
          // The double's HOST is 127.0.0.1: stay on loopback there.
          bindAddress: isDouble ? '$HOST' : '0.0.0.0',
          healthCheck: { protocol: 'MESOS_HTTP', gracePeriodSeconds: 180, intervalSeconds: 2, timeoutSeconds: 2, maxConsecutiveFailures: 3 },
          taskKillGracePeriodSeconds: 15,
          deploymentTimeoutMs: 180_000,
          requestRetryMs: 20_000,
          ...platform.settings,
          ...settings,
        },
      },
    });
    const double = () => doubles.get(base.home)!;

    before(async () => {
      base = testConfig();
      platform = await makePlatform(base);
      scheduler = new MarathonScheduler(configWith(), { log });
      await scheduler.start();
    });

    after(async () => {
      try {
        await scheduler?.stop();
      } catch (err) {
        console.error(`stop: ${String(err)}`);
      }
      await platform?.close();
      if (!base) return;
      const left = jvmsMentioning(base.home);
      const wrappers = isDouble ? double().pids() : [];
      base.cleanup();
      assert.deepEqual(left, [], 'no Drillbit or ZooKeeper JVM of this test may outlive it');
      assert.deepEqual(wrappers, [], 'no task process of the double may outlive it');
    });

    test('scale 0 -> 3, through a 409 from its own first deployment (overridden: it is ours)', { timeout: 300_000 }, async () => {
      await scheduler.launch(1); // creates the app (POST /v2/apps)
      await scheduler.launch(2); // its own StartApplication deployment holds the app: 409, then PUT ?force=true
      assert.ok(logs.some((l) => /is locked by this gateway's own deployment .*overriding it/.test(l)), 'the 409 was met, and its own deployment overridden');
      if (isDouble) {
        const puts = double().requests.filter((r) => r.method === 'PUT');
        assert.deepEqual(puts.map((r) => [r.status, r.path.includes('force=true')]), [[409, false], [200, true]], 'PUT refused while locked, then forced');
      }
      const online = await waitOnline(scheduler, 3);
      await assertDrillCount(scheduler, 3);
      if (isDouble) {
        const sandbox = double().sandbox(online[0]!.id)!;
        assert.ok(existsSync(join(sandbox, 'conf', 'core-site.xml')), 'the fetched site conf joined the Drillbit conf');
        assert.ok(existsSync(join(sandbox, 'conf', 'drill-override.conf')));
      }
    });

    test('scale 3 -> 1: drained Drillbits leave Drill, then their tasks are killed with scale=true', { timeout: 300_000 }, async () => {
      const online = (await waitOnline(scheduler, 3)).sort((a, b) => a.startedAt - b.startedAt);
      const [keep, ...drop] = online;
      await Promise.all(drop.map((bit) => drain(scheduler, bit.id)));
      assert.deepEqual((await scheduler.list()).map((b) => [b.id, b.state]), [[keep!.id, 'ONLINE']]);
      assert.equal((await scheduler.client.app(configWith().scheduler.marathon.appId))?.instances, 1);
      if (isDouble) {
        const kills = double().requests.filter((r) => r.method === 'DELETE');
        assert.ok(kills.length >= 2 && kills.every((r) => r.path.includes('scale=true')), 'killed with scale=true');
      }
      await assertDrillCount(scheduler, 1);
    });

    test('a Drillbit whose JVM dies is FAILED, and Marathon replaces it with a new task', { timeout: 300_000 }, async () => {
      const [victim] = await waitOnline(scheduler, 1);
      await platform.crash(victim!);
      const seen = new Set<string>();
      let failed: Drillbit | undefined;
      let replacement: Drillbit | undefined;
      const deadline = Date.now() + 240_000;
      while (!(failed && replacement?.state === 'ONLINE') && Date.now() < deadline) {
        const bits = await scheduler.list();
        failed = bits.find((b) => b.id === victim!.id && b.state === 'FAILED');
        replacement = bits.find((b) => b.id !== victim!.id);
        if (replacement) seen.add(replacement.state);
        await sleep(500);
      }
      assert.ok(failed, 'the dead Drillbit is reported FAILED');
      assert.match(failed.failure ?? '', isDouble ? /TASK_FAILED Command exited with status 137/ : /Marathon is killing task|ended/);
      assert.equal(replacement?.state, 'ONLINE', `a replacement came ONLINE (states seen: ${[...seen].join(', ')})`);
      assert.ok(seen.has('STARTING'), 'the replacement was STARTING first');
      await scheduler.stop(victim!.id);
      assert.deepEqual((await scheduler.list()).map((b) => b.id), [replacement.id]);
      await assertDrillCount(scheduler, 1);
    });

    test('a restarted gateway adopts the app and its tasks: no second app, no new task', { timeout: 120_000 }, async () => {
      const running = await waitOnline(scheduler, 1);
      const before = isDouble ? double().requests.length : 0;
      const restarted = new MarathonScheduler(configWith(), { log });
      await restarted.start();
      assert.ok(logs.some((l) => l.startsWith(`adopted Marathon app ${TEST_APP_ROOT}/drillbits`)));
      assert.deepEqual((await restarted.list()).map((b) => [b.id, b.state]), running.map((b) => [b.id, 'ONLINE']));
      if (isDouble) assert.ok(double().requests.slice(before).every((r) => r.method === 'GET'), 'adopting changed nothing');
      const apps = await raw(platform.url, platform.auth, 'GET', `/v2/apps?id=${TEST_APP_ROOT}`);
      assert.equal((apps.apps as unknown[]).length, 1, 'one app');
      scheduler = restarted;
    });

    test('a deployment that never finishes is a bounded, clear error; force=true overrides it', { skip: isDouble ? false : doubleOnly, timeout: 120_000 }, async () => {
      const appId = configWith().scheduler.marathon.appId;
      const lock = double().lockApp(appId, 600_000);
      const impatient = new MarathonScheduler(configWith({ deploymentTimeoutMs: 1_500 }), { log });
      await impatient.start();
      const started = Date.now();
      await assert.rejects(impatient.launch(1), (err: unknown) => {
        assert.ok(err instanceof DromedarError && err.code === 'marathon_deployment_stuck', String(err));
        assert.ok(err.message.includes(lock) && /RestartApplication/.test(err.message) && /scheduler\.marathon\.force/.test(err.message), err.message);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'bounded by deploymentTimeoutMs');
      // 1 -> 0 past the lock: the kill with scale=true is forced.
      const forcing = new MarathonScheduler(configWith({ force: true }), { log });
      await forcing.start();
      const [last] = await waitOnline(forcing, 1);
      await drain(forcing, last!.id);
      assert.ok(double().requests.some((r) => r.method === 'DELETE' && r.path.includes('scale=true&force=true') && r.status === 200));
      assert.ok(!double().deployments.some((d) => d.id === lock), 'the held deployment was cancelled');
      scheduler = forcing; // the gateway from here on (the others would see its drain as a failure)
    });

    test('scale -> 0: no Drillbit, task or instance left', { timeout: 180_000 }, async () => {
      for (const bit of await scheduler.list()) await drain(scheduler, bit.id);
      assert.deepEqual(await scheduler.list(), []);
      assert.equal((await scheduler.client.app(configWith().scheduler.marathon.appId))?.instances, 0);
      // stop(id) asks for the kill; the task ends within its kill grace period.
      if (isDouble) await until(() => double().pids().length === 0, (configWith().scheduler.marathon.taskKillGracePeriodSeconds + 10) * 1000, 'the killed tasks ended');
    });

    test('wrong credentials: 401, reported without the secret', { skip: hasAuth ? false : 'the real Marathon has no credentials configured here' }, async () => {
      const wrong = new MarathonScheduler(configWith({ user: 'dromedar', password: 'wrong-pw-123', token: undefined }), { log });
      await assert.rejects(wrong.start(), (err: unknown) => {
        assert.ok(err instanceof DromedarError && err.code === 'marathon_unauthorized', String(err));
        assert.match(err.message, /401 .*MARATHON_USER, MARATHON_PASSWORD/);
        assert.ok(!err.message.includes('wrong-pw-123'));
        return true;
      });
      const none = new MarathonScheduler(configWith({ user: undefined, password: undefined, token: undefined }), { log });
      await assert.rejects(none.start(), /no credentials are configured/);
      assert.ok(!logs.some((l) => l.includes('wrong-pw-123') || l.includes('s3cret-pw')), 'no secret in the logs');
    });

    test('a read-only identity: 403 on the first change', { skip: isDouble ? false : doubleOnly }, async () => {
      const viewer = new MarathonScheduler(configWith({ user: 'viewer', password: 'viewer-pw', appId: `${TEST_APP_ROOT}/forbidden` }), { log });
      await viewer.start();
      await assert.rejects(viewer.launch(1), (err: unknown) => err instanceof DromedarError && err.code === 'marathon_forbidden' && /user viewer .*403 Not Authorized/.test(err.message));
    });

    test("an app Marathon refuses: 422 with Marathon's details", async () => {
      const invalid = new MarathonScheduler(configWith({ appId: `${TEST_APP_ROOT}/invalid`, constraints: [['hostname', 'UNIQUELY']] }), { log });
      await invalid.start();
      await assert.rejects(invalid.launch(1), (err: unknown) => {
        assert.ok(err instanceof DromedarError && err.code === 'marathon_invalid_app', String(err));
        assert.match(err.message, /422 Object is not valid\): \/constraints\(0\): Constraint operator must be one of/);
        return true;
      });
    });

    test('Marathon unreachable: a clear error, credentials in the URL kept out of it', async () => {
      const port = await freePort();
      const gone = new MarathonScheduler(configWith({ url: `http://dromedar:url-secret@127.0.0.1:${port}`, requestRetryMs: 1_500 }), { log });
      await assert.rejects(gone.start(), (err: unknown) => {
        assert.ok(err instanceof DromedarError && err.code === 'marathon_unreachable', String(err));
        assert.match(err.message, new RegExp(`cannot reach Marathon at http://127\\.0\\.0\\.1:${port} `));
        assert.ok(!err.message.includes('url-secret'));
        return true;
      });
    });

    test('a task stuck in TASK_STAGING is listed STARTING with where it is stuck, and stop() kills it with scale=true', { skip: isDouble ? false : doubleOnly, timeout: 60_000 }, async () => {
      // The start timeout is the pool controller's (pool.drillbitStartTimeoutMs); the scheduler only reports.
      const appId = `${TEST_APP_ROOT}/staging`;
      double().holdStaging(appId);
      // force: the app's start deployment never ends (nothing gets healthy), and would hold every change.
      const stuck = new MarathonScheduler(configWith({ appId, force: true }), { log });
      await stuck.start();
      await stuck.launch(1);
      let bits: Drillbit[] = [];
      const deadline = Date.now() + 20_000;
      while (!bits.some((b) => /TASK_STAGING/.test(b.detail ?? '')) && Date.now() < deadline) {
        bits = await stuck.list();
        await sleep(300);
      }
      const [staging] = bits;
      assert.equal(staging?.state, 'STARTING');
      assert.match(staging.detail ?? '', /is TASK_STAGING on 127\.0\.0\.1/);
      await stuck.stop(staging.id); // killed with scale=true
      assert.equal((await stuck.client.app(appId))?.instances, 0);
      await raw(platform.url, platform.auth, 'DELETE', `/v2/apps${appId}?force=true`);
    });
  });
}

/** SELECT count(*) FROM sys.drillbits through a Drillbit equals the number ONLINE (ZooKeeper may lag a little). */
async function assertDrillCount(scheduler: MarathonScheduler, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const online = (await scheduler.list()).filter((b) => b.state === 'ONLINE');
    assert.equal(online.length, n, 'ONLINE Drillbits');
    const res = await DrillClient.at(online[0]!.host, online[0]!.httpPort).query({ queryType: 'SQL', query: 'SELECT count(*) AS n FROM sys.drillbits' });
    const body = (await res.body.json()) as { queryState: string; rows: { n: number | string }[] };
    last = JSON.stringify(body);
    if (body.queryState === 'COMPLETED' && Number(body.rows[0]?.n) === n) return;
    await sleep(1_000);
  }
  assert.fail(`sys.drillbits did not count ${n} Drillbits: ${last}`);
}

/** Waits for a condition, polling; fails with `what` after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await sleep(200);
  }
}

/** A plain call to Marathon (the double or a real one) for what the scheduler has no method for. */
async function raw(url: string, auth: Platform['auth'], method: 'GET' | 'DELETE', path: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (auth.token) headers.authorization = `token=${auth.token}`;
  else if (auth.user) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password ?? ''}`).toString('base64')}`;
  const res = await request(url.replace(/\/+$/, '') + path, { method, headers });
  const text = await res.body.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
