// Benchmark 1: what the gateway adds to a small query when the cluster is warm.
//
// One gateway (child process) with one Drillbit held warm (minDrillbits 1). The same
// small query goes, one at a time, directly to that Drillbit's /query.json, through
// the gateway's POST /query and through its POST /query.json, interleaved (the order
// rotates every round: ABC, BCA, CAB, ...) so drift and background load hit all arms
// alike. Latency is request sent -> last byte, on keep-alive connections for all arms.
//
// The gateway's Server-Timing header splits its side (sizing, scale = pool acquire,
// drill = Drill's time to first byte as the gateway sees it). In full mode a profile
// pass follows: in-process timings of the query path's parts (SQL parse in the worker,
// Sizer.plan, PoolManager.acquire/release, scheduler calls per query) and a CPU profile
// of a gateway process under the same load, summarized by package.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolManager } from '../src/pool/pool.js';
import type { Drillbit, Scheduler } from '../src/schedulers/scheduler.js';
import { Sizer } from '../src/sizing/index.js';
import { readReferences, SqlReader } from '../src/sql/index.js';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { startProxy, type GatewayProcess } from './lib/gateway.js';
import { completed, drillQuery, getJson, serverTiming, timedPost, type Timed } from './lib/http.js';
import { compare, summarize, type Comparison, type Summary } from './lib/stats.js';
import { tinyTable } from './lib/data.js';
import { canPin, cpuSeconds, onSeparateCores } from './lib/machine.js';
import { mdTable, msP99, ratio } from './lib/report.js';

type Arm = 'direct' | 'gateway /query' | 'gateway /query.json';
const ARMS: Arm[] = ['direct', 'gateway /query', 'gateway /query.json'];

export const warmOverheadBenchmark: Benchmark = {
  name: 'warm-overhead',
  title: 'Warm overhead: a small query directly against a Drillbit vs through the gateway (interleaved)',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const iterations = ctx.smoke ? 10 : Number(process.env.BENCH_WARM_ITERATIONS ?? 200);
    const warmup = ctx.smoke ? 3 : 30;
    const table = await tinyTable(ctx);
    const sql = `SELECT id, name FROM ${table} WHERE id < 5`;
    const gw = ctx.smoke ? await ctx.sharedGateway() : await ctx.startGateway('warm', { pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000 } });
    try {
      if (!ctx.smoke) await gw.waitOnline(1);
      const bit = await targetBit(gw, sql);
      const directUrl = `http://${bit.address}:${bit.httpPort}/query.json`;
      const send: Record<Arm, () => Promise<Timed>> = {
        direct: () => timedPost(directUrl, drillQuery(sql)),
        'gateway /query': () => timedPost(`${gw.url}/query`, { sql }),
        'gateway /query.json': () => timedPost(`${gw.url}/query.json`, drillQuery(sql)),
      };
      for (let i = 0; i < warmup; i++) for (const arm of ARMS) await expectOk(await send[arm](), arm);
      const lat: Record<Arm, number[]> = { direct: [], 'gateway /query': [], 'gateway /query.json': [] };
      const st: Record<string, number[]> = {};
      for (let i = 0; i < iterations; i++) {
        for (let k = 0; k < ARMS.length; k++) {
          const arm = ARMS[(i + k) % ARMS.length]!;
          const r = await send[arm]();
          await expectOk(r, arm);
          lat[arm].push(r.totalMs);
          if (arm !== 'direct') for (const [name, v] of Object.entries(serverTiming(r.headers['server-timing']))) (st[`${arm} ${name}`] ??= []).push(v);
        }
      }
      const series: Record<string, Summary> = {};
      for (const arm of ARMS) series[`${arm}.latency_ms`] = summarize(lat[arm], 'ms');
      for (const [k, v] of Object.entries(st)) series[`${k}_ms`] = summarize(v, 'ms');
      const comparisons: Comparison[] = [];
      const targets: Target[] = [];
      for (const arm of ['gateway /query', 'gateway /query.json'] as const) {
        const c = compare(`${arm} vs direct: latency`, { name: 'direct', values: lat.direct }, { name: arm, values: lat[arm] }, 'ms', { paired: true, ...(ctx.smoke ? {} : { target: { op: '<=', value: 1.05 } }) });
        comparisons.push(c);
        const added = summarize(lat[arm].map((v, i) => v - lat.direct[i]!), 'ms');
        series[`${arm}.added_ms`] = added;
        if (!ctx.smoke) {
          targets.push({ name: `warm ${arm}: median latency ratio vs direct`, value: c.ratio, unit: 'ratio', target: '<= 1.05', met: c.ratio <= 1.05 });
          targets.push({ name: `warm ${arm}: added median latency`, value: c.deltaP50, unit: 'ms', target: '<= 3', met: c.deltaP50 <= 3 });
          targets.push({ name: `warm ${arm}: added p99 latency (reported)`, value: series[`${arm}.latency_ms`]!.p99 - series['direct.latency_ms']!.p99, unit: 'ms', target: '(report)', met: true });
        }
      }
      // The same two arms with Drill on a core of its own, the gateway and this client on the
      // other: the gateway beside the Drill hosts rather than on them (streaming does the same).
      const drillPid = [...(await gw.drillbitRecords()).values()][0]?.pid;
      let separate: Comparison | null = null;
      if (!ctx.smoke && drillPid !== undefined && canPin()) {
        const pinned = { direct: [] as number[], gateway: [] as number[] };
        await onSeparateCores([drillPid], [gw.pid], async () => {
          for (let i = 0; i < warmup; i++) for (const arm of ['direct', 'gateway /query'] as const) await expectOk(await send[arm](), arm);
          for (let i = 0; i < Math.min(iterations, 150); i++) {
            for (const arm of i % 2 === 0 ? (['direct', 'gateway /query'] as const) : (['gateway /query', 'direct'] as const)) {
              const r = await send[arm]();
              await expectOk(r, arm);
              pinned[arm === 'direct' ? 'direct' : 'gateway'].push(r.totalMs);
            }
          }
        });
        series['separate-cores.direct.latency_ms'] = summarize(pinned.direct, 'ms');
        series['separate-cores.gateway /query.latency_ms'] = summarize(pinned.gateway, 'ms');
        separate = compare('gateway /query vs direct, Drill on its own core: latency', { name: 'direct', values: pinned.direct }, { name: 'gateway /query', values: pinned.gateway }, 'ms', { paired: true });
        comparisons.push(separate);
        targets.push({ name: 'warm gateway /query, Drill on its own core: median latency ratio vs direct', value: separate.ratio, unit: 'ratio', target: '<= 1.05', met: separate.ratio <= 1.05 });
        targets.push({ name: 'warm gateway /query, Drill on its own core: added median latency', value: separate.deltaP50, unit: 'ms', target: '<= 3', met: separate.deltaP50 <= 3 });
      }
      const whatIfs = ctx.smoke ? null : await whatIf(ctx, bit, sql, Math.min(iterations, 150));
      if (whatIfs) {
        Object.assign(series, whatIfs.series);
        comparisons.push(...whatIfs.comparisons);
      }
      const profile = ctx.smoke ? null : await profileQueryPath(ctx, bit, sql);
      const rows = ARMS.map((arm) => [arm, msP99(series[`${arm}.latency_ms`], 2), arm === 'direct' ? '1' : ratio(comparisons.find((c) => c.name.startsWith(arm))), arm === 'direct' ? '–' : `${comparisons.find((c) => c.name.startsWith(arm))!.deltaP50.toFixed(2)} ms`]);
      const stRows = Object.keys(st).map((k) => [k, msP99(series[`${k}_ms`], 3)]);
      const markdown = [
        `Query \`${sql}\` (10-row JSON file; sizing stats it), ${iterations} rounds after ${warmup} warm-up rounds, one request at a time, arms interleaved (order rotated each round), keep-alive connections. Gateway in its own process, one warm Drillbit (heap ${ctx.drillMemory.heap}).`,
        '',
        mdTable(['arm', 'latency p50 (p90, p99, min–max)', 'ratio of medians (paired min–max)', 'added median'], rows),
        '',
        ...(separate
          ? [
              `Drill on a core of its own (taskset: the Drillbit on CPU 0, the gateway and this client on CPU 1), ${series['separate-cores.direct.latency_ms']!.n} more interleaved rounds:`,
              '',
              mdTable(
                ['arm', 'latency p50 (p90, p99, min–max)', 'ratio of medians (paired min–max)', 'added median'],
                [
                  ['direct', msP99(series['separate-cores.direct.latency_ms'], 2), '1', '–'],
                  ['gateway /query', msP99(series['separate-cores.gateway /query.latency_ms'], 2), ratio(separate), `${separate.deltaP50.toFixed(2)} ms`],
                ],
              ),
              '',
            ]
          : []),
        'The gateway\'s own account (Server-Timing; "drill" is Drill\'s time to first byte seen from the gateway):',
        '',
        mdTable(['part', 'p50 (p90, p99, min–max)'], stRows),
        ...(whatIfs ? ['', whatIfs.markdown] : []),
        ...(profile ? ['', profile.markdown] : []),
      ].join('\n');
      return {
        parameters: { iterations, warmup, sql, arms: ARMS },
        series,
        comparisons,
        targets,
        ...(profile ? { breakdown: profile.breakdown } : {}),
        details: { latencies: lat },
        notes: ['Added latency per round is the gateway arm minus the direct arm of the same round; "ratio" is the ratio of medians.'],
        markdown,
      };
    } finally {
      if (!ctx.smoke) await ctx.stopGateway(gw);
    }
  },
};

async function expectOk(r: Timed, arm: string): Promise<void> {
  if (!completed(r)) throw new Error(`${arm}: query failed: ${r.status} ${r.tail}`);
}

/** The Drillbit the gateway sends queries to (the only one, or the first ONLINE). */
async function targetBit(gw: GatewayProcess, sql: string): Promise<{ address: string; httpPort: number }> {
  let view = await gw.cluster();
  if (!view.drillbits.some((b) => b.state === 'ONLINE')) {
    // Smoke mode: the shared gateway may have shrunk; a query brings a Drillbit back.
    await timedPost(`${gw.url}/query`, { sql });
    view = await gw.waitOnline(1);
  }
  const bit = view.drillbits.find((b) => b.state === 'ONLINE')!;
  return { address: bit.address, httpPort: bit.httpPort };
}

// --- what-if: the same Drillbit behind gateways with one cost taken away ---------

async function whatIf(ctx: BenchContext, bit: { address: string; httpPort: number }, sql: string, rounds: number): Promise<{ series: Record<string, Summary>; comparisons: Comparison[]; markdown: string }> {
  const staticBit = (probe: boolean) => JSON.stringify({ host: bit.address, httpPort: bit.httpPort, probe });
  const variants = [
    { name: 'gateway as is (each reconcile asks Drill /cluster.json)', env: { DROMEDAR_BENCH_STATIC_DRILLBIT: staticBit(true) } },
    { name: 'gateway, reconcile without a Drill call', env: { DROMEDAR_BENCH_STATIC_DRILLBIT: staticBit(false) } },
    { name: 'gateway, reconcile without a Drill call, log level warn', env: { DROMEDAR_BENCH_STATIC_DRILLBIT: staticBit(false), DROMEDAR_LOG_LEVEL: 'warn' } },
  ];
  const gateways: GatewayProcess[] = [];
  const proxy = await startProxy(`http://${bit.address}:${bit.httpPort}`, ctx.logFile('proxy'));
  try {
    for (const v of variants) gateways.push(await ctx.startGateway('whatif', { pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000 } }, { env: v.env }));
    const arms: { name: string; send: () => Promise<Timed> }[] = [
      { name: 'direct', send: () => timedPost(`http://${bit.address}:${bit.httpPort}/query.json`, drillQuery(sql)) },
      { name: 'minimal Node pass-through (no sizing, pool, logging)', send: () => timedPost(`${proxy.url}/query.json`, drillQuery(sql)) },
      ...variants.map((v, i) => ({ name: v.name, send: () => timedPost(`${gateways[i]!.url}/query`, { sql }) })),
    ];
    for (let i = 0; i < 20; i++) for (const arm of arms) await expectOk(await arm.send(), arm.name);
    const lat = arms.map(() => [] as number[]);
    for (let i = 0; i < rounds; i++) {
      for (let k = 0; k < arms.length; k++) {
        const j = (i + k) % arms.length;
        const r = await arms[j]!.send();
        await expectOk(r, arms[j]!.name);
        lat[j]!.push(r.totalMs);
      }
    }
    const series: Record<string, Summary> = {};
    const comparisons: Comparison[] = [];
    arms.forEach((arm, j) => (series[`what-if: ${arm.name}.latency_ms`] = summarize(lat[j]!, 'ms')));
    for (let j = 1; j < arms.length; j++) comparisons.push(compare(`what-if: ${arms[j]!.name} vs direct`, { name: 'direct', values: lat[0]! }, { name: arms[j]!.name, values: lat[j]! }, 'ms', { paired: true }));
    const rows = arms.map((arm, j) => {
      const c = comparisons.find((x) => x.name === `what-if: ${arm.name} vs direct`);
      return [arm.name, msP99(series[`what-if: ${arm.name}.latency_ms`], 2), j === 0 ? '1' : ratio(c), j === 0 ? '–' : `${c!.deltaP50.toFixed(2)} ms`];
    });
    const markdown = [
      `What-if (${rounds} more interleaved rounds, same Drillbit for every arm): a minimal Node pass-through (bench/passthrough-proxy.ts) as the cost of any HTTP hop, and gateways whose scheduler is a stand-in for that one Drillbit, with the per-query scheduler call to Drill and the request log taken away one at a time (gateway-process.ts, DROMEDAR_BENCH_STATIC_DRILLBIT):`,
      '',
      mdTable(['arm', 'latency p50 (p90, p99, min–max)', 'ratio of medians (paired min–max)', 'added median'], rows),
    ].join('\n');
    return { series, comparisons, markdown };
  } finally {
    for (const g of gateways) await ctx.stopGateway(g);
    await proxy.stop();
  }
}

// --- profile: what costs what on the query path --------------------------------

async function profileQueryPath(ctx: BenchContext, bit: { address: string; httpPort: number }, sql: string): Promise<{ breakdown: Record<string, unknown>; markdown: string }> {
  const n = 500;
  const time = async (f: () => Promise<unknown>, count = n): Promise<Summary> => {
    for (let i = 0; i < 20; i++) await f();
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await f();
      out.push(performance.now() - t);
    }
    return summarize(out, 'ms');
  };
  const config = ctx.config(ctx.newHome('profile'));
  // 1. SQL: the parse alone on this thread, and the worker round trip the gateway pays.
  const parseOnly = await time(async () => readReferences(sql));
  const reader = new SqlReader();
  const worker = await time(() => reader.read(sql));
  await reader.close();
  // 2. Sizer.plan for the query, listing cache warm (what every gateway query pays).
  const sizer = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 });
  const plan = await time(() => sizer.plan(sql));
  await sizer.close();
  // 3. PoolManager.acquire + release against a scheduler double with one ONLINE Drillbit:
  //    how long, and how many scheduler.list() calls (the local scheduler's list() is an
  //    HTTP GET /cluster.json to a Drillbit) a query causes.
  const drillbit: Drillbit = { id: 'bit-1', host: bit.address, userPort: 0, controlPort: 0, dataPort: 0, httpPort: bit.httpPort, state: 'ONLINE', startedAt: Date.now() };
  let lists = 0;
  const double: Scheduler = {
    kind: 'double',
    capacity: 8,
    start: async () => {},
    list: async () => {
      lists++;
      return [drillbit];
    },
    launch: async () => {},
    stop: async () => {},
  };
  const pool = new PoolManager(double, { minDrillbits: 1, maxDrillbits: 8, idleTimeoutMs: 600_000, startTimeoutMs: 60_000, queueLimit: 100 });
  pool.start();
  await new Promise((r) => setTimeout(r, 50));
  const acquire = await time(async () => (await pool.acquire(1)).release());
  lists = 0;
  const burst = 200;
  for (let i = 0; i < burst; i++) {
    const lease = await pool.acquire(1);
    await new Promise((r) => setTimeout(r, 5)); // a 5 ms query
    lease.release();
  }
  await new Promise((r) => setTimeout(r, 100));
  const listsPerQuery = lists / burst;
  // The same with the local scheduler's cost of list(): one /cluster.json from Drill.
  const clusterJson = await time(() => getJson(`http://${bit.address}:${bit.httpPort}/cluster.json`), 100);
  await pool.stop();

  // 4. A CPU profile of a gateway process under the warm load.
  const cpu = await cpuProfile(ctx, sql);

  const breakdown = {
    sqlParseOnMainThreadMs: parseOnly,
    sqlWorkerRoundTripMs: worker,
    sizerPlanCachedMs: plan,
    poolAcquireReleaseMs: acquire,
    schedulerListCallsPerQuery: listsPerQuery,
    drillClusterJsonMs: clusterJson,
    cpuProfile: cpu,
  };
  const markdown = [
    'Profile of the query path (in-process, 500 calls each after 20 warm-up calls):',
    '',
    mdTable(
      ['part', 'p50 (p90, p99, min–max)'],
      [
        ['SQL parse (node-sql-parser) on the calling thread', msP99(parseOnly, 3)],
        ['SqlReader.read: parse in the worker, with the round trip', msP99(worker, 3)],
        ['Sizer.plan (parse + resolve + cached listing check)', msP99(plan, 3)],
        ['PoolManager.acquire(1) + release (scheduler double)', msP99(acquire, 3)],
        [`Drill GET /cluster.json (what each scheduler.list() of the local scheduler costs Drill)`, msP99(clusterJson, 3)],
      ],
    ),
    '',
    `scheduler.list() calls per query (acquire and release each kick a reconcile pass): ${listsPerQuery.toFixed(2)}.`,
    '',
    cpu.markdown,
  ].join('\n');
  return { breakdown, markdown };
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

async function cpuProfile(ctx: BenchContext, sql: string): Promise<{ processCpuMsPerQuery: number; mainThreadMsPerQuery: number; byPackage: Record<string, number>; topFunctions: { name: string; ms: number }[]; queries: number; markdown: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dromedar-cpuprof-'));
  const gw = await ctx.startGateway('profiled', { pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000 } });
  const queries = 300;
  const file = join(dir, 'gateway.cpuprofile');
  let processCpuS = 0;
  try {
    await gw.waitOnline(1);
    const run = async () => {
      for (let i = 0; i < queries; i++) {
        const r = await timedPost(`${gw.url}/query`, { sql });
        if (!completed(r)) throw new Error(`profiled gateway: query failed ${r.status}`);
      }
    };
    for (let i = 0; i < 50; i++) await timedPost(`${gw.url}/query`, { sql });
    // The whole process's CPU without the profiler (which costs CPU itself), then the profile.
    const cpu0 = cpuSeconds(gw.pid) ?? 0;
    await run();
    processCpuS = (cpuSeconds(gw.pid) ?? 0) - cpu0;
    await gw.ask({ type: 'profile-start' }, 'profile-started');
    await run();
    await gw.ask({ type: 'profile-stop', file }, 'profile-stopped');
  } finally {
    await ctx.stopGateway(gw);
  }
  const byPackage: Record<string, number> = {};
  const byFunction: Record<string, number> = {};
  let totalMs = 0;
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: CpuProfileNode[]; samples: number[]; timeDeltas: number[] };
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i]!)!;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') continue;
    totalMs += dt;
    const pkg = name === '(program)' || name === '(garbage collector)' ? name : packageOf(node.callFrame.url);
    byPackage[pkg] = (byPackage[pkg] ?? 0) + dt;
    const key = `${name} (${pkg})`;
    byFunction[key] = (byFunction[key] ?? 0) + dt;
  }
  await rm(dir, { recursive: true, force: true });
  const sorted = Object.entries(byPackage).sort((a, b) => b[1] - a[1]);
  const top = Object.entries(byFunction).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));
  const perQuery = (v: number) => (v / queries).toFixed(3);
  const markdown = [
    `CPU of a gateway process, warm (after 50 queries): ${((processCpuS * 1000) / queries).toFixed(2)} ms per query for the whole process (all threads: main, SQL worker, GC, libuv; /proc over ${queries} queries); the main thread, profiled over another ${queries} (V8 sampling profiler, 1 ms; the profiler adds some), ${perQuery(totalMs)} ms per query, by package:`,
    '',
    mdTable(['package', 'main-thread CPU ms / query', 'share'], sorted.slice(0, 14).map(([pkg, v]) => [pkg, perQuery(v), `${Math.round((v / totalMs) * 100)}%`])),
    '',
    'Top functions by self time (ms per query):',
    '',
    mdTable(['function (package)', 'self ms / query'], top.map((t) => [t.name, perQuery(t.ms)])),
  ].join('\n');
  return { processCpuMsPerQuery: (processCpuS * 1000) / queries, mainThreadMsPerQuery: totalMs / queries, byPackage, topFunctions: top, queries, markdown };
}

function packageOf(url: string): string {
  if (!url) return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /dist\/(src\/[^/]+|bench)\//.exec(url);
  if (src) return `dromedar ${src[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.split('/').slice(-2).join('/');
}
