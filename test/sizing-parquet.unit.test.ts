// Sizing Parquet from footers, views from their files, and bad input, without Drill:
// real Parquet files written by hyparquet-writer (row groups, statistics), the bytes
// compared with what hyparquet's own reader says of the whole file. What Drill
// itself plans and reports is checked in sizing-drill.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, readFileSync, utimesSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { planRoutes } from '../src/server/plan.js';
import { Footers, Sizer, type Plan, type TargetSize } from '../src/sizing/index.js';
import { FileMeasurer } from '../src/sizing/measure.js';
import { compare } from '../src/sizing/parquet.js';
import { scan } from '../src/sizing/scan.js';
import { scanWorkers } from '../src/sizing/workers.js';
import { testConfig } from './support/env.js';

const ROWS = 3000;
const PER_GROUP = 1000;

function parquet(path: string, offset = 0): void {
  mkdirSync(dirname(path), { recursive: true });
  const k = Array.from({ length: ROWS }, (_, i) => offset + i + 1);
  const buffer = parquetWriteBuffer({
    rowGroupSize: PER_GROUP,
    statisticsTruncateLength: Infinity,
    columnData: [
      { name: 'k', data: k.map((i) => BigInt(i)), type: 'INT64' },
      { name: 's', data: k.map((i) => `s${String(i).padStart(6, '0')}`), type: 'STRING' },
      { name: 'v', data: k.map((i) => i / 4), type: 'DOUBLE' },
      { name: 'note', data: k.map((i) => `note ${i} ${'x'.repeat(i % 50)}`), type: 'STRING' },
    ],
  });
  writeFileSync(path, Buffer.from(buffer));
}

/** Compressed bytes of columns in row groups of a file, as hyparquet reads the whole file. */
async function chunks(path: string, columns: string[], groups?: number[]): Promise<number> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path));
  let total = 0;
  metadata.row_groups.forEach((group, i) => {
    if (groups && !groups.includes(i)) return;
    for (const chunk of group.columns) if (columns.includes(chunk.meta_data!.path_in_schema[0]!)) total += Number(chunk.meta_data!.total_compressed_size);
  });
  return total;
}

function age(root: string): void {
  const past = new Date(Date.now() - 3_600_000);
  for (const entry of readdirSync(root, { recursive: true }) as string[]) utimesSync(join(root, entry), past, past);
  utimesSync(root, past, past);
}

describe('Parquet: the columns and row groups Drill reads', () => {
  const config = testConfig({ storage: { workspaces: { default: { location: '.' } } } });
  let sizer: Sizer;
  let file: string;
  before(() => {
    file = join(config.dataDir, 'p', 'a.parquet');
    parquet(file);
    age(config.dataDir);
    sizer = new Sizer(config);
  });
  after(async () => {
    await sizer.close();
    config.cleanup();
  });

  const target = async (sql: string) => (await sizer.plan(sql)).targets[0]!;

  test('the compressed chunks of the columns read, in every row group', async () => {
    const t = await target('SELECT k, v FROM dfs.`p`');
    assert.deepEqual([t.counted, t.columns, t.rowGroups, t.bytes], ['parquet', ['k', 'v'], { kept: 3, total: 3 }, await chunks(file, ['k', 'v'])]);
    assert.equal(t.bytesStored, readFileSync(file).length);
    const all = await target('SELECT * FROM dfs.`p`');
    assert.deepEqual([all.columns, all.bytes], [['*'], await chunks(file, ['k', 's', 'v', 'note'])]);
    assert.equal((await target('SELECT COUNT(*) FROM dfs.`p`')).bytes, 0);
    // Column names are case-insensitive in Drill.
    assert.equal((await target('SELECT K FROM dfs.`p`')).bytes, await chunks(file, ['k']));
  });

  test('min/max pruning on literal comparisons, and what it says', async () => {
    const cases: Array<[string, number[]]> = [
      ['k < 1001', [0]],
      ['k = 1500', [1]],
      ['k BETWEEN 999 AND 2001', [0, 1, 2]],
      ['k IN (5, 2999)', [0, 2]],
      ['k > 2000', [2]],
      ["s >= 's002001'", [2]],
      ['v <= 100.0', [0]],
      ['k > 1000 AND v < 600', [1, 2]],
      ['k > 1000 AND v < 500', [1]],
    ];
    for (const [where, groups] of cases) {
      const t = await target(`SELECT note FROM dfs.\`p\` WHERE ${where}`);
      assert.deepEqual(t.rowGroups, { kept: groups.length, total: 3 }, where);
      assert.equal(t.bytes, await chunks(file, ['note', 'k', 's', 'v'].filter((c) => c === 'note' || where.includes(c)), groups), where);
    }
    assert.match((await target('SELECT note FROM dfs.`p` WHERE k = 1500')).pruning.join(), /row groups \(k = 1500\): 1 of 3/);
    // Nothing can match: Drill keeps one row group for the schema and reads none of it.
    const none = await target('SELECT note FROM dfs.`p` WHERE k > 9999');
    assert.deepEqual([none.rowGroups, none.bytes], [{ kept: 1, total: 3 }, 0]);
    // What cannot be decided keeps everything: OR, a string or a date against a number.
    for (const where of ['k < 10 OR k > 2990', "k = 'x'", "k = DATE '2020-01-01'"]) {
      assert.deepEqual((await target(`SELECT note FROM dfs.\`p\` WHERE ${where}`)).rowGroups, { kept: 3, total: 3 }, where);
    }
  });

  test('comparisons: exact for integers, strings as UTF-8 bytes, doubles and decimals in doubt near equality', () => {
    assert.equal(compare('int', 12345678901234567890n, { kind: 'number', text: '12345678901234567890' }), 0);
    assert.equal(compare('int', 5, { kind: 'number', text: '6' }), -1);
    assert.equal(compare('decimal', 0.07, { kind: 'number', text: '0.07' }), null);
    assert.equal(compare('double', 1.5, { kind: 'number', text: '1.25' }), 1);
    assert.equal(compare('string', 'é', { kind: 'string', value: 'z' }), 1, 'UTF-8 bytes: é (0xC3) sorts after z');
    assert.equal(compare('date', 18262, { kind: 'date', value: '2020-01-01' }), 0);
    assert.equal(compare('date', 18262, { kind: 'string', value: '2020-01-01' }), null);
  });

  test('a Parquet file without an extension counts as Parquet; text counts its size, compressed text noted', async () => {
    mkdirSync(join(config.dataDir, 'mixed'));
    writeFileSync(join(config.dataDir, 'mixed', '000000_0'), readFileSync(file));
    writeFileSync(join(config.dataDir, 'mixed', 'b.csv'), 'a,b\n1,2\n');
    writeFileSync(join(config.dataDir, 'mixed', 'c.csv.gz'), Buffer.alloc(100));
    const t = await target('SELECT k FROM dfs.`mixed`');
    assert.equal(t.counted, 'mixed');
    assert.equal(t.bytes, (await chunks(file, ['k'])) + 8 + 100);
    assert.match(t.notes.join(' | '), /2 file\(s\) not Parquet.*\| 1 compressed file/);
  });

  test('footers are read once and cached; a replaced file is read again', async () => {
    const config2 = testConfig({ storage: { workspaces: { default: { location: '.' } } } });
    const path = join(config2.dataDir, 'c', 'a.parquet');
    parquet(path);
    age(config2.dataDir);
    const own = new Sizer(config2, {}, { footers: new Footers({ maxBytes: 2 ** 20 }) });
    try {
      await own.plan('SELECT k FROM dfs.`c`');
      assert.equal(own.footersRead, 1);
      await own.plan('SELECT s FROM dfs.`c`');
      assert.equal(own.footersRead, 1, 'other columns: the footer from the cache');
      // A new version of the file (written aside and renamed over it, as writers do).
      parquet(join(config2.dataDir, 'tmp.parquet'), 10_000);
      renameSync(join(config2.dataDir, 'tmp.parquet'), path);
      const t = (await own.plan('SELECT k FROM dfs.`c` WHERE k > 10000')).targets[0]!;
      assert.equal(own.footersRead, 2);
      assert.deepEqual(t.rowGroups, { kept: 3, total: 3 });
    } finally {
      await own.close();
      config2.cleanup();
    }
  });

  test('sizing.measure "files": the files\' sizes, as the plan says', async () => {
    const config3 = testConfig({ dataDir: config.dataDir, storage: { workspaces: { default: { location: '.' } } }, sizing: { measure: 'files' } });
    const files = new Sizer(config3);
    try {
      const plan = await files.plan('SELECT k FROM dfs.`p`');
      assert.deepEqual([plan.measure, plan.bytes, plan.targets[0]!.counted, plan.targets[0]!.columns], ['files', readFileSync(file).length, 'files', null]);
    } finally {
      await files.close();
    }
  });
});

describe('bad Parquet: the plan answers, counts the file at its size and says why', () => {
  const config = testConfig({ storage: { workspaces: { default: { location: '.' } } } });
  let sizer: Sizer;
  let good: number;
  before(async () => {
    const dir = join(config.dataDir, 'bad');
    parquet(join(dir, 'good.parquet'));
    good = await chunks(join(dir, 'good.parquet'), ['k']);
    const bytes = readFileSync(join(dir, 'good.parquet'));
    // The footer's Thrift overwritten with garbage, the magic and length intact.
    const corrupt = Buffer.from(bytes);
    const length = corrupt.readUInt32LE(corrupt.length - 8);
    corrupt.fill(0xff, corrupt.length - 8 - length, corrupt.length - 8);
    writeFileSync(join(dir, 'corrupt.parquet'), corrupt);
    writeFileSync(join(dir, 'truncated.parquet'), bytes.subarray(0, bytes.length - 100));
    const lying = Buffer.from(bytes);
    lying.writeUInt32LE(0x7fffffff, lying.length - 8);
    writeFileSync(join(dir, 'length.parquet'), lying);
    writeFileSync(join(dir, 'tiny.parquet'), 'PAR1');
    age(config.dataDir);
    sizer = new Sizer(config);
  });
  after(async () => {
    await sizer.close();
    config.cleanup();
  });

  test('corrupt, truncated, lying about its length, too short', async () => {
    const plan = await sizer.plan('SELECT k FROM dfs.`bad`');
    const t = plan.targets[0]!;
    const size = (name: string) => readFileSync(join(config.dataDir, 'bad', name)).length;
    assert.equal(t.counted, 'mixed');
    assert.equal(t.bytes, good + size('corrupt.parquet') + size('truncated.parquet') + size('length.parquet') + size('tiny.parquet'));
    const why = Object.fromEntries(t.fallbacks.map((f) => [f.example.split('/').pop(), f.reason]));
    assert.match(why['corrupt.parquet']!, /footer unusable \(the footer cannot be parsed/);
    assert.match(why['truncated.parquet']!, /no PAR1 magic at the end/);
    assert.match(why['length.parquet']!, /does not fit in a file of/);
    assert.match(why['tiny.parquet']!, /too short/);
    // The workers are still there and well: the next plan is right.
    assert.equal((await sizer.plan('SELECT k FROM dfs.`bad/good.parquet`')).bytes, good);
  });

  test('a file gone between listing and reading its footer: its listed size, and why', async () => {
    const dir = join(config.dataDir, 'vanish');
    parquet(join(dir, 'a.parquet'));
    parquet(join(dir, 'b.parquet'));
    const { listing } = await scan(dir, { roots: null });
    unlinkSync(join(dir, 'b.parquet'));
    const measured = await new FileMeasurer(new Footers({ maxBytes: 0 })).measure(listing, { dirs: [], columns: { all: false, paths: [['k']] }, filters: [], measure: 'scan' });
    const listed = listing.sizes[listing.paths.indexOf(join(dir, 'b.parquet'))]!;
    assert.equal(measured.bytes, good + listed);
    assert.deepEqual(
      measured.fallbacks.map((f) => [f.files, f.bytes, f.example]),
      [[1, listed, join(dir, 'b.parquet')]],
    );
    assert.match(measured.fallbacks[0]!.reason, /vanished between listing and reading/);
  });

  test('a worker asked for footers of anything answers for each, and keeps working', async () => {
    const results = await scanWorkers.footers([join(config.dataDir, 'bad'), '/nonexistent/x.parquet', `${config.dataDir}/\u0000`, join(config.dataDir, 'bad', 'good.parquet')]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : r.kind)),
      ['not-parquet', 'vanished', 'unreadable', 'ok'],
    );
  });
});

describe('views', () => {
  const config = testConfig({ storage: { workspaces: { default: { location: '.' }, other: { location: 'other' } } } });
  let sizer: Sizer;
  let kBytes: number;
  let sBytes: number;
  const view = (name: string, sql: string, extra: Record<string, unknown> = {}) =>
    writeFileSync(join(config.dataDir, `${name}.view.drill`), JSON.stringify({ name, sql, fields: [{ name: '**', type: 'DYNAMIC_STAR' }], workspaceSchemaPath: [], ...extra }));
  before(async () => {
    const file = join(config.dataDir, 'p', 'a.parquet');
    parquet(file);
    mkdirSync(join(config.dataDir, 'other'), { recursive: true });
    kBytes = await chunks(file, ['k']);
    sBytes = await chunks(file, ['s']);
    // As Drill writes them (Calcite's unparsed SQL, backticks).
    view('v_star', 'SELECT *\nFROM `dfs`.`default`.`p`');
    view('v_rel', 'SELECT *\nFROM `p`', { workspaceSchemaPath: ['dfs', 'default'] });
    view('v_fields', 'SELECT `k`, `s`\nFROM `dfs`.`p`', { fields: [{ name: 'a' }, { name: 'b' }] });
    view('v_v', 'SELECT *\nFROM `dfs`.`v_star`');
    view('v_missing', 'SELECT *\nFROM `dfs`.`nope`');
    view('v_schema', 'SELECT *\nFROM `hive`.`x`');
    view('v_glob', 'SELECT *\nFROM `dfs`.`p/[a.parquet`');
    view('v_loop1', 'SELECT * FROM `dfs`.`v_loop2`');
    view('v_loop2', 'SELECT * FROM `dfs`.`v_loop1`');
    view('v_self', 'SELECT * FROM `dfs`.`v_self`');
    writeFileSync(join(config.dataDir, 'v_json.view.drill'), '{"sql": "SELECT');
    writeFileSync(join(config.dataDir, 'v_nosql.view.drill'), '{"name": "x"}');
    mkdirSync(join(config.dataDir, 'v_dir.view.drill'));
    writeFileSync(join(config.home, 'outside.view.drill'), JSON.stringify({ sql: 'SELECT * FROM `dfs`.`p`' }));
    symlinkSync(join(config.home, 'outside.view.drill'), join(config.dataDir, 'v_out.view.drill'));
    for (let i = 0; i < 20; i++) view(`v_deep${i}`, `SELECT * FROM \`dfs\`.\`${i === 19 ? 'p' : `v_deep${i + 1}`}\``);
    sizer = new Sizer(config);
  });
  after(async () => {
    await sizer.close();
    config.cleanup();
  });

  const first = (plan: Plan) => plan.targets[0]!;
  const inner = (t: TargetSize) => t.view!.targets[0] as unknown as TargetSize;

  test('a view is sized by what it reads, for the columns the query reads of it', async () => {
    const plan = await sizer.plan('SELECT k FROM dfs.`v_star`');
    assert.deepEqual([plan.bytes, plan.parsed, first(plan).counted, first(plan).view?.file], [kBytes, true, 'view', join(config.dataDir, 'v_star.view.drill')]);
    assert.deepEqual([inner(first(plan)).name, inner(first(plan)).columns], ['dfs.default.`p`', ['k']]);
    // Its SQL is read in its workspaceSchemaPath; its field list renames its columns in order.
    assert.equal((await sizer.plan('SELECT s FROM dfs.`v_rel`')).bytes, sBytes);
    assert.equal((await sizer.plan('SELECT b FROM dfs.`v_fields`')).bytes, sBytes);
    // A view of a view, and a view named twice: scanned twice.
    assert.equal((await sizer.plan('SELECT k FROM dfs.`v_v`')).bytes, kBytes);
    assert.equal((await sizer.plan('SELECT x.k FROM dfs.`v_star` x JOIN dfs.`v_star` y ON x.k = y.k')).bytes, 2 * kBytes);
  });

  test('views that cannot be sized: unknown, the minimum, said why; never an error', async () => {
    const cases: Array<[string, RegExp]> = [
      ['v_missing', /names dfs\.default\.`nope`, which does not exist/],
      ['v_schema', /unknown schema hive/],
      ['v_glob', /invalid glob.*unclosed \[/],
      ['v_json', /not JSON/],
      ['v_nosql', /has no "sql"/],
      ['v_dir', /not a regular file/],
      ['v_out', /outside every dfs workspace/],
      ['v_self', /the view loops: .*v_self\.view\.drill -> .*v_self\.view\.drill/],
      ['v_loop1', /the view loops: .*v_loop1.* -> .*v_loop2.* -> .*v_loop1/],
      ['v_deep0', /views nested deeper than 16/],
    ];
    for (const [name, why] of cases) {
      const plan = await sizer.plan(`SELECT * FROM dfs.\`${name}\``);
      assert.equal(plan.parsed, false, name);
      assert.equal(plan.drillbits, 1, name);
      const unknowns: string[] = [];
      const walk = (targets: TargetSize[]) => targets.forEach((t) => (t.unknown ? unknowns.push(t.unknown) : t.view && walk(t.view.targets as unknown as TargetSize[])));
      walk(plan.targets);
      assert.equal(unknowns.length, 1, `${name}: ${JSON.stringify(plan.targets)}`);
      assert.match(unknowns[0]!, why, name);
    }
  });

  test('through POST /v1/plan: 200 with the reason, never a 500', async () => {
    const app = new Hono().route('/', planRoutes(sizer));
    for (const name of ['v_missing', 'v_loop1', 'v_json']) {
      const res = await app.request('/v1/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: `SELECT * FROM dfs.\`${name}\`` }) });
      assert.equal(res.status, 200, name);
      const body = (await res.json()) as Plan;
      assert.equal(body.parsed, false);
    }
  });

  test('a changed view file is read again', async () => {
    view('v_change', 'SELECT `k` FROM `dfs`.`p`');
    assert.equal((await sizer.plan('SELECT * FROM dfs.`v_change`')).bytes, kBytes);
    view('v_change', 'SELECT `s` FROM `dfs`.`p`', { name: 'v_change2' });
    assert.equal((await sizer.plan('SELECT * FROM dfs.`v_change`')).bytes, sBytes);
  });

  test('truncating a view file under it: unknown, not an error', async () => {
    view('v_trunc', 'SELECT `k` FROM `dfs`.`p`');
    truncateSync(join(config.dataDir, 'v_trunc.view.drill'), 10);
    const plan = await sizer.plan('SELECT * FROM dfs.`v_trunc`');
    assert.match(first(plan).unknown!, /not JSON/);
  });
});
