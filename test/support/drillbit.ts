// One real Drillbit (the local scheduler, its embedded ZooKeeper) for tests that use
// Drill as the oracle: its SQL answers, EXPLAIN plans and query profiles, straight
// from its REST API.
import { request } from 'undici';
import type { Config } from '../../src/config/load.js';
import { resolveRuntime } from '../../src/drill/install.js';
import { LocalScheduler } from '../../src/schedulers/local/local-scheduler.js';
import type { Drillbit } from '../../src/schedulers/scheduler.js';
import { sleep } from '../../src/util/process.js';
import { waitOnline } from './env.js';

export interface DrillAnswer {
  queryId: string;
  queryState?: string;
  rows?: Array<Record<string, unknown>>;
  errorMessage?: string;
}

export interface TestDrillbit {
  scheduler: LocalScheduler;
  bit: Drillbit;
  /** Runs SQL (with Drill session options for this query); throws unless it COMPLETED, when `mayFail` is not set. */
  sql(query: string, options?: Record<string, string | number | boolean>, mayFail?: boolean): Promise<DrillAnswer>;
  /** The physical plan of a query, as EXPLAIN PLAN FOR gives it. */
  explain(query: string): Promise<string>;
  /** A finished query's profile (/profiles/{id}.json), once Drill has written its final state. */
  profile(queryId: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startDrillbit(config: Config): Promise<TestDrillbit> {
  const scheduler = new LocalScheduler(config, await resolveRuntime(config));
  await scheduler.start();
  await scheduler.launch(1);
  const [bit] = await waitOnline(scheduler, 1);
  const base = `http://${bit!.host}:${bit!.httpPort}`;
  const sql = async (query: string, options: Record<string, string | number | boolean> = {}, mayFail = false): Promise<DrillAnswer> => {
    const res = await request(`${base}/query.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ queryType: 'SQL', query, ...(Object.keys(options).length > 0 ? { options } : {}) }),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const answer = (await res.body.json()) as DrillAnswer;
    if (!mayFail && answer.queryState !== 'COMPLETED') throw new Error(`Drill: ${answer.errorMessage ?? JSON.stringify(answer).slice(0, 500)} (${query})`);
    return answer;
  };
  return {
    scheduler,
    bit: bit!,
    sql,
    explain: async (query) => {
      const answer = await sql(`EXPLAIN PLAN FOR ${query}`);
      return String(answer.rows?.[0]?.text ?? '');
    },
    profile: async (queryId) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await request(`${base}/profiles/${queryId}.json`, { headersTimeout: 0, bodyTimeout: 0 });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          const profile = JSON.parse(text) as Record<string, unknown>;
          // QueryState: 2 COMPLETED, 3 CANCELED, 4 FAILED (numbers in the JSON).
          if ([2, 3, 4, 'COMPLETED', 'CANCELED', 'FAILED'].includes(profile.state as never) && profile.end) return profile;
        }
        if (Date.now() > deadline) throw new Error(`no final profile for ${queryId}: ${res.statusCode} ${text.slice(0, 200)}`);
        await sleep(100);
      }
    },
    stop: () => scheduler.stop(),
  };
}

/** The scans of a Drill physical plan: table, columns (lower case, sorted), row groups. */
export function planScans(plan: string): Array<{ table: string; columns: string[]; rowGroups: number | null }> {
  return plan
    .split('\n')
    .filter((line) => /\bScan\(/.test(line))
    .map((line) => {
      const table = /table=\[\[([^\]]*)\]\]/.exec(line)?.[1]?.split(',').map((s) => s.trim()).join('.') ?? '?';
      const columns = (/columns=\[([^\]]*)\]/.exec(line)?.[1] ?? '')
        .split(/,\s*/)
        .map((c) => c.replace(/`/g, '').toLowerCase())
        .filter((c) => c !== '')
        .sort();
      const rowGroups = /numRowGroups=(\d+)/.exec(line)?.[1];
      return { table, columns, rowGroups: rowGroups === undefined ? null : Number(rowGroups) };
    });
}
