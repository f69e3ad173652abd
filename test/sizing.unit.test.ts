// Sizing against generated trees of known sizes: resolution, Drill's file rules,
// globs, pruning, the cache, the QSF rule. File sizes are distinct powers of two,
// so every byte count names exactly the set of files it came from.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../src/config/load.js';
import { drillbitsFor, parseQsf, Sizer, type Plan, type TargetSize } from '../src/sizing/index.js';
import { OutsideError, scan, type Scan } from '../src/sizing/scan.js';
import { DromedarError } from '../src/util/errors.js';
import { testConfig } from './support/env.js';

const MIB = 2 ** 20;

/** Files (path -> size in bytes) under root. */
function write(root: string, files: Record<string, number>): void {
  for (const [path, size] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), Buffer.alloc(size, 120));
  }
}

/** Dates every entry under root an hour back: listings of fresh directories are not cached. */
function age(root: string): void {
  const past = new Date(Date.now() - 3_600_000);
  for (const entry of readdirSync(root, { recursive: true }) as string[]) utimesSync(join(root, entry), past, past);
  utimesSync(root, past, past);
}

function sizerFor(overrides: Record<string, unknown> = {}, bounds?: { minDrillbits?: number; maxDrillbits?: number }) {
  const config = testConfig(overrides);
  mkdirSync(config.dataDir, { recursive: true });
  const sizer = new Sizer(config, bounds);
  return { config, sizer, data: config.dataDir, cleanup: () => (void sizer.close(), config.cleanup()) };
}

const bytes = async (sizer: Sizer, sql: string, defaultSchema?: string) => (await sizer.plan(sql, { defaultSchema })).bytes;

/** A target's decision with nothing counted yet: the fields a test then sets. */
function target(name: string, plugin: string, workspace: string | null, path: string | null): TargetSize {
  return {
    name,
    plugin,
    workspace,
    path,
    bytes: 0,
    bytesStored: 0,
    files: 0,
    missing: false,
    counted: 'files',
    columns: null,
    rowGroups: null,
    pruning: [],
    fallbacks: [],
    notes: [],
    rescan: null,
    view: null,
    unknown: null,
  };
}

async function rejects(promise: Promise<unknown>, code: string, status: number, mentions: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DromedarError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    assert.match(err.message, mentions);
    return true;
  });
}

// The shared tree. logs/ is partitioned by year and month; top.json has no dir0.
const TREE = {
  'one.parquet': 1,
  'logs/2024/01/a.json': 2,
  'logs/2024/02/b.json': 4,
  'logs/2025/01/c.json': 8,
  'logs/top.json': 16,
  'logs/_SUCCESS': 32,
  'logs/.crc/x.json': 64,
  'logs/2024/_tmp/d.json': 128,
  'csv/a.csv': 256,
  'csv/b.csv': 512,
  'csv/c.tsv': 1024,
  'csv/.hidden.csv': 2048,
  'csv/_x.csv': 4096,
  'csv/sub/d.csv': 8192,
  'other/e.json': 16384,
  '_direct.csv': 32768,
  'mixed/2024/a.json': 65536,
  'mixed/old/b.json': 131072,
};

describe('sizing a tree of known sizes', () => {
  let env: ReturnType<typeof sizerFor>;
  before(() => {
    env = sizerFor({ storage: { workspaces: { data: { location: '.' }, logs: { location: 'logs' } } } });
    write(env.data, TREE);
  });
  after(() => env.cleanup());

  test('a single file, and a directory read recursively without hidden names', async () => {
    const plan = await env.sizer.plan('SELECT * FROM dfs.`one.parquet`');
    assert.deepEqual(plan, {
      targets: [
        {
          ...target('dfs.default.`one.parquet`', 'dfs', 'default', join(env.data, 'one.parquet')),
          bytes: 1,
          bytesStored: 1,
          files: 1,
          // A one-byte file named .parquet is no Parquet file: it counts its size, and says why.
          fallbacks: [{ files: 1, bytes: 1, reason: 'named .parquet but not Parquet (1 bytes: too short for a Parquet file): counted at file size', example: join(env.data, 'one.parquet') }],
        },
      ],
      bytes: 1,
      qsf: 100,
      drillbits: 1,
      parsed: true,
      measure: 'scan',
    } satisfies Plan);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`logs`'), 2 + 4 + 8 + 16);
    assert.deepEqual(await env.sizer.files('SELECT * FROM dfs.`logs`'), ['2024/01/a.json', '2024/02/b.json', '2025/01/c.json', 'top.json'].map((f) => join(env.data, 'logs', f)));
  });

  test('a hidden name given in full is read, as in Drill', async () => {
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`_direct.csv`'), 32768);
  });

  test('workspaces, leading slashes, case, dotted schemas', async () => {
    for (const sql of ['SELECT * FROM dfs.`/logs`', 'SELECT * FROM dfs.`//logs/`', 'SELECT * FROM dfs.data.`logs`', 'SELECT * FROM DFS.Logs.`/`', 'SELECT * FROM `dfs.logs`.`.`']) {
      assert.equal(await bytes(env.sizer, sql), 30, sql);
    }
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`logs/2024/../2025`'), 8);
  });

  test('globs: *, ?, [...], [!...], {a,b} within and across segments', async () => {
    const cases: Array<[string, number]> = [
      // Only files matched: Drill takes them as they are, hidden names included.
      ['csv/*.csv', 256 + 512 + 2048 + 4096],
      // A directory matched: everything is listed, and hidden names are dropped.
      ['csv/*', 256 + 512 + 1024 + 8192],
      ['csv/?.csv', 256 + 512],
      ['csv/[ab].csv', 256 + 512],
      ['csv/[!a].csv', 512],
      ['csv/{a,c}.*', 256 + 1024],
      ['{logs/2024,other}', 2 + 4 + 16384],
      // Files only again: d.json under _tmp is matched and kept, as Drill keeps it.
      ['logs/*/*/*.json', 2 + 4 + 8 + 128],
      ['logs/202?/01', 2 + 8],
      ['*/e.json', 16384],
    ];
    for (const [path, expected] of cases) assert.equal(await bytes(env.sizer, `SELECT * FROM dfs.\`${path}\``), expected, path);
    // Hadoop refuses a broken pattern, and so Drill does.
    await rejects(env.sizer.plan('SELECT * FROM dfs.`csv/[ab.csv`'), 'invalid_path', 400, /unclosed \[/);
  });

  test('missing targets count 0 bytes and say so', async () => {
    const plan = await env.sizer.plan('SELECT * FROM dfs.`nope` JOIN dfs.`csv/*.parquet` ON true JOIN dfs.`one.parquet` ON true');
    assert.deepEqual(
      plan.targets.map((t) => [t.bytes, t.files, t.missing]),
      [
        [0, 0, true],
        [0, 0, true],
        [1, 1, false],
      ],
    );
    assert.equal(plan.bytes, 1);
    // A path the file system cannot take is missing too, and costs nothing lasting.
    for (let i = 0; i < 100; i++) assert.equal((await env.sizer.plan('SELECT * FROM dfs.`a\u0000b`')).targets[0]?.missing, true);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`one.parquet`'), 1);
  });

  test('joins, CTEs, subqueries, set operations and table functions add up', async () => {
    const cases: Array<[string, number]> = [
      ['SELECT * FROM dfs.`one.parquet` a JOIN dfs.`other` b ON a.id = b.id', 1 + 16384],
      ['WITH c AS (SELECT * FROM dfs.`other`) SELECT * FROM c JOIN dfs.`one.parquet` ON true', 16384 + 1],
      ['SELECT * FROM dfs.`logs` WHERE id IN (SELECT id FROM dfs.`other`) AND EXISTS (SELECT 1 FROM dfs.`csv/a.csv`)', 30 + 16384 + 256],
      ['SELECT * FROM (SELECT * FROM dfs.`csv/b.csv`) t', 512],
      ['SELECT * FROM dfs.`one.parquet` UNION ALL SELECT * FROM dfs.`other` EXCEPT SELECT * FROM dfs.`csv/a.csv`', 1 + 16384 + 256],
      ["SELECT * FROM table(dfs.`csv/a.csv`(type => 'text', fieldDelimiter => ','))", 256],
      // Each reference is a scan: a self-join reads the data twice.
      ['SELECT * FROM dfs.`other` a JOIN dfs.`other` b ON a.id = b.id', 2 * 16384],
    ];
    for (const [sql, expected] of cases) assert.equal(await bytes(env.sizer, sql), expected, sql);
  });

  test('metadata schemas read no files', async () => {
    const plan = await env.sizer.plan('SELECT * FROM sys.drillbits, cp.`employee.json`, INFORMATION_SCHEMA.`TABLES`');
    assert.deepEqual(plan.targets, [
      { ...target('sys.`drillbits`', 'sys', null, null), counted: 'metadata' },
      { ...target('cp.`employee.json`', 'cp', null, null), counted: 'metadata' },
      { ...target('INFORMATION_SCHEMA.`TABLES`', 'information_schema', null, null), counted: 'metadata' },
    ]);
    assert.deepEqual([plan.bytes, plan.drillbits], [0, 1]);
  });

  test('a default schema resolves bare names first, then from the root', async () => {
    assert.equal(await bytes(env.sizer, 'SELECT * FROM `2024`', 'dfs.logs'), 6);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM `2024`', '`dfs`.`logs`'), 6);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM logs.`2025`', 'dfs'), 8);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`one.parquet`', 'dfs.logs'), 1);
    assert.equal(await bytes(env.sizer, 'SELECT * FROM cp.`x.json`', 'dfs.logs'), 0);
    await rejects(env.sizer.plan('SELECT * FROM `2024`'), 'unknown_schema', 400, /names no schema.*defaultSchema/);
    await rejects(env.sizer.plan('SELECT * FROM dfs.`one.parquet`', { defaultSchema: 'dfs.nope' }), 'unknown_schema', 400, /defaultSchema dfs\.nope/);
  });

  test('unknown plugins and workspaces are named in the error', async () => {
    await rejects(env.sizer.plan('SELECT * FROM dfs.nope.`x`'), 'unknown_schema', 400, /unknown workspace nope in dfs.*dfs\.logs/);
    await rejects(env.sizer.plan('SELECT * FROM hive.db.`x`'), 'unknown_schema', 400, /unknown schema hive\.db/);
    await rejects(env.sizer.plan('SELECT * FROM a.b.c.`x`', { defaultSchema: 'dfs' }), 'unknown_schema', 400, /unknown schema a\.b\.c .*looked under dfs/);
  });

  test('a path that leaves its workspace is refused', async () => {
    for (const path of ['../x', '/../x', 'a/../../x', '2024/../../one.parquet']) {
      await rejects(env.sizer.plan(`SELECT * FROM dfs.logs.\`${path}\``), 'path_outside_workspace', 403, /outside the workspace/);
    }
    // One bad reference fails the plan, even next to good ones.
    await rejects(env.sizer.plan('SELECT * FROM dfs.`one.parquet` UNION SELECT * FROM dfs.`../../etc`'), 'path_outside_workspace', 403, /\.\.\/\.\.\/etc/);
  });

  test('SQL the parser cannot read is still sized, without pruning', async () => {
    const plan = await env.sizer.plan("SELECT * FROM dfs.`logs` WHERE dir0 = '2024' OFFSET 1 ROWS FETCH NEXT 1 ROWS ONLY");
    assert.deepEqual([plan.parsed, plan.bytes], [false, 30]);
    const none = await env.sizer.plan('\u0000\u00ff garbage `');
    assert.deepEqual([none.parsed, none.bytes, none.targets], [false, 0, []]);
  });

  test('empty and oversized SQL are refused', async () => {
    await rejects(env.sizer.plan('  \n '), 'empty_sql', 400, /empty/);
    await rejects(env.sizer.plan(`SELECT * FROM dfs.\`x\` -- ${'x'.repeat(MIB)}`), 'sql_too_large', 413, /1048576/);
  });

  test('files() lists what plan() counts', async () => {
    const sql = "SELECT * FROM dfs.`one.parquet` JOIN dfs.`logs` l ON true WHERE l.dir0 = '2025'";
    const files = await env.sizer.files(sql);
    assert.deepEqual(files, [join(env.data, 'one.parquet'), join(env.data, 'logs/2025/01/c.json')]);
    assert.equal(files.reduce((sum, f) => sum + statSync(f).size, 0), await bytes(env.sizer, sql));
  });
});

describe('directory pruning on dirN', () => {
  let env: ReturnType<typeof sizerFor>;
  before(() => {
    env = sizerFor();
    write(env.data, TREE);
  });
  after(() => env.cleanup());

  const cases: Array<[string, string, number]> = [
    ['equality', "dir0 = '2024'", 2 + 4],
    ['IN', "dir0 IN ('2024', '2025')", 2 + 4 + 8],
    ['AND over two levels', "dir0 = '2024' AND dir1 = '01'", 2],
    ['dir1 alone (files above that depth have no dir1)', "dir1 = '01'", 2 + 8],
    ['AND with something else', "dir0 = '2025' AND x > 3", 8],
    ['numbers against integer names', 'dir0 = 2024 AND dir1 = 1', 2],
    ['OR: the whole directory', "dir0 = '2024' OR dir0 = '2025'", 30],
    ['a function: the whole directory', "upper(dir0) = '2024'", 30],
    ['a comparison: the whole directory', "dir0 > '2024'", 30],
    // Drill keeps one file when everything is pruned, for the schema.
    ['nothing matches: one file still read', "dir0 = '1999'", 2],
  ];
  for (const [what, where, expected] of cases) {
    test(what, async () => {
      assert.equal(await bytes(env.sizer, `SELECT * FROM dfs.\`logs\` WHERE ${where}`), expected);
    });
  }

  test('a number against a name that is no integer: Drill cannot prune, neither do we', async () => {
    assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`mixed` WHERE dir0 = 2024'), 65536 + 131072);
    assert.equal(await bytes(env.sizer, "SELECT * FROM dfs.`mixed` WHERE dir0 = '2024'"), 65536);
  });

  test('a glob counts dirN from before its first *', async () => {
    assert.equal(await bytes(env.sizer, "SELECT * FROM dfs.`logs/2024/*/*.json` WHERE dir0 = '02'"), 4);
  });

  test('joins: qualified columns prune their table, unqualified ones nothing', async () => {
    const join = "SELECT * FROM dfs.`logs` l JOIN dfs.`logs` r ON l.id = r.id WHERE l.dir0 = '2025' AND r.dir0 IN ('2024')";
    assert.equal(await bytes(env.sizer, join), 8 + 6);
    assert.equal(await bytes(env.sizer, "SELECT * FROM dfs.`logs` l JOIN dfs.`other` o ON true WHERE dir0 = '2025'"), 30 + 16384);
  });
});

describe('the listing cache', () => {
  const tree = { 'logs/2024/a.json': 1, 'logs/2025/b.json': 2, 'other/c.json': 4, 'file.json': 8 };
  const logs = 'SELECT * FROM dfs.`logs`';

  function cached(sizing: Partial<Config['sizing']> = {}) {
    const env = sizerFor({ sizing });
    write(env.data, tree);
    age(env.data);
    return env;
  }

  test('an unchanged directory is not listed again; a file rewritten in place shows after the TTL', async () => {
    const env = cached({ cacheTtlMs: 300 });
    try {
      assert.equal(await bytes(env.sizer, logs), 3);
      appendFileSync(join(env.data, 'logs/2024/a.json'), Buffer.alloc(16));
      assert.equal(await bytes(env.sizer, logs), 3, 'served from the cache');
      await sleep(400);
      assert.equal(await bytes(env.sizer, logs), 3 + 16, 'the TTL ended');
    } finally {
      env.cleanup();
    }
  });

  test('a file added, removed or renamed in any directory of the tree invalidates', async () => {
    const env = cached();
    try {
      assert.equal(await bytes(env.sizer, logs), 3);
      appendFileSync(join(env.data, 'logs/2024/a.json'), Buffer.alloc(16));
      write(env.data, { 'logs/2025/new.json': 32 });
      assert.equal(await bytes(env.sizer, logs), 3 + 16 + 32);
      age(env.data);
      assert.equal(await bytes(env.sizer, logs), 51);
      rmSync(join(env.data, 'logs/2025/new.json'));
      assert.equal(await bytes(env.sizer, logs), 19);
    } finally {
      env.cleanup();
    }
  });

  test('a change is seen even when the mtime is put back (rsync -t, touch -d)', async () => {
    const env = cached();
    try {
      assert.equal(await bytes(env.sizer, logs), 3);
      const dir = join(env.data, 'logs/2024');
      const { mtime } = statSync(dir);
      write(env.data, { 'logs/2024/new.json': 64 });
      utimesSync(dir, mtime, mtime);
      assert.equal(await bytes(env.sizer, logs), 3 + 64);
    } finally {
      env.cleanup();
    }
  });

  test('a file named in full is re-checked by its own mtime', async () => {
    const env = cached();
    try {
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`file.json`'), 8);
      appendFileSync(join(env.data, 'file.json'), Buffer.alloc(16));
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`file.json`'), 24);
    } finally {
      env.cleanup();
    }
  });

  test('a missing path is re-checked: once created, it counts', async () => {
    const env = cached();
    try {
      assert.equal((await env.sizer.plan('SELECT * FROM dfs.`later/x.json`')).targets[0]?.missing, true);
      write(env.data, { 'later/x.json': 128 });
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`later/x.json`'), 128);
    } finally {
      env.cleanup();
    }
  });

  test('directories modified in the last seconds are not cached (a change could keep their mtime)', async () => {
    const env = sizerFor();
    write(env.data, tree);
    try {
      assert.equal(await bytes(env.sizer, logs), 3);
      appendFileSync(join(env.data, 'logs/2024/a.json'), Buffer.alloc(16));
      assert.equal(await bytes(env.sizer, logs), 19);
    } finally {
      env.cleanup();
    }
  });

  test('bounded in entries; a TTL of 0 turns caching off', async () => {
    const bounded = cached({ cacheMaxEntries: 1 });
    const off = cached({ cacheTtlMs: 0 });
    try {
      for (const env of [bounded, off]) {
        assert.equal(await bytes(env.sizer, logs), 3);
        assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`other`'), 4); // evicts logs from the bounded cache
        appendFileSync(join(env.data, 'logs/2024/a.json'), Buffer.alloc(16));
        assert.equal(await bytes(env.sizer, logs), 19);
      }
    } finally {
      bounded.cleanup();
      off.cleanup();
    }
  });
});

describe('links, permissions and big directories', () => {
  test('symbolic links are followed; loops end, dangling links are skipped', async () => {
    const env = sizerFor();
    try {
      write(env.data, { 'tree/a.json': 1, 'elsewhere/b.json': 2, 'elsewhere/c.json': 4 });
      symlinkSync(join(env.data, 'tree'), join(env.data, 'tree/back'));
      symlinkSync(join(env.data, 'tree/self'), join(env.data, 'tree/self'));
      symlinkSync(join(env.data, 'nowhere'), join(env.data, 'tree/dangling'));
      symlinkSync(join(env.data, 'elsewhere'), join(env.data, 'tree/linked'));
      symlinkSync(join(env.data, 'elsewhere/c.json'), join(env.data, 'tree/c-link.json'));
      const files = await env.sizer.files('SELECT * FROM dfs.`tree`');
      assert.deepEqual(files, ['a.json', 'c-link.json', 'linked/b.json', 'linked/c.json'].map((f) => join(env.data, 'tree', f)));
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`tree`'), 1 + 4 + 2 + 4);
    } finally {
      env.cleanup();
    }
  });

  test('an unreadable directory counts nothing and stops nothing', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads any directory');
    const env = sizerFor();
    try {
      write(env.data, { 'd/ok/a.json': 1, 'd/locked/b.json': 2 });
      chmodSync(join(env.data, 'd/locked'), 0);
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`d`'), 1);
    } finally {
      chmodSync(join(env.data, 'd/locked'), 0o755);
      env.cleanup();
    }
  });

  test('5,000 files in one directory, exactly', async () => {
    const env = sizerFor();
    try {
      const files = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`many/f${i}.json`, i % 7]));
      write(env.data, files);
      const expected = Object.values(files).reduce((a, b) => a + b, 0);
      const started = performance.now();
      const plan = await env.sizer.plan('SELECT * FROM dfs.`many`');
      assert.ok(performance.now() - started < 10_000, 'sized in seconds, even on a busy machine');
      assert.deepEqual([plan.targets[0]?.files, plan.bytes], [5000, expected]);
    } finally {
      env.cleanup();
    }
  });

  test('a symbolic link leading outside every workspace is refused, wherever in the tree it is met', async () => {
    const env = sizerFor();
    const outside = join(env.config.home, 'outside');
    try {
      write(env.data, { 'deep/a/b/x.json': 1, 'fine/y.json': 2 });
      write(outside, { 'secret.json': 4 });
      symlinkSync(outside, join(env.data, 'deep/a/b/out'));
      symlinkSync(join(outside, 'secret.json'), join(env.data, 'deep/a/secret.json'));
      await rejects(env.sizer.plan('SELECT * FROM dfs.`deep`'), 'path_outside_workspace', 403, /deep\/a\/(b\/out|secret\.json) leads \(through a symbolic link\) outside/);
      await rejects(env.sizer.plan('SELECT * FROM dfs.`deep/a/*`'), 'path_outside_workspace', 403, /leads \(through a symbolic link\) outside/);
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`fine`'), 2, 'the rest still plans');
    } finally {
      env.cleanup();
    }
  });

  test('calls that prove slow are made concurrently: the same files, sizes and dependencies', async () => {
    const env = sizerFor();
    const outside = join(env.config.home, 'outside');
    try {
      const files: Record<string, number> = {};
      for (let i = 0; i < 300; i++) files[`t/many/f${i}.json`] = i;
      for (let i = 0; i < 40; i++) files[`t/many/sub${i % 4}/g${i}.json`] = 1000 + i;
      Object.assign(files, { 't/many/_hidden.json': 1, 't/many/.crc': 1, 't/other/z.json': 7 });
      write(env.data, files);
      symlinkSync(join(env.data, 't/other'), join(env.data, 't/many/sub0/linked'));
      symlinkSync(join(env.data, 't'), join(env.data, 't/many/sub1/loop'));
      symlinkSync(join(env.data, 'nowhere'), join(env.data, 't/many/sub2/dangling'));
      const roots = [env.data];
      const summary = (s: Scan) => ({
        exists: s.listing.exists,
        files: s.listing.paths.map((path, i) => `${path} ${s.listing.sizes[i]}`).sort(),
        bytes: s.listing.bytes,
        deps: [...s.deps].sort(),
        newestMtimeMs: s.newestMtimeMs,
      });
      const fast = summary(await scan(join(env.data, 't/many'), { roots }));
      const slow = summary(await scan(join(env.data, 't/many'), { roots, slowStatUs: 0, concurrency: 3 }));
      assert.deepEqual(slow, fast);
      assert.equal(fast.files.length, 300 + 40 + 1);
      assert.equal(fast.bytes, (299 * 300) / 2 + 40 * 1000 + (39 * 40) / 2 + 7);
      // Met after the switch (a subdirectory is listed after its parent's 300 files).
      mkdirSync(join(env.data, 't/many/sub3/deeper'));
      mkdirSync(outside);
      symlinkSync(outside, join(env.data, 't/many/sub3/deeper/out'));
      await assert.rejects(scan(join(env.data, 't/many'), { roots, slowStatUs: 0, concurrency: 3 }), OutsideError);
      await assert.rejects(scan(join(env.data, 't/many'), { roots }), OutsideError);
    } finally {
      env.cleanup();
    }
  });

  test('a cached listing of many directories is re-checked (off the event loop) and a change in any one seen', async () => {
    const env = sizerFor();
    try {
      const files: Record<string, number> = {};
      for (let i = 0; i < 40; i++) files[`wide/d${i}/f.json`] = 1;
      write(env.data, files);
      age(env.data);
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`wide`'), 40);
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`wide`'), 40);
      write(env.data, { 'wide/d37/g.json': 2 });
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`wide`'), 42);
      rmSync(join(env.data, 'wide/d3'), { recursive: true });
      assert.equal(await bytes(env.sizer, 'SELECT * FROM dfs.`wide`'), 41);
    } finally {
      env.cleanup();
    }
  });

  // Timings for the report: DROMEDAR_SIZING_BENCH=1 node --test dist/test/sizing.unit.test.js
  test('benchmark: 10,000 and 100,000 files cold and cached', { skip: !process.env.DROMEDAR_SIZING_BENCH }, async (t) => {
    for (const count of [10_000, 100_000]) {
      const env = sizerFor();
      try {
        const dir = join(env.data, 'bench');
        mkdirSync(dir);
        for (let i = 0; i < count; i++) writeFileSync(join(dir, `part-${i}.parquet`), Buffer.alloc(i % 100));
        age(env.data);
        const time = async (sizer: Sizer) => {
          await sizer.plan('SELECT 1'); // the SQL worker's start is not sizing
          const started = performance.now();
          const plan = await sizer.plan('SELECT * FROM dfs.`bench`');
          assert.equal(plan.targets[0]?.files, count);
          return (performance.now() - started).toFixed(0);
        };
        const cold = await time(env.sizer);
        const cached = await time(env.sizer);
        const other = new Sizer(env.config);
        const coldAgain = await time(other);
        await other.close();
        t.diagnostic(`${count} files: cold ${cold} ms, cached ${cached} ms, cold again (new Sizer) ${coldAgain} ms`);
      } finally {
        env.cleanup();
      }
    }
  });
});

describe('the QSF rule', () => {
  test('drillbits = clamp(ceil(bytes / (qsf MiB)), min, max), at least 1', () => {
    assert.equal(drillbitsFor(0, 100), 1);
    assert.equal(drillbitsFor(100 * MIB, 100), 1);
    assert.equal(drillbitsFor(100 * MIB + 1, 100), 2);
    assert.equal(drillbitsFor(1024 * MIB, 100), 11);
    assert.equal(drillbitsFor(MIB, 0.5), 2);
    assert.equal(drillbitsFor(1024 * MIB, 100, { min: 3, max: 5 }), 5);
    assert.equal(drillbitsFor(1, 100, { min: 3, max: 5 }), 3);
    assert.equal(drillbitsFor(1024 * MIB, 100, { min: 0, max: 0 }), 1);
    assert.throws(() => drillbitsFor(1, 0), /qsf must be a positive finite number/);
    assert.throws(() => drillbitsFor(-1, 100), RangeError);
  });

  test('user-given QSF: numbers and numeric strings within bounds', () => {
    const bounds = { min: 0.5, max: 1000 };
    assert.equal(parseQsf(100, 'qsf', bounds), 100);
    assert.equal(parseQsf('250', 'qsf', bounds), 250);
    assert.equal(parseQsf('0.5', 'qsf', bounds), 0.5);
    assert.equal(parseQsf('1e3', 'qsf', bounds), 1000);
    for (const bad of [0, -1, NaN, Infinity, -Infinity, 0.49, 1000.5, 1e308, '', ' 100', 'abc', '0x10', 'Infinity', '1e400', '12abc', null, undefined, true, [100], { qsf: 1 }]) {
      assert.throws(
        () => parseQsf(bad, 'qsf (query string)', bounds),
        (err: unknown) => err instanceof DromedarError && err.code === 'invalid_qsf' && err.status === 400 && /^qsf \(query string\) must be a number from 0\.5 to 1000/.test(err.message),
        String(bad),
      );
    }
  });

  test('plan() applies the QSF, the bounds, and refuses a bad QSF', async () => {
    const env = sizerFor({ sizing: { qsf: 1 } }, { minDrillbits: 2, maxDrillbits: 4 });
    try {
      write(env.data, { 'three-mib.bin': 3 * MIB });
      const sql = 'SELECT * FROM dfs.`three-mib.bin`';
      assert.deepEqual(
        await Promise.all([undefined, 2, 0.5, 100].map(async (qsf) => ((p) => [p.qsf, p.drillbits])(await env.sizer.plan(sql, { qsf })))),
        [
          [1, 3],
          [2, 2],
          [0.5, 4],
          [100, 2],
        ],
      );
      await rejects(env.sizer.plan(sql, { qsf: 0 }), 'invalid_qsf', 400, /qsf must be a number from 0\.001 to 1000000/);
      await rejects(env.sizer.plan(sql, { qsf: 2e6 }), 'invalid_qsf', 400, /got 2000000/);
    } finally {
      env.cleanup();
    }
  });
});
