// Benchmark: a result of a million rows paged through Trino's client protocol
// (POST /v1/statement, then every nextUri), the way trino-jdbc reads it, against the
// same SQL streamed through POST /query in the same run (the baseline). The gateway
// runs in its own process; its VmRSS is sampled every 20 ms: the growth over its idle
// RSS is what paging holds in memory (target < 64 MiB: a page, not the result).
import { request } from 'undici';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { agent, completed, timedPost } from './lib/http.js';
import { memoryOf, RssSampler } from './lib/machine.js';
import { compare, summarize } from './lib/stats.js';
import { trips, MiB } from './lib/data.js';
import { mdTable } from './lib/report.js';

interface Paged {
  rows: number;
  pages: number;
  totalMs: number;
  state: string;
}

async function pageThrough(base: string, sql: string): Promise<Paged> {
  const t0 = performance.now();
  const headers = { 'x-trino-user': 'bench', 'x-trino-catalog': 'dfs', 'x-trino-schema': 'data' };
  let res = await request(`${base}/v1/statement`, { method: 'POST', body: sql, headers, dispatcher: agent });
  let doc = (await res.body.json()) as { nextUri?: string; data?: unknown[][]; stats: { state: string }; error?: { message: string } };
  let rows = 0;
  let pages = 0;
  for (;;) {
    rows += doc.data?.length ?? 0;
    pages++;
    if (!doc.nextUri) break;
    res = await request(doc.nextUri, { dispatcher: agent });
    doc = (await res.body.json()) as typeof doc;
  }
  if (doc.error) throw new Error(`trino paging: ${doc.error.message}`);
  return { rows, pages, totalMs: performance.now() - t0, state: doc.stats.state };
}

export const trinoPagingBenchmark: Benchmark = {
  name: 'trino-paging',
  title: 'Trino protocol: a million rows paged through nextUri vs streamed by POST /query; gateway RSS',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_TRINO_ROUNDS ?? 3);
    // About 36 bytes a row: 36 MiB is a million rows.
    const data = await trips(ctx, 'trino-paging', ctx.smoke ? 1 * MiB : Number(process.env.BENCH_TRINO_MIB ?? 36) * MiB);
    const sql = `SELECT id, city, fare, distance, minutes FROM ${data.table}`;
    // Trino's clients quote identifiers with "...": the same query in Trino's quoting.
    const trinoSql = sql.replace(/`([^`]*)`/g, '"$1"');
    const gw = ctx.smoke ? await ctx.sharedGateway() : await ctx.startGateway('trino-paging', { pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000 } });
    try {
      const viaQuery = () => timedPost(`${gw.url}/query`, { sql, qsf: 1e6 });
      // Warm-up: a Drillbit up, JIT warm, page cache full.
      const warm = await viaQuery();
      if (!completed(warm)) throw new Error(`trino-paging warm-up failed: ${warm.status} ${warm.tail}`);
      await pageThrough(gw.url, trinoSql);
      const idle = memoryOf(gw.pid)!;
      const paged: Paged[] = [];
      const streamedMs: number[] = [];
      const growth: number[] = [];
      const streamGrowth: number[] = [];
      for (let round = 0; round < rounds; round++) {
        let before = memoryOf(gw.pid)!.rss;
        let sampler = new RssSampler(gw.pid, 20).start();
        const p = await pageThrough(gw.url, trinoSql);
        growth.push(sampler.stop().peak - before);
        paged.push(p);
        before = memoryOf(gw.pid)!.rss;
        sampler = new RssSampler(gw.pid, 20).start();
        const s = await viaQuery();
        streamGrowth.push(sampler.stop().peak - before);
        if (!completed(s)) throw new Error(`POST /query failed: ${s.status} ${s.tail}`);
        streamedMs.push(s.totalMs);
        ctx.log(`trino-paging: round ${round + 1}: ${p.rows} rows in ${p.pages} pages, ${Math.round(p.totalMs)} ms (POST /query ${Math.round(s.totalMs)} ms), RSS +${((growth.at(-1) ?? 0) / MiB).toFixed(1)} MiB`);
      }
      const series = {
        'paged.total_ms': summarize(paged.map((p) => p.totalMs), 'ms'),
        'paged.rows_per_s': summarize(paged.map((p) => p.rows / (p.totalMs / 1000)), 'rows/s'),
        'streamed.total_ms': summarize(streamedMs, 'ms'),
        'gateway.rss_growth_mib': summarize(growth.map((g) => g / MiB), 'MiB'),
        'streamed.rss_growth_mib': summarize(streamGrowth.map((g) => g / MiB), 'MiB'),
      };
      const time = compare('Trino paging vs POST /query streaming: time to the last row', { name: 'POST /query', values: streamedMs }, { name: 'Trino paging', values: paged.map((p) => p.totalMs) }, 'ms', { paired: true });
      const maxGrowth = Math.max(...growth) / MiB;
      const allRows = paged.every((p) => p.rows === data.rows && p.state === 'FINISHED');
      const targets: Target[] = [{ name: 'trino-paging: every row of the result, FINISHED', value: allRows ? 1 : 0, unit: 'bool', target: '= 1', met: allRows }];
      if (!ctx.smoke) targets.push({ name: 'trino-paging: gateway RSS growth paging the result', value: maxGrowth, unit: 'MiB', target: '< 64', met: maxGrowth < 64 });
      const markdown = [
        `\`${sql}\`: ${data.rows.toLocaleString('en')} rows, paged through nextUri (${paged[0]!.pages} pages) by one client, ${rounds} round(s) after a warm-up; the baseline is the same SQL through POST /query in the same rounds.`,
        '',
        mdTable(
          ['measure', 'p50', 'max'],
          [
            ['Trino paging, time to the last row', `${series['paged.total_ms'].p50.toFixed(0)} ms`, `${series['paged.total_ms'].max.toFixed(0)} ms`],
            ['POST /query, time to the last byte', `${series['streamed.total_ms'].p50.toFixed(0)} ms`, `${series['streamed.total_ms'].max.toFixed(0)} ms`],
            ['ratio paging / streaming', time.ratio.toFixed(2), ''],
            ['gateway RSS growth while paging', `${series['gateway.rss_growth_mib'].p50.toFixed(1)} MiB`, `${maxGrowth.toFixed(1)} MiB`],
            ['gateway RSS growth while streaming', `${series['streamed.rss_growth_mib'].p50.toFixed(1)} MiB`, `${(Math.max(...streamGrowth) / MiB).toFixed(1)} MiB`],
          ],
        ),
        '',
        `Gateway idle RSS before the rounds: ${(idle.rss / MiB).toFixed(0)} MiB.`,
      ].join('\n');
      return { parameters: { rows: data.rows, rounds, pageBytes: 1 << 20 }, series, comparisons: [time], targets, notes: [], markdown };
    } finally {
      if (!ctx.smoke) await ctx.stopGateway(gw);
    }
  },
};
