// The Drillbit sandbox (issue 11, layer 1): the boundary that holds when a SQL check is
// wrong. A real sandboxed Drillbit is asked DIRECTLY over its REST port (no gateway, no
// SQL check in between) after its `dfs` plugin got a workspace at "/" marked writable,
// as an attacker who got past every check would have it; whatever Drill then reads,
// lists or writes, it finds only the sandbox's view. The expectations come from the
// host (its /etc/passwd, /root, /, the test's own environment), not from the mount list.
// Plus the refusal without bwrap and the warning with the sandbox turned off.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { findBwrap, SANDBOX_OFF_WARNING } from '../src/schedulers/local/sandbox.js';
import { createWritableWorkspaceRoots } from '../src/storage/dfs.js';
import { cliEnv, dromedar, startUp } from './support/cli.js';
import { startDrillbit, type DrillAnswer, type TestDrillbit } from './support/drillbit.js';
import { DRILL_DIR, jvmsMentioning, testConfig } from './support/env.js';
import { waitForExit } from '../src/util/process.js';

const JAVA = realpathSync(findOnPath('java') ?? '/usr/bin/java');
const JAVA_HOME = dirname(dirname(JAVA));

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, command))) return join(dir, command);
  return null;
}

describe('without a usable bwrap the gateway starts no Drillbit (no Drill needed)', () => {
  const home = mkdtempSync(join(tmpdir(), 'dromedar-sandbox-cli-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  test('bwrap missing from the PATH: `dromedar up` refuses in one line that says how to install it or opt out', () => {
    const emptyBin = join(home, 'empty-bin');
    mkdirSync(emptyBin, { recursive: true });
    const env = { ...cliEnv(home), PATH: emptyBin, JAVA_HOME };
    const result = dromedar(env, 'up', '--port', '0');
    assert.equal(result.status, 1, result.stdout + result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
    assert.match(lines[0]!, /bwrap\) is not on the PATH/);
    assert.match(lines[0]!, /apt-get install bubblewrap/);
    assert.match(lines[0]!, /scheduler\.local\.sandbox: false/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(jvmsMentioning(home), [], 'not even ZooKeeper started');
  });

  test('a bwrap that cannot create a namespace here: the same refusal, with bwrap\'s reason', () => {
    // What bwrap says in a container without user namespaces or mount rights.
    const bin = join(home, 'no-namespace-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'bwrap'), '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n');
    chmodSync(join(bin, 'bwrap'), 0o755);
    const result = dromedar({ ...cliEnv(home), PATH: `${bin}:/usr/bin:/bin`, JAVA_HOME }, 'up', '--port', '0');
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
    assert.match(lines[0]!, /cannot create a namespace here \(bwrap: No permissions to creating new namespace\)/);
    assert.match(lines[0]!, /apt-get install bubblewrap.*scheduler\.local\.sandbox: false/);
    assert.deepEqual(jvmsMentioning(home), []);
  });

  test('`dromedar sandbox install` with bwrap present: one line, nothing else done', () => {
    const bwrap = findBwrap();
    assert.ok(bwrap, 'bwrap is installed on this machine (npm run setup installs it)');
    const result = dromedar(cliEnv(home), 'sandbox', 'install');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `sandbox: ${bwrap} works\n`);
  });
});

describe('scheduler.local.sandbox: false', () => {
  const home = mkdtempSync(join(tmpdir(), 'dromedar-sandbox-off-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  test('the gateway says so in a warning at start, and starts', async () => {
    const file = join(home, 'config.json');
    writeFileSync(file, JSON.stringify({ scheduler: { local: { sandbox: false, clusterId: `sandbox-off-${process.pid}` } } }));
    const up = await startUp(cliEnv(home), '--config', file);
    try {
      const warnings = up
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.msg === SANDBOX_OFF_WARNING);
      assert.equal(warnings.length, 1, up.output());
      assert.equal(warnings[0]!.level, 40, 'logged at warn level');
    } finally {
      up.child.kill('SIGINT');
      await waitForExit(up.child.pid!, 60_000);
    }
    assert.deepEqual(jvmsMentioning(home), []);
  });
});

describe('a sandboxed Drillbit asked directly, with a writable workspace at "/"', () => {
  const TOKEN = 'tok_sandbox_9d2e7c4b1a0f3e6d';
  const SECRET = 'host-secret-5e1f0c9a7b3d';
  const saved = { tokens: process.env.DROMEDAR_TOKENS, secret: process.env.AWS_SECRET_ACCESS_KEY };
  const config = testConfig({
    storage: {
      workspaces: {
        default: { location: '.' },
        data: { location: '.' },
        tmp: { location: 'tmp', writable: true },
      },
    },
  });
  let drill: TestDrillbit;
  let schemaFiles = 0;
  const PRIVATE_TMP = '/tmp';
  const OUTSIDE: Record<string, string> = {
    w_data: config.dataDir,
    w_home: config.home,
    w_local: join(config.home, 'local'),
    w_usr: '/usr',
    w_etc: '/etc',
    w_drill: DRILL_DIR,
    w_tmp: PRIVATE_TMP,
  };

  before(async () => {
    // What the gateway's environment could hold; none of it may reach a Drillbit.
    process.env.DROMEDAR_TOKENS = TOKEN;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET;
    mkdirSync(join(config.dataDir, 'people'), { recursive: true });
    writeFileSync(join(config.dataDir, 'people', 'a.json'), '{"id": 1}\n{"id": 2}\n');
    mkdirSync(join(config.dataDir, 'keep'), { recursive: true });
    writeFileSync(join(config.dataDir, 'keep', 'k.json'), '{"k": 1}\n');
    writeFileSync(join(config.home, 'gateway-secret.txt'), `${SECRET}\n`);
    await createWritableWorkspaceRoots(config);
    drill = await startDrillbit(config);
    // The attacker's plugin: a workspace at "/", writable, outside access allowed.
    const base = `http://${drill.bit.host}:${drill.bit.httpPort}`;
    const dfs = (await (await request(`${base}/storage/dfs.json`)).body.json()) as { config: { workspaces: Record<string, unknown> } };
    const attacker = (location: string) => ({ location, writable: true, defaultInputFormat: null, allowAccessOutsideWorkspace: true });
    dfs.config.workspaces.root = attacker('/');
    // Writable workspaces at folders outside the writable ones (CTAS needs a workspace at the parent).
    for (const [name, location] of Object.entries(OUTSIDE)) dfs.config.workspaces[name] = attacker(location);
    const res = await request(`${base}/storage/dfs.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(dfs) });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump();
  });

  after(async () => {
    await drill?.stop();
    process.env.DROMEDAR_TOKENS = saved.tokens;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.tokens === undefined) delete process.env.DROMEDAR_TOKENS;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, [], 'no Drillbit, bwrap or ZooKeeper of this test may outlive it');
  });

  /** A file's whole content as Drill reads it (CREATE SCHEMA LOAD puts it into its error), or null when Drill finds no such file. */
  async function load(path: string): Promise<string | null> {
    const answer = await drill.sql(`CREATE SCHEMA LOAD 'file://${path}' PATH 'file:///tmp/schema-${++schemaFiles}.json'`, {}, true);
    assert.equal(answer.queryState, 'FAILED', `a file is not a schema: ${JSON.stringify(answer).slice(0, 300)}`);
    const message = answer.errorMessage ?? '';
    if (/does not exist/.test(message)) return null;
    const content = /Unable to parse schema \[([\s\S]*)\]: Line \[/.exec(message)?.[1];
    assert.ok(content !== undefined, `Drill read ${path}: ${message.slice(0, 300)}`);
    return content;
  }

  /** Names SHOW FILES lists in a folder of the sandbox ([] when the folder is not there). */
  async function list(path: string): Promise<string[]> {
    const answer = await drill.sql(`SHOW FILES IN dfs.root.\`${path}\``, {}, true);
    if (answer.queryState !== 'COMPLETED') {
      assert.match(answer.errorMessage ?? '', /not found|does not exist|No such file/i, answer.errorMessage);
      return [];
    }
    return (answer.rows ?? []).map((row) => String(row.name)).sort();
  }

  const ok = (answer: DrillAnswer) => answer.queryState === 'COMPLETED';

  test('controls: the workspaces read as usual, and a file the sandbox has reads through LOAD', async () => {
    const rows = (await drill.sql('SELECT SUM(id) AS s FROM dfs.data.`people`')).rows!;
    assert.equal(Number(rows[0]!.s), 3);
    assert.match((await load(join(config.dataDir, 'people', 'a.json'))) ?? '', /"id": 1/);
    // pid 1 of the sandbox's pid namespace is the Drillbit itself.
    assert.match((await load('/proc/1/cmdline')) ?? '', /org\.apache\.drill\.exec\.server\.Drillbit/);
  });

  test('/etc/shadow is not there; /etc/passwd is a generated one with only the running user', async () => {
    assert.ok(existsSync('/etc/shadow') && existsSync('/etc/passwd'), 'the host has both');
    assert.equal(await load('/etc/shadow'), null);
    const answer = await drill.sql("SELECT * FROM table(dfs.root.`/etc/passwd`(type => 'text', fieldDelimiter => ':'))");
    const sandboxed = answer.rows!.map((row) => (row.columns as string[]).join(':'));
    const host = readFileSync('/etc/passwd', 'utf8').split('\n').filter(Boolean);
    const user = userInfo();
    assert.equal(sandboxed.length, 1, sandboxed.join('\n'));
    assert.ok(sandboxed[0]!.startsWith(`${user.username}:x:${user.uid}:${user.gid}:`), sandboxed[0]);
    assert.ok(host.length > 1, 'the host has more users');
    for (const line of host) assert.ok(!sandboxed.includes(line), `host line visible: ${line}`);
    const etc = await list('/etc');
    assert.ok(etc.includes('passwd') && !etc.includes('shadow') && !etc.includes('ssh') && !etc.includes('sudoers'), etc.join(' '));
    // Of /etc/ssl, only what the JDK links to (its CA store), not the private keys.
    assert.ok(existsSync('/etc/ssl/private') === false || !(await list('/etc/ssl')).includes('private'));
  });

  test('/proc/self/environ holds only the allow-listed variables: no DROMEDAR_*, no token, no host secret', async () => {
    const environ = await load('/proc/self/environ');
    assert.ok(environ !== null);
    const vars = environ.split('\u0000').filter(Boolean);
    const names = vars.map((v) => v.slice(0, v.indexOf('=')));
    assert.ok(names.includes('DRILL_HOME') && names.includes('JAVA_HOME'), names.join(' '));
    const allowed = new Set(['PATH', 'JAVA_HOME', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'DRILL_HOME', 'GRACEFUL_SIGFILE', 'DRILL_HOST_NAME', 'DRILL_LOG_DIR', 'MALLOC_ARENA_MAX', 'PWD']);
    for (const name of names) assert.ok(allowed.has(name), `${name} is not on the allow-list`);
    assert.ok(!environ.includes(TOKEN) && !environ.includes(SECRET) && !environ.includes('DROMEDAR_'));
  });

  test('the Drillbit has no capabilities, even when the gateway runs as root: a mode-000 file stays closed', async () => {
    // Root reads any file through CAP_DAC_OVERRIDE; without capabilities, permission bits hold.
    const closed = join(config.dataDir, 'closed.json');
    writeFileSync(closed, '{"secret": 1}\n');
    chmodSync(closed, 0o000);
    if (process.getuid?.() === 0) assert.equal(readFileSync(closed, 'utf8'), '{"secret": 1}\n', 'root outside the sandbox reads it');
    const answer = await drill.sql(`CREATE SCHEMA LOAD 'file://${closed}' PATH 'file:///tmp/closed.schema'`, {}, true);
    assert.equal(answer.queryState, 'FAILED');
    assert.match(answer.errorMessage ?? '', /Permission denied/, answer.errorMessage);
    assert.doesNotMatch(answer.errorMessage ?? '', /secret/);
  });

  test('/proc shows only the sandbox\'s processes: not the gateway\'s (its environ holds the tokens)', async () => {
    const pids = (await list('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    assert.ok(pids.includes(1), pids.join(' '));
    assert.ok(!pids.includes(process.pid), `the test process ${process.pid} is visible`);
    assert.equal(await load(`/proc/${process.pid}/environ`), null);
  });

  test('SHOW FILES of "/" and of /root show only what was mounted', async () => {
    const firstComponent = (path: string) => path.split('/').filter(Boolean)[0]!;
    const expected = new Set(['tmp', 'proc', 'dev', 'usr', 'etc', 'sys', ...['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].filter((d) => existsSync(`/${d}`)), ...[DRILL_DIR, config.home, config.dataDir, JAVA_HOME].map(firstComponent)]);
    const root = await list('/');
    for (const name of root) assert.ok(expected.has(name), `unexpected /${name} in the sandbox`);
    const hostOnly = readdirSync('/').filter((name) => !expected.has(name));
    assert.ok(hostOnly.length > 0, 'the host has more than the sandbox');
    for (const name of hostOnly) assert.ok(!root.includes(name), `host /${name} visible`);
    // /root: at most the way to what is mounted under it (Drill's installation, here).
    const underRoot = new Set([DRILL_DIR, config.home, config.dataDir].filter((p) => p.startsWith('/root/')).map((p) => p.split('/')[2]!));
    const rootDir = await list('/root');
    for (const name of rootDir) assert.ok(underRoot.has(name), `/root/${name} visible`);
    let hostRoot: string[] = [];
    try {
      hostRoot = readdirSync('/root').filter((name) => !underRoot.has(name));
    } catch {
      /* not readable by this user: nothing to compare */
    }
    for (const name of hostRoot) assert.ok(!rootDir.includes(name), `/root/${name} visible`);
  });

  test('the gateway\'s home outside the workspaces is not there (its files, ZooKeeper\'s data)', async () => {
    assert.equal(await load(join(config.home, 'gateway-secret.txt')), null);
    const local = await list(join(config.home, 'local'));
    assert.ok(existsSync(join(config.home, 'local', 'zookeeper')), 'ZooKeeper keeps its data there on the host');
    assert.ok(!local.includes('zookeeper'), local.join(' '));
    // Only the way to the workspaces (data/) and to the Drillbits' own folders (local/).
    assert.deepEqual(await list(config.home), ['data', 'local']);
  });

  test('writes outside the writable workspaces fail and change nothing on the host; inside them they work', async () => {
    // Controls: the writable workspace takes a table and a schema file.
    assert.ok(ok(await drill.sql('CREATE TABLE dfs.tmp.`fine` AS SELECT 1 AS a FROM (VALUES(1))')));
    assert.ok(existsSync(join(config.dataDir, 'tmp', 'fine')));
    assert.ok(ok(await drill.sql(`CREATE SCHEMA (id INT) PATH 'file://${join(config.dataDir, 'tmp', 'fine.schema')}'`)));
    assert.ok(existsSync(join(config.dataDir, 'tmp', 'fine.schema')));
    // Drill believes these workspaces writable; the sandbox does not. In /tmp a write lands
    // in the sandbox's private, size-bounded /tmp (so does one into the mount points of a
    // home under /tmp, as here): Drill succeeds there, the host sees nothing.
    const table = `evil_${process.pid}`;
    const inPrivateTmp = (dir: string) => dir === PRIVATE_TMP || dir.startsWith(`${PRIVATE_TMP}/`);
    for (const [ws, dir] of Object.entries(OUTSIDE)) {
      const target = join(dir, table);
      const ctas = await drill.sql(`CREATE TABLE dfs.${ws}.\`${table}\` AS SELECT 1 AS a FROM (VALUES(1))`, {}, true);
      if (!inPrivateTmp(dir)) assert.match(ctas.errorMessage ?? '', /Read-only file system|Mkdirs failed/, `${ws}: ${ctas.queryState} ${ctas.errorMessage}`);
      else if (dir === PRIVATE_TMP) assert.equal(ctas.queryState, 'COMPLETED', ctas.errorMessage);
      assert.ok(!existsSync(target), `${target} was created on the host`);
      const schema = await drill.sql(`CREATE SCHEMA (id INT) PATH 'file://${target}.schema'`, {}, true);
      if (!inPrivateTmp(dir)) assert.equal(schema.queryState, 'FAILED', `${target}.schema`);
      assert.ok(!existsSync(`${target}.schema`), `${target}.schema was created on the host`);
    }
    assert.equal(Number((await drill.sql(`SELECT a FROM dfs.w_tmp.\`${table}\``)).rows![0]!.a), 1, 'the private /tmp holds the table');
    // DROP TABLE of a folder in a read-only workspace: it stays. (Drill may still answer
    // "Table [keep] dropped": it does not check what its file system's delete returned.)
    await drill.sql('DROP TABLE dfs.w_data.`keep`', {}, true);
    assert.equal(readFileSync(join(config.dataDir, 'keep', 'k.json'), 'utf8'), '{"k": 1}\n');
  });
});
