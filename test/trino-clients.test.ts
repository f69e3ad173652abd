// Trino's own clients against the gateway and a real Drillbit, with Drill as the
// oracle: trino-jdbc 476 and the Trino CLI 476 (Maven Central, by mvn
// dependency:copy, run with the JDK Drill needs), and the `trino` Python client
// (PyPI) with its SQLAlchemy dialect and pandas. One scheduler serves the file; the
// first query finds no Drillbit (a cold start), the CLI's progress test makes a
// second cold start at the end.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { resolveRuntime } from '../src/drill/install.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import { Gateway } from '../src/server/gateway.js';
import { createLogger } from '../src/util/log.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { pythonEnv, run, runPython, type PythonEnv } from './support/python.js';

const TRINO = '476';
const MAVEN_DIR = process.env.DROMEDAR_MAVEN_DIR ?? join(homedir(), '.cache', 'dromedar', 'maven');
const SOURCE = fileURLToPath(new URL('../../test/fixtures/trino/TrinoJdbcCheck.java', import.meta.url));

const config = testConfig({ pool: { idleTimeoutMs: 600_000, startTimeoutMs: 240_000, maxDrillbits: 1 } });
const quiet = createLogger('silent');
let scheduler: LocalScheduler;
let gateway: Gateway;
let python: PythonEnv;
let jdbcJar: string;
let cliJar: string;
let classes: string;
let drillUrl: string;

/** A jar from Maven Central, fetched once into the cache folder. */
async function mavenJar(artifact: string, file: string): Promise<string> {
  const path = join(MAVEN_DIR, file);
  if (existsSync(path)) return path;
  mkdirSync(MAVEN_DIR, { recursive: true });
  const r = await run('mvn', ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${MAVEN_DIR}`], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `mvn dependency:copy ${artifact}: ${r.stdout}${r.stderr}`);
  return path;
}

const host = () => new URL(gateway.url).host;
const jdbcUrl = () => `jdbc:trino://${host()}/dfs/data`;

async function jdbc(task: string, ...args: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await run('java', ['-cp', `${jdbcJar}:${classes}`, 'TrinoJdbcCheck', jdbcUrl(), task, ...args], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('java', ['-jar', cliJar, '--server', gateway.url, '--user', 'cli', '--catalog', 'dfs', '--schema', 'data', ...args], { timeoutMs: 300_000 });
}

/** Drill's own answer (the oracle), asked of the Drillbit directly. */
async function drill(query: string): Promise<{ columns: string[]; metadata: string[]; rows: Record<string, unknown>[]; queryState: string; errorMessage?: string }> {
  const res = await request(`${drillUrl}/query.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queryType: 'SQL', query, defaultSchema: 'dfs.data' }), headersTimeout: 0, bodyTimeout: 0 });
  return (await res.body.json()) as never;
}

async function drillRunning(): Promise<unknown[]> {
  const res = await request(`${drillUrl}/profiles.json`);
  const body = (await res.body.json()) as { runningQueries?: unknown[] };
  return body.runningQueries ?? [];
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const TYPES =
  "SELECT CAST(1 AS INT) i, CAST(2 AS BIGINT) b, CAST(1.5 AS DOUBLE) d, CAST(2.5 AS FLOAT) f, CAST(1.25 AS DECIMAL(10,2)) dec1, TRUE t, DATE '2024-01-02' dt, " +
  "TIME '10:11:12' tm, TIMESTAMP '2024-01-02 10:11:12.345' ts, CAST('abc' AS VARBINARY) vb, 'x' s, CAST(NULL AS VARCHAR) n, 9007199254740993 big FROM (VALUES(1))";
const LONG = 'SELECT COUNT(*) FROM "loop.json" a JOIN "loop.json" b ON a.k = b.k';
const BIG_ROWS = 300_000;

before(async () => {
  python = await pythonEnv('trino', ['trino==0.340.0', 'SQLAlchemy==1.4.54', 'pandas==2.0.3', 'numpy==1.26.4']);
  jdbcJar = await mavenJar(`io.trino:trino-jdbc:${TRINO}`, `trino-jdbc-${TRINO}.jar`);
  cliJar = await mavenJar(`io.trino:trino-cli:${TRINO}:jar:executable`, `trino-cli-${TRINO}-executable.jar`);
  classes = join(config.home, 'classes');
  mkdirSync(classes, { recursive: true });
  const javac = await run('javac', ['-cp', jdbcJar, '-d', classes, SOURCE]);
  assert.equal(javac.code, 0, javac.stderr);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(join(config.dataDir, 'people.json'), Array.from({ length: 20 }, (_, id) => JSON.stringify({ id, name: `p${id}`, score: id + 0.5, tags: ['a', `t${id}`] })).join('\n'));
  writeFileSync(join(config.dataDir, 'big.json'), Array.from({ length: BIG_ROWS }, (_, n) => `{"n":${n},"s":"row ${n}"}`).join('\n'));
  writeFileSync(join(config.dataDir, 'loop.json'), Array.from({ length: 30_000 }, (_, v) => `{"k":0,"v":${v}}`).join('\n'));
  scheduler = new LocalScheduler(config, await resolveRuntime(config));
  gateway = await Gateway.start(config, { scheduler, log: quiet });
});

after(async () => {
  await gateway?.stop({ drainMs: 1_000, stopDrillbits: false });
  await scheduler?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
});

describe('trino-jdbc 476', () => {
  test('a cold query shows QUEUED (0 of 1 Drillbits up) while the Drillbit starts, then RUNNING, then its rows', async () => {
    const out = await jdbc('states', 'SELECT id, name FROM "people.json" WHERE id < 3 ORDER BY id');
    assert.equal(out.sqlException, undefined, out.sqlException);
    assert.deepEqual(out.rows, [['0', 'p0'], ['1', 'p1'], ['2', 'p2']]);
    const states: string[] = out.states.map((s: string) => s.split(' ')[0]);
    assert.equal(states[0], 'QUEUED');
    assert.ok(out.states.includes('QUEUED 0 0/1'), `no "0 of 1 up" in ${out.states}`);
    const running = states.indexOf('RUNNING');
    assert.ok(running > 0 && states.lastIndexOf('QUEUED') < running, `QUEUED then RUNNING: ${out.states}`);
    const bit = (await scheduler.list()).find((b) => b.state === 'ONLINE')!;
    drillUrl = `http://${bit.host}:${bit.httpPort}`;
    // A view with typed columns, for the metadata tests.
    const view = await drill('CREATE OR REPLACE VIEW dfs.tmp.people_v AS SELECT CAST(id AS INT) AS id, CAST(name AS VARCHAR(20)) AS name, CAST(score AS DOUBLE) AS score FROM dfs.data.`people.json`');
    assert.equal(view.queryState, 'COMPLETED', view.errorMessage);
  });

  test('getObject is typed for every type, with the values Drill answers', async () => {
    const out = await jdbc('query', TYPES);
    assert.equal(out.sqlException, undefined, out.sqlException);
    assert.deepEqual(
      out.columns.map((c: [string, string, number]) => c[1]),
      ['integer', 'bigint', 'double', 'real', 'decimal(10,2)', 'boolean', 'date', 'time(3)', 'timestamp(3)', 'varbinary', 'varchar', 'varchar', 'bigint'],
    );
    const oracle = (await drill(TYPES)).rows[0]!;
    assert.deepEqual(out.rows[0], [
      ['java.lang.Integer', String(oracle.i)],
      ['java.lang.Long', String(oracle.b)],
      ['java.lang.Double', String(oracle.d)],
      ['java.lang.Float', String(oracle.f)],
      ['java.math.BigDecimal', String(oracle.dec1)],
      ['java.lang.Boolean', String(oracle.t)],
      ['java.sql.Date', new Date(oracle.dt as number).toISOString().slice(0, 10)],
      ['java.sql.Time', new Date(oracle.tm as number).toISOString().slice(11, 19)],
      ['java.sql.Timestamp', new Date(oracle.ts as number).toISOString().replace('T', ' ').replace('Z', '')],
      ['java.lang.String', `bytes:${oracle.vb}`],
      ['java.lang.String', 'x'],
      null,
      // Past 2^53: every digit (Drill's JSON has them; JSON.parse would not).
      ['java.lang.Long', '9007199254740993'],
    ]);
    const arrays = await jdbc('query', 'SELECT tags FROM "people.json" WHERE id = 7');
    assert.deepEqual(arrays.columns[0], ['tags', 'array(varchar)', 2003]);
    assert.deepEqual(arrays.rows, [[['java.lang.String', 'array:[a, t7]']]]);
  });

  test('DatabaseMetaData: catalogs, schemas, table types, tables and columns, as Drill\'s INFORMATION_SCHEMA has them', async () => {
    const out = await jdbc('meta', 'dfs', 'tmp');
    assert.equal(out.sqlException, undefined, out.sqlException);
    assert.equal(out.product, 'Trino 476');
    const schemata = (await drill('SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA')).rows.map((r) => String(r.SCHEMA_NAME));
    assert.deepEqual(out.catalogs.map((c: string[]) => c[0]), [...new Set(schemata.map((s) => s.split('.')[0]))].sort());
    assert.deepEqual(out.schemas, schemata.filter((s) => s.startsWith('dfs.')).map((s) => [s.slice(4), 'dfs']).sort());
    assert.deepEqual(out.tableTypes, [['TABLE'], ['VIEW']]);
    assert.deepEqual(out.tables, [['dfs', 'tmp', 'people_v', 'VIEW']]);
    assert.deepEqual(out.columns, [
      ['people_v', 'id', 4, 'integer', 1],
      ['people_v', 'name', 12, 'varchar', 2],
      ['people_v', 'score', 8, 'double', 3],
    ]);
  });

  test(`a result of ${BIG_ROWS} rows is read to its end, the same count and sum as Drill's`, async () => {
    const out = await jdbc('count', 'SELECT n FROM "big.json"');
    assert.equal(out.sqlException, undefined, out.sqlException);
    const oracle = (await drill('SELECT COUNT(*) AS c, SUM(n) AS s FROM `big.json`')).rows[0]!;
    assert.equal(out.rows, Number(oracle.c));
    assert.equal(out.sum, Number(oracle.s));
  });

  test('Statement.cancel() of a long join: the query is gone from Drill within seconds, CANCELED in its profile', async () => {
    const out = await jdbc('cancel', LONG);
    // The driver either fails the statement or ends its rows early: Drill is the judge.
    const gone = await until("the query leaves Drill's running queries", 10_000, async () => (await drillRunning()).length === 0);
    assert.ok(gone < 10_000);
    const res = await request(`${drillUrl}/profiles.json`);
    const profiles = (await res.body.json()) as { finishedQueries?: Array<{ query: string; state: string }> };
    const join = profiles.finishedQueries?.find((q) => q.query.includes('loop.json') && /JOIN/i.test(q.query));
    assert.equal(join?.state.toUpperCase(), 'CANCELED', `Drill's last join: ${JSON.stringify(join)}; the client: ${JSON.stringify(out)}`);
    assert.notEqual(out.rows, 1, `the client must not get the join's count: ${JSON.stringify(out)}`);
    assert.equal(gateway.pool.snapshot().running, 0);
  });

  test('a PreparedStatement with parameters, run twice, answers as the same SQL with literals in Drill', async () => {
    const sql = 'SELECT id, name FROM "people.json" WHERE id < ? AND name <> ? AND score < ? AND CAST(? AS DECIMAL(10,2)) > 0 AND DATE \'2024-01-01\' < ? AND ? > 0 ORDER BY id';
    const out = await jdbc('prepared', sql);
    assert.equal(out.sqlException, undefined, out.sqlException);
    const literal = (id: number, name: string) => `SELECT id, name FROM \`people.json\` WHERE id < ${id} AND name <> '${name.replace(/'/g, "''")}' AND score < 4.5 AND CAST(12.34 AS DECIMAL(10,2)) > 0 AND DATE '2024-01-01' < DATE '2024-01-05' AND 9007199254740993 > 0 ORDER BY id`;
    assert.deepEqual(out.rows, (await drill(literal(3, "p1'0"))).rows.map((r) => [String(r.id), String(r.name)]));
    assert.deepEqual(out.again, (await drill(literal(5, 'x'))).rows.map((r) => [String(r.id), String(r.name)]));
    assert.equal(out.rows.length, 3);
  });

  test("a query Drill rejects is an SQLException with Drill's message", async () => {
    const out = await jdbc('query', 'SELECT * FROM "no/such/table"');
    const oracle = await drill('SELECT * FROM `no/such/table`');
    assert.equal(oracle.queryState, 'FAILED');
    assert.ok(out.sqlException.includes(oracle.errorMessage!.split('\n')[0]!), `${out.sqlException} vs Drill's ${oracle.errorMessage}`);
  });
});

const PY = String.raw`
import json, sys, decimal, datetime
import trino, sqlalchemy, pandas
from sqlalchemy import inspect, text
host, port, task = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
def plain(v):
    if isinstance(v, bytes): return 'bytes:' + v.decode('latin1')
    if isinstance(v, (decimal.Decimal, datetime.date, datetime.time, datetime.datetime)): return type(v).__name__ + ':' + str(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return 'int:' + str(v)
    return v
out = {}
conn = trino.dbapi.connect(host=host, port=port, user='py', catalog='dfs', schema='data', http_scheme='http', source='test', client_tags=['ci'])
for name, q in task.get('queries', {}).items():
    cur = conn.cursor()
    try:
        cur.execute(q[0], tuple(q[1]) if len(q) > 1 else None)
        rows = cur.fetchall()
        out[name] = {'columns': [[d[0], d[1]] for d in cur.description], 'rows': [[plain(v) for v in r] for r in rows]}
    except Exception as e:
        out[name] = {'error': type(e).__name__, 'message': getattr(e, 'message', str(e)), 'errorName': getattr(e, 'error_name', None)}
if task.get('inspect'):
    engine = sqlalchemy.create_engine('trino://py@%s:%d/dfs/data' % (host, port))
    insp = inspect(engine)
    out['schemas'] = sorted(insp.get_schema_names())
    out['views'] = insp.get_view_names(schema='tmp')
    out['columns'] = [[c['name'], str(c['type'])] for c in insp.get_columns('people_v', schema='tmp')]
    out['pandas'] = json.loads(pandas.read_sql(text('SELECT id, name FROM "people.json" WHERE id < 3 ORDER BY id'), engine).to_json(orient='records'))
    with engine.connect() as c:
        out['version'] = c.execute(text('SELECT version()')).scalar()
print(json.dumps(out))
`;

async function py(task: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const u = new URL(gateway.url);
  const r = await runPython(python, PY, [u.hostname, u.port, JSON.stringify(task)]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('the trino Python client 0.340.0: DB-API, SQLAlchemy dialect, pandas', () => {
  test("DB-API: typed rows, parameters (the client's EXECUTE), Drill's error as TrinoUserError", async () => {
    const out = await py({ queries: { types: [TYPES], params: ['SELECT id, name FROM "people.json" WHERE id < ? AND name <> ? ORDER BY id', [3, 'p1']], missing: ['SELECT * FROM "no/such/table"'] } });
    assert.deepEqual(out.types.rows, [[1, 2, 1.5, 2.5, 'Decimal:1.25', true, 'date:2024-01-02', 'time:10:11:12', 'datetime:2024-01-02 10:11:12.345000', 'bytes:abc', 'x', null, 'int:9007199254740993']]);
    assert.deepEqual(out.types.columns.map((c: string[]) => c[1]), ['integer', 'bigint', 'double', 'real', 'decimal(10,2)', 'boolean', 'date', 'time(3)', 'timestamp(3)', 'varbinary', 'varchar', 'varchar', 'bigint']);
    const oracle = (await drill("SELECT id, name FROM `people.json` WHERE id < 3 AND name <> 'p1' ORDER BY id")).rows;
    assert.deepEqual(out.params.rows, oracle.map((r) => [r.id, r.name]));
    assert.equal(out.missing.error, 'TrinoUserError');
    const failed = await drill('SELECT * FROM `no/such/table`');
    assert.ok(out.missing.message.includes(failed.errorMessage!.split('\n')[0]!), `${out.missing.message} vs ${failed.errorMessage}`);
  });

  test("SQLAlchemy's inspector (information_schema), pandas.read_sql and version()", async () => {
    const out = await py({ inspect: true });
    assert.deepEqual(out.schemas, ['data', 'default', 'tmp']);
    assert.deepEqual(out.views, ['people_v']);
    assert.deepEqual(out.columns, [['id', 'INTEGER'], ['name', 'VARCHAR'], ['score', 'DOUBLE']]);
    assert.deepEqual(out.pandas, [{ id: 0, name: 'p0' }, { id: 1, name: 'p1' }, { id: 2, name: 'p2' }]);
    assert.equal(out.version, '476');
  });
});

describe('the Trino CLI 476', () => {
  test('--execute with CSV, TSV_HEADER and JSON output: the rows Drill answers', async () => {
    const sql = 'SELECT id, name, score FROM "people.json" WHERE id < 3 ORDER BY id';
    const oracle = (await drill('SELECT id, name, score FROM `people.json` WHERE id < 3 ORDER BY id')).rows;
    const csv = await cli('--execute', sql, '--output-format', 'CSV');
    assert.equal(csv.code, 0, csv.stderr);
    assert.deepEqual(csv.stdout.trim().split('\n'), oracle.map((r) => `"${r.id}","${r.name}","${r.score}"`));
    const tsv = await cli('--execute', sql, '--output-format', 'TSV_HEADER');
    assert.deepEqual(tsv.stdout.trim().split('\n'), ['id\tname\tscore', ...oracle.map((r) => `${r.id}\t${r.name}\t${r.score}`)]);
    const json = await cli('--execute', sql, '--output-format', 'JSON');
    assert.deepEqual(json.stdout.trim().split('\n').map((l) => JSON.parse(l)), oracle);
    const failed = await cli('--execute', 'SELECT * FROM "no/such/table"');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Query .* failed: .*no\/such\/table/);
  });

  test('--progress on a cold start shows the query QUEUED while the Drillbit starts', async () => {
    await gateway.stop({ drainMs: 1_000, stopDrillbits: true });
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
    gateway = await Gateway.start(config, { scheduler, log: quiet });
    const out = await cli('--execute', 'SELECT COUNT(*) FROM "people.json"', '--progress', '--output-format', 'CSV');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), '"20"');
    assert.match(out.stderr, /QUEUED/);
    assert.match(out.stderr, /FINISHED|RUNNING/);
  });
});
