// The Trino front end without Drill: Drill's answers (as captured from a Drillbit 1.22)
// read incrementally and encoded as Trino's clients decode them, pages bounded and
// read from Drill only as they are asked for, session headers and the statements the
// gateway answers itself, and the protocol's answers to malformed requests over real
// HTTP (an offline gateway: nothing can start a Drillbit).
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { Num, parseJson } from '../src/trino/json.js';
import { rewriteMetadata } from '../src/trino/metadata.js';
import { DrillAnswerReader, Pager } from '../src/trino/pager.js';
import { bind, control, defaultSchema, readSession, toDrillQuoting } from '../src/trino/session.js';
import { encodeValue, inferColumns, T, trinoType } from '../src/trino/types.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';

// Drill 1.22's /query.json answer to a query of every scalar type (captured).
const TYPED = `{"queryId":"14f057b1-a0c4-020b-1e9a-26900909dcc9"
,"columns":["i","d","f","dec1","t","dt","tm","ts","vb","iv","d1","nan","big"]
,"metadata":["INT","VARDECIMAL(2, 1)","FLOAT4","VARDECIMAL(10, 2)","BIT","DATE","TIME","TIMESTAMP","VARBINARY","INTERVALDAY","FLOAT8","FLOAT8","BIGINT"]
,"attemptedAutoLimit":0
,"rows":[
{"i":1,"d":1.5,"f":2.5,"dec1":1.25,"t":true,"dt":1704153600000,"tm":36672000,"ts":1704190272345,"vb":"YWJj","iv":"P1D","d1":1.0,"nan":"NaN","big":9007199254740993}
]
,"queryState":"COMPLETED"
}`;

function chunked(text: string, size: number): Readable {
  const parts: Buffer[] = [];
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

async function allPages(pager: Pager): Promise<string[]> {
  const rows: string[] = [];
  for (let i = 0; i < 10_000 && !pager.done; i++) rows.push(...(await pager.next(performance.now() + 1_000)).rows);
  return rows;
}

describe("Drill's answer to Trino's encoding", () => {
  test('every scalar type, read byte by byte, as trino-jdbc and the Python client decode them', async () => {
    const pager = new Pager(new DrillAnswerReader(chunked(TYPED, 1)), { pageBytes: 1 << 20 });
    const rows = await allPages(pager);
    assert.deepEqual(
      pager.columns!.map((c) => c.type),
      ['integer', 'decimal(2,1)', 'real', 'decimal(10,2)', 'boolean', 'date', 'time(3)', 'timestamp(3)', 'varbinary', 'varchar', 'double', 'double', 'bigint'],
    );
    // Doubles as floats ("1.0"), decimals as text, BIGINT past 2^53 with every digit.
    assert.deepEqual(rows, ['[1,"1.5",2.5,"1.25",true,"2024-01-02","10:11:12.000","2024-01-02 10:11:12.345","YWJj","P1D",1.0,"NaN",9007199254740993]']);
    assert.equal(pager.reader.tail.queryState, 'COMPLETED');
  });

  test('repeated columns become arrays from their values; maps and lists are json', () => {
    const rows = [parseJson('{"a":{"x":1},"tags":["a","b"],"l":[[1],[2,3]],"n":null}') as Record<string, never>];
    const cols = inferColumns(['a', 'tags', 'l', 'n'], ['MAP', 'VARCHAR', 'LIST', 'BIGINT'], rows);
    assert.deepEqual(cols.map((c) => c.type), ['json', 'array(varchar)', 'array(json)', 'bigint']);
    assert.equal(encodeValue(rows[0]!['a'], cols[0]!.typeSignature), JSON.stringify('{"x":1}'));
    assert.equal(encodeValue(rows[0]!['l'], cols[2]!.typeSignature), '["[1]","[2,3]"]');
  });

  test('Drill type names with precision and width', () => {
    assert.equal(trinoType('VARDECIMAL(38, 6)').name, 'decimal(38,6)');
    assert.equal(trinoType('VARCHAR(65535)').name, 'varchar');
    assert.equal(trinoType('FLOAT8').name, 'double');
    assert.deepEqual(T.timestamp.signature, { rawType: 'timestamp', arguments: [{ kind: 'LONG', value: 3 }] });
    assert.equal(encodeValue(new Num('3'), T.double.signature), '3.0');
    assert.equal(encodeValue(new Num('1e300'), T.double.signature), '1e300');
    assert.equal(encodeValue('-Infinity', T.double.signature), '"-Infinity"');
  });

  test('a failure after the first row is the end of the rows plus queryState FAILED; a cut answer is an error', async () => {
    const failed = new Pager(new DrillAnswerReader(chunked('{"queryId":"q","columns":["a"],"metadata":["BIGINT"],"rows":[{"a":1}\n],"errorMessage":"SYSTEM ERROR: boom","queryState":"FAILED"}', 7)), { pageBytes: 1024 });
    assert.deepEqual(await allPages(failed), ['[1]']);
    assert.deepEqual(failed.reader.tail, { queryState: 'FAILED', errorMessage: 'SYSTEM ERROR: boom' });
    const cut = new Pager(new DrillAnswerReader(chunked('{"queryId":"q","columns":["a"],"metadata":["BIGINT"],"rows":[{"a":1},{"a":2},', 5)), { pageBytes: 1024 });
    const first = await cut.next(performance.now() + 1_000);
    assert.deepEqual(first.rows, ['[1]', '[2]']);
    await assert.rejects(cut.next(performance.now() + 1_000), /ended before it was complete/);
  });

  test("Drill's query id is read as soon as Drill sends it, before any row", async () => {
    const body = new Readable({ read() {} });
    body.push('{"queryId":"14f0-abc"');
    const reader = new DrillAnswerReader(body);
    assert.equal(await reader.readHead(performance.now() + 100), false);
    assert.equal(reader.head.queryId, '14f0-abc');
    body.destroy();
  });

  test('pages are bounded, and Drill is read only as pages are asked for (backpressure)', async () => {
    let produced = 0;
    const total = 200_000;
    const body = new Readable({
      highWaterMark: 16 * 1024,
      read() {
        if (produced === 0) this.push('{"queryId":"q","columns":["n","s"],"metadata":["BIGINT","VARCHAR"],"rows":[');
        if (produced >= total) {
          this.push('],"queryState":"COMPLETED"}');
          this.push(null);
          return;
        }
        const rows: string[] = [];
        for (let i = 0; i < 100 && produced < total; i++, produced++) rows.push(`${produced === 0 ? '' : ','}{"n":${produced},"s":"row ${produced}"}`);
        this.push(rows.join(''));
      },
    });
    const reader = new DrillAnswerReader(body);
    const pager = new Pager(reader, { pageBytes: 64 * 1024 });
    const page = await pager.next(performance.now() + 1_000);
    assert.ok(page.bytes >= 64 * 1024 && page.bytes < 64 * 1024 + 200, `page of ${page.bytes} bytes`);
    // One page in, Drill's side has produced about a page and the stream's buffers, not the result.
    assert.ok(reader.bytesRead < 400 * 1024, `read ${reader.bytesRead} bytes of Drill's answer for one page`);
    assert.ok(produced < total / 4, `produced ${produced} of ${total} rows for one page`);
    let rows = page.rows.length;
    let sum = 0;
    for (const r of page.rows) sum += Number(r.slice(1, r.indexOf(',')));
    while (!pager.done) {
      const next = await pager.next(performance.now() + 1_000);
      assert.ok(next.bytes < 64 * 1024 + 200);
      rows += next.rows.length;
      for (const r of next.rows) sum += Number(r.slice(1, r.indexOf(',')));
    }
    assert.equal(rows, total);
    assert.equal(sum, (total * (total - 1)) / 2);
  });
});

describe('session headers and the statements answered by the gateway', () => {
  const session = readSession((name) => ({ 'x-trino-user': 'ann', 'x-trino-catalog': 'dfs', 'x-trino-schema': 'data', 'x-trino-session': 'exec.errors.verbose=true,planner.width.max_per_node=2', 'x-trino-prepared-statement': `s1=${encodeURIComponent('SELECT * FROM t WHERE a = ? AND b = ?')},s2=SELECT+%3F+%2B+1`, 'x-trino-client-tags': 'bi, nightly' })[name]);

  test('catalog and schema are Drill default schema; X-Trino-Session are Drill options; tags are listed', () => {
    assert.equal(session.user, 'ann');
    assert.equal(defaultSchema(session), 'dfs.data');
    assert.equal(defaultSchema({ catalog: 'sys', schema: 'default' }), 'sys');
    assert.deepEqual({ ...session.properties }, { 'exec.errors.verbose': 'true', 'planner.width.max_per_node': '2' });
    assert.deepEqual(session.tags, ['bi', 'nightly']);
  });

  test('USE, SET SESSION, PREPARE, EXECUTE ... USING with literals only', () => {
    assert.deepEqual(control('USE dfs.tmp', session), { kind: 'use', catalog: 'dfs', schema: 'tmp' });
    assert.deepEqual(control('use "tmp"', session), { kind: 'use', catalog: 'dfs', schema: 'tmp' });
    assert.deepEqual(control("SET SESSION exec.errors.verbose = 'true'", session), { kind: 'set', name: 'exec.errors.verbose', value: 'true' });
    assert.deepEqual(control('PREPARE s2 FROM SELECT ?', session), { kind: 'prepare', name: 's2', sql: 'SELECT ?' });
    assert.deepEqual(control("EXECUTE s1 USING 3, 'it''s'", session), { kind: 'execute', sql: "SELECT * FROM t WHERE a = 3 AND b = 'it''s'" });
    assert.deepEqual(control("EXECUTE IMMEDIATE 'SELECT ?, ?' USING DECIMAL '12.34', DATE '2024-01-05'", session), { kind: 'execute', sql: "SELECT CAST('12.34' AS DECIMAL(4, 2)), DATE '2024-01-05'" });
    assert.equal(control("EXECUTE IMMEDIATE 'SELECT ?' USING BIGINT '9007199254740993'", session)?.kind, 'execute');
    assert.throws(() => control('EXECUTE s1 USING 1, (SELECT 2)', session), /takes literals/);
    assert.throws(() => control('EXECUTE s1 USING 1', session), /2 \? parameters, 1 were given/);
    assert.throws(() => control('EXECUTE nope USING 1', session), /Prepared statement not found/);
    assert.equal(control('SELECT 1', session), null);
    // trino-jdbc form-encodes the header (URLEncoder): + is a space, %2B a plus.
    assert.deepEqual(control('EXECUTE s2 USING 2', session), { kind: 'execute', sql: 'SELECT 2 + 1' });
    // A ? inside a string, a quoted name or a comment is no parameter.
    assert.equal(bind("SELECT '?', \"a?\" /* ? */, ?", ['1']), "SELECT '?', \"a?\" /* ? */, 1");
  });

  test('"identifiers" become Drill\'s `identifiers`; metadata tables become INFORMATION_SCHEMA subqueries', () => {
    assert.equal(toDrillQuoting('SELECT "a b", \'"x"\' FROM "people.json" WHERE "q`" = 1'), "SELECT `a b`, '\"x\"' FROM `people.json` WHERE `q``` = 1");
    const jdbc = rewriteMetadata("SELECT TABLE_CAT FROM system.jdbc.catalogs ORDER BY TABLE_CAT");
    assert.match(jdbc, /^SELECT TABLE_CAT FROM \(SELECT DISTINCT .* FROM INFORMATION_SCHEMA\.SCHEMATA\) AS `catalogs` ORDER BY TABLE_CAT$/);
    // Trino's information_schema is one catalog's (the named one, else the session's).
    assert.match(rewriteMetadata('SELECT table_name FROM dfs.information_schema.tables WHERE table_schema = ?'), /FROM \(SELECT \* FROM \(SELECT .*INFORMATION_SCHEMA\.`TABLES`\) WHERE table_catalog = 'dfs'\) AS `tables` WHERE/);
    assert.match(rewriteMetadata('SELECT schema_name FROM `information_schema`.`schemata`', 'cp'), /WHERE catalog_name = 'cp'\) AS `schemata`$/);
    // Not a table position: left alone.
    assert.equal(rewriteMetadata("SELECT 'system.jdbc.tables', a.system.jdbc FROM t"), "SELECT 'system.jdbc.tables', a.system.jdbc FROM t");
  });
});

describe('the protocol over HTTP, offline', () => {
  let gw: OfflineGateway;
  before(async () => {
    gw = await startOfflineGateway({ queueTimeoutMs: 60_000 });
  });
  after(async () => gw?.close());

  const post = async (sql: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}/v1/statement`, { method: 'POST', body: sql, headers: { 'x-trino-user': 'test', ...headers } });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  test('/v1/info as a coordinator that has started', async () => {
    const res = await request(`${gw.url}/v1/info`);
    const info = (await res.body.json()) as Record<string, unknown>;
    assert.deepEqual({ ...info, uptime: typeof info.uptime }, { nodeVersion: { version: '476' }, environment: 'dromedar', coordinator: true, starting: false, uptime: 'string' });
  });

  test('an empty statement is a 400; an unknown nextUri a 404; an old token a 410', async () => {
    const empty = await post('  ');
    assert.equal(empty.status, 400);
    assert.deepEqual(JSON.parse(empty.text), { error: 'invalid_request', message: 'SQL statement is empty' });
    const unknown = await request(`${gw.url}/v1/statement/executing/20260101_000000_00000_drome/xabc/1`);
    assert.equal(unknown.statusCode, 404);
    await unknown.body.text();
  });

  test('a query waits QUEUED (0 of 1 Drillbits up) and is cancelled by DELETE of its nextUri', async () => {
    const first = JSON.parse((await post('SELECT 1 FROM (VALUES(1))')).text);
    assert.equal(first.stats.state, 'QUEUED');
    const page = JSON.parse(await (await request(first.nextUri)).body.text());
    assert.equal(page.stats.state, 'QUEUED');
    assert.equal(page.stats.totalSplits, 1);
    assert.equal(page.stats.queued, true);
    assert.equal(page.stats.nodes, 0);
    // The token before is answered again (a retried GET); two before is gone.
    const again = JSON.parse(await (await request(first.nextUri)).body.text());
    assert.deepEqual(again, page);
    const next = await request(page.nextUri);
    await next.body.text();
    const old = await request(first.nextUri);
    assert.equal(old.statusCode, 410);
    await old.body.text();
    const del = await request(page.nextUri, { method: 'DELETE' });
    assert.equal(del.statusCode, 204);
    await del.body.text();
    const info = JSON.parse(await (await request(first.infoUri)).body.text());
    assert.equal(info.state, 'CANCELED');
    assert.equal(info.error.errorName, 'USER_CANCELED');
    // The query left the pool's wait queue (the abort reaches it asynchronously).
    const deadline = Date.now() + 5_000;
    while (gw.pool.snapshot().queued > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(gw.pool.snapshot().queued, 0);
  });

  test('version(), SHOW CATALOGS and SHOW SCHEMAS are answered without a Drillbit; USE answers X-Trino-Set-*', async () => {
    const version = JSON.parse((await post('SELECT version()')).text);
    assert.equal(version.stats.state, 'FINISHED');
    assert.deepEqual(version.data, [['476']]);
    const catalogs = JSON.parse((await post('SHOW CATALOGS')).text);
    assert.deepEqual(catalogs.data, [['cp'], ['dfs'], ['information_schema'], ['sys']]);
    const schemas = JSON.parse((await post('SHOW SCHEMAS FROM dfs')).text);
    assert.deepEqual(schemas.data, [['data'], ['default'], ['tmp']]);
    const use = await post('USE dfs.tmp');
    assert.equal(use.headers['x-trino-set-catalog'], 'dfs');
    assert.equal(use.headers['x-trino-set-schema'], 'tmp');
    assert.equal(JSON.parse(use.text).updateType, 'USE');
  });

  test('refusals are Trino errors: a refused Drill option, ALTER SYSTEM, a path outside the workspaces', async () => {
    const option = JSON.parse((await post('SELECT 1', { 'x-trino-session': 'planner.parser.quoting_identifiers=%22' })).text);
    assert.equal(option.stats.state, 'FAILED');
    assert.equal(option.error.errorName, 'INVALID_SESSION_PROPERTY');
    assert.match(option.error.message, /cannot be set through Dromedar/);
    const alter = JSON.parse((await post("ALTER SYSTEM SET `exec.errors.verbose` = true")).text);
    const failed = alter.stats.state === 'FAILED' ? alter : JSON.parse(await (await request(alter.nextUri)).body.text());
    assert.equal(failed.stats.state, 'FAILED');
    assert.equal(failed.error.errorName, 'PERMISSION_DENIED');
    const outside = JSON.parse((await post('SELECT * FROM dfs.data."../../etc/passwd"')).text);
    const f2 = outside.stats.state === 'FAILED' ? outside : JSON.parse(await (await request(outside.nextUri)).body.text());
    assert.equal(f2.error.errorName, 'PERMISSION_DENIED');
  });
});

describe('auth on the Trino routes', () => {
  const TOKEN = 'tok_5e1f0a9b3c7d4e2f8a6b';
  let gw: OfflineGateway;
  before(async () => {
    gw = await startOfflineGateway({ tokens: [TOKEN] });
  });
  after(async () => gw?.close());

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const post = async (authorization?: string) => {
    const res = await request(`${gw.url}/v1/statement`, { method: 'POST', body: 'SELECT version()', headers: { 'x-trino-user': 'ann', ...(authorization ? { authorization } : {}) } });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  test("Basic with the token as password (what Trino's clients send) and Bearer pass; no or a wrong token is a 401 with the challenge", async () => {
    assert.equal((await post(basic('ann', TOKEN))).status, 200);
    assert.equal((await post(`Bearer ${TOKEN}`)).status, 200);
    const wrong = await post(basic('ann', `${TOKEN}x`));
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /Basic realm="dromedar"/);
    assert.equal((await post()).status, 401);
    const info = await request(`${gw.url}/v1/info`);
    assert.equal(info.statusCode, 401);
    await info.body.text();
  });
});

describe("Trino queries in the gateway's registry", () => {
  let gw: OfflineGateway;
  before(async () => {
    gw = await startOfflineGateway({ queueTimeoutMs: 60_000 });
  });
  after(async () => gw?.close());

  test('a Trino query is listed by /v1/queries/{id} (front end trino), and DELETE there cancels it for the Trino client too', async () => {
    const res = await request(`${gw.url}/v1/statement`, { method: 'POST', body: 'SELECT 1 FROM (VALUES(1))', headers: { 'x-trino-user': 'ann' } });
    const first = JSON.parse(await res.body.text());
    const view = await request(`${gw.url}/v1/queries/${first.id}`);
    const q = JSON.parse(await view.body.text());
    assert.equal(view.statusCode, 200);
    assert.equal(q.frontEnd, 'trino');
    assert.equal(q.user, 'ann');
    const del = await request(`${gw.url}/v1/queries/${first.id}`, { method: 'DELETE' });
    assert.ok(del.statusCode < 300, String(del.statusCode));
    await del.body.text();
    const page = JSON.parse(await (await request(first.nextUri)).body.text());
    assert.equal(page.stats.state, 'CANCELED');
    assert.equal(page.error.errorName, 'USER_CANCELED');
    assert.equal(page.nextUri, undefined);
  });
});
