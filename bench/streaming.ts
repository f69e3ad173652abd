// Benchmark 2: a large result (millions of rows, hundreds of MB of JSON) directly
// from a Drillbit vs through the gateway, read as fast as the client can.
// Throughput = bytes / (request sent -> last byte). The gateway runs in its own
// process; its VmRSS is sampled every 20 ms during each of its runs (and VmHWM read
// before and after), so its memory growth is its own.
import { availableParallelism as nproc } from 'node:os';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { startProxy } from './lib/gateway.js';
import { completed, drillQuery, timedPost, type Timed } from './lib/http.js';
import { canPin, cpuSeconds, memoryOf, onSeparateCores, RssSampler } from './lib/machine.js';
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
      // A minimal Node pass-through (no sizing, pool or logging) as the yardstick of any hop.
      const proxy = await startProxy(`http://${bit.address}:${bit.httpPort}`, ctx.logFile('proxy'));
      try {
        const viaProxy = () => timedPost(`${proxy.url}/query.json`, drillQuery(sql));
        type Arm = 'direct' | 'gateway' | 'proxy';
        const arms: Arm[] = ['direct', 'gateway', 'proxy'];
        const send: Record<Arm, () => Promise<Timed>> = { direct, gateway: viaGateway, proxy: viaProxy };
        const hopPid: Record<Arm, number | null> = { direct: null, gateway: gw.pid, proxy: proxy.pid };
        // Warm-up, one each: JIT in Drill, the gateway and the proxy; page cache for the data.
        for (const arm of arms) check(await send[arm](), arm);
        const idle = memoryOf(gw.pid)!;
        const results: Record<Arm, Timed[]> = { direct: [], gateway: [], proxy: [] };
        // CPU seconds per run: the Drillbit, the hop (gateway or proxy process) and this client.
        const drillPid = [...(await gw.drillbitRecords()).values()].find((r) => r.id === bit.id)?.pid ?? null;
        type Cpu = { drill: number; hop: number; client: number };
        const cpu: Record<Arm, Cpu[]> = { direct: [], gateway: [], proxy: [] };
        const cpuNow = (arm: Arm): Cpu => {
          const me = process.cpuUsage();
          const hop = hopPid[arm];
          return { drill: drillPid ? (cpuSeconds(drillPid) ?? NaN) : NaN, hop: hop === null ? 0 : (cpuSeconds(hop) ?? NaN), client: (me.user + me.system) / 1e6 };
        };
        const growth: number[] = [];
        const peaks: number[] = [];
        for (let round = 0; round < rounds; round++) {
          for (let k = 0; k < arms.length; k++) {
            const arm = arms[(round + k) % arms.length]!;
            const c0 = cpuNow(arm);
            const before = memoryOf(gw.pid)!;
            const sampler = arm === 'gateway' ? new RssSampler(gw.pid, 20).start() : null;
            const r = await send[arm]();
            const c1 = cpuNow(arm);
            check(r, arm);
            results[arm].push(r);
            if (sampler) {
              const { peak } = sampler.stop();
              growth.push(peak - before.rss);
              peaks.push(peak);
            }
            cpu[arm].push({ drill: c1.drill - c0.drill, hop: c1.hop - c0.hop, client: c1.client - c0.client });
            ctx.log(`streaming: ${arm} round ${round + 1}: ${(r.bytes / MiB).toFixed(0)} MiB in ${Math.round(r.totalMs)} ms = ${(r.bytes / MiB / (r.totalMs / 1000)).toFixed(1)} MiB/s`);
          }
        }
        const after = memoryOf(gw.pid)!;
        const bytes = results.direct[0]!.bytes;
        const mibps = (r: Timed) => r.bytes / MiB / (r.totalMs / 1000);
        // The same arms with Drill on a core of its own and every hop and this client on
        // the other: how a deployment sees it, with the gateway beside the Drill hosts
        // rather than on them. On shared cores each CPU-second a hop spends is Drill's.
        const separate = !ctx.smoke && drillPid !== null && canPin() ? await separateCores(ctx, rounds, arms, send, check, drillPid, [gw.pid, proxy.pid]) : null;
        const series: Record<string, Summary> = {};
        for (const arm of arms) {
          series[`${arm}.throughput_mib_s`] = summarize(results[arm].map(mibps), 'MiB/s');
          series[`${arm}.total_ms`] = summarize(results[arm].map((r) => r.totalMs), 'ms');
          series[`${arm}.ttfb_ms`] = summarize(results[arm].map((r) => r.ttfbMs), 'ms');
          for (const who of arm === 'direct' ? (['drill', 'client'] as const) : (['drill', 'hop', 'client'] as const)) series[`${arm}.cpu_s_per_gib.${who}`] = summarize(cpu[arm].map((c, i) => c[who] / (results[arm][i]!.bytes / 2 ** 30)), 's/GiB');
        }
        series['gateway.rss_growth_mib'] = summarize(growth.map((g) => g / MiB), 'MiB');
        series['gateway.rss_peak_mib'] = summarize(peaks.map((g) => g / MiB), 'MiB');
        const cpuRow = (arm: Arm) => `${arm}: Drill ${series[`${arm}.cpu_s_per_gib.drill`]!.p50.toFixed(1)}${arm === 'direct' ? '' : `, ${arm} process ${series[`${arm}.cpu_s_per_gib.hop`]!.p50.toFixed(1)}`}, client ${series[`${arm}.cpu_s_per_gib.client`]!.p50.toFixed(1)}`;
        const tput = compare('gateway vs direct: throughput', { name: 'direct', values: results.direct.map(mibps) }, { name: 'gateway', values: results.gateway.map(mibps) }, 'MiB/s', { paired: true, ...(ctx.smoke ? {} : { target: { op: '>=', value: 0.95 } }) });
        const time = compare('gateway vs direct: time to last byte', { name: 'direct', values: results.direct.map((r) => r.totalMs) }, { name: 'gateway', values: results.gateway.map((r) => r.totalMs) }, 'ms', { paired: true });
        const proxyTput = compare('minimal pass-through vs direct: throughput', { name: 'direct', values: results.direct.map(mibps) }, { name: 'pass-through', values: results.proxy.map(mibps) }, 'MiB/s', { paired: true });
        const gwVsProxy = compare('gateway vs minimal pass-through: throughput', { name: 'pass-through', values: results.proxy.map(mibps) }, { name: 'gateway', values: results.gateway.map(mibps) }, 'MiB/s', { paired: true });
        const separateTput = separate && compare('gateway vs direct, Drill on its own core: throughput', { name: 'direct', values: separate.direct.map(mibps) }, { name: 'gateway', values: separate.gateway.map(mibps) }, 'MiB/s', { paired: true });
        const separateProxy = separate && compare('minimal pass-through vs direct, Drill on its own core: throughput', { name: 'direct', values: separate.direct.map(mibps) }, { name: 'pass-through', values: separate.proxy.map(mibps) }, 'MiB/s', { paired: true });
        if (separate) for (const arm of arms) series[`separate-cores.${arm}.throughput_mib_s`] = summarize(separate[arm].map(mibps), 'MiB/s');
        const maxGrowth = Math.max(...growth, after.hwm - idle.hwm) / MiB;
        const sameBytes = arms.every((arm) => results[arm].every((r) => Math.abs(r.bytes - bytes) < 64));
        const targets: Target[] = ctx.smoke
          ? []
          : [
              { name: 'streaming: throughput ratio gateway/direct', value: tput.ratio, unit: 'ratio', target: '>= 0.95', met: tput.ratio >= 0.95 },
              { name: 'streaming: gateway peak RSS growth', value: maxGrowth, unit: 'MiB', target: '<= 64', met: maxGrowth <= 64 },
            ];
        if (separateTput) targets.push({ name: 'streaming: throughput ratio gateway/direct, Drill on its own core', value: separateTput.ratio, unit: 'ratio', target: '>= 0.95', met: separateTput.ratio >= 0.95 });
        targets.push({ name: 'streaming: same bytes directly, through the gateway and the pass-through', value: sameBytes ? 1 : 0, unit: 'bool', target: '= 1', met: sameBytes });
        const markdown = [
          `\`${sql}\`: ${data.rows.toLocaleString('en')} rows (${(data.bytes / MiB).toFixed(0)} MiB of CSV) = ${(bytes / MiB).toFixed(0)} MiB of JSON per answer. ${rounds} round(s) per arm after one warm-up each, interleaved (order rotated each round); the client reads as fast as it can.`,
          '',
          mdTable(
            ['arm', 'throughput p50 (p90, min–max)', 'time to last byte', 'time to first byte', 'ratio vs direct'],
            [
              ['direct (Drillbit /query.json)', ms(series['direct.throughput_mib_s']), ms(series['direct.total_ms'], 0), ms(series['direct.ttfb_ms']), '1'],
              ['gateway (POST /query)', ms(series['gateway.throughput_mib_s']), ms(series['gateway.total_ms'], 0), ms(series['gateway.ttfb_ms']), ratio(tput)],
              ['minimal Node pass-through (yardstick)', ms(series['proxy.throughput_mib_s']), ms(series['proxy.total_ms'], 0), ms(series['proxy.ttfb_ms']), ratio(proxyTput)],
            ],
          ),
          '',
          ...(separate && separateTput && separateProxy
            ? [
                `Drill on a core of its own (taskset: the Drillbit on CPU 0; the gateway, the pass-through and this client on CPU 1), ${rounds} more round(s) per arm:`,
                '',
                mdTable(
                  ['arm', 'throughput p50 (p90, min–max)', 'ratio vs direct'],
                  [
                    ['direct', ms(series['separate-cores.direct.throughput_mib_s']), '1'],
                    ['gateway', ms(series['separate-cores.gateway.throughput_mib_s']), ratio(separateTput)],
                    ['minimal Node pass-through', ms(series['separate-cores.proxy.throughput_mib_s']), ratio(separateProxy)],
                  ],
                ),
                '',
              ]
            : []),
          `Gateway vs the minimal pass-through: ${ratio(gwVsProxy)}. CPU-seconds per GiB streamed (medians): ${cpuRow('direct')}; ${cpuRow('gateway')}; ${cpuRow('proxy')}. On ${nproc()} cores, every CPU-second a hop spends is taken from Drill and the client.`,
          '',
          `Gateway process memory: VmRSS ${(idle.rss / MiB).toFixed(0)} MiB when idle (after the warm-up), peak during a streaming run ${ms(series['gateway.rss_peak_mib'], 0)}; growth over the idle RSS ${ms(series['gateway.rss_growth_mib'], 1)}; VmHWM ${(idle.hwm / MiB).toFixed(0)} -> ${(after.hwm / MiB).toFixed(0)} MiB over the measured runs.`,
        ].join('\n');
        return {
          parameters: { rounds, sql, rows: data.rows, csvBytes: data.bytes, jsonBytes: bytes },
          series,
          comparisons: [tput, time, proxyTput, gwVsProxy, ...(separateTput && separateProxy ? [separateTput, separateProxy] : [])],
          targets,
          details: { idleRss: idle, after, growthBytes: growth, cpu },
          notes: ['RSS growth is the peak VmRSS during a gateway run minus the VmRSS just before it (sampled every 20 ms), and VmHWM after minus before, whichever is larger.'],
          markdown,
        };
      } finally {
        await proxy.stop();
      }
    } finally {
      if (!ctx.smoke) await ctx.stopGateway(gw);
    }
  },
};

async function separateCores<Arm extends string>(
  ctx: BenchContext,
  rounds: number,
  arms: Arm[],
  send: Record<Arm, () => Promise<Timed>>,
  check: (r: Timed, arm: string) => void,
  drillPid: number,
  hops: number[],
): Promise<Record<Arm, Timed[]>> {
  const results = Object.fromEntries(arms.map((arm) => [arm, [] as Timed[]])) as Record<Arm, Timed[]>;
  await onSeparateCores([drillPid], hops, async () => {
    for (const arm of arms) check(await send[arm](), arm);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < arms.length; k++) {
        const arm = arms[(round + k) % arms.length]!;
        const r = await send[arm]();
        check(r, arm);
        results[arm].push(r);
        ctx.log(`streaming, Drill on its own core: ${arm} round ${round + 1}: ${(r.bytes / MiB / (r.totalMs / 1000)).toFixed(1)} MiB/s`);
      }
    }
  });
  return results;
}
