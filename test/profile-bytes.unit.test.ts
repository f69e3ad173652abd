// The bytes Drill reports reading, from real query profiles captured from a Drillbit
// (test/fixtures/profiles/capture.ts, trimmed). Each Parquet fixture also holds the
// compressed size of the column chunks its query reads, from the files' own footers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { accuracy, bytesReadFromProfile } from '../src/sizing/actual.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'profiles');

function fixture(name: string): { capture: { sql: string; chunkBytes?: number }; profile: unknown } {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
}

const read = (name: string) => bytesReadFromProfile(fixture(name).profile);

describe('bytes read, from Parquet scan metrics', () => {
  test("the synchronous page reader counts every byte it reads: exactly the chunks' compressed size", () => {
    for (const name of ['parquet-sync-snappy', 'parquet-sync-uncompressed']) {
      const { capture } = fixture(name);
      const bytes = read(name);
      assert.equal(bytes.bytes, capture.chunkBytes, name);
      assert.equal(bytes.complete, true, name);
    }
  });

  test('the asynchronous reader (the default) counts the compressed pages, without their headers', () => {
    const { capture } = fixture('parquet-async-snappy');
    const bytes = read('parquet-async-snappy');
    assert.equal(bytes.complete, true);
    assert.ok(bytes.bytes! <= capture.chunkBytes! && bytes.bytes! >= 0.97 * capture.chunkBytes!, `${bytes.bytes} of ${capture.chunkBytes}`);
    assert.deepEqual(
      bytes.scans.map((s) => [s.operator, s.type, s.table, s.rowGroups, s.fragments]),
      [['00-03', 'PARQUET_ROW_GROUP_SCAN', 'dfs.tmp.snappy', 8, 1]],
    );
  });

  test('uncompressed columns under the asynchronous reader: pages loaded, no bytes counted: incomplete', () => {
    const bytes = read('parquet-async-uncompressed');
    assert.deepEqual([bytes.bytes, bytes.complete], [0, false]);
  });

  test("the nested-column reader counts no page: bytes not reported", () => {
    const bytes = read('parquet-nested');
    assert.deepEqual([bytes.bytes, bytes.complete, bytes.scans[0]?.rowGroups], [null, false, 8]);
  });

  test('row groups pruned at planning and at run time', () => {
    const pruned = read('parquet-pruned');
    assert.equal(pruned.scans[0]?.rowGroups, 2);
    assert.ok(pruned.bytes! > 0 && pruned.bytes! < read('parquet-async-snappy').bytes!);
    // Everything pruned: one row group planned, pruned again when the scan runs.
    assert.deepEqual([read('parquet-all-pruned').bytes, read('parquet-all-pruned').complete], [0, true]);
  });

  test('COUNT(*) from the footers: no scan, nothing reported', () => {
    assert.deepEqual(read('parquet-count-star'), { state: 'COMPLETED', bytes: null, complete: true, scans: [] });
  });

  test('scans in several minor fragments add up, by operator, with their tables from the plan', () => {
    const bytes = read('parquet-join-parallel');
    assert.deepEqual(bytes.scans.map((s) => [s.table, s.fragments]).sort(), [
      ['dfs.tmp.plain', 2],
      ['dfs.tmp.snappy', 2],
    ]);
    assert.equal(bytes.bytes, bytes.scans.reduce((n, s) => n + (s.bytes ?? 0), 0));
    assert.equal(bytes.complete, false, 'the uncompressed table is not counted by the async reader');
  });

  test('a failed query still has its state', () => {
    assert.equal(read('failed').state, 'FAILED');
  });
});

describe('other scans', () => {
  test('text and JSON scans report no bytes', () => {
    for (const [name, type, table] of [
      ['text-csvh', 'TEXT_SUB_SCAN', 'dfs.tmp.x.csvh'],
      ['json', 'JSON_SUB_SCAN', 'dfs.tmp.src.json'],
    ] as const) {
      const bytes = read(name);
      assert.deepEqual([bytes.bytes, bytes.complete, bytes.scans.map((s) => [s.type, s.table, s.bytes])], [null, false, [[type, table, null]]], name);
    }
  });

  test('anything that is not a profile gives nothing, never an exception', () => {
    for (const junk of [null, undefined, 42, 'profile', [], {}, { fragmentProfile: 'x' }, { fragmentProfile: [{ minorFragmentProfile: [{ operatorProfile: [{ operatorTypeName: 'PARQUET_ROW_GROUP_SCAN', metric: 'x' }] }] }] }]) {
      const bytes = bytesReadFromProfile(junk);
      assert.equal(bytes.bytes === null || bytes.bytes === 0, true, JSON.stringify(junk));
    }
  });
});

describe('estimate vs actual', () => {
  const parquet = (bytes: number) => ({ bytes, targets: [{ counted: 'parquet', bytes }] });

  test('a Parquet plan against its profile: the ratio', () => {
    const actual = read('parquet-async-snappy').bytes!;
    const result = accuracy(parquet(2 * actual), fixture('parquet-async-snappy').profile);
    assert.deepEqual([result.estimate, result.actual, result.ratio, result.comparable, result.why], [2 * actual, actual, 2, true, null]);
  });

  test('not comparable, and why: unreported bytes, files Drill reports nothing for, views through to their targets', () => {
    assert.match(accuracy(parquet(10), fixture('parquet-async-uncompressed').profile).why!, /does not report/);
    assert.match(accuracy({ bytes: 10, targets: [{ counted: 'files', bytes: 10 }] }, fixture('text-csvh').profile).why!, /no scan/);
    const view = { bytes: 10, targets: [{ counted: 'view', bytes: 10, view: { targets: [{ counted: 'mixed', bytes: 10 }] } }] };
    assert.match(accuracy(view, fixture('parquet-async-snappy').profile).why!, /not Parquet/);
    assert.equal(accuracy({ bytes: 0, targets: [] }, fixture('parquet-count-star').profile).comparable, false);
  });
});
