// The Query object, the registry and the row counter, without Drill: states, events,
// cancel in each state, the finished list's bound, Drill ids to Drillbits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Query, type QueryEvent } from '../src/query/query.js';
import { QueryRegistry } from '../src/query/registry.js';
import { RowCounter } from '../src/query/rows.js';
import type { Lease } from '../src/pool/pool.js';
import type { Drillbit } from '../src/schedulers/scheduler.js';

const bit: Drillbit = { id: 'bit-1', host: '127.0.0.1', userPort: 1, controlPort: 2, dataPort: 3, httpPort: 4, state: 'ONLINE', startedAt: 0 };
const lease = (): Lease & { released: number } => {
  const l = { drillbit: bit, drillbits: 1, released: 0, release: () => void l.released++ };
  return l;
};

describe('RowCounter', () => {
  // An answer with rows whose strings hold every character that could confuse a scanner.
  const rows = [{ a: 1, s: 'x{[' }, { a: 2, s: '"}]\\' }, { a: 5, s: '\\\\\\"{\\' }, { a: 6, s: '\\\\' }, { a: 3, s: '{"rows":[{}]}' }, { a: 4, n: { deep: [{ x: 1 }] } }];
  const answer = JSON.stringify({ queryId: 'q', columns: ['a', 's'], metadata: ['INT', 'VARCHAR'], attemptedAutoLimit: 0, rows, queryState: 'COMPLETED' });

  test('counts the rows of a whole answer, however it is cut into chunks', () => {
    const bytes = Buffer.from(answer);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const counter = new RowCounter();
      let total = 0;
      for (let i = 0; i < bytes.length; i += size) total += counter.feed(bytes.subarray(i, i + size));
      assert.equal(total, rows.length, `chunks of ${size}`);
    }
  });

  test('an answer without rows counts none', () => {
    assert.equal(new RowCounter().feed(Buffer.from(JSON.stringify({ queryId: 'q', columns: [], rows: [], queryState: 'FAILED', errorMessage: '{x}' }))), 0);
  });
});

describe('Query', () => {
  test('moves QUEUED -> STARTING_DRILLBITS -> RUNNING -> FINISHED and says so to subscribers', () => {
    const q = new Query({ sql: 'SELECT 1', frontEnd: 'query' });
    const seen: string[] = [];
    q.subscribe((e: QueryEvent) => void (e.type === 'state' ? seen.push(e.to) : e.type === 'progress' && seen.push(`${e.progress.online}/${e.progress.wanted}`)));
    q.waiting(0, 2);
    q.waiting(1, 2);
    assert.deepEqual(q.view().progress, { online: 1, wanted: 2 });
    q.waiting(2, 2);
    q.admitted(lease(), 2);
    q.streamed(3, 100);
    q.end('FINISHED');
    q.end('FAILED'); // no effect: final
    assert.deepEqual(seen, ['0/2', 'STARTING_DRILLBITS', '1/2', '2/2', 'QUEUED', 'RUNNING', 'FINISHED']);
    const v = q.view();
    assert.equal(v.state, 'FINISHED');
    assert.equal(v.rows, 3);
    assert.equal(v.bytes, 100);
    assert.equal(v.clusterDrillbits, 2);
    assert.equal(v.drillbit?.id, 'bit-1');
  });

  test('cancel while waiting: aborts the signal, ends CANCELED, Drill never had it', async () => {
    const q = new Query({ sql: 'SELECT 1', frontEnd: 'query' });
    const outcome = await q.cancel('test');
    assert.equal(q.signal.aborted, true);
    assert.equal(q.state, 'CANCELED');
    assert.equal(outcome.drill, 'not-sent');
    assert.equal((await q.cancel('again')).state, 'CANCELED');
  });

  test("cancel while running: the runner's canceller runs; a cancel after the end changes nothing", async () => {
    const q = new Query({ sql: 'SELECT 1', frontEnd: 'query' });
    q.admitted(lease(), 1);
    q.onCancel(async () => ({ cancelled: true, state: 'CANCELED', drill: 'unreachable', message: 'down' }));
    const outcome = await q.cancel('test');
    assert.equal(outcome.drill, 'unreachable');
    assert.equal(q.state, 'CANCELED');
    const done = new Query({ sql: 'SELECT 1', frontEnd: 'query' });
    done.end('FINISHED');
    const late = await done.cancel('late');
    assert.equal(late.cancelled, false);
    assert.equal(late.state, 'FINISHED');
    assert.equal(done.signal.aborted, false);
  });
});

describe('QueryRegistry', () => {
  test('lists running, queued and the last N finished; maps Drill ids to Drillbits beyond that', () => {
    const registry = new QueryRegistry({ finishedLimit: 2 });
    const queries = Array.from({ length: 4 }, (_, i) => registry.create({ sql: `SELECT ${i}`, frontEnd: 'query' }));
    queries[0]!.admitted(lease(), 1);
    queries[0]!.identified('drill-0');
    assert.equal(registry.running().length, 1);
    assert.equal(registry.queued().length, 3);
    for (const q of queries) q.end('FINISHED');
    assert.deepEqual(
      registry.finished().map((q) => q.sql),
      ['SELECT 3', 'SELECT 2'],
    );
    assert.equal(registry.get(queries[0]!.id), undefined, 'beyond the history');
    assert.equal(registry.drillbitOf('drill-0')?.id, 'bit-1', 'profiles are asked of the Drillbit that ran the query');
  });
});
