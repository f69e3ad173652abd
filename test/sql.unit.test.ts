// The SQL side of sizing: which tables a query reads (as Drill spells them) and
// which dirN restrictions apply to each; the token fallback; the parse deadline.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { significantList } from '../src/sql/lexer.js';
import { rewriteForParser } from '../src/sql/parser.js';
import { SqlReader } from '../src/sql/reader.js';
import { fallbackReading, readReferences } from '../src/sql/references.js';
import type { SqlReading } from '../src/sql/types.js';

/** References as `schema|...|table`, the compact form the assertions compare. */
const names = (reading: SqlReading) => reading.refs.map((r) => [...r.schema, r.table].join('|'));

function refs(sql: string): string[] {
  const reading = readReferences(sql);
  assert.equal(reading.parsed, true, `node-sql-parser should read: ${sql}`);
  return names(reading);
}

function dirs(sql: string) {
  return readReferences(sql).refs.map((r) => r.dirs);
}

describe('table references in Drill spellings', () => {
  test('dfs paths, workspaces, globs', () => {
    assert.deepEqual(refs('SELECT * FROM dfs.`/abs/path/file.parquet`'), ['dfs|/abs/path/file.parquet']);
    assert.deepEqual(refs('SELECT * FROM dfs.ws.`rel/dir`'), ['dfs|ws|rel/dir']);
    assert.deepEqual(refs('SELECT * FROM dfs.`/dir/*.csv`'), ['dfs|/dir/*.csv']);
    assert.deepEqual(refs('SELECT * FROM dfs.`/dir/2024/*/*.json`'), ['dfs|/dir/2024/*/*.json']);
    assert.deepEqual(refs('SELECT * FROM dfs.tmp.`a-b/c.d.parquet` t LIMIT 10'), ['dfs|tmp|a-b/c.d.parquet']);
    assert.deepEqual(refs('select * from DFS.`x`'), ['DFS|x']);
  });

  test('a dotted schema in one identifier is two levels, as in Drill', () => {
    assert.deepEqual(refs('SELECT * FROM `dfs.tmp`.`x.parquet`'), ['dfs|tmp|x.parquet']);
    assert.deepEqual(refs('SELECT * FROM `dfs`.`tmp`.`x.parquet`'), ['dfs|tmp|x.parquet']);
  });

  test('metadata schemas and bare names', () => {
    assert.deepEqual(refs('SELECT * FROM cp.`employee.json`'), ['cp|employee.json']);
    assert.deepEqual(refs('SELECT * FROM sys.drillbits'), ['sys|drillbits']);
    assert.deepEqual(refs('SELECT * FROM INFORMATION_SCHEMA.`TABLES`'), ['INFORMATION_SCHEMA|TABLES']);
    assert.deepEqual(refs('SELECT * FROM `tbl`'), ['tbl']);
    assert.deepEqual(refs('SELECT * FROM tbl'), ['tbl']);
    assert.deepEqual(refs('SELECT 1'), []);
  });

  test('table functions read their table', () => {
    assert.deepEqual(refs("SELECT * FROM table(dfs.`x.csv`(type => 'text', fieldDelimiter => ','))"), ['dfs|x.csv']);
    assert.deepEqual(refs("SELECT * FROM TABLE( dfs.data.`f.csv` (schema => 'inline=(id int)') ) AS t"), ['dfs|data|f.csv']);
  });

  test('joins, derived tables, IN/EXISTS and scalar subqueries', () => {
    assert.deepEqual(refs('SELECT a.x FROM dfs.data.`a` a JOIN dfs.data.`b` b ON a.id = b.id'), ['dfs|data|a', 'dfs|data|b']);
    assert.deepEqual(refs('SELECT * FROM dfs.`x`, dfs.`y` WHERE x.id = y.id'), ['dfs|x', 'dfs|y']);
    assert.deepEqual(refs('SELECT * FROM (SELECT * FROM dfs.`a`) AS t JOIN (SELECT * FROM dfs.`b`) u ON t.i = u.i'), ['dfs|a', 'dfs|b']);
    assert.deepEqual(
      refs('SELECT * FROM dfs.`a` WHERE id IN (SELECT id FROM dfs.`b`) AND EXISTS (SELECT 1 FROM dfs.`c`)').sort(),
      ['dfs|a', 'dfs|b', 'dfs|c'],
    );
    assert.deepEqual(refs('SELECT (SELECT MAX(id) FROM dfs.`y`) AS m FROM dfs.`x`').sort(), ['dfs|x', 'dfs|y']);
    assert.deepEqual(refs('SELECT * FROM dfs.`a` a JOIN dfs.`b` b ON a.id IN (SELECT id FROM dfs.`c`)').sort(), ['dfs|a', 'dfs|b', 'dfs|c']);
  });

  test('CTE names are not tables, their bodies are read', () => {
    assert.deepEqual(refs('WITH c AS (SELECT * FROM dfs.`a`) SELECT * FROM c'), ['dfs|a']);
    assert.deepEqual(refs('WITH c AS (SELECT * FROM dfs.`a`), d AS (SELECT * FROM C JOIN dfs.`b` ON true) SELECT * FROM d'), ['dfs|a', 'dfs|b']);
    // A qualified name is a table even when a CTE has the same last name.
    assert.deepEqual(refs('WITH x AS (SELECT 1) SELECT * FROM dfs.`x`'), ['dfs|x']);
  });

  test('set operations', () => {
    assert.deepEqual(refs('SELECT * FROM dfs.`a` UNION ALL SELECT * FROM dfs.`b`'), ['dfs|a', 'dfs|b']);
    assert.deepEqual(refs('SELECT * FROM dfs.`a` INTERSECT SELECT * FROM dfs.`b`'), ['dfs|a', 'dfs|b']);
    assert.deepEqual(refs('SELECT * FROM dfs.`a` EXCEPT SELECT * FROM dfs.`b`'), ['dfs|a', 'dfs|b']);
    assert.deepEqual(refs('SELECT * FROM dfs.`a` UNION ALL (SELECT * FROM dfs.`b` UNION SELECT * FROM dfs.`c`)'), ['dfs|a', 'dfs|b', 'dfs|c']);
  });

  test('CTAS and EXPLAIN read their query, not their target', () => {
    assert.deepEqual(refs('CREATE TABLE dfs.tmp.`out` AS SELECT * FROM dfs.`x`'), ['dfs|x']);
    assert.deepEqual(refs('EXPLAIN PLAN FOR SELECT * FROM dfs.`x`'), ['dfs|x']);
    assert.deepEqual(refs('EXPLAIN PLAN WITHOUT IMPLEMENTATION FOR SELECT * FROM dfs.`x`'), ['dfs|x']);
  });

  test('the rewrite keeps everything but the table function call (and comments, which become a space)', () => {
    assert.equal(rewriteForParser("SELECT a FROM table(dfs.`x.csv`(type => 'text')) t -- c"), 'SELECT a FROM dfs.`x.csv` t  ');
    assert.equal(rewriteForParser("SELECT 'table(x(y))' FROM t"), "SELECT 'table(x(y))' FROM t");
  });
});

describe('dirN restrictions', () => {
  test('equality, IN and AND, either side of =, any case', () => {
    assert.deepEqual(dirs("SELECT * FROM dfs.`logs` WHERE dir0 = '2024'"), [[{ level: 0, values: ['2024'] }]]);
    assert.deepEqual(dirs("SELECT * FROM dfs.`logs` WHERE '2024' = DIR0 AND `dir1` IN ('01', 2)"), [
      [
        { level: 0, values: ['2024'] },
        { level: 1, values: ['01', 2] },
      ],
    ]);
    assert.deepEqual(dirs("SELECT * FROM dfs.`logs` WHERE dir0 = 'it''s'"), [[{ level: 0, values: ["it's"] }]]);
  });

  test('the AND-ed parts that are restrictions count; the rest restricts nothing', () => {
    assert.deepEqual(dirs("SELECT * FROM dfs.`l` WHERE dir0 = 'a' AND (dir1 = 'b' OR dir1 = 'c') AND upper(x) = 'y'"), [[{ level: 0, values: ['a'] }]]);
  });

  test('OR, NOT, functions, comparisons and NOT IN restrict nothing', () => {
    for (const where of ["dir0 = 'a' OR dir0 = 'b'", "upper(dir0) = 'A'", "dir0 > '2023'", "dir0 <> 'a'", "NOT dir0 = 'a'", "dir0 NOT IN ('a')", "dir0 = x", "dir0 IN ('a', x)", 'dir0 IS NULL']) {
      assert.deepEqual(dirs(`SELECT * FROM dfs.\`l\` WHERE ${where}`), [[]], where);
    }
  });

  test('in a join only a column qualified by the table (alias or name) counts', () => {
    const sql = "SELECT * FROM dfs.`x` l JOIN dfs.`y` r ON l.id = r.id WHERE l.dir0 = 'a' AND r.dir1 IN ('b') AND dir2 = 'z' AND q.dir0 = 'c'";
    assert.deepEqual(dirs(sql), [[{ level: 0, values: ['a'] }], [{ level: 1, values: ['b'] }]]);
    assert.deepEqual(dirs("SELECT * FROM dfs.`x` JOIN dfs.`y` ON true WHERE `x`.dir0 = 'a'"), [[{ level: 0, values: ['a'] }], []]);
    // The same name twice: ambiguous.
    assert.deepEqual(dirs("SELECT * FROM dfs.`x` JOIN dfs.`x` ON true WHERE `x`.dir0 = 'a'"), [[], []]);
  });

  test('each SELECT has its own WHERE', () => {
    const sql = "SELECT * FROM dfs.`a` WHERE dir0 = '1' UNION ALL SELECT * FROM dfs.`b` WHERE dir1 = '2'";
    assert.deepEqual(dirs(sql), [[{ level: 0, values: ['1'] }], [{ level: 1, values: ['2'] }]]);
    // An outer WHERE does not restrict the table inside a derived table.
    assert.deepEqual(dirs("SELECT * FROM (SELECT * FROM dfs.`a`) t WHERE t.dir0 = '1'"), [[]]);
  });
});

describe('when node-sql-parser cannot read the SQL', () => {
  test('the fallback still finds the tables, without pruning', () => {
    const reading = readReferences("SELECT * FROM dfs.`logs` l, dfs.ws.`x` WHERE dir0 = '1' OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY");
    assert.equal(reading.parsed, false);
    assert.deepEqual(names(reading), ['dfs|logs', 'dfs|ws|x']);
    assert.deepEqual(reading.refs.map((r) => r.dirs), [[], []]);
  });

  test('FROM inside a function is no table; CTE names are no tables; table functions are', () => {
    const sql = "WITH RECURSIVE c (a) AS (SELECT EXTRACT(YEAR FROM ts) FROM dfs.`a`) SELECT * FROM c JOIN table(dfs.`b.csv`(type => 'text')) t ON 1=1 FETCH FIRST 1 ROW ONLY";
    assert.deepEqual(names(fallbackReading(sql)), ['dfs|a', 'dfs|b.csv']);
  });

  test('agrees with the parser on what both read', () => {
    for (const sql of [
      'SELECT a.x FROM dfs.data.`a` a JOIN dfs.data.`b` b ON a.id = b.id',
      'WITH c AS (SELECT * FROM dfs.`a`) SELECT * FROM c, `dfs.tmp`.`x`',
      'SELECT * FROM dfs.`a` UNION ALL SELECT * FROM (SELECT * FROM dfs.`b`) t',
      "SELECT * FROM table(dfs.`x.csv`(type => 'text')) AS t(a, b) CROSS JOIN sys.drillbits",
    ]) {
      assert.deepEqual(names(fallbackReading(sql)), refs(sql), sql);
    }
  });

  test('a hostile megabyte: the fallback finds the table from a compact token list', () => {
    const sql = `SELECT ${'a,'.repeat(512 * 1024 - 40)}a FROM dfs.\`wide\` w, (SELECT 1) x JOIN dfs.\`other\` ON true`;
    assert.deepEqual(names(fallbackReading(sql)), ['dfs|wide', 'dfs|other']);
    const list = significantList("SELECT a FROM dfs.`x y` -- c\n WHERE b = 'it''s'");
    assert.deepEqual(
      list.tokens.map((t) => [t.kind, t.value]),
      [['word', 'SELECT'], ['word', 'a'], ['word', 'FROM'], ['word', 'dfs'], ['punct', '.'], ['quoted', 'x y'], ['word', 'WHERE'], ['word', 'b'], ['punct', '='], ['string', "it's"]],
    );
    assert.deepEqual([list.isKeywordAt(2, 'FROM'), list.isKeywordAt(1, 'FROM'), list.isPunctAt(4, '.'), list.isPunctAt(99, '.')], [true, false, true, false]);
  });

  test('statements that read no table find none', () => {
    for (const sql of ['SHOW FILES IN dfs.tmp', 'SHOW TABLES FROM dfs.tmp', 'USE dfs.tmp', "ALTER SESSION SET `store.format` = 'parquet'"]) {
      assert.deepEqual(readReferences(sql), { parsed: false, refs: [] }, sql);
    }
  });

  test('garbage, unterminated quotes and deep nesting: parsed false, no exception', () => {
    const garbage = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) % 65536));
    for (const sql of [garbage, "SELECT * FROM dfs.`x WHERE a = 'b", 'SELECT ' + '('.repeat(5000) + '1' + ')'.repeat(5000)]) {
      assert.equal(readReferences(sql).parsed, false);
    }
    assert.deepEqual(names(readReferences('SELECT * FROM ' + '(SELECT * FROM '.repeat(3000) + 'dfs.`deep`' + ') t'.repeat(3000))), ['dfs|deep']);
  });
});

describe('SqlReader', () => {
  test('reads in a worker, in order', async () => {
    const reader = new SqlReader();
    const readings = await Promise.all(['SELECT * FROM dfs.`a`', 'SELECT * FROM dfs.`b`', 'SELECT * FROM (('].map((sql) => reader.read(sql)));
    assert.deepEqual(readings.map((r) => [r.parsed, names(r)]), [
      [true, ['dfs|a']],
      [true, ['dfs|b']],
      [false, []],
    ]);
    await reader.close();
  });

  test('a parse past its deadline gets the fallback, and the next parse works', async () => {
    // Long enough for a worker to start on a busy machine, far shorter than the parse; a
    // heap large enough that the deadline, not the heap bound, stops this parse.
    const reader = new SqlReader({ deadlineMs: 1_500, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    // node-sql-parser backtracks exponentially here: minutes without the deadline.
    const slow = 'SELECT * FROM dfs.`slow` WHERE ' + '('.repeat(30) + 'a = 1 ??';
    const started = performance.now();
    const [stuck, queued] = await Promise.all([reader.read(slow), reader.read('SELECT * FROM dfs.`queued`')]);
    assert.ok(performance.now() - started < 4_000, 'the deadline bounds the wait');
    assert.deepEqual([stuck.parsed, names(stuck)], [false, ['dfs|slow']]);
    // Queued behind the slow parse: its deadline passed too.
    assert.deepEqual([queued.parsed, names(queued)], [false, ['dfs|queued']]);
    const after = await reader.read('SELECT * FROM dfs.`after` WHERE dir0 = 1');
    assert.deepEqual([after.parsed, after.refs[0]?.dirs], [true, [{ level: 0, values: [1] }]]);
    // Late, maybe only because the machine was busy: not cached.
    assert.equal((await reader.read(slow)).parsed, false);
    assert.equal(reader.stats().cached, 0);
    await reader.close();
  });

  test('a text that needs more memory than the worker has: fallback, a new worker, no crash', async () => {
    // A tight heap so that a 400 KB column list is enough (the default bound takes ~1 MiB).
    const reader = new SqlReader({ deadlineMs: 20_000, resourceLimits: { maxOldGenerationSizeMb: 12, maxYoungGenerationSizeMb: 2 } });
    await reader.warm();
    const hostile = `SELECT ${'a,'.repeat(200_000)}a FROM dfs.\`wide\` WHERE dir0 = 1`;
    const [big, queued] = await Promise.all([reader.read(hostile), reader.read('SELECT * FROM dfs.`next` WHERE dir0 = 1')]);
    assert.deepEqual([big.parsed, names(big), big.refs[0]?.dirs], [false, ['dfs|wide'], []]);
    assert.deepEqual([queued.parsed, names(queued), queued.refs[0]?.dirs], [true, ['dfs|next'], [{ level: 0, values: [1] }]]);
    const stats = reader.stats();
    assert.equal(stats.outOfMemory, 1);
    assert.ok(stats.workersStarted >= 2, 'a new worker took over');
    // Running out of memory is a property of the text: the fallback is cached.
    assert.deepEqual(await reader.read(hostile), big);
    assert.equal(reader.stats().parsed, stats.parsed);
    await reader.close();
  });

  test('a backtracking parse that exhausts the worker heap ends only the worker (V8 aborts the process that reaches it)', async () => {
    const reader = new SqlReader({ deadlineMs: 20_000 });
    const slow = 'SELECT * FROM dfs.`slow` WHERE ' + '('.repeat(30) + 'a = 1 ??';
    const reading = await reader.read(slow);
    assert.deepEqual([reading.parsed, names(reading)], [false, ['dfs|slow']]);
    assert.equal(reader.stats().outOfMemory, 1);
    const after = await reader.read('SELECT * FROM dfs.`after`');
    assert.equal(after.parsed, true);
    await reader.close();
  });

  test('the same text is read once; the cached reading cannot be changed', async () => {
    const reader = new SqlReader();
    const sql = "SELECT * FROM dfs.`logs` WHERE dir0 = '2024'";
    const readings = await Promise.all(Array.from({ length: 20 }, () => reader.read(sql)));
    for (let i = 0; i < 100; i++) readings.push(await reader.read(sql));
    assert.ok(readings.every((r) => r === readings[0] && r.parsed));
    assert.deepEqual(reader.stats(), { cached: 119, parsed: 1, deadline: 0, outOfMemory: 0, crashed: 0, workersStarted: 1 });
    assert.throws(() => readings[0]!.refs[0]!.dirs.push({ level: 1, values: [] }), TypeError);
    // Another text, another parse; no cache at all when asked.
    assert.equal((await reader.read(`${sql} LIMIT 1`)).parsed, true);
    assert.equal(reader.stats().parsed, 2);
    await reader.close();
    const uncached = new SqlReader({ cacheEntries: 0 });
    await uncached.read(sql);
    await uncached.read(sql);
    assert.equal(uncached.stats().parsed, 2);
    await uncached.close();
  });

  test('the byte bound keeps large texts from filling the cache', async () => {
    const reader = new SqlReader({ cacheBytes: 64 * 1024 });
    const big = `SELECT * FROM dfs.\`a\` -- ${'x'.repeat(20_000)}`; // 40 KB counted: over a quarter of the bound
    await reader.read(big);
    await reader.read(big);
    assert.equal(reader.stats().parsed, 2);
    await reader.close();
  });

  test('warm() starts the worker and loads the parser before the first query', async () => {
    const reader = new SqlReader();
    await reader.warm();
    assert.deepEqual([reader.stats().workersStarted, reader.stats().parsed], [1, 1]);
    assert.equal((await reader.read('SELECT * FROM dfs.`a`')).parsed, true);
    assert.equal(reader.stats().workersStarted, 1, 'the first query found the worker started');
    await reader.close();
  });
});
