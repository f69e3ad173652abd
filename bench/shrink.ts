// Benchmark 6: shrinking under load. A gateway with a short idle timeout runs 20
// concurrent queries of different sizes: a few large ones that need the whole pool
// (3 Drillbits) and short, and small ones (1 Drillbit) that stream their rows slowly,
// started one after another, so the pool's idle timeout for the large size ends, and
// Drillbits drain, while small queries still run. Counted: failed queries (must be 0).
// Timed: from the moment a Drillbit may go (its idle timeout over, and Drill reports
// no query or fragment on it) to its drain starting and to its process being gone.
// Baseline: the idle timeout itself (the ratio says how much later than it the
// Drillbits are gone).
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { SMOKE_IDLE_TIMEOUT_MS } from './lib/context.js';
import type { ClusterView, GatewayProcess } from './lib/gateway.js';
import { completed, getJson, timedPost, type Timed } from './lib/http.js';
import { summarize, type Summary } from './lib/stats.js';
import { qsfFor, trips, MiB } from './lib/data.js';
import { mdTable, ms } from './lib/report.js';
import { isAlive, sleep } from '../src/util/process.js';

interface BitWatch {
  id: string;
  pid: number;
  httpPort: number;
  address: string;
  /** Last time Drill reported a query or fragment on it (wall ms). */
  busyUntil: number;
  drainAt: number | null;
  goneAt: number | null;
}

interface RoundResult {
  round: number;
  queries: number;
  failed: number;
  failures: string[];
  lastLargeEnd: number;
  lastQueryEnd: number;
  idleTimeoutMs: number;
  bits: { id: string; mayGoAt: number; drainAfterMs: number | null; goneAfterMs: number | null; drainToGoneMs: number | null; phase: string }[];
  timeline: { t: number; desired: number; online: number; draining: number }[];
  smallLatencyMs: number[];
  largeLatencyMs: number[];
}

export const shrinkBenchmark: Benchmark = {
  name: 'shrink',
  title: 'Shrink safety: 20 concurrent queries of different sizes while the pool shrinks',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_SHRINK_ROUNDS ?? 3);
    const large = await trips(ctx, 'shrink-large', ctx.smoke ? 1.5 * MiB : 20 * MiB);
    const small = await trips(ctx, 'shrink-small', ctx.smoke ? 0.4 * MiB : 2 * MiB);
    const maxBits = ctx.smoke ? 2 : 3;
    const qsf = qsfFor(large.bytes, maxBits);
    if (Math.ceil((2 * small.bytes) / MiB / qsf) !== 1) throw new Error('shrink: a self-join of the small dataset must need one Drillbit');
    const idleTimeoutMs = ctx.smoke ? SMOKE_IDLE_TIMEOUT_MS : 5_000;
    const counts = ctx.smoke ? { large: 2, small: 4 } : { large: 4, small: 16 };
    const results: RoundResult[] = [];
    let gw: GatewayProcess | null = null;
    try {
      for (let round = 0; round < rounds; round++) {
        gw = ctx.smoke ? await ctx.sharedGateway() : await ctx.startGateway('shrink', { sizing: { qsf }, pool: { minDrillbits: 0, maxDrillbits: 3, idleTimeoutMs, queueTimeoutMs: 300_000 } });
        results.push(await runRound(ctx, gw, round, { large, small, qsf, maxBits, idleTimeoutMs, counts }));
        if (!ctx.smoke) await ctx.stopGateway(gw);
        gw = null;
      }
    } finally {
      if (gw && !ctx.smoke) await ctx.stopGateway(gw);
    }
    const failed = results.reduce((s, r) => s + r.failed, 0);
    const queries = results.reduce((s, r) => s + r.queries, 0);
    const bits = results.flatMap((r) => r.bits);
    const series: Record<string, Summary> = {
      'idle_timeout_to_drain_ms': summarize(bits.map((b) => b.drainAfterMs ?? NaN), 'ms'),
      'idle_timeout_to_gone_ms': summarize(bits.map((b) => b.goneAfterMs ?? NaN), 'ms'),
      'drain_to_gone_ms': summarize(bits.map((b) => b.drainToGoneMs ?? NaN), 'ms'),
      'small_query_latency_ms': summarize(results.flatMap((r) => r.smallLatencyMs), 'ms'),
      'large_query_latency_ms': summarize(results.flatMap((r) => r.largeLatencyMs), 'ms'),
    };
    const gone = series['idle_timeout_to_gone_ms']!;
    const notGone = bits.filter((b) => b.goneAfterMs === null).length;
    const targets: Target[] = [
      { name: 'shrink: failed queries', value: failed, unit: `of ${queries}`, target: '= 0', met: failed === 0 },
      { name: 'shrink: Drillbits never gone', value: notGone, unit: 'count', target: '= 0', met: notGone === 0 },
      { name: 'shrink: idle timeout to Drillbit gone, p50 (reported)', value: gone.p50, unit: 'ms', target: '(report)', met: true },
    ];
    const markdown = [
      `Gateway: QSF ${qsf.toFixed(2)} MiB, max ${maxBits} Drillbits, idle timeout ${idleTimeoutMs} ms. Per round ${counts.large + counts.small} queries: ${counts.large} large (\`GROUP BY\` over ${(large.bytes / MiB).toFixed(1)} MiB: ${maxBits} Drillbits) at once, and ${counts.small} small ones over ${(small.bytes / MiB).toFixed(1)} MiB (1 Drillbit), started ${ctx.smoke ? 500 : 700} ms apart, alternately all ${small.rows.toLocaleString('en')} rows read slowly by the client and a self-join (\`COUNT(*)\` on \`minutes\` and \`city\`) that keeps Drill busy, so they run while the pool shrinks. Every answer is checked (complete, right count). ${rounds} round(s), a fresh gateway each (full mode).`,
      '',
      mdTable(
        ['measure', 'value'],
        [
          ['failed queries', `${failed} of ${queries}`],
          ['large query latency', ms(series['large_query_latency_ms'], 0)],
          ['small query latency (slow readers and self-joins)', ms(series['small_query_latency_ms'], 0)],
          ['Drillbit may go (idle timeout over, Drill idle) -> drain starts', ms(series['idle_timeout_to_drain_ms'], 0)],
          ['drain starts -> process gone (Drill graceful shutdown)', ms(series['drain_to_gone_ms'], 0)],
          ['Drillbit may go -> process gone', ms(gone, 0)],
          ['ratio of that to the idle timeout itself (p50)', `${((gone.p50 + idleTimeoutMs) / idleTimeoutMs).toFixed(2)} (idle timeout ${idleTimeoutMs} ms + ${Math.round(gone.p50)} ms)`],
        ],
      ),
      '',
      'Drillbits by round (ms after the moment each may go):',
      '',
      mdTable(['round', 'Drillbit', 'shrink', 'drain after', 'gone after'], results.flatMap((r) => r.bits.map((b) => [String(r.round + 1), b.id, b.phase, b.drainAfterMs === null ? 'never' : String(Math.round(b.drainAfterMs)), b.goneAfterMs === null ? 'never' : String(Math.round(b.goneAfterMs))]))),
      ...(results.some((r) => r.failures.length) ? ['', 'Failures:', '', ...results.flatMap((r) => r.failures.map((f) => `- round ${r.round + 1}: ${f}`))] : []),
    ].join('\n');
    return {
      parameters: { rounds, qsf, maxBits, idleTimeoutMs, counts, large: { bytes: large.bytes, rows: large.rows }, small: { bytes: small.bytes, rows: small.rows } },
      series,
      comparisons: [
        {
          name: 'idle timeout + time to gone vs the idle timeout',
          baseline: 'idle timeout',
          subject: 'idle timeout to Drillbit gone',
          unit: 'ms',
          baselineP50: idleTimeoutMs,
          subjectP50: idleTimeoutMs + gone.p50,
          ratio: (idleTimeoutMs + gone.p50) / idleTimeoutMs,
          deltaP50: gone.p50,
          met: null,
        },
      ],
      targets,
      details: { rounds: results },
      notes: [
        '"May go" for a Drillbit is the later of: its idle timeout ending (the last query needing that many Drillbits finished + idle timeout) and the last moment Drill reported a query or fragment on it (polled every 100 ms on /queriesCount).',
        'The pool reconciles every 2 s when nothing is starting, so a drain starts up to ~2 s after a Drillbit may go.',
      ],
      markdown,
    };
  },
};

async function runRound(
  ctx: BenchContext,
  gw: GatewayProcess,
  round: number,
  p: { large: { table: string; rows: number }; small: { table: string; rows: number }; qsf: number; maxBits: number; idleTimeoutMs: number; counts: { large: number; small: number } },
): Promise<RoundResult> {
  const largeSql = `SELECT dir0, COUNT(*) AS n FROM ${p.large.table} GROUP BY dir0`;
  // Columns named: Drill 1.22 fails `SELECT *` over a multi-folder text table mid-stream (see streaming.ts).
  const smallSql = `SELECT id, city, fare, distance, minutes FROM ${p.small.table}`;
  const joinSql = `SELECT COUNT(*) AS n FROM ${p.small.table} a JOIN ${p.small.table} b ON a.minutes = b.minutes AND a.city = b.city`;
  // The right answer of the self-join, from the gateway before the measured part (this
  // starts the first Drillbit); then scale up with one large query (a cold start, not
  // what is measured here) and start the workload at once, well within the idle timeout.
  const truth = await timedPost(`${gw.url}/query`, { sql: joinSql }, { keepBody: true });
  if (!completed(truth)) throw new Error(`shrink: the self-join fails: ${truth.status} ${truth.tail}`);
  const joinCount = Number((JSON.parse(truth.text!) as { rows: { n: string }[] }).rows[0]!.n);
  const prime = await timedPost(`${gw.url}/query`, { sql: largeSql, qsf: p.qsf }, { keepBody: true });
  if (!completed(prime)) throw new Error(`shrink: priming query failed: ${prime.status} ${prime.tail}`);
  let view = await gw.waitOnline(p.maxBits);
  const watches = new Map<string, BitWatch>();
  // Every Drillbit of the pool is watched, also any started during the round.
  const watch = async (bits: ClusterView['drillbits']) => {
    const fresh = bits.filter((b) => !watches.has(b.id));
    if (!fresh.length) return;
    const records = await gw.drillbitRecords();
    for (const b of fresh) {
      const rec = records.get(b.id);
      if (rec) watches.set(b.id, { id: b.id, pid: rec.pid, httpPort: b.httpPort, address: b.address, busyUntil: Date.now(), drainAt: null, goneAt: null });
    }
  };
  await watch(view.drillbits);
  ctx.log(`shrink: round ${round + 1}: ${watches.size} Drillbits ONLINE; starting ${p.counts.large + p.counts.small} queries (self-join answer ${joinCount})`);

  // Watchers: the pool (every 100 ms), Drill's own query counts, the processes.
  const timeline: RoundResult['timeline'] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const now = Date.now();
      try {
        view = await gw.cluster();
        timeline.push({ t: now, desired: view.desired, online: view.drillbits.filter((b) => b.state === 'ONLINE').length, draining: view.drillbits.filter((b) => b.state === 'DRAINING').length });
        await watch(view.drillbits);
        for (const b of view.drillbits) if (b.state === 'DRAINING') watches.get(b.id)!.drainAt ??= now;
      } catch {
        /* the gateway is busy; next time */
      }
      await Promise.all(
        [...watches.values()].map(async (w) => {
          if (w.goneAt !== null) return;
          if (!isAlive(w.pid)) {
            w.goneAt = now;
            return;
          }
          try {
            const c = await getJson<{ queriesCount: number; fragmentsCount: number }>(`http://${w.address}:${w.httpPort}/queriesCount`, 1_000);
            if (c.queriesCount > 0 || c.fragmentsCount > 0) w.busyUntil = Date.now();
          } catch {
            /* shutting down */
          }
        }),
      );
      await sleep(100);
    }
  })();

  const failures: string[] = [];
  const largeLatency: number[] = [];
  const smallLatency: number[] = [];
  let lastLargeEnd = 0;
  let lastQueryEnd = 0;
  const check = (r: Timed | Error, kind: string, i: number) => {
    if (r instanceof Error) return failures.push(`${kind} #${i}: ${r.message}`);
    if (!completed(r)) return failures.push(`${kind} #${i}: ${r.status} ${r.tail.slice(-200)}`);
    if (kind === 'large' && r.text) {
      const rows = (JSON.parse(r.text!) as { rows: { n: string | number }[] }).rows;
      const total = rows.reduce((s, x) => s + Number(x.n), 0);
      if (total !== p.large.rows) failures.push(`large #${i}: counted ${total} rows, expected ${p.large.rows}`);
    }
    return 0;
  };
  const smallBytes: number[] = [];
  const gap = ctx.smoke ? 500 : 700;
  // Small queries of two kinds, alternating: a slow reader (all rows, read at about this
  // rate, so part of the answer waits in the gateway and in socket buffers) and a self-join
  // that keeps Drill busy for a while (fragments on several Drillbits).
  const rate = ctx.smoke ? 64 * 1024 : 1.5 * MiB;
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < p.counts.large; i++) {
    jobs.push(
      timedPost(`${gw.url}/query`, { sql: largeSql }, { keepBody: true })
        .then((r) => {
          lastLargeEnd = Math.max(lastLargeEnd, r.startedAt + r.totalMs);
          largeLatency.push(r.totalMs);
          check(r, 'large', i);
        })
        .catch((e: Error) => check(e, 'large', i)),
    );
  }
  for (let i = 0; i < p.counts.small; i++) {
    const join = i % 2 === 1;
    jobs.push(
      sleep(i * gap)
        .then(() => {
          const t0 = Date.now();
          if (join) return timedPost(`${gw.url}/query`, { sql: joinSql }, { keepBody: true });
          return timedPost(`${gw.url}/query`, { sql: smallSql }, { onChunk: async (_c, soFar) => { const due = t0 + (soFar / rate) * 1000; const wait = due - Date.now(); if (wait > 0) await sleep(wait); } });
        })
        .then((r) => {
          smallLatency.push(r.totalMs);
          if (join) {
            check(r, 'join', i);
            const n = completed(r) ? Number((JSON.parse(r.text!) as { rows: { n: string }[] }).rows[0]?.n) : NaN;
            if (completed(r) && n !== joinCount) failures.push(`join #${i}: counted ${n}, expected ${joinCount}`);
          } else {
            smallBytes.push(r.bytes);
            check(r, 'small', i);
          }
        })
        .catch((e: Error) => check(e, join ? 'join' : 'small', i)),
    );
  }
  await Promise.all(jobs);
  lastQueryEnd = Date.now();
  if (new Set(smallBytes.map((b) => Math.round(b / 64))).size > 1) failures.push(`small queries returned different sizes: ${[...new Set(smallBytes)].join(', ')}`);
  // Wait until every Drillbit is gone (min 0) or long enough.
  const deadline = Date.now() + p.idleTimeoutMs + 120_000;
  while ([...watches.values()].some((w) => w.goneAt === null) && Date.now() < deadline) await sleep(200);
  watching = false;
  await watcher;

  // A Drillbit drained while large demand was still held (3 -> 1) or after all demand ended (-> 0).
  const bits: RoundResult['bits'] = [...watches.values()].map((w) => {
    const largeDeadline = lastLargeEnd + p.idleTimeoutMs;
    const allDeadline = lastQueryEnd + p.idleTimeoutMs;
    const during = w.drainAt !== null && w.drainAt < lastQueryEnd;
    const phase = during ? 'while small queries ran' : 'after the last query';
    const mayGoAt = Math.max(during ? largeDeadline : allDeadline, w.busyUntil);
    return {
      id: w.id,
      mayGoAt,
      phase,
      drainAfterMs: w.drainAt === null ? null : w.drainAt - mayGoAt,
      goneAfterMs: w.goneAt === null ? null : w.goneAt - mayGoAt,
      drainToGoneMs: w.drainAt === null || w.goneAt === null ? null : w.goneAt - w.drainAt,
    };
  });
  ctx.log(`shrink: round ${round + 1}: ${failures.length} failed; ${bits.map((b) => `${b.id} ${b.phase} gone +${b.goneAfterMs === null ? 'never' : Math.round(b.goneAfterMs)} ms`).join('; ')}`);
  const t0 = timeline[0]?.t ?? 0;
  return {
    round,
    queries: p.counts.large + p.counts.small,
    failed: failures.length,
    failures,
    lastLargeEnd,
    lastQueryEnd,
    idleTimeoutMs: p.idleTimeoutMs,
    bits,
    timeline: timeline.map((x) => ({ ...x, t: x.t - t0 })),
    smallLatencyMs: smallLatency,
    largeLatencyMs: largeLatency,
  };
}

export type { ClusterView };
