// The doors a careless deployment would leave open, closed: bearer tokens, loopback by
// default (and a warning otherwise), Drill's admin endpoints refused however they are
// spelled, dataset paths confined to the workspaces, secrets kept out of logs and error
// messages, and an OpenAPI document that covers every route. Real HTTP against the real
// app (test/support/offline-gateway.ts: no Drill runs; a route that would need a
// Drillbit answers 504), plus one real Gateway start for the exposure warning.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import { resolveRuntime } from '../src/drill/install.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import { exposureWarning, isLoopback } from '../src/server/auth.js';
import { canonicalPath } from '../src/server/drill-compat.js';
import { REFUSED_DRILL_OPTIONS, refusedOption } from '../src/server/input.js';
import { Gateway } from '../src/server/gateway.js';
import { DromedarError } from '../src/util/errors.js';
import type { Logger } from '../src/util/log.js';
import { CLI, cliEnv } from './support/cli.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';
import { send, type RawAnswer } from './support/raw-http.js';

const TOKEN = 'tok_3f9a1c7e5b2d4f6a8c0e';
const OTHER = 'Zm9yLWEtc2Vjb25kLWNsaWVudA==';
const QUERY_ID = '1b9f6d0e-5c2f-4a3b-8c1d-0123456789ab';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const CHALLENGE = 'Bearer realm="dromedar", Basic realm="dromedar", charset="UTF-8"';

function assertJsonError(res: RawAnswer, status: number, code: string, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.body.toString().slice(0, 300)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, what);
  assert.equal(res.json?.error, code, what);
  assert.equal(typeof res.json?.message, 'string', what);
}

/** Lines pino writes, captured. */
function capturedLogger(): { log: Logger; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: pino<never>({ level: 'debug' }, stream), text: () => chunks.join('') };
}

describe('config: tokens and listen address', () => {
  const env = { DROMEDAR_HOME: '/tmp/dromedar-security-config' };

  test('by default the gateway listens on 127.0.0.1 and needs no token', () => {
    const config = loadConfig({ env });
    assert.equal(config.server.host, '127.0.0.1');
    assert.deepEqual(config.server.auth.tokens, []);
  });

  test('DROMEDAR_TOKENS (comma-separated) replaces the configured tokens; a list of nothing does not', () => {
    const file = { server: { auth: { tokens: [TOKEN] } } };
    assert.deepEqual(loadConfig({ env, overrides: file }).server.auth.tokens, [TOKEN]);
    assert.deepEqual(loadConfig({ env: { ...env, DROMEDAR_TOKENS: ` ${OTHER} ,${TOKEN},` } }).server.auth.tokens, [OTHER, TOKEN]);
    for (const blank of ['', ',', ' , ']) {
      const config = loadConfig({ env: { ...env, DROMEDAR_TOKENS: blank }, overrides: { server: { auth: { tokens: [TOKEN] } } } });
      assert.deepEqual(config.server.auth.tokens, [TOKEN], `DROMEDAR_TOKENS=${JSON.stringify(blank)} must not switch auth off`);
    }
  });

  test('a weak or malformed token is refused, and the error does not repeat it', () => {
    for (const bad of ['short-secret', 'has a space in it ok', 'comma,inside,the,token', 'ünïcödé-token-value-here']) {
      assert.throws(
        () => loadConfig({ env: { ...env, DROMEDAR_TOKENS: bad.includes(',') ? `${TOKEN},x` : bad } }),
        (err: unknown) => err instanceof DromedarError && /server\.auth\.tokens\.\d/.test(err.message) && !err.message.includes(bad.split(',')[0]!),
      );
    }
  });

  test('loopback addresses, and the warning for anything else without tokens', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '[::]', '128.0.0.1']) assert.ok(!isLoopback(host), host);
    assert.equal(exposureWarning('127.0.0.1', []), null);
    assert.equal(exposureWarning('0.0.0.0', [TOKEN]), null);
    assert.match(exposureWarning('0.0.0.0', [])!, /reachable from other machines.*no token.*DROMEDAR_TOKENS/);
  });
});

describe('a real Gateway: loopback by default, a warning when exposed without a token', () => {
  const config = testConfig({ pool: { maxDrillbits: 1 } });
  let scheduler: LocalScheduler;
  before(async () => {
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
  });
  after(async () => {
    await scheduler?.stop();
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, [], 'no ZooKeeper of this test may outlive it');
  });

  test('the default listens on 127.0.0.1, silently; 0.0.0.0 without tokens warns, with tokens does not', async () => {
    const starts: [Record<string, unknown>, boolean][] = [
      [{}, false],
      [{ host: '0.0.0.0' }, true],
      [{ host: '0.0.0.0', auth: { tokens: [TOKEN] } }, false],
    ];
    for (const [server, warns] of starts) {
      const capture = capturedLogger();
      const gateway = await Gateway.start({ ...config, server: { ...config.server, ...server } }, { scheduler, log: capture.log });
      try {
        if (!server.host) assert.match(gateway.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const warnings = capture.text().split('\n').filter((line) => line.includes('"level":40'));
        assert.equal(warnings.length, warns ? 1 : 0, capture.text());
        if (warns) assert.match(warnings[0]!, /0\.0\.0\.0, reachable from other machines, and no token is configured/);
      } finally {
        await gateway.stop({ drainMs: 500, stopDrillbits: false });
      }
    }
  });
});

describe('bearer tokens', () => {
  let gateway: OfflineGateway;
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN, OTHER] });
  });
  after(() => gateway.close());

  test('/healthz and Drill\'s web root and login need no token; every other documented route, unknown routes and Drill paths do', async () => {
    assert.equal((await send(gateway.url, { path: '/healthz' })).status, 200);
    assert.equal((await send(gateway.url, { method: 'HEAD', path: '/healthz' })).status, 200);
    const doc = (await send(gateway.url, { path: '/openapi.json', headers: bearer(TOKEN) })).json as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const open = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.security?.length === 0).map(([method]) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual(open.sort(), ['GET /', 'GET /healthz', 'GET /login', 'GET /logout', 'POST /j_security_check']);
    const targets = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => [method.toUpperCase(), path.replace('{profile}', `${QUERY_ID}.json`)]));
    targets.push(['GET', '/no/such/route'], ['POST', '/gracefulShutdown'], ['POST', '/healthz'], ['GET', '/healthz/'], ['GET', '//healthz'], ['POST', '/'], ['GET', '//']);
    for (const [method, path] of targets) {
      if (open.includes(`${method} ${path}`)) continue;
      const res = await send(gateway.url, { method: method!, path: path!, headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1","qsf":1}' });
      assertJsonError(res, 401, 'unauthorized', `${method} ${path}`);
      assert.equal(res.headers['www-authenticate'], CHALLENGE, `${method} ${path}`);
    }
  });

  test('either configured token works, "bearer" in any case; nothing else does, and no answer repeats it', async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `Bearer ${OTHER}`, `bearer ${TOKEN}`, `BEARER   ${OTHER}`]) {
      assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: { authorization } })).status, 200, authorization);
    }
    const wrong = [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Bearer ${OTHER.replace(/=+$/, '')}`,
      `Bearer ${'A'.repeat(TOKEN.length)}`,
      `Bearer ${'x'.repeat(4096)}`,
    ];
    for (const authorization of wrong) {
      const res = await send(gateway.url, { path: '/v1/qsf', headers: { authorization } });
      assertJsonError(res, 401, 'unauthorized', authorization.slice(0, 40));
      assert.equal(res.headers['www-authenticate'], CHALLENGE.replace('"dromedar"', '"dromedar", error="invalid_token"'));
      assert.ok(!res.body.toString().includes(authorization.slice(7)), 'the answer does not repeat the token');
    }
    // HTTP Basic with the token as the password is a login (drill-rest.unit.test.ts); as the user name it is not.
    for (const authorization of [`Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`, `Token ${TOKEN}`, TOKEN, 'Bearer', 'Bearer ', `Bearer ${TOKEN} ${TOKEN}`, `Bearer "${TOKEN}"`]) {
      const res = await send(gateway.url, { path: '/v1/qsf', headers: { authorization } });
      assertJsonError(res, 401, 'unauthorized', authorization.slice(0, 40));
      assert.ok(!res.body.toString().includes(TOKEN), 'the answer does not repeat the token');
    }
    // Node keeps the first of repeated Authorization headers: a wrong first one is not rescued.
    const twice = await send(gateway.url, `GET /v1/qsf HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong-token-value\r\nauthorization: Bearer ${TOKEN}\r\nconnection: close\r\n\r\n`);
    assert.equal(twice.status, 401);
  });

  test('a 401 is answered before the body is read', async () => {
    const started = performance.now();
    const res = await send(gateway.url, { method: 'POST', path: '/query', headers: { 'content-type': 'text/plain', 'content-length': String(50 * 2 ** 20) }, body: 'SELECT 1' });
    assertJsonError(res, 401, 'unauthorized', 'a 50 MB body announced, 8 bytes sent');
    assert.ok(performance.now() - started < 5_000);
  });

  test('the CLI sends $DROMEDAR_TOKEN (status, query)', async () => {
    const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env: { ...cliEnv(gateway.config.home), ...env } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const without = await cli({ DROMEDAR_TOKEN: '' }, 'status', '--url', gateway.url);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /401 unauthorized/);
    const status = await cli({ DROMEDAR_TOKEN: OTHER }, 'status', '--url', gateway.url);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /desired 0 Drillbit\(s\)/);
    // Past auth, the query waits for a Drillbit the offline pool never starts: 504.
    const query = await cli({ DROMEDAR_TOKEN: TOKEN }, 'query', '--url', gateway.url, 'SELECT 1');
    assert.match(query.stderr, /504 scale_timeout/);
    assert.ok(!`${without.stderr}${query.stderr}`.includes(TOKEN));
  });
});

describe('without tokens', () => {
  test('every route is open and the OpenAPI document asks for none', async () => {
    const gateway = await startOfflineGateway();
    try {
      assert.deepEqual((await send(gateway.url, { path: '/v1/qsf' })).json, { qsf: 100 });
      const doc = (await send(gateway.url, { path: '/openapi.json' })).json as Record<string, unknown> & { paths: Record<string, Record<string, { responses: object }>> };
      assert.equal(doc.security, undefined);
      assert.equal(doc.paths['/v1/qsf']!.get!.responses.hasOwnProperty('401'), false);
    } finally {
      await gateway.close();
    }
  });
});

describe("Drill's admin endpoints and other refusals, before anything reaches the pool", () => {
  let gateway: OfflineGateway;
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN] });
  });
  after(async () => {
    // Nothing here may have asked the pool for a Drillbit.
    const pool = gateway.pool.snapshot();
    assert.deepEqual([pool.desired, pool.queued, pool.running, pool.events.length], [0, 0, 0, 0], JSON.stringify(pool.events));
    await gateway.close();
  });

  const ADMIN = [
    '/gracefulShutdown',
    '/shutdown',
    '/quiescent',
    '/storage/dfs.json',
    '/storage/dfs/enable/false',
    '/storage/dfs/delete',
    '/storage/create_update',
    '/option/planner.width.max_per_node',
    '/options/exec.errors.verbose',
    '/credentials/dfs/update_credentials.json',
    `/profiles/cancel/${QUERY_ID}`,
    '/logs',
    '/logs.json',
    '/log/drillbit.log/content',
    '/status/threads',
    '/status/metrics',
    '/queriesCount',
    '/portNum',
    '/state',
  ];
  // The same endpoints as a lenient server might still route them.
  const DISGUISES = [
    '//gracefulShutdown',
    '///shutdown',
    '/./shutdown',
    '/%2e/shutdown',
    '/%2E%2E/gracefulShutdown',
    '/x/../gracefulShutdown',
    '/GracefulShutdown',
    '/GRACEFULSHUTDOWN',
    '/gracefulShutdown/',
    '/gracefulShutdown;jsessionid=1',
    '/%67racefulShutdown',
    '/%2fgracefulShutdown',
    '/%252e/shutdown',
    '/%2567racefulShutdown',
    '/storage%2Fdfs.json',
    '/Storage/DFS.json',
    `/profiles/cancel%2F${QUERY_ID}`,
    `/profiles/${QUERY_ID}.json/../../gracefulShutdown`,
    `/profiles/${QUERY_ID}.json/`,
    `/profiles/${QUERY_ID.toUpperCase()}.json`,
    '/status.json/',
    '/STATUS.JSON',
    '/cluster.json;x',
    '/cluster.json%20',
  ];

  test('every method on every admin endpoint, however spelled: 403', async () => {
    for (const path of [...ADMIN, ...DISGUISES]) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const res = await send(gateway.url, { method, path, headers: bearer(TOKEN) });
        assert.equal(res.status, 403, `${method} ${path}: ${res.body.toString()}`);
        if (method !== 'HEAD') assertJsonError(res, 403, 'forbidden', `${method} ${path}`);
      }
    }
  });

  test("the Drill paths that are served take GET (and HEAD) only: 405 with Allow", async () => {
    const paths = ['/status', '/status.json', '/cluster.json', '/storage.json', '/options.json', '/profiles.json', `/profiles/${QUERY_ID}.json`];
    for (const path of paths) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
        const res = await send(gateway.url, { method, path, headers: bearer(TOKEN) });
        assertJsonError(res, 405, 'method_not_allowed', `${method} ${path}`);
        assert.equal(res.headers.allow, 'GET, HEAD');
      }
    }
    assertJsonError(await send(gateway.url, { method: 'GET', path: '/query.json', headers: bearer(TOKEN) }), 405, 'method_not_allowed', 'GET /query.json');
  });

  test("POST /query.json takes SQL only: a physical or logical plan could name any storage", async () => {
    const plan = JSON.stringify({ head: { version: 1 }, graph: [{ pop: 'fs-scan', files: ['/etc/passwd'], storage: { type: 'file', connection: 'file:///' } }] });
    for (const queryType of ['PHYSICAL', 'LOGICAL', 'physical', 'Logical', 'EXECUTION', '', 'PLAN']) {
      const res = await send(gateway.url, { method: 'POST', path: '/query.json', headers: { ...bearer(TOKEN), 'content-type': 'application/json' }, body: JSON.stringify({ queryType, query: plan }) });
      // Drill's own query types are refused on purpose; a name Drill does not know is bad input.
      if (['', 'PLAN'].includes(queryType)) assertJsonError(res, 400, 'invalid_request', `queryType ${queryType}`);
      else assertJsonError(res, 403, 'forbidden', `queryType ${queryType}`);
      assert.equal(res.json.errorMessage, res.json.message);
    }
  });

  test('POST /query.json refuses the Drill session options that would mislead the gateway or outlast the query: 403 naming the option', async () => {
    const refused = [
      ['planner.parser.quoting_identifiers', '"'],
      ['PLANNER.Parser.Quoting_Identifiers', '['],
      ['drill.exec.storage.file.partition.column.label', 'part'],
      ['drill.exec.storage.implicit.filename.column.label', 'dir0'],
      ['exec.query_profile.save', false],
      ['exec.persistent_table.umask', '000'],
      ['new_view_default_permissions', '777'],
      ['store.hive.conf.properties', 'hive.metastore.uris=thrift://evil:9083'],
      ['exec.queue.enable', 'false'],
      ['drill.exec.testing.controls', '{"injections":[]}'],
    ] as const;
    const post = (options: Record<string, unknown>) =>
      send(gateway.url, { method: 'POST', path: '/query.json', headers: { ...bearer(TOKEN), 'content-type': 'application/json' }, body: JSON.stringify({ queryType: 'SQL', query: 'SELECT 1', options }) });
    for (const [name, value] of refused) {
      // Alone, and behind an option that passes.
      for (const options of [{ [name]: value }, { 'store.json.all_text_mode': 'true', [name]: value }]) {
        const res = await post(options);
        assertJsonError(res, 403, 'forbidden_option', name);
        assert.ok(res.json.message.includes(name), res.json.message);
        assert.equal(res.json.errorMessage, res.json.message);
      }
    }
    // No Drill option has such a name; a look-alike of a refused one must not slip through.
    for (const name of ['planner.parser.quoting_identifier\u017f', 'planner.parser.quoting_identifiers ', '', 'a/b', 'x'.repeat(300)]) {
      assertJsonError(await post({ [JSON.parse(`"${name}"`)]: 'x' }), 400, 'invalid_request', JSON.stringify(name));
    }
  });

  test('the options a client may set pass the check', () => {
    for (const name of ['store.json.all_text_mode', 'planner.width.max_per_node', 'exec.errors.verbose', 'planner.memory.max_query_memory_per_node', 'exec.rm.queryTags', 'store.format', 'drill.exec.storage.file.text.batch.size', 'exec.queue']) {
      assert.equal(refusedOption(name), null, name);
    }
    for (const name of Object.keys(REFUSED_DRILL_OPTIONS)) assert.notEqual(refusedOption(name.endsWith('.') ? `${name}x` : name.toUpperCase()), null, name);
  });

  test('canonicalPath undoes what a lenient server would undo', () => {
    assert.equal(canonicalPath('/%252E%252e/a//B/./c;x=1/../d%2F'), '/a/b/d');
    assert.equal(canonicalPath('\\gracefulShutdown'), '/gracefulshutdown');
    assert.equal(canonicalPath('/%zz/../x'), '/x');
  });
});

describe('dataset paths stay inside the workspaces', () => {
  let gateway: OfflineGateway;
  let outside: string;
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN], files: { 'sales/a.json': '{"a":1}\n' } });
    // A directory beside the data folder, and links into it from inside a workspace.
    outside = join(gateway.config.home, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'secret.json'), '{"secret":"do not size me"}\n');
    symlinkSync(outside, join(gateway.config.dataDir, 'link'));
    symlinkSync(join(outside, 'secret.json'), join(gateway.config.dataDir, 'secret-link.json'));
  });
  after(async () => {
    const pool = gateway.pool.snapshot();
    assert.deepEqual([pool.desired, pool.events.length], [0, 0], 'no refused query reached the pool');
    await gateway.close();
  });

  const post = (path: string, sql: string) =>
    send(gateway.url, { method: 'POST', path, headers: { ...bearer(TOKEN), 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });

  const ESCAPES = [
    'SELECT * FROM dfs.`../../etc/passwd`',
    'SELECT * FROM dfs.`..`',
    'SELECT * FROM dfs.data.`../outside/secret.json`',
    'SELECT * FROM dfs.`sales/../../outside`',
    'SELECT * FROM dfs.`*/../../../etc/passwd`',
    'SELECT * FROM dfs.tmp.`../../etc`',
    'SELECT * FROM `dfs`.`default`.`../../etc/passwd`',
    'SELECT * FROM DFS.DATA.`../..`',
    'SELECT * FROM dfs.`a``/../../../etc`',
    "SELECT * FROM table(dfs.`../../etc/passwd`(type => 'text'))",
    'SELECT * FROM dfs/* comment */.`../../etc/passwd`',
    'SELECT * FROM dfs -- comment\n.`../../etc/passwd`',
    'SELECT * FROM dfs.`sales` WHERE a IN (SELECT a FROM dfs.`../../etc/passwd`)',
    'SELECT (SELECT 1 FROM dfs.`../../etc/passwd`) FROM dfs.`sales`',
    'WITH x AS (SELECT * FROM dfs.`../../etc/passwd`) SELECT * FROM x',
    'SELECT * FROM dfs.`sales` UNION ALL SELECT * FROM dfs.`../../etc/passwd`',
    'SELECT * FROM dfs.`sales` FETCH FIRST 1 ROW ONLY UNION SELECT * FROM dfs.`../../etc`',
    'EXPLAIN PLAN FOR SELECT * FROM dfs.`../../etc/passwd`',
  ];

  test('POST /v1/plan and POST /query refuse a path that leaves its workspace: 403 before Drill', async () => {
    for (const sql of ESCAPES) {
      for (const path of ['/v1/plan', '/query']) {
        assertJsonError(await post(path, sql), 403, 'path_outside_workspace', `${path} ${sql}`);
      }
    }
    // Double quotes are no identifier quotes to Drill (backtick quoting): Drill cannot parse
    // the text, and the gateway says so before it reaches Drill.
    assertJsonError(await post('/query', 'SELECT * FROM dfs."../../etc/passwd"'), 400, 'invalid_sql', 'double quotes');
    assert.ok([400, 403].includes((await post('/v1/plan', 'SELECT * FROM dfs."../../etc/passwd"')).status));
    const text = await send(gateway.url, { method: 'POST', path: '/query', headers: { ...bearer(TOKEN), 'content-type': 'text/plain' }, body: ESCAPES[0] });
    assertJsonError(text, 403, 'path_outside_workspace', 'text/plain');
    const drill = await send(gateway.url, {
      method: 'POST',
      path: '/query.json',
      headers: { ...bearer(TOKEN), 'content-type': 'application/json' },
      body: JSON.stringify({ queryType: 'SQL', query: ESCAPES[0] }),
    });
    assertJsonError(drill, 403, 'path_outside_workspace', '/query.json');
  });

  test('a leading "/" is the workspace root, as Drill reads it: dfs.`/etc/passwd` is <dataDir>/etc/passwd', async () => {
    for (const sql of ['SELECT * FROM dfs.`/etc/passwd`', 'SELECT * FROM dfs.data.`//etc/passwd`', 'SELECT * FROM dfs.`/etc/./passwd`']) {
      const res = await post('/v1/plan', sql);
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.json.targets[0].path, join(gateway.config.dataDir, 'etc/passwd'), sql);
      assert.equal(res.json.targets[0].missing, true);
    }
    // A URI is an absolute location to Drill (Hadoop's Path), not a folder under the root: refused.
    for (const uri of ['file:///etc/passwd', 'file:/etc/passwd', 'hdfs://h/x', 's3a://b/k', 'x:y']) {
      assertJsonError(await post('/v1/plan', `SELECT * FROM dfs.\`${uri}\``), 403, 'path_outside_workspace', uri);
    }
  });

  test('escaped dots (\\.\\.) are not a way out', async () => {
    assertJsonError(await post('/v1/plan', 'SELECT * FROM dfs.`\\.\\./outside`'), 403, 'path_outside_workspace', 'escaped dots');
  });

  test('brace alternatives that spell .. are not a way out', async () => {
    assertJsonError(await post('/v1/plan', 'SELECT * FROM dfs.`{.,x}./outside`'), 403, 'path_outside_workspace', 'braces');
  });

  test('a symbolic link inside a workspace that points outside every workspace is refused', async () => {
    for (const sql of ['SELECT * FROM dfs.`link`', 'SELECT * FROM dfs.`secret-link.json`', 'SELECT * FROM dfs.`link/secret.json`']) {
      assertJsonError(await post('/v1/plan', sql), 403, 'path_outside_workspace', sql);
    }
  });
});

// Each of these, sent to Drill 1.22 itself, read or listed files outside every workspace
// (tried by hand: /etc/passwd's rows, /etc's listing). The gateway sends them on today: they
// get past sizing and wait for a Drillbit (504 here). What should happen: 403 before Drill.
describe('reads outside the workspaces that Drill itself allows', () => {
  let gateway: OfflineGateway;
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN] });
  });
  after(() => gateway.close());

  const query = (sql: string) => send(gateway.url, { method: 'POST', path: '/query', headers: { ...bearer(TOKEN), 'content-type': 'text/plain' }, body: sql });

  test('SELECT through escaped dots', async () => {
    const sql = "SELECT * FROM table(dfs.`\\.\\./\\.\\./\\.\\./\\.\\./etc/passwd`(type => 'text', fieldDelimiter => ':'))";
    assertJsonError(await query(sql), 403, 'path_outside_workspace', sql);
  });

  test('SHOW FILES, which Drill reads from the real root', async () => {
    for (const sql of ['SHOW FILES IN dfs.`/etc`', 'SHOW FILES IN dfs.`..`', 'SHOW FILES FROM dfs.tmp.`../..`']) {
      assertJsonError(await query(sql), 403, 'path_outside_workspace', sql);
    }
  });
});

describe('secrets stay out of logs and error messages', () => {
  test('the request log has method, path and status: no Authorization, no query string, no body', async () => {
    const capture = capturedLogger();
    const secret = 'sEcReT-pa55w0rd-9d8c7b6a';
    const gateway = await startOfflineGateway({ tokens: [TOKEN], log: capture.log });
    try {
      const json = { 'content-type': 'application/json' };
      await send(gateway.url, { path: '/v1/qsf', headers: bearer(TOKEN) });
      await send(gateway.url, { path: '/v1/qsf', headers: bearer(secret) });
      await send(gateway.url, { path: `/v1/cluster?token=${secret}&password=${secret}`, headers: bearer(TOKEN) });
      await send(gateway.url, { method: 'POST', path: `/v1/plan?qsf=2&access_token=${secret}`, headers: { ...bearer(TOKEN), ...json }, body: JSON.stringify({ sql: `SELECT '${secret}'` }) });
      await send(gateway.url, { method: 'POST', path: '/query.json', headers: { ...bearer(TOKEN), ...json }, body: JSON.stringify({ query: 'SELECT 1', options: { password: secret } }) });
      await send(gateway.url, { method: 'POST', path: '/v1/plan', headers: { ...bearer(TOKEN), ...json, 'x-api-key': secret }, body: `{"sql": "${secret}` });
      await send(gateway.url, { path: `/nowhere?token=${secret}`, headers: { authorization: `Basic ${Buffer.from(`u:${secret}`).toString('base64')}` } });
      const text = capture.text();
      const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(lines.length >= 7, text);
      assert.ok(lines.some((l) => l.path === '/v1/cluster' && l.status === 200));
      assert.ok(lines.some((l) => l.path === '/v1/plan' && l.status === 200));
      for (const leak of [TOKEN, secret, Buffer.from(`u:${secret}`).toString('base64'), 'token=', 'Bearer', 'authorization']) {
        assert.ok(!text.toLowerCase().includes(leak.toLowerCase()), `the log holds ${leak}:\n${text}`);
      }
    } finally {
      await gateway.close();
    }
  });
});

describe('the OpenAPI document', () => {
  let gateway: OfflineGateway;
  let doc: { openapi: string; paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>; components: { schemas: Record<string, unknown> } };
  before(async () => {
    gateway = await startOfflineGateway({ tokens: [TOKEN] });
    doc = (await send(gateway.url, { path: '/openapi.json', headers: bearer(TOKEN) })).json;
  });
  after(() => gateway.close());

  test('is OpenAPI 3.1 and lists exactly the routes the app serves', () => {
    assert.equal(doc.openapi, '3.1.0');
    const served = new Set(
      gateway.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)\{(?:[^{}]|\{\d+\})*\}/g, '{$1}')}`),
    );
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    assert.deepEqual([...documented].sort(), [...served].sort());
    for (const route of ['POST /query', 'POST /v1/plan', 'POST /query.json', 'GET /profiles/{profile}', 'GET /healthz', 'GET /openapi.json']) assert.ok(documented.has(route), route);
  });

  test('every error response is the shared {error, message} schema; 401 everywhere but the public routes', () => {
    assert.ok(doc.components.schemas.Error);
    const open = ['get /healthz', 'get /', 'get /login', 'get /logout', 'post /j_security_check'];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const isOpen = open.includes(`${method} ${path}`);
        const errors = Object.entries(op.responses).filter(([status]) => Number(status) >= 400);
        assert.ok(errors.length > 0 || isOpen, `${method} ${path} documents no error`);
        for (const [status, response] of errors) assert.equal(response.content!['application/json']!.schema.$ref, '#/components/schemas/Error', `${method} ${path} ${status}`);
        assert.equal('401' in op.responses, !isOpen, `${method} ${path}`);
        if (isOpen) assert.deepEqual(op.security, []);
      }
    }
    const statuses = new Set(Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => Object.keys(op.responses))));
    for (const status of ['400', '401', '403', '413', '415', '502', '503', '504']) assert.ok(statuses.has(status), status);
  });

  test('a known path with another method is a 405 naming the allowed ones', async () => {
    const res = await send(gateway.url, { method: 'DELETE', path: '/v1/qsf', headers: bearer(TOKEN) });
    assertJsonError(res, 405, 'method_not_allowed', 'DELETE /v1/qsf');
    assert.equal(res.headers.allow, 'GET, PUT, HEAD');
    assertJsonError(await send(gateway.url, { path: '/query', headers: bearer(TOKEN) }), 405, 'method_not_allowed', 'GET /query');
    assertJsonError(await send(gateway.url, { path: '/nope', headers: bearer(TOKEN) }), 404, 'not_found', 'GET /nope');
  });
});

// Issue 11's classes, through the real gateway and a real Drillbit (with the sandbox when
// it is on): each refused with its code before Drill sees it, or read as Drill reads it;
// afterwards nothing outside the workspaces was read, listed, written or deleted, and
// sys.options shows no SYSTEM-scope change.
describe('issue 11: statements by allow-list and paths, through the real gateway and Drill', () => {
  const config = testConfig({
    storage: { workspaces: { default: { location: '.' }, data: { location: '.' }, tmp: { location: '../tmp', writable: true } } },
    pool: { idleTimeoutMs: 600_000, startTimeoutMs: 240_000, maxDrillbits: 1 },
  });
  const outside = join(config.home, 'data2');
  const SECRET = 'dromedar-outside-secret-7f3e';
  let gateway: Gateway;
  let scheduler: LocalScheduler;
  const post = (path: string, body: unknown) =>
    send(gateway.url, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const query = (sql: string) => post('/query', { sql });
  const listOutside = () => execFileSync('find', [outside, '-printf', '%p %s %T@\n'], { encoding: 'utf8' }).split('\n').sort().join('\n');
  const systemOptions = async () => {
    const res = await query("SELECT name, string_val, num_val, bool_val, float_val FROM sys.options WHERE optionScope = 'SYSTEM' ORDER BY name");
    assert.equal(res.status, 200, res.body.toString().slice(0, 300));
    return JSON.stringify(res.json?.rows);
  };
  let before_: { listing: string; options: string };

  before(async () => {
    mkdirSync(join(config.dataDir, 'sub'), { recursive: true });
    mkdirSync(join(outside, 'victim'), { recursive: true });
    mkdirSync(join(config.home, 'tmp'), { recursive: true });
    writeFileSync(join(config.dataDir, 'a.json'), '{"a": 1}\n');
    writeFileSync(join(config.dataDir, 'b.json'), '{"a": 2, "pad": "' + 'x'.repeat(1000) + '"}\n');
    writeFileSync(join(outside, 'x.json'), JSON.stringify({ secret: SECRET }) + '\n');
    writeFileSync(join(outside, 'victim', 'keep.json'), '{"k": 1}\n');
    symlinkSync(outside, join(config.dataDir, 'link'));
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
    gateway = await Gateway.start(config, { scheduler, log: capturedLogger().log });
    before_ = { listing: listOutside(), options: await systemOptions() };
  });

  after(async () => {
    await gateway?.stop({ drainMs: 1_000 });
    await scheduler?.stop();
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
  });

  const refused = async (sql: string, status: number, code: string, mention?: string) => {
    const res = await query(sql);
    assertJsonError(res, status, code, sql);
    if (mention) assert.ok(String(res.json?.message).includes(mention), `${sql}: ${res.json?.message}`);
    assert.ok(!res.body.toString().includes(SECRET) && !res.body.toString().includes('root:x:0'), sql);
  };

  test('statements that name files without a table: CREATE SCHEMA LOAD/PATH, aliases, functions (403 statement_not_allowed naming the kind)', async () => {
    await refused("CREATE SCHEMA LOAD '/etc/passwd' FOR TABLE dfs.tmp.x", 403, 'statement_not_allowed', 'CREATE SCHEMA');
    await refused("CREATE SCHEMA LOAD '/proc/self/environ' FOR TABLE dfs.tmp.x", 403, 'statement_not_allowed', 'CREATE SCHEMA');
    await refused(`CREATE OR REPLACE SCHEMA (a INT) PATH '${join(outside, 'victim', 'new.schema')}'`, 403, 'statement_not_allowed', 'CREATE OR REPLACE SCHEMA');
    await refused('CREATE PUBLIC ALIAS `cp` FOR STORAGE `dfs`', 403, 'statement_not_allowed', 'CREATE ALIAS');
    await refused('/* x */ create -- y\r alias `t` FOR TABLE dfs.tmp.`t`', 403, 'statement_not_allowed', 'CREATE ALIAS');
    await refused("CREATE FUNCTION USING JAR 'x.jar'", 403, 'statement_not_allowed', 'CREATE FUNCTION');
    await refused('GRANT ALL ON x TO y', 403, 'statement_not_allowed', 'GRANT');
    await refused('SELECT 1; ALTER SYSTEM SET `exec.errors.verbose` = true', 403, 'statement_not_allowed', 'more than one statement');
    // Drill's routes get Drill's error shape beside ours.
    const res = await post('/query.json', { queryType: 'SQL', query: "CREATE SCHEMA LOAD '/etc/passwd' FOR TABLE dfs.tmp.x" });
    assertJsonError(res, 403, 'statement_not_allowed', '/query.json');
    assert.equal(typeof res.json?.errorMessage, 'string');
  });

  test("comments and strings read as Drill reads them: ALTER // x SYSTEM, SHOW // x FILES, a UNION behind -- x\\r or 'a\\'", async () => {
    await refused('ALTER // x\nSYSTEM SET `exec.errors.verbose` = true', 403, 'statement_not_allowed', 'ALTER SYSTEM');
    await refused('ALTER -- x\rSYSTEM SET `exec.errors.verbose` = true', 403, 'statement_not_allowed', 'ALTER SYSTEM');
    await refused('ALTER /***/ SYSTEM SET `exec.errors.verbose` = true /* */', 403, 'statement_not_allowed');
    await refused('SHOW // x\nFILES IN dfs.data.`/`', 403, 'path_outside_workspace');
    for (const hidden of ['-- x\r', '// x\r', "WHERE 'a\\' = 'a\\' "]) {
      const sql = `SELECT a FROM dfs.data.\`a.json\` ${hidden}UNION ALL SELECT a FROM dfs.data.\`b.json\``;
      const res = await post('/v1/plan', { sql });
      assert.equal(res.status, 200, `${sql}: ${res.body.toString().slice(0, 300)}`);
      const names = (res.json?.targets as Array<{ name: string }>).map((t) => t.name).join(' ');
      assert.match(names, /b\.json/, `${sql}: the gateway must count what Drill reads: ${names}`);
    }
    // U&"..." is an identifier in every quoting mode.
    await refused('SELECT * FROM dfs.data.U&"\\002e\\002e/data2/x.json"', 403, 'path_outside_workspace');
    await refused("SELECT * FROM dfs.data.U&\"!002e!002e/data2/x.json\" UESCAPE '!'", 403, 'path_outside_workspace');
    await refused('SELECT * FROM dfs.data.`a.json` /* unterminated', 400, 'invalid_sql');
  });

  test('URI paths, sibling folders, cp and sys paths, DROP outside, SHOW FILES through a link: 403 path_outside_workspace', async () => {
    for (const sql of [
      `SELECT * FROM dfs.data.\`file://${join(outside, 'x.json')}\``,
      `SELECT * FROM dfs.data.\`file:${join(outside, 'x.json')}\``,
      'SELECT * FROM dfs.data.`hdfs://localhost/x`',
      'SELECT * FROM dfs.data.`../data2/x.json`',
      'SELECT * FROM cp.`../../../../../etc/passwd`',
      'SELECT * FROM sys.`../options`',
      `DROP TABLE dfs.tmp.\`file://${join(outside, 'victim')}\``,
      'DROP TABLE dfs.tmp.`../data2/victim`',
      'SHOW FILES IN dfs.data.`link`',
      'SHOW FILES IN dfs.`/etc`',
    ]) {
      await refused(sql, 403, 'path_outside_workspace');
    }
    await refused('CREATE TABLE dfs.data.`t` AS SELECT 1', 403, 'statement_not_allowed', 'writable');
    await refused('ALTER SESSION SET `planner.parser.quoting_identifiers` = \'"\'', 403, 'forbidden_option');
  });

  test('what passes runs: a query, SHOW FILES inside, ALTER SESSION, CTAS and DROP in the writable workspace', async () => {
    for (const sql of ['SELECT a FROM dfs.data.`a.json`', 'SHOW FILES IN dfs.data.`sub`', 'ALTER SESSION SET `store.format` = \'json\'', 'CREATE TABLE dfs.tmp.`made` AS SELECT 1 AS one', 'DROP TABLE dfs.tmp.`made`']) {
      const res = await query(sql);
      assert.equal(res.status, 200, `${sql}: ${res.body.toString().slice(0, 300)}`);
      assert.equal(res.json?.queryState, 'COMPLETED', `${sql}: ${res.json?.errorMessage}`);
    }
  });

  test('afterwards: nothing outside the workspaces changed, and no SYSTEM option did', async () => {
    assert.equal(listOutside(), before_.listing);
    assert.equal(await systemOptions(), before_.options);
  });
});
