// Fair sizing (issue 11 item 5): one request's huge plan does not hold up another's
// small one. The scan workers serve one queue per request round-robin, so a request
// that arrives behind 400 queued scans of another gets the next free worker; and a
// query may name at most MAX_TABLE_REFERENCES tables. Asserted on dispatch order
// and queue position, not on time.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_TABLE_REFERENCES, Sizer } from '../src/sizing/index.js';
import { ScanWorkers, sizingScope } from '../src/sizing/workers.js';
import { DromedarError } from '../src/util/errors.js';
import { testConfig } from './support/env.js';

const config = testConfig({ storage: { workspaces: { default: { location: '.' }, data: { location: '.' } } } });
after(() => config.cleanup());

test('a small request waits behind at most one job of a huge one, not behind all of its queue', async () => {
  const big = {};
  const small = {};
  const order: string[] = [];
  const workers = new ScanWorkers(2, (_request, owner) => order.push(owner === big ? 'big' : owner === small ? 'small' : 'other'));
  const bigJobs = sizingScope.run(big, () => Array.from({ length: 400 }, () => workers.signatures([])));
  // The huge plan's jobs are queued before the small one arrives.
  assert.ok(workers.waiting >= 398, `queued: ${workers.waiting}`);
  const smallJob = sizingScope.run(small, () => workers.signatures([]));
  await Promise.all([...bigJobs, smallJob]);
  assert.equal(order.length, 401);
  // Two jobs of the big request were with the two workers; the round in progress gives the
  // big request one more turn, then the small one's (first-come it would be 401st).
  assert.ok(order.indexOf('small') <= 3, `dispatch order: ${order.slice(0, 6).join(', ')}`);
});

test('requests take turns: three requests with queued jobs alternate', async () => {
  const owners = [{}, {}, {}];
  const order: number[] = [];
  const workers = new ScanWorkers(1, (_request, owner) => order.push(owners.indexOf(owner)));
  const jobs = owners.flatMap((owner) => sizingScope.run(owner, () => Array.from({ length: 4 }, () => workers.signatures([]))));
  await Promise.all(jobs);
  assert.equal(order.length, 12);
  // After the first (dispatched at once), no request gets a second turn while another waits.
  for (let i = 1; i + 2 < 10; i++) assert.notEqual(order[i], order[i + 1], `order ${order.join(',')}`);
});

test(`a query naming more than ${MAX_TABLE_REFERENCES} tables is a 400 naming the limit, before any scan`, async () => {
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(join(config.dataDir, 'a.json'), '{"a":1}\n');
  const sizer = new Sizer(config);
  try {
    const sql = (n: number) => Array.from({ length: n }, (_, i) => `SELECT * FROM dfs.data.\`a.json\` t${i}`).join(' UNION ALL ');
    await assert.rejects(sizer.plan(sql(MAX_TABLE_REFERENCES + 1)), (err: unknown) => {
      return err instanceof DromedarError && err.status === 400 && err.code === 'too_many_tables' && err.message.includes(String(MAX_TABLE_REFERENCES));
    });
    const plan = await sizer.plan(sql(3));
    assert.equal(plan.targets.length, 3);
  } finally {
    await sizer.close();
  }
});
