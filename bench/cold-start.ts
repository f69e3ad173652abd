// Benchmark 3: how long a query waits when its Drillbits must start.
//
// Gateway arm: a gateway (child process) with the pool at zero and a long idle
// timeout gets a query whose QSF makes sizing ask for N = 1, 2, 3 Drillbits; we time
// the first byte of the answer. Baseline arm, same rounds, interleaved: one Drillbit
// launched directly with the same launch.ts arguments, until ONLINE in /cluster.json
// (probed every 10 ms), then the same query sent to it directly.
//
// The time to first byte is broken down from the gateway's Server-Timing header
// (sizing, scale = waiting for the pool, drill = Drill's time to first byte), the
// Drillbits' pid files (spawn time) and drillbit.log (first line, phases,
// "Startup completed"), on the Drillbit that came up last (the critical path).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { parseDrillbitLog, startupPhases } from './lib/direct.js';
import type { GatewayProcess } from './lib/gateway.js';
import { completed, drillQuery, serverTiming, timedPost } from './lib/http.js';
import { cpuSeconds } from './lib/machine.js';
import { compare, summarize, type Comparison, type Summary } from './lib/stats.js';
import { qsfFor, trips, MiB } from './lib/data.js';
import { mdTable, ms, ratio } from './lib/report.js';
import { sleep } from '../src/util/process.js';

interface GatewaySample {
  n: number;
  round: number;
  ttfbMs: number;
  totalMs: number;
  ok: boolean;
  drillbitsHeader: string | undefined;
  timing: Record<string, number>;
  breakdown: Record<string, number>;
  drillPhases: Record<string, number>;
  /** Spawn -> "Startup completed" of every Drillbit started. */
  bitStartMs: number[];
  /** CPU seconds each Drillbit used by the time the answer started. */
  bitCpuS: number[];
}

interface DirectSample {
  round: number;
  onlineMs: number;
  firstQueryTtfbMs: number;
  cpuS: number;
  phases: Record<string, number>;
}

export const coldStartBenchmark: Benchmark = {
  name: 'cold-start',
  title: 'Cold start: time to first byte of a query that needs N Drillbits from zero, vs one Drillbit started directly',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_COLD_ROUNDS ?? 5);
    const ns = ctx.smoke ? [1] : [1, 2, 3];
    const data = await trips(ctx, 'coldstart', ctx.smoke ? 1 * MiB : 3 * MiB);
    const sql = `SELECT * FROM ${data.table} LIMIT 1`;
    const cluster = await ctx.directCluster();

    const direct: DirectSample[] = [];
    const gateway: GatewaySample[] = [];

    const runDirect = async (round: number) => {
      const bit = await cluster.startBit({});
      try {
        const timing = bit.timing!;
        const cpuS = cpuSeconds(bit.pid) ?? NaN;
        const first = await timedPost(`http://127.0.0.1:${bit.httpPort}/query.json`, drillQuery(sql));
        if (!completed(first)) throw new Error(`direct query failed: ${first.status} ${first.tail}`);
        const log = await parseDrillbitLog(join(bit.dir, 'log', 'drillbit.log'));
        const phases = startupPhases(log, bit.spawnedAt, bit.spawnedAt + timing.onlineMs);
        direct.push({ round, onlineMs: timing.onlineMs, firstQueryTtfbMs: first.ttfbMs, cpuS, phases });
        ctx.log(`cold-start: direct round ${round + 1}: ONLINE ${timing.onlineMs} ms, first query TTFB ${Math.round(first.ttfbMs)} ms`);
      } finally {
        await bit.stop();
      }
    };

    const runGateway = async (round: number, n: number, measured: boolean) => {
      let gw: GatewayProcess;
      if (ctx.smoke) gw = await ctx.sharedGateway();
      else gw = await ctx.startGateway('cold', { pool: { minDrillbits: 0, maxDrillbits: 3, idleTimeoutMs: 600_000, queueTimeoutMs: 300_000 } });
      try {
        const view = await gw.cluster();
        if (view.drillbits.length !== 0) throw new Error(`the pool is not at zero: ${JSON.stringify(view.drillbits)}`);
        // Let the gateway's own start-up (ZooKeeper) settle.
        await sleep(ctx.smoke ? 200 : 2_000);
        const res = await timedPost(`${gw.url}/query`, { sql, qsf: qsfFor(data.bytes, n) }, { keepBody: false });
        const at = Date.now();
        const ok = completed(res);
        const st = serverTiming(res.headers['server-timing']);
        const records = [...(await gw.drillbitRecords()).values()];
        const bits = await Promise.all(
          records.map(async (r) => ({ ...r, cpuS: cpuSeconds(r.pid) ?? NaN, log: await parseDrillbitLog(join(r.dir, 'log', 'drillbit.log')) })),
        );
        const started = bits.filter((b) => b.log.completedAt !== null);
        const critical = started.reduce((a, b) => (b.log.completedAt! > a.log.completedAt! ? b : a), started[0]!);
        const firstSpawn = Math.min(...bits.map((b) => b.startedAt));
        const tReq = res.startedAt;
        const noticed = tReq + (st.sizing ?? 0) + (st.scale ?? 0);
        const breakdown: Record<string, number> = critical
          ? {
              'gateway: request to launch': firstSpawn - tReq,
              'launch stagger': critical.startedAt - firstSpawn,
              'JVM start to first log line': critical.log.firstAt! - critical.startedAt,
              'Drill start-up (log)': critical.log.completedAt! - critical.log.firstAt!,
              'registration + readiness polling': noticed - critical.log.completedAt!,
              'first query on the new Drillbit(s)': st.drill ?? NaN,
              'gateway: response': res.ttfbMs - ((st.sizing ?? 0) + (st.scale ?? 0) + (st.drill ?? 0)),
            }
          : {};
        const drillPhases = critical ? startupPhases(critical.log, critical.startedAt, null) : {};
        if (measured) {
          gateway.push({
            n,
            round,
            ttfbMs: res.ttfbMs,
            totalMs: res.totalMs,
            ok: ok && res.headers['dromedar-drillbits'] === String(n),
            drillbitsHeader: res.headers['dromedar-drillbits'],
            timing: st,
            breakdown,
            drillPhases,
            bitStartMs: bits.map((b) => (b.log.completedAt ?? NaN) - b.startedAt),
            bitCpuS: bits.map((b) => b.cpuS),
          });
        }
        ctx.log(`cold-start: gateway N=${n} round ${round + 1}${measured ? '' : ' (warm-up)'}: TTFB ${Math.round(res.ttfbMs)} ms, ${res.headers['dromedar-drillbits']} Drillbit(s), ${ok ? 'ok' : `FAILED ${res.status} ${res.tail}`} (${at - tReq} ms)`);
        if (!ok) throw new Error(`cold query failed: ${res.status} ${res.tail}`);
      } finally {
        if (!ctx.smoke) await ctx.stopGateway(gw);
      }
    };

    if (!ctx.smoke) {
      // Unmeasured: the first start of a cluster bootstraps Drill's stored state (plugins, options).
      await runDirect(-1);
      direct.pop();
      await runGateway(-1, 1, false);
    }
    for (let round = 0; round < rounds; round++) {
      const arms: (() => Promise<void>)[] = [() => runDirect(round), ...ns.map((n) => () => runGateway(round, n, true))];
      for (let i = 0; i < arms.length; i++) await arms[(i + round) % arms.length]!();
    }

    const series: Record<string, Summary> = {
      'direct.online_ms': summarize(direct.map((d) => d.onlineMs), 'ms'),
      'direct.online_plus_first_query_ttfb_ms': summarize(direct.map((d) => d.onlineMs + d.firstQueryTtfbMs), 'ms'),
      'direct.first_query_ttfb_ms': summarize(direct.map((d) => d.firstQueryTtfbMs), 'ms'),
      'direct.cpu_s': summarize(direct.map((d) => d.cpuS), 's'),
    };
    const comparisons: Comparison[] = [];
    const targets: Target[] = [];
    const cores = availableParallelism();
    const breakdowns: Record<string, Record<string, number>> = {};
    for (const n of ns) {
      const g = gateway.filter((x) => x.n === n);
      series[`gateway.n${n}.ttfb_ms`] = summarize(g.map((x) => x.ttfbMs), 'ms');
      series[`gateway.n${n}.bit_start_ms`] = summarize(g.flatMap((x) => x.bitStartMs), 'ms');
      series[`gateway.n${n}.bit_cpu_s`] = summarize(g.flatMap((x) => x.bitCpuS), 's');
      const paired = g.length === direct.length;
      const c = compare(`N=${n}: gateway TTFB vs one Drillbit started directly (ONLINE)`, { name: 'direct ONLINE', values: direct.map((d) => d.onlineMs) }, { name: `gateway N=${n} TTFB`, values: g.map((x) => x.ttfbMs) }, 'ms', { paired, ...(ctx.smoke ? {} : { target: { op: '<=', value: 1.25 } }) });
      comparisons.push(c);
      comparisons.push(compare(`N=${n}: gateway TTFB vs direct ONLINE + first query TTFB`, { name: 'direct ONLINE + query', values: direct.map((d) => d.onlineMs + d.firstQueryTtfbMs) }, { name: `gateway N=${n} TTFB`, values: g.map((x) => x.ttfbMs) }, 'ms', { paired }));
      // The physical floor on this machine: N JVMs each needing the CPU one direct start
      // used cannot be ONLINE before N x that CPU has run on the available cores.
      const floor = direct.map((d) => Math.max(d.onlineMs, (n * d.cpuS * 1000) / cores));
      series[`floor.n${n}.ms`] = summarize(floor, 'ms');
      comparisons.push(compare(`N=${n}: gateway TTFB vs the CPU-bound floor for N Drillbits`, { name: `max(direct ONLINE, N x direct CPU / ${cores} cores)`, values: floor }, { name: `gateway N=${n} TTFB`, values: g.map((x) => x.ttfbMs) }, 'ms', { paired }));
      if (!ctx.smoke) targets.push({ name: `cold start N=${n}: gateway TTFB / direct Drillbit ONLINE`, value: c.ratio, unit: 'ratio', target: '<= 1.25', met: c.ratio <= 1.25 });
      breakdowns[`N=${n}`] = medians(g.map((x) => x.breakdown));
      breakdowns[`N=${n} Drill phases`] = medians(g.map((x) => x.drillPhases));
    }
    breakdowns['direct'] = medians(direct.map((d) => d.phases));
    const failed = gateway.filter((g) => !g.ok).length;
    targets.push({ name: 'cold start: failed cold queries', value: failed, unit: 'count', target: '= 0', met: failed === 0 });

    const stepNames = [...new Set(ns.flatMap((n) => Object.keys(breakdowns[`N=${n}`]!)))];
    const markdown = [
      `Query \`${sql}\` over ${(data.bytes / MiB).toFixed(1)} MiB; QSF per request so that sizing asks for N Drillbits; pool at zero, idle timeout 10 min, a fresh gateway process per measurement (its ZooKeeper keeps Drill's stored state between rounds, as a long-running gateway's would). ${rounds} round(s), arms interleaved. Drillbit heap ${ctx.drillMemory.heap}, direct ${ctx.drillMemory.directMemory}.`,
      '',
      mdTable(
        ['arm', 'time to first byte / ONLINE', 'ratio vs direct ONLINE', 'ratio vs direct ONLINE + query', 'CPU-bound floor for N', 'ratio vs floor'],
        [
          ['direct: one Drillbit, spawn to ONLINE', ms(series['direct.online_ms']), '1', '–', '–', '–'],
          ['direct: ONLINE + first query TTFB', ms(series['direct.online_plus_first_query_ttfb_ms']), '–', '1', '–', '–'],
          ...ns.map((n) => [
            `gateway: query needing N=${n}`,
            ms(series[`gateway.n${n}.ttfb_ms`]),
            ratio(comparisons.find((c) => c.name.startsWith(`N=${n}: gateway TTFB vs one`))),
            ratio(comparisons.find((c) => c.name.startsWith(`N=${n}: gateway TTFB vs direct ONLINE +`))),
            ms(series[`floor.n${n}.ms`], 0),
            ratio(comparisons.find((c) => c.name.startsWith(`N=${n}: gateway TTFB vs the CPU-bound floor`))),
          ]),
        ],
      ),
      '',
      'Where the time to first byte goes (medians, ms; on the Drillbit that came up last):',
      '',
      mdTable(['step', ...ns.map((n) => `N=${n}`)], stepNames.map((s) => [s, ...ns.map((n) => String(Math.round(breakdowns[`N=${n}`]![s] ?? NaN)))])),
      '',
      `Direct start phases (medians, ms): ${Object.entries(breakdowns['direct']!).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}; CPU to ONLINE ${series['direct.cpu_s']!.p50.toFixed(2)} s.`,
      '',
      `CPU each Drillbit had used when the first byte came (start-up, and the first query on the one that ran it; medians): ${ns.map((n) => `N=${n}: ${series[`gateway.n${n}.bit_cpu_s`]!.p50.toFixed(2)} s`).join(', ')}. N Drillbits starting at once share the ${cores} cores: the CPU-bound floor is max(direct ONLINE, N x direct CPU to ONLINE / ${cores}), per round.`,
    ].join('\n');
    return {
      parameters: { rounds, ns, sql, datasetBytes: data.bytes, heap: ctx.drillMemory },
      series,
      comparisons,
      targets,
      breakdown: breakdowns,
      details: { direct, gateway },
      notes: [
        '"registration + readiness polling" runs from Drill\'s "Startup completed" line to the pool handing out the lease: Drill sets itself ONLINE in ZooKeeper, and the pool sees it on its next reconcile pass (every 100 ms while starting).',
        '"gateway: response" is the rest of the time to first byte: request parsing before sizing and sending the headers after Drill\'s first chunk.',
      ],
      markdown,
    };
  },
};

function medians(rows: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = summarize(rows.map((r) => r[k] ?? NaN), '').p50;
  return out;
}
