// The Drill clients users have, against the real gateway and real Drillbits, with Drill
// itself as the oracle: sqlalchemy-drill 1.1.10 (Superset's driver) on SQLAlchemy 1.4
// with its stock URL and no extra connect arguments, and pandas.read_sql; the same driver
// logging in with a token as its password; raw /query.json requests, each also sent to
// the Drillbit directly; the installed modules (NEARESTDATE, cp.`employee.json`); the
// writable workspace; and the README's example queries over the demo's data. One
// scheduler and its Drillbit serve the whole file.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { resolveRuntime } from '../src/drill/install.js';
import { ensureTrips } from '../src/sample/trips.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import { Gateway } from '../src/server/gateway.js';
import { workspaces } from '../src/storage/dfs.js';
import { createLogger } from '../src/util/log.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { pythonEnv, runPython, type PythonEnv } from './support/python.js';

const TOKEN = 'tok_c0ffee5a1e9b4d2f8e7a';
// Superset's line of SQLAlchemy (1.4) and a pandas that supports it.
const REQUIREMENTS = ['sqlalchemy-drill==1.1.10', 'SQLAlchemy==1.4.54', 'pandas==2.0.3', 'numpy==1.26.4', 'ijson==3.3.0', 'requests==2.32.3'];

const config = testConfig({ pool: { idleTimeoutMs: 600_000, queueTimeoutMs: 240_000, maxDrillbits: 1 } });
const quiet = createLogger('silent');
let scheduler: LocalScheduler;
let gateway: Gateway;
let python: PythonEnv;
let drillUrl: string;
const tmpRoot = workspaces(config).get('tmp')!.root;
let tmpExistedBefore: boolean;

interface Answer {
  status: number;
  type: string;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function post(base: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Answer> {
  const res = await request(`${base}/query.json`, { method: 'POST', body, headers, headersTimeout: 0, bodyTimeout: 0 });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    /* Drill's Jackson errors are text/plain */
  }
  return { status: res.statusCode, type: String(res.headers['content-type'] ?? ''), text, json };
}

const sql = (query: string, extra: Record<string, unknown> = {}) => JSON.stringify({ queryType: 'SQL', query, ...extra });

/** What Drill itself answers: columns, types, rows (the query id differs, of course). */
async function direct(query: string, extra: Record<string, unknown> = {}): Promise<{ columns: string[]; metadata: string[]; rows: Record<string, unknown>[]; queryState: string; errorMessage?: string }> {
  const answer = await post(drillUrl, sql(query, extra));
  assert.equal(answer.status, 200, answer.text);
  return answer.json;
}

// One Python process per call; it prints one JSON document.
const DRIVER = String.raw`
import json, sys, decimal
import sqlalchemy, pandas
from sqlalchemy import inspect, text
from sqlalchemy_drill.drilldbapi import api_exceptions
url, task = sys.argv[1], json.loads(sys.argv[2])
def plain(v):
    if isinstance(v, decimal.Decimal): return float(v)
    return v
out = {}
try:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        for name, query in task.get('queries', {}).items():
            cur = conn.connection.cursor()
            try:
                cur.execute(query)
                out[name] = {'description': [[d[0], list(d[1].values)] for d in cur.description], 'rows': [[plain(v) for v in r] for r in cur.fetchall()]}
            except Exception as e:
                out[name] = {'error': type(e).__name__, 'message': str(e)}
        if task.get('inspect'):
            insp = inspect(engine)
            out['schemas'] = list(insp.get_schema_names())
            out['tables'] = list(insp.get_table_names())
            out['columns'] = [[c['name'], c['type'].__name__ if isinstance(c['type'], type) else type(c['type']).__name__] for c in insp.get_columns(task['inspect'], schema='dfs.data')]
        if task.get('pandas'):
            # A TextClause: given a plain string, pandas asks has_table first, which
            # sqlalchemy-drill answers True for any SELECT (against Drill itself too).
            out['pandas'] = json.loads(pandas.read_sql(text(task['pandas']), engine).to_json(orient='records'))
except Exception as e:
    # SQLAlchemy wraps what the driver raises while connecting: orig is the driver's own.
    out['connect'] = {'error': type(getattr(e, 'orig', None) or e).__name__, 'message': str(e)}
print(json.dumps(out))
`;

async function driver(url: string, task: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const result = await runPython(python, DRIVER, [url, JSON.stringify(task)]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split('\n').pop()!);
}

const stockUrl = (userinfo = '') => `drill+sadrill://${userinfo}${new URL(gateway.url).host}/dfs/data?use_ssl=False`;

before(async () => {
  tmpExistedBefore = existsSync(tmpRoot);
  python = await pythonEnv('sqlalchemy-drill', REQUIREMENTS);
  await ensureTrips(join(config.dataDir, 'demo', 'trips'), 4 * 2 ** 20);
  writeFileSync(join(config.dataDir, 'people.json'), Array.from({ length: 20 }, (_, id) => JSON.stringify({ id, name: `p${id}`, score: id + 0.5, joined: '2024-01-0' + ((id % 9) + 1) })).join('\n'));
  scheduler = new LocalScheduler(config, await resolveRuntime(config));
  gateway = await Gateway.start(config, { scheduler, log: quiet });
  // The first query brings the Drillbit up; Drill's own address is then the oracle's.
  const first = await post(gateway.url, sql('SELECT * FROM sys.version'));
  assert.equal(first.status, 200, first.text);
  const bit = (await scheduler.list()).find((b) => b.state === 'ONLINE')!;
  drillUrl = `http://${bit.host}:${bit.httpPort}`;
});

after(async () => {
  await gateway?.stop({ drainMs: 1_000, stopDrillbits: false });
  await scheduler?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
});

describe('sqlalchemy-drill 1.1.10 with its stock URL, on SQLAlchemy 1.4', () => {
  const TRIPS = 'SELECT city, COUNT(*) AS n, ROUND(AVG(CAST(fare AS DOUBLE)), 2) AS avg_fare, MIN(CAST(id AS INT)) AS first_id FROM dfs.data.`demo/trips` GROUP BY city ORDER BY city';
  const MISSING = 'SELECT * FROM dfs.data.`no/such/table`';

  test("connects, gets typed cursor.description and the rows Drill answers, and raises Drill's own error message", async () => {
    const out = await driver(stockUrl(), { queries: { trips: TRIPS, missing: MISSING } });
    assert.equal(out.connect, undefined, JSON.stringify(out.connect));
    const oracle = await direct(TRIPS);
    assert.deepEqual(out.trips.description, oracle.columns.map((name, i) => [name, [oracle.metadata[i]]]));
    assert.deepEqual(out.trips.description.map((d: [string, string[]]) => d[1][0]), ['VARCHAR', 'BIGINT', 'FLOAT8', 'INT']);
    assert.deepEqual(out.trips.rows, oracle.rows.map((r) => oracle.columns.map((c) => r[c])));
    assert.equal(out.trips.rows.length, 8);
    const failed = await direct(MISSING);
    assert.equal(failed.queryState, 'FAILED');
    assert.equal(out.missing.error, 'DatabaseError');
    assert.ok(out.missing.message.includes(failed.errorMessage!.split('\n')[0]!), `${out.missing.message} vs Drill's ${failed.errorMessage}`);
  });

  test("the Inspector (get_schema_names, get_table_names, get_columns) and pandas.read_sql answer what Drill answers", async () => {
    const out = await driver(stockUrl(), { inspect: 'people.json', pandas: 'SELECT id, name, score FROM dfs.data.`people.json` ORDER BY id' });
    assert.equal(out.connect, undefined, JSON.stringify(out.connect));
    const schemas = (await direct('SHOW DATABASES')).rows.map((r) => r.SCHEMA_NAME).filter((s) => !['cp.default', 'INFORMATION_SCHEMA', 'dfs.default'].includes(s as string));
    assert.deepEqual(out.schemas, schemas);
    assert.ok(out.schemas.includes('dfs.data') && out.schemas.includes('dfs.tmp'));
    const files = (await direct('SHOW FILES FROM `dfs`.`data`')).rows.map((r) => r.name);
    assert.deepEqual(out.tables, files);
    assert.ok(out.tables.includes('people.json') && out.tables.includes('demo'));
    const people = await direct('SELECT * FROM dfs.`data`.`people.json` LIMIT 1');
    assert.deepEqual(out.columns.map((c: string[]) => c[0]), people.columns);
    assert.deepEqual(out.columns.map((c: string[]) => c[1]), ['BIGINT', 'String', 'FLOAT', 'String']);
    assert.deepEqual(out.pandas, (await direct('SELECT id, name, score FROM dfs.data.`people.json` ORDER BY id')).rows);
  });

  test("the distribution's modules answer: NEARESTDATE (Superset's time grains) and the sample data cp.`employee.json`, cp.`tpch/...`", async () => {
    const queries = {
      grains: "SELECT CAST(NEARESTDATE(TIMESTAMP '2026-03-18 10:20:30', 'DAY') AS VARCHAR) AS d, CAST(NEARESTDATE(TIMESTAMP '2026-03-18 10:20:30', 'QUARTER') AS VARCHAR) AS q FROM (VALUES(1))",
      employees: 'SELECT employee_id, full_name, position_title FROM cp.`employee.json` ORDER BY employee_id LIMIT 3',
      nations: 'SELECT COUNT(*) AS n FROM cp.`tpch/nation.parquet`',
    };
    const out = await driver(stockUrl(), { queries });
    for (const [name, query] of Object.entries(queries)) {
      const oracle = await direct(query);
      assert.equal(oracle.queryState, 'COMPLETED', `${name}: ${oracle.errorMessage}`);
      assert.equal(out[name].error, undefined, `${name}: ${out[name].message}`);
      assert.deepEqual(out[name].rows, oracle.rows.map((r) => oracle.columns.map((c) => r[c])), name);
    }
    assert.deepEqual(out.employees.rows[0], [1, 'Sheri Nowmer', 'President']);
    assert.deepEqual(out.nations.rows, [[25]]);
    assert.deepEqual(out.grains.rows, [['2026-03-18 00:00:00.000', '2026-01-01 00:00:00.000']]);
  });
});

describe('with tokens on: the same driver logs in with a token as its password', () => {
  before(async () => {
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start({ ...config, server: { ...config.server, auth: { ...config.server.auth, tokens: [TOKEN] } } }, { scheduler, log: quiet });
  });

  test("drill+sadrill://user:TOKEN@host/... runs queries; a wrong token is the driver's AuthError, no token Drill's error message", async () => {
    const query = 'SELECT COUNT(*) AS n FROM dfs.data.`demo/trips`';
    const ok = await driver(stockUrl(`superset:${TOKEN}@`), { queries: { n: query } });
    assert.equal(ok.connect, undefined, JSON.stringify(ok.connect));
    assert.deepEqual(ok.n.rows, (await direct(query)).rows.map((r) => [r.n]));
    const wrong = await driver(stockUrl(`superset:${TOKEN}x@`), { queries: { n: query } });
    assert.equal(wrong.connect.error, 'AuthError');
    assert.match(wrong.connect.message, /Invalid username\/password credentials/);
    const none = await driver(stockUrl(), { queries: { n: query } });
    assert.equal(none.connect.error, 'DatabaseError');
    assert.match(none.connect.message, /needs a token/);
  });

  after(async () => {
    await gateway.stop({ stopDrillbits: false });
    gateway = await Gateway.start(config, { scheduler, log: quiet });
  });
});

describe('/query.json through the gateway and straight to Drill', () => {
  const Q = 'SELECT * FROM (VALUES(1),(2),(3))';
  // Bodies Drill runs: the gateway must run them too, with the same answer.
  const TAKEN = [
    sql(Q, { userName: null, autoLimit: null, defaultSchema: null, options: null }),
    sql(Q, { autoLimit: 2 }),
    sql(Q, { autoLimit: '2' }),
    sql(Q, { autoLimit: ' 2 ' }),
    sql(Q, { autoLimit: 'abc' }),
    sql(Q, { autoLimit: -1 }),
    sql(Q, { autoLimit: 1.5 }),
    sql(Q, { autoLimit: true }),
    sql(Q, { autoLimit: 99999999999 }),
    sql(Q, { autoLimitRowCount: 1 }),
    sql(Q, { autoLimitRowCount: '2', autoLimit: 1 }),
    sql(Q, { userName: '' }),
    sql(Q, { defaultSchema: '' }),
    sql(Q, { options: {} }),
    JSON.stringify({ queryType: 'sql', query: Q }),
    `/* comment */ {queryType: "SQL", // unquoted names\n query: "${Q}"} // after`,
    `{"queryType":"SQL","query":"SELECT 2","query":"${Q}"}`,
    sql('SELECT id FROM `people.json` ORDER BY id LIMIT 2', { defaultSchema: 'dfs.data' }),
  ];
  // Bodies Drill refuses with 400 (Jackson): the gateway's 400 is Drill's error shape, JSON.
  const JACKSON_400 = [
    JSON.stringify({ query: Q }),
    sql(Q, { foo: 1 }),
    sql(Q, { autoLimit: [2] }),
    sql(Q, { options: ['x'] }),
    sql(Q, { autoLimitRowCount: true }),
    `${sql(Q)} {}`,
    '[]',
    '{"queryType":',
  ];
  // Bodies Drill answers with its bare 500 "Query submission failed": the gateway says why, 400.
  const DRILL_500 = [sql(Q, { userName: 'alice' }), sql(Q, { options: { 'no.such.option': '1' } }), sql(Q, { options: { 'exec.udf.enable_dynamic_support': 'false' } }), sql(Q, { options: { 'store.json.all_text_mode': 'yes' } }), JSON.stringify({ queryType: 'SQL' }), ''];

  test('what Drill runs, the gateway runs, with the same columns, types and rows', async () => {
    for (const body of TAKEN) {
      const [viaGateway, viaDrill] = [await post(gateway.url, body), await post(drillUrl, body)];
      assert.equal(viaDrill.status, 200, `Drill: ${body}: ${viaDrill.text}`);
      assert.equal(viaGateway.status, 200, `gateway: ${body}: ${viaGateway.text}`);
      const { queryId: _a, ...mine } = viaGateway.json;
      const { queryId: _b, ...drills } = viaDrill.json;
      assert.deepEqual(mine, drills, body);
    }
  });

  test("what Drill refuses, the gateway refuses: Drill's 400s as 400, Drill's bare 500s as a 400 naming why, always with errorMessage", async () => {
    for (const [bodies, drillStatus] of [[JACKSON_400, 400], [DRILL_500, 500]] as const) {
      for (const body of bodies) {
        const [viaGateway, viaDrill] = [await post(gateway.url, body), await post(drillUrl, body)];
        assert.equal(viaDrill.status, drillStatus, `Drill: ${body}: ${viaDrill.text}`);
        assert.equal(viaGateway.status, 400, `gateway: ${body}: ${viaGateway.text}`);
        assert.match(viaGateway.type, /^application\/json/);
        assert.equal(typeof viaGateway.json.errorMessage, 'string', body);
        if (drillStatus === 500) assert.equal(viaDrill.json.errorMessage, 'Query submission failed');
      }
    }
    const option = await post(gateway.url, DRILL_500[1]!);
    assert.match(option.json.errorMessage, /no\.such\.option/);
    const plain = await post(gateway.url, sql(Q), { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal((await post(drillUrl, sql(Q), { 'content-type': 'text/plain' })).json.errorMessage, 'HTTP 415 Unsupported Media Type');
  });

  test('a session option a client may set changes the answer as it does in Drill', async () => {
    const body = sql('SELECT * FROM dfs.data.`people.json` LIMIT 2', { options: { 'store.json.all_text_mode': true } });
    const [viaGateway, viaDrill] = [await post(gateway.url, body), await post(drillUrl, body)];
    assert.equal(viaGateway.status, 200, viaGateway.text);
    assert.deepEqual(viaGateway.json.metadata, viaDrill.json.metadata);
    assert.deepEqual(viaGateway.json.metadata, ['VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
    assert.deepEqual(viaGateway.json.rows, viaDrill.json.rows);
  });

  test("Drill's web root answers 200 HTML through the gateway, as Drill's does", async () => {
    for (const base of [gateway.url, drillUrl]) {
      const res = await request(`${base}/`, { method: 'HEAD' });
      await res.body.text();
      assert.equal(res.statusCode, 200, base);
      assert.match(String(res.headers['content-type']), /^text\/html/, base);
    }
  });
});

describe('the writable workspace', () => {
  test('dfs.tmp is created at gateway start, and CTAS into it works through the gateway', async () => {
    assert.equal(tmpExistedBefore, false, 'the test home starts without the tmp workspace folder');
    assert.ok(existsSync(tmpRoot), `${tmpRoot} exists once the gateway started`);
    const table = `ctas_${process.pid}`;
    const ctas = await post(gateway.url, sql(`CREATE TABLE dfs.tmp.\`${table}\` AS SELECT city, COUNT(*) AS n FROM dfs.data.\`demo/trips\` GROUP BY city`));
    assert.equal(ctas.json.queryState, 'COMPLETED', ctas.json.errorMessage);
    const read = await post(gateway.url, sql(`SELECT SUM(n) AS n FROM dfs.tmp.\`${table}\``));
    assert.equal(read.json.queryState, 'COMPLETED', read.json.errorMessage);
    assert.deepEqual(read.json.rows, (await direct('SELECT COUNT(*) AS n FROM dfs.data.`demo/trips`')).rows);
  });
});

describe("the README's examples", () => {
  // Every `dromedar query` / `dromedar plan` and every SQL in a curl example of the README.
  function readmeSql(): string[] {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const found: string[] = [];
    for (const [, sqlText] of readme.matchAll(/npx dromedar (?:query|plan) +"((?:[^"\\]|\\.)*)"/g)) found.push(sqlText!.replace(/\\(.)/g, '$1'));
    for (const [, body] of readme.matchAll(/-d '(\{[^']*\})'/g)) found.push(JSON.parse(body!).query ?? JSON.parse(body!).sql);
    return found;
  }

  test('run after the demo (its data at dfs.data.`demo/trips`) and answer what Drill answers', async () => {
    const queries = readmeSql();
    assert.ok(queries.length >= 3, `the README's examples: ${JSON.stringify(queries)}`);
    mkdirSync(join(config.dataDir, 'demo'), { recursive: true });
    for (const query of queries) {
      assert.match(query, /demo\/trips|cp\.|sys\./, `an example over the demo's data or Drill's own: ${query}`);
      const viaGateway = await post(gateway.url, sql(query));
      assert.equal(viaGateway.json?.queryState, 'COMPLETED', `${query}: ${viaGateway.text.slice(0, 300)}`);
      assert.deepEqual(viaGateway.json.rows, (await direct(query)).rows, query);
    }
  });
});
