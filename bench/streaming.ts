// Benchmark 2: a large result (millions of rows, hundreds of MB of JSON) directly
// from a Drillbit vs through the gateway, read as fast as the client can.
// Throughput = bytes / (request sent -> last byte). The gateway runs in its own
// process; its VmRSS is sampled every 20 ms during each of its runs (and VmHWM read
// before and after), so its memory growth is its own.
import { availableParallelism as nproc } from 'node:os';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { completed, drillQuery, timedPost, type Timed } from './lib/http.js';
import { cpuSeconds, memoryOf, RssSampler } from './lib/machine.js';
import { compare, summarize, type Summary } from './lib/stats.js';
import { trips, MiB } from './lib/data.js';
import { mdTable, ms, ratio } from './lib/report.js';

export const streamingBenchmark: Benchmark = {
  name: 'streaming',
  title: 'Streaming: a result of millions of rows directly vs through the gateway; gateway RSS',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_STREAM_ROUNDS ?? 5);
    const data = await trips(ctx, 'stream', ctx.smoke ? 2 * MiB : Number(process.env.BENCH_STREAM_MIB ?? 112) * MiB);
    // Columns named: Drill 1.22 fails `SELECT *` over this multi-folder text table (NegativeArraySizeException
    // mid-stream) and its REST answer then just stops, without queryState.
    const sql = `SELECT id, city, fare, distance, minutes FROM ${data.table}`;
    const gw = ctx.smoke ? await ctx.sharedGateway() : await ctx.startGateway('stream', { pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000 } });
    try {
      let view = await gw.cluster();
      if (!view.drillbits.some((b) => b.state === 'ONLINE')) {
        await timedPost(`${gw.url}/query`, { sql: 'SELECT * FROM sys.version', qsf: 1e6 });
        view = await gw.waitOnline(1);
      }
      const bit = view.drillbits.find((b) => b.state === 'ONLINE')!;
      const directUrl = `http://${bit.address}:${bit.httpPort}/query.json`;
      // A QSF so large that the query needs one Drillbit (the shared smoke gateway has QSF 1).
      const viaGateway = () => timedPost(`${gw.url}/query`, { sql, qsf: 1e6 });
      const direct = () => timedPost(directUrl, drillQuery(sql));
      const check = (r: Timed, arm: string) => {
        if (!completed(r)) throw new Error(`${arm}: streaming query failed: ${r.status} ${r.tail}`);
      };
      // Warm-up, one each: JIT in Drill and in the gateway, page cache for the data.
      check(await direct(), 'direct');
      check(await viaGateway(), 'gateway');
      const idle = memoryOf(gw.pid)!;
      const results = { direct: [] as Timed[], gateway: [] as Timed[] };
      // CPU seconds per run: the Drillbit, the gateway process and this client.
      const drillPid = [...(await gw.drillbitRecords()).values()].find((r) => r.id === bit.id)?.pid ?? null;
      const cpu = { direct: [] as { drill: number; gateway: number; client: number }[], gateway: [] as { drill: number; gateway: number; client: number }[] };
      const cpuNow = () => ({ drill: drillPid ? (cpuSeconds(drillPid) ?? NaN) : NaN, gateway: cpuSeconds(gw.pid) ?? NaN, client: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 });
      const growth: number[] = [];
      const peaks: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const);
        for (const arm of order) {
          const c0 = cpuNow();
          if (arm === 'direct') {
            const r = await direct();
            check(r, arm);
            results.direct.push(r);
          } else {
            const before = memoryOf(gw.pid)!;
            const sampler = new RssSampler(gw.pid, 20).start();
            const r = await viaGateway();
            const { peak } = sampler.stop();
            check(r, arm);
            results.gateway.push(r);
            growth.push(peak - before.rss);
            peaks.push(peak);
          }
          const c1 = cpuNow();
          cpu[arm].push({ drill: c1.drill - c0.drill, gateway: c1.gateway - c0.gateway, client: c1.client - c0.client });
          const last = results[arm].at(-1)!;
          ctx.log(`streaming: ${arm} round ${round + 1}: ${(last.bytes / MiB).toFixed(0)} MiB in ${Math.round(last.totalMs)} ms = ${(last.bytes / MiB / (last.totalMs / 1000)).toFixed(1)} MiB/s`);
        }
      }
      const after = memoryOf(gw.pid)!;
      const bytes = results.direct[0]!.bytes;
      const mibps = (r: Timed) => r.bytes / MiB / (r.totalMs / 1000);
      const series: Record<string, Summary> = {
        'direct.throughput_mib_s': summarize(results.direct.map(mibps), 'MiB/s'),
        'gateway.throughput_mib_s': summarize(results.gateway.map(mibps), 'MiB/s'),
        'direct.total_ms': summarize(results.direct.map((r) => r.totalMs), 'ms'),
        'gateway.total_ms': summarize(results.gateway.map((r) => r.totalMs), 'ms'),
        'direct.ttfb_ms': summarize(results.direct.map((r) => r.ttfbMs), 'ms'),
        'gateway.ttfb_ms': summarize(results.gateway.map((r) => r.ttfbMs), 'ms'),
        'gateway.rss_growth_mib': summarize(growth.map((g) => g / MiB), 'MiB'),
        'gateway.rss_peak_mib': summarize(peaks.map((g) => g / MiB), 'MiB'),
      };
      for (const arm of ['direct', 'gateway'] as const) {
        for (const who of ['drill', 'gateway', 'client'] as const) series[`${arm}.cpu_s_per_gib.${who}`] = summarize(cpu[arm].map((c, i) => c[who] / (results[arm][i]!.bytes / 2 ** 30)), 's/GiB');
      }
      const cpuRow = (arm: 'direct' | 'gateway') => `${arm}: Drill ${series[`${arm}.cpu_s_per_gib.drill`]!.p50.toFixed(1)}, gateway ${series[`${arm}.cpu_s_per_gib.gateway`]!.p50.toFixed(1)}, client ${series[`${arm}.cpu_s_per_gib.client`]!.p50.toFixed(1)} CPU-s per GiB`;
      const tput = compare('gateway vs direct: throughput', { name: 'direct', values: results.direct.map(mibps) }, { name: 'gateway', values: results.gateway.map(mibps) }, 'MiB/s', { paired: true, ...(ctx.smoke ? {} : { target: { op: '>=', value: 0.95 } }) });
      const time = compare('gateway vs direct: time to last byte', { name: 'direct', values: results.direct.map((r) => r.totalMs) }, { name: 'gateway', values: results.gateway.map((r) => r.totalMs) }, 'ms', { paired: true });
      const maxGrowth = Math.max(...growth, after.hwm - idle.hwm) / MiB;
      const sameBytes = results.gateway.every((r) => Math.abs(r.bytes - bytes) < 64) && results.direct.every((r) => Math.abs(r.bytes - bytes) < 64);
      const targets: Target[] = ctx.smoke
        ? []
        : [
            { name: 'streaming: throughput ratio gateway/direct', value: tput.ratio, unit: 'ratio', target: '>= 0.95', met: tput.ratio >= 0.95 },
            { name: 'streaming: gateway peak RSS growth', value: maxGrowth, unit: 'MiB', target: '<= 64', met: maxGrowth <= 64 },
          ];
      targets.push({ name: 'streaming: same bytes directly and through the gateway', value: sameBytes ? 1 : 0, unit: 'bool', target: '= 1', met: sameBytes });
      const markdown = [
        `\`${sql}\`: ${data.rows.toLocaleString('en')} rows (${(data.bytes / MiB).toFixed(0)} MiB of CSV) = ${(bytes / MiB).toFixed(0)} MiB of JSON per answer. ${rounds} round(s) per arm after one warm-up each, interleaved; the client reads as fast as it can.`,
        '',
        mdTable(
          ['arm', 'throughput p50 (p90, min–max)', 'time to last byte', 'time to first byte', 'ratio'],
          [
            ['direct (Drillbit /query.json)', ms(series['direct.throughput_mib_s']), ms(series['direct.total_ms'], 0), ms(series['direct.ttfb_ms']), '1'],
            ['gateway (POST /query)', ms(series['gateway.throughput_mib_s']), ms(series['gateway.total_ms'], 0), ms(series['gateway.ttfb_ms']), ratio(tput)],
          ],
        ),
        '',
        `CPU (medians): ${cpuRow('direct')}; ${cpuRow('gateway')}. On ${nproc()} cores, every CPU-second the gateway spends per GiB is taken from Drill and the client.`,
        '',
        `Gateway process memory: VmRSS ${(idle.rss / MiB).toFixed(0)} MiB when idle (after the warm-up), peak during a streaming run ${ms(series['gateway.rss_peak_mib'], 0)}; growth over the idle RSS ${ms(series['gateway.rss_growth_mib'], 1)}; VmHWM ${(idle.hwm / MiB).toFixed(0)} -> ${(after.hwm / MiB).toFixed(0)} MiB over the measured runs.`,
      ].join('\n');
      return {
        parameters: { rounds, sql, rows: data.rows, csvBytes: data.bytes, jsonBytes: bytes },
        series,
        comparisons: [tput, time],
        targets,
        details: { idleRss: idle, after, growthBytes: growth, cpu },
        notes: ['RSS growth is the peak VmRSS during a gateway run minus the VmRSS just before it (sampled every 20 ms), and VmHWM after minus before, whichever is larger.'],
        markdown,
      };
    } finally {
      if (!ctx.smoke) await ctx.stopGateway(gw);
    }
  },
};
