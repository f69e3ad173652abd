// Sizing against Drill as the oracle. Real Drill writes the data (CTAS into Parquet
// with small row groups, sorted keys) and the views (CREATE VIEW); for each query the
// Sizer's plan is compared with Drill's own EXPLAIN (which Parquet scans, which
// columns, how many row groups each keeps) and with the bytes Drill's profile says
// the query read. Where Drill prunes more than Dromedar does (OR, filters through a
// view), the plan must stay on the safe side: at least Drill's row groups and columns.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesReadFromProfile, type ProfileBytes } from '../src/sizing/actual.js';
import { Sizer, type Plan, type TargetSize } from '../src/sizing/index.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { planScans, startDrillbit, type TestDrillbit } from './support/drillbit.js';

const ROWS = 6000;
const config = testConfig({ storage: { workspaces: { default: { location: '.' }, tmp: { location: 'tmp', writable: true } } }, sizing: { qsf: 1 } });
let drill: TestDrillbit;
let sizer: Sizer;

interface Scan {
  columns: string[];
  rowGroups: number | null;
}

/** The Parquet scans of a plan, through views, as Drill's EXPLAIN lists them: top-level column names, row groups kept. */
function ourScans(plan: Plan): Scan[] {
  const flat = (targets: TargetSize[]): TargetSize[] => targets.flatMap((t) => (t.view ? flat(t.view.targets as unknown as TargetSize[]) : [t]));
  return flat(plan.targets)
    .filter((t) => t.counted === 'parquet')
    .map((t) => ({ columns: t.columns?.[0] === '*' ? ['**'] : [...new Set(t.columns!.map((c) => c.split('.')[0]!))].sort(), rowGroups: t.rowGroups!.kept }));
}

async function drillScans(sql: string): Promise<Scan[]> {
  const plan = await drill.explain(sql);
  return planScans(plan.split('\n').filter((l) => l.includes('ParquetGroupScan')).join('\n')).map((s) => ({ columns: [...new Set(s.columns.map((c) => c.split('.')[0]!))].sort(), rowGroups: s.rowGroups }));
}

const key = (s: Scan) => `${s.columns.join(',')}@${s.rowGroups}`;

/** Plan vs Drill for one query: the same Parquet scans exactly, and the bytes of the profile. */
async function same(sql: string): Promise<Plan> {
  const plan = await sizer.plan(sql);
  assert.equal(plan.parsed, true, sql);
  assert.deepEqual(ourScans(plan).map(key).sort(), (await drillScans(sql)).map(key).sort(), sql);
  await bytesMatch(sql, plan);
  return plan;
}

/** Plan vs Drill where Drill may read less: as many scans, each with at least Drill's row groups and columns. */
async function safe(sql: string): Promise<Plan> {
  const plan = await sizer.plan(sql);
  const ours = ourScans(plan).sort((a, b) => key(a).localeCompare(key(b)));
  const theirs = (await drillScans(sql)).sort((a, b) => key(a).localeCompare(key(b)));
  assert.equal(ours.length, theirs.length, `${sql}: scans ${JSON.stringify(ours)} vs Drill ${JSON.stringify(theirs)}`);
  // Pair them greedily: every Drill scan has one of ours covering it.
  const left = [...ours];
  for (const scan of theirs) {
    const i = left.findIndex((o) => (o.columns[0] === '**' || scan.columns.every((c) => o.columns.includes(c))) && (o.rowGroups ?? 0) >= (scan.rowGroups ?? 0));
    assert.ok(i >= 0, `${sql}: no scan of ours covers Drill's ${JSON.stringify(scan)} (ours: ${JSON.stringify(ours)})`);
    left.splice(i, 1);
  }
  const actual = (await run(sql)).bytes;
  assert.ok(actual !== null && plan.bytes >= actual, `${sql}: estimate ${plan.bytes} below Drill's ${actual}`);
  return plan;
}

async function run(sql: string): Promise<ProfileBytes> {
  const answer = await drill.sql(sql);
  return bytesReadFromProfile(await drill.profile(answer.queryId));
}

// Drill's async reader counts the compressed pages; the footer's chunk sizes add the page headers.
async function bytesMatch(sql: string, plan: Plan): Promise<void> {
  const actual = await run(sql);
  if (actual.bytes === null) {
    // Only Drill's reader for nested columns reads without counting pages.
    const nested = ourScans(plan).some((s) => s.columns.includes('**') || s.columns.includes('m'));
    assert.ok(nested && !actual.complete, `${sql}: Drill reports no bytes (${JSON.stringify(actual.scans)})`);
    return;
  }
  assert.ok(actual.complete, `${sql}: Drill's count is complete`);
  if (plan.bytes === 0) {
    assert.equal(actual.bytes, 0, `${sql}: estimate 0`);
    return;
  }
  const ratio = plan.bytes / actual.bytes;
  assert.ok(ratio >= 1 && ratio <= 1.05, `${sql}: estimate ${plan.bytes} vs Drill's ${actual.bytes} (ratio ${ratio.toFixed(3)})`);
}

before(async () => {
  const tmp = join(config.dataDir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const day = (k: number) => new Date(Date.UTC(2020, 0, 1) + k * 86_400_000).toISOString().slice(0, 10);
  const lines = Array.from({ length: ROWS }, (_, i) => {
    const k = i + 1;
    return JSON.stringify({ k, grp: k % 10, s: `name-${String(k).padStart(6, '0')}`, d: day(k), v: k * 1.5, note: `note ${k} ${'x'.repeat(k % 40)}`, m: { x: k, y: `y${k}` } });
  });
  writeFileSync(join(tmp, 'src.json'), lines.join('\n') + '\n');
  drill = await startDrillbit(config);
  // Small row groups, sorted keys: min/max pruning has something to prune.
  const ctas = (name: string, select: string) =>
    drill.sql(`CREATE TABLE dfs.tmp.\`${name}\` AS ${select}`, { 'store.parquet.block-size': 32768, 'store.parquet.compression': 'snappy' });
  await ctas('t', "SELECT k, grp, s, CAST(d AS DATE) AS d, v, note, m, CASE WHEN k > 3000 THEN k END AS n FROM dfs.tmp.`src.json`");
  await ctas('u', 'SELECT k, grp, v FROM dfs.tmp.`src.json` WHERE k <= 2000');
  await ctas('gone', 'SELECT k FROM dfs.tmp.`src.json` WHERE k <= 10');
  await drill.sql('CREATE VIEW dfs.tmp.v_star AS SELECT * FROM dfs.tmp.t');
  await drill.sql('CREATE VIEW dfs.tmp.v_cols AS SELECT k, s FROM dfs.tmp.t WHERE grp = 1');
  await drill.sql('CREATE VIEW dfs.tmp.v_view AS SELECT s FROM dfs.tmp.v_cols');
  await drill.sql('CREATE VIEW dfs.tmp.v_alias AS SELECT k, s AS name FROM dfs.tmp.t');
  await drill.sql('CREATE VIEW dfs.tmp.v_fields (a, b) AS SELECT k, v FROM dfs.tmp.t');
  await drill.sql('CREATE VIEW dfs.tmp.v_gone AS SELECT k FROM dfs.tmp.gone');
  await drill.sql('CREATE VIEW dfs.tmp.v_a AS SELECT k FROM dfs.tmp.t');
  await drill.sql('CREATE VIEW dfs.tmp.v_b AS SELECT k FROM dfs.tmp.v_a');
  // A table gone under a view, and two views that name each other (Drill cannot make
  // that itself: CREATE VIEW checks what it names).
  rmSync(join(tmp, 'gone'), { recursive: true });
  const a = JSON.parse(readFileSync(join(tmp, 'v_a.view.drill'), 'utf8')) as { sql: string };
  a.sql = 'SELECT `k` FROM `dfs`.`tmp`.`v_b`';
  writeFileSync(join(tmp, 'v_a.view.drill'), JSON.stringify(a));
  sizer = new Sizer(config);
});

after(async () => {
  await sizer?.close();
  await drill?.stop();
  const left = jvmsMentioning(config.home);
  config.cleanup();
  assert.deepEqual(left, [], 'no JVM left behind');
});

describe('columns and row groups, as Drill plans them', () => {
  test('the table has row groups to prune', async () => {
    const [scan] = await drillScans('SELECT * FROM dfs.tmp.t');
    assert.ok((scan?.rowGroups ?? 0) >= 4, `row groups: ${scan?.rowGroups}`);
  });

  test('projections: some columns, all, a map field', async () => {
    await same('SELECT k, s FROM dfs.tmp.t');
    await same('SELECT * FROM dfs.tmp.t');
    await same('SELECT t.m.x, note FROM dfs.tmp.t t');
    await same('SELECT grp, SUM(v) AS total FROM dfs.tmp.t GROUP BY grp ORDER BY total');
  });

  test('COUNT(*) over Parquet reads no column', async () => {
    const plan = await sizer.plan('SELECT COUNT(*) FROM dfs.tmp.t');
    assert.equal(plan.bytes, 0);
    const actual = await run('SELECT COUNT(*) FROM dfs.tmp.t');
    assert.deepEqual([actual.bytes, actual.scans], [null, []], 'Drill answers it from the footers, without a Parquet scan');
    await same('SELECT 1 FROM dfs.tmp.t');
  });

  test('integer comparisons prune as Drill prunes', async () => {
    for (const where of ['k < 500', 'k = 3000', 'k BETWEEN 1000 AND 2000', 'k IN (10, 5000)', 'k > 5990', 'k >= 6000', '2500 > k', 'k <= 0', 'k < 500 AND grp = 3']) {
      const plan = await same(`SELECT SUM(v) FROM dfs.tmp.t WHERE ${where}`);
      const rowGroups = plan.targets[0]!.rowGroups!;
      if (where !== 'k >= 6000') assert.ok(rowGroups.kept < rowGroups.total, `${where}: something pruned (${rowGroups.kept}/${rowGroups.total})`);
    }
  });

  test('strings, dates, doubles, all-null chunks', async () => {
    for (const where of ["s = 'name-002000'", "s > 'name-005'", "d >= DATE '2036-01-01'", "d < DATE '2020-03-01'", 'v < 100.5', 'n = 10', 'n > 5000']) {
      await same(`SELECT k FROM dfs.tmp.t WHERE ${where}`);
    }
  });

  test('what does not prune here: OR (Drill may prune more), 20+ IN values, functions', async () => {
    await safe('SELECT k FROM dfs.tmp.t WHERE k < 500 OR k > 5500');
    const list = Array.from({ length: 25 }, (_, i) => i * 100).join(', ');
    await safe(`SELECT v FROM dfs.tmp.t WHERE k IN (${list})`);
    await safe('SELECT v FROM dfs.tmp.t WHERE k + 0 < 500');
  });

  test('joins, derived tables, CTEs named twice', async () => {
    await same('SELECT t.s, u.v FROM dfs.tmp.t t JOIN dfs.tmp.u u ON t.k = u.k WHERE t.v > 0');
    // Drill carries u.k < 300 over the join to t.k (transitive predicates); Dromedar does not.
    await safe('SELECT t.s, u.v FROM dfs.tmp.t t JOIN dfs.tmp.u u ON t.k = u.k WHERE u.k < 300');
    await same('SELECT x FROM (SELECT k AS x, s AS y FROM dfs.tmp.t) d WHERE x > 10');
    await same('WITH c AS (SELECT k, v FROM dfs.tmp.u) SELECT a.k, b.v FROM c a JOIN c b ON a.k = b.k');
  });

  test('scans Drill adds: a correlated subquery beyond equalities, NOT IN', async () => {
    const correlated = await same('SELECT t.k FROM dfs.tmp.t t WHERE t.k < 100 AND EXISTS (SELECT * FROM dfs.tmp.u u WHERE u.grp = t.grp AND u.k <> t.k)');
    assert.ok(correlated.targets.some((t) => t.rescan !== null), 'the rescan is explained');
    await same('SELECT t.k FROM dfs.tmp.t t WHERE EXISTS (SELECT * FROM dfs.tmp.u u WHERE u.k = t.k)');
    await same('SELECT k FROM dfs.tmp.t WHERE k NOT IN (SELECT k FROM dfs.tmp.u WHERE grp = 1)');
  });
});

describe('views written by Drill', () => {
  test('a view over a table: only the columns the query reads of it', async () => {
    const plan = await same('SELECT k FROM dfs.tmp.v_star');
    const view = plan.targets[0]!;
    assert.equal(view.counted, 'view');
    assert.equal(view.view?.file, join(config.dataDir, 'tmp', 'v_star.view.drill'));
    await same('SELECT * FROM dfs.tmp.v_star');
  });

  test('renamed columns, views of views, a field list', async () => {
    await same('SELECT s FROM dfs.tmp.v_cols');
    await same('SELECT * FROM dfs.tmp.v_view');
    await same('SELECT b FROM dfs.tmp.v_fields');
    await same('SELECT x.s, t.v FROM dfs.tmp.v_cols x JOIN dfs.tmp.t t ON x.k = t.k');
  });

  test('a view with aliases in backticks (as Drill writes them) is parsed and sized through, as Drill reads it', async () => {
    const plan = await safe('SELECT name FROM dfs.tmp.v_alias');
    assert.equal(plan.parsed, true);
    assert.equal(plan.targets[0]!.view!.parsed, true);
    assert.doesNotMatch(plan.targets[0]!.notes.join(' '), /could not be parsed/);
  });

  test('a filter through a view: Drill pushes it down, Dromedar stays over', async () => {
    await safe('SELECT k FROM dfs.tmp.v_star WHERE k < 500');
  });

  test('a view naming a table that is gone, and views that loop: unknown, said why, never an error', async () => {
    const gone = await sizer.plan('SELECT * FROM dfs.tmp.v_gone');
    assert.equal(gone.parsed, false);
    assert.equal(gone.drillbits, 1);
    const inner = gone.targets[0]!.view!.targets[0] as unknown as TargetSize;
    assert.equal(inner.counted, 'unknown');
    assert.match(inner.unknown!, /names dfs\.tmp\.`gone`, which does not exist/);
    const failed = await drill.sql('SELECT * FROM dfs.tmp.v_gone', {}, true);
    assert.notEqual(failed.queryState, 'COMPLETED', 'Drill fails it too');
    assert.match(failed.errorMessage ?? '', /gone/);
    const loop = await sizer.plan('SELECT k FROM dfs.tmp.v_b');
    assert.equal(loop.parsed, false);
    const a = loop.targets[0]!.view!.targets[0] as unknown as TargetSize;
    const b = a.view!.targets[0] as unknown as TargetSize;
    assert.match(b.unknown!, /the view loops: .*v_b\.view\.drill -> .*v_a\.view\.drill -> .*v_b\.view\.drill/);
  });
});
