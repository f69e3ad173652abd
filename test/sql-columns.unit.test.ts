// The columns a query reads of each table, the literal comparisons that prune Parquet
// row groups, and the scans Drill adds (decorrelation, NOT IN): the SQL side alone.
// test/sizing-drill.test.ts checks the same readings against Drill's own plans.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { columnsFor, compose, rename } from '../src/sql/columns.js';
import { namedColumns } from '../src/sql/names.js';
import { readReferences } from '../src/sql/references.js';
import type { ColumnRequest } from '../src/sql/columns.js';

/** `table: col,col` per reference (`*` for all columns), in reference order. */
function columns(sql: string, request: ColumnRequest = 'all'): string[] {
  const reading = readReferences(sql);
  assert.equal(reading.parsed, true, `node-sql-parser should read: ${sql}`);
  const uses = columnsFor(reading, request);
  return reading.refs.map((ref, i) => `${ref.table}: ${uses[i]!.all ? '*' : uses[i]!.paths.map((p) => p.join('.')).sort().join(',')}`);
}

const filters = (sql: string) => readReferences(sql).refs.map((r) => r.filters ?? []);
const rescans = (sql: string) => readReferences(sql).refs.map((r) => (r.rescan ? `${r.table} again (of ${r.rescan.of})` : r.table));

describe('columns read', () => {
  test('the columns a query names, case-insensitive; * reads all; COUNT(*) none', () => {
    assert.deepEqual(columns('SELECT a, B FROM dfs.`t` WHERE c > 1 GROUP BY a, B ORDER BY A'), ['t: a,b,c']);
    assert.deepEqual(columns('SELECT * FROM dfs.`t` WHERE c > 1'), ['t: *']);
    assert.deepEqual(columns('SELECT COUNT(*) FROM dfs.`t`'), ['t: ']);
    assert.deepEqual(columns('SELECT t.* FROM dfs.`t` t JOIN dfs.`u` u ON t.k = u.k'), ['t: *', 'u: k']);
  });

  test('qualified names belong to their table, also written with the schema', () => {
    assert.deepEqual(columns('SELECT l.x, o.y FROM dfs.tpch.lineitem l, dfs.tpch.orders o WHERE l.k = o.k'), ['lineitem: k,x', 'orders: k,y']);
    assert.deepEqual(columns('SELECT lineitem.x FROM dfs.tpch.lineitem JOIN dfs.tpch.orders ON dfs.tpch.lineitem.k = orders.k'), ['lineitem: k,x', 'orders: k']);
  });

  test('map fields keep their path; subscripts read the column', () => {
    assert.deepEqual(columns('SELECT t.m.x, a[1] FROM dfs.`t` t'), ['t: a,m.x']);
  });

  test('derived tables and CTEs pass on only what the outer query needs', () => {
    assert.deepEqual(columns('SELECT x FROM (SELECT a AS x, b AS y FROM dfs.`t` WHERE c = 1) d'), ['t: a,c']);
    assert.deepEqual(columns('SELECT d.a FROM (SELECT * FROM dfs.`t`) d'), ['t: a']);
    assert.deepEqual(columns('SELECT c2 FROM (SELECT a, b FROM dfs.`t`) AS d (c1, c2)'), ['t: b']);
    assert.deepEqual(columns('WITH w (c1, c2) AS (SELECT a, b FROM dfs.`t`) SELECT c1 FROM w'), ['t: a']);
    // DISTINCT compares every column it outputs.
    assert.deepEqual(columns('SELECT x FROM (SELECT DISTINCT a AS x, b FROM dfs.`t`) d'), ['t: a,b']);
    // ORDER BY an alias or a position reads what the output column reads.
    assert.deepEqual(columns('SELECT x FROM (SELECT a AS x, b + c AS y FROM dfs.`t` ORDER BY y LIMIT 3) d'), ['t: a,b,c']);
    assert.deepEqual(columns('SELECT a, b * 2 FROM dfs.`t` ORDER BY 2'), ['t: a,b']);
  });

  test('a CTE is scanned where it is named: twice when named twice, never when not', () => {
    assert.deepEqual(columns('WITH w AS (SELECT a, b FROM dfs.`t`) SELECT x.a FROM w x JOIN w y ON x.a = y.b'), ['t: a', 't: b']);
    assert.deepEqual(columns('WITH w AS (SELECT a FROM dfs.`t`) SELECT b FROM dfs.`u`'), ['u: b']);
  });

  test('EXISTS reads no output column of its subquery; IN and scalar subqueries do', () => {
    assert.deepEqual(columns('SELECT a FROM dfs.`t` t WHERE EXISTS (SELECT * FROM dfs.`u` u WHERE u.k = t.k)'), ['t: a,k', 'u: k']);
    assert.deepEqual(columns('SELECT a FROM dfs.`t` WHERE a IN (SELECT b FROM dfs.`u`) AND a > (SELECT MAX(c) FROM dfs.`v`)'), ['t: a', 'u: b', 'v: c']);
  });

  test('every branch of a set operation is read in full', () => {
    assert.deepEqual(columns('SELECT x FROM (SELECT a, b FROM dfs.`t` UNION SELECT c, d FROM dfs.`u`) s (x, y)'), ['t: a,b', 'u: c,d']);
  });

  test('a view body: the columns a consumer asks for, by name or through a *', () => {
    const sql = 'SELECT a AS x, b + c AS y, * FROM dfs.`t` WHERE d > 0';
    assert.deepEqual(columns(sql, ['x']), ['t: a,d']);
    assert.deepEqual(columns(sql, ['y', 'e']), ['t: b,c,d,e']);
    assert.deepEqual(columns(sql, 'all'), ['t: *']);
    const reading = readReferences('SELECT a, SUM(b) FROM dfs.`t` GROUP BY a');
    // A view's field list renames its columns in order.
    assert.deepEqual(compose(rename(reading.output!, ['k', 'total']), ['total']), [{ ref: 0, path: ['b'] }]);
  });

  test('SQL the parser cannot read: every name in it may be a column, a * all of them', () => {
    assert.deepEqual(namedColumns("SELECT a, COUNT(*), b * 2 FROM dfs.`t` WHERE c = 'x' -- d").paths.map((p) => p[0]).sort(), ['a', 'b', 'c', 'count', 'dfs', 'from', 'select', 't', 'where']);
    assert.equal(namedColumns('SELECT * FROM dfs.`t`').all, true);
    assert.equal(namedColumns('SELECT DISTINCT t.* FROM dfs.`t` t').all, true);
    assert.equal(namedColumns('SELECT a FROM dfs.`t` WHERE NOT EXISTS (SELECT * FROM dfs.`u`)').all, false);
  });
});

describe('literal comparisons for row-group pruning', () => {
  test('=, <, >, <=, >=, BETWEEN, IN, either side, dates and numbers as written', () => {
    const sql = "SELECT 1 FROM dfs.`t` WHERE a = 5 AND 7 < b AND c BETWEEN 1 AND 2.50 AND d IN ('x', 'y') AND e >= DATE '2024-01-31' AND f = 12345678901234567890";
    assert.deepEqual(filters(sql), [
      [
        { column: 'a', op: '=', values: [{ kind: 'number', text: '5' }] },
        { column: 'b', op: '>', values: [{ kind: 'number', text: '7' }] },
        { column: 'c', op: '>=', values: [{ kind: 'number', text: '1' }] },
        { column: 'c', op: '<=', values: [{ kind: 'number', text: '2.50' }] },
        { column: 'd', op: 'in', values: [{ kind: 'string', value: 'x' }, { kind: 'string', value: 'y' }] },
        { column: 'e', op: '>=', values: [{ kind: 'date', value: '2024-01-31' }] },
        { column: 'f', op: '=', values: [{ kind: 'number', text: '12345678901234567890' }] },
      ],
    ]);
  });

  test('OR, NOT, functions, expressions, <>, implicit columns and long IN lists prune nothing', () => {
    const list = Array.from({ length: 20 }, (_, i) => i).join(', ');
    for (const where of ['a = 1 OR b = 2', 'NOT a = 1', 'upper(a) = 1', 'a = 1 + 1', 'a <> 1', "dir0 = '2024'", 'a = b', `a IN (${list})`, 'a NOT IN (1)', 'a NOT BETWEEN 1 AND 2']) {
      assert.deepEqual(filters(`SELECT 1 FROM dfs.\`t\` WHERE ${where}`), [[]], where);
    }
  });

  test('in a join, only a qualified column says which table it prunes', () => {
    assert.deepEqual(filters('SELECT 1 FROM dfs.`t` t JOIN dfs.`u` u ON t.k = u.k WHERE t.a = 1 AND b = 2'), [[{ column: 'a', op: '=', values: [{ kind: 'number', text: '1' }] }], []]);
  });
});

describe('scans Drill adds', () => {
  test('a correlated subquery beyond equalities: the outer FROM once more per subquery', () => {
    const sql = 'SELECT s.n FROM dfs.`s` s, dfs.`l` l1 WHERE s.k = l1.k AND EXISTS (SELECT * FROM dfs.`l` l2 WHERE l2.o = l1.o AND l2.k <> l1.k)';
    assert.deepEqual(rescans(sql), ['s', 'l', 'l', 's again (of 0)', 'l again (of 1)']);
    assert.deepEqual(columns(sql), ['s: k,n', 'l: k,o', 'l: k,o', 's: k,n', 'l: k,o']);
  });

  test('correlation by equalities only: no extra scan', () => {
    assert.deepEqual(rescans('SELECT a FROM dfs.`t` t WHERE EXISTS (SELECT 1 FROM dfs.`u` u WHERE u.k = t.k AND u.x < u.y)'), ['t', 'u']);
    assert.deepEqual(rescans('SELECT a FROM dfs.`t` t WHERE t.q < (SELECT AVG(u.q) FROM dfs.`u` u WHERE u.k = t.k)'), ['t', 'u']);
  });

  test('NOT IN (subquery): the subquery twice', () => {
    assert.deepEqual(rescans('SELECT a FROM dfs.`t` WHERE a NOT IN (SELECT b FROM dfs.`u` WHERE c = 1)'), ['t', 'u', 'u again (of 1)']);
    assert.deepEqual(rescans('SELECT a FROM dfs.`t` WHERE a IN (SELECT b FROM dfs.`u`)'), ['t', 'u']);
  });
});
