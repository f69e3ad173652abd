// POST /v1/plan through Hono's app.request: the dry run's answers and its errors.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { planRoutes } from '../src/server/plan.js';
import { Sizer } from '../src/sizing/index.js';
import { testConfig } from './support/env.js';

const MIB = 2 ** 20;

describe('POST /v1/plan', () => {
  const config = testConfig({ storage: { workspaces: { data: { location: '.' } } }, sizing: { qsf: 1 } });
  const sizer = new Sizer(config);
  let app: Hono;
  before(() => {
    mkdirSync(join(config.dataDir, 'sales'), { recursive: true });
    writeFileSync(join(config.dataDir, 'sales/a.parquet'), Buffer.alloc(3 * MIB));
    writeFileSync(join(config.dataDir, 'sales/b.parquet'), Buffer.alloc(MIB));
    app = planRoutes(sizer);
  });
  after(async () => {
    await sizer.close();
    config.cleanup();
  });

  const post = (body: unknown, init: { type?: string | null; query?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.type !== null) headers['content-type'] = init.type ?? 'application/json';
    // As bytes: a string body would get text/plain from the Request constructor.
    const bytes = new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
    return app.request(`/v1/plan${init.query ?? ''}`, { method: 'POST', headers, body: bytes });
  };

  async function expectError(res: Response, status: number, code: string, mentions: RegExp) {
    assert.equal(res.status, status);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(body.error, code);
    assert.match(body.message, mentions);
  }

  test('the plan of a query, without running it', async () => {
    const res = await post({ sql: 'SELECT * FROM `sales`', defaultSchema: 'dfs.data' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { targets: Array<Record<string, unknown>> } & Record<string, unknown>;
    assert.deepEqual({ ...body, targets: body.targets.map(({ fallbacks: _, ...t }) => t) }, {
      targets: [
        {
          name: 'dfs.data.`sales`',
          plugin: 'dfs',
          workspace: 'data',
          path: join(config.dataDir, 'sales'),
          bytes: 4 * MIB,
          bytesStored: 4 * MIB,
          files: 2,
          missing: false,
          counted: 'files',
          columns: null,
          rowGroups: null,
          pruning: [],
          notes: [],
          rescan: null,
          view: null,
          unknown: null,
        },
      ],
      bytes: 4 * MIB,
      qsf: 1,
      drillbits: 4,
      parsed: true,
      measure: 'scan',
    });
    // Zeros named .parquet are no Parquet files: counted at their size, and the plan says why.
    assert.deepEqual(body.targets[0]!.fallbacks, [{ files: 2, bytes: 4 * MIB, reason: 'named .parquet but not Parquet (no PAR1 magic at the end): counted at file size', example: join(config.dataDir, 'sales/a.parquet') }]);
  });

  test('qsf from the body (number or numeric string), the query string or the header', async () => {
    const drillbits = async (res: Response) => ((await res.json()) as { drillbits: number; qsf: number });
    const sql = 'SELECT * FROM dfs.`sales/a.parquet`';
    assert.deepEqual(await drillbits(await post({ sql, qsf: 2 })), (await drillbits(await post({ sql, qsf: '2' }))));
    assert.deepEqual(await drillbits(await post({ sql }, { query: '?qsf=0.5' })), await drillbits(await post({ sql, qsf: 0.5 })));
    const viaHeader = await drillbits(await post({ sql }, { headers: { 'dromedar-qsf': '3' } }));
    assert.deepEqual([viaHeader.qsf, viaHeader.drillbits], [3, 1]);
  });

  test('the default QSF comes from the running setting when one is given', async () => {
    const routes = planRoutes(sizer, { qsf: { value: 0.25 } });
    const res = await routes.request('/v1/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT * FROM dfs.`sales/b.parquet`' }) });
    assert.deepEqual((({ qsf, drillbits }) => [qsf, drillbits])((await res.json()) as { qsf: number; drillbits: number }), [0.25, 4]);
  });

  test('SQL the parser cannot read: 200 with parsed false', async () => {
    const res = await post({ sql: 'SELECT * FROM dfs.`sales` FETCH FIRST 1 ROW ONLY' });
    const plan = (await res.json()) as { parsed: boolean; bytes: number };
    assert.deepEqual([res.status, plan.parsed, plan.bytes], [200, false, 4 * MIB]);
    const garbage = (await (await post({ sql: '\u0000\u0001\ufffd`' })).json()) as { parsed: boolean; targets: unknown[] };
    assert.deepEqual([garbage.parsed, garbage.targets], [false, []]);
    const deep = await post({ sql: 'SELECT * FROM dfs.`sales` WHERE ' + '('.repeat(20_000) + 'a = 1' + ')'.repeat(20_000) });
    assert.deepEqual([deep.status, ((await deep.json()) as { parsed: boolean }).parsed], [200, false]);
  });

  test('400: bad JSON, empty SQL, wrong types, bad QSF, unknown schema', async () => {
    await expectError(await post('{"sql": '), 400, 'invalid_json', /not valid JSON/);
    await expectError(await post(''), 400, 'invalid_json', /not valid JSON/);
    await expectError(await post({ sql: '   ' }), 400, 'empty_sql', /empty/);
    await expectError(await post({}), 400, 'invalid_request', /sql/);
    await expectError(await post({ sql: 42 }), 400, 'invalid_request', /sql/);
    await expectError(await post({ sql: 'SELECT 1', defaultSchema: 7 }), 400, 'invalid_request', /defaultSchema/);
    await expectError(await post([1, 2]), 400, 'invalid_request', /body|sql/);
    for (const qsf of [0, -5, 'abc', '', 1e12, true, null]) {
      await expectError(await post({ sql: 'SELECT 1', qsf }), 400, 'invalid_qsf', /^qsf must be a number from 0\.001 to 1000000/);
    }
    await expectError(await post({ sql: 'SELECT 1' }, { query: '?qsf=NaN' }), 400, 'invalid_qsf', /qsf \(query string\)/);
    await expectError(await post({ sql: 'SELECT * FROM dfs.nope.`x`' }), 400, 'unknown_schema', /unknown workspace nope/);
  });

  test('403 for a path outside its workspace', async () => {
    await expectError(await post({ sql: 'SELECT * FROM dfs.data.`../../etc/passwd`' }), 403, 'path_outside_workspace', /outside the workspace/);
  });

  test('413 for SQL over 1 MiB', async () => {
    await expectError(await post({ sql: `SELECT * FROM dfs.\`sales\` -- ${'x'.repeat(MIB)}` }), 413, 'sql_too_large', /limit is 1048576 bytes/);
    // A body far over any SQL limit is refused before it is read.
    await expectError(await post({ sql: 'x'.repeat(3 * MIB) }), 413, 'body_too_large', /over the limit/);
  });

  test('415 for anything but JSON', async () => {
    await expectError(await post('SELECT 1', { type: 'text/plain' }), 415, 'unsupported_media_type', /application\/json.*text\/plain/);
    await expectError(await post('SELECT 1', { type: null }), 415, 'unsupported_media_type', /no content type/);
    assert.equal((await post({ sql: 'SELECT 1' }, { type: 'application/json; charset=utf-8' })).status, 200);
  });

  test('mounted on a main app, errors stay JSON', async () => {
    const main = new Hono().route('/', planRoutes(sizer));
    const res = await main.request('/v1/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql": "SELECT 1", "qsf": 0}' });
    await expectError(res, 400, 'invalid_qsf', /qsf/);
  });
});
