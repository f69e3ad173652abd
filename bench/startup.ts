// Benchmark 4: one Drillbit's own start-up, and what makes it faster.
//
// Variants of the launch.ts command line (the same one the local scheduler uses),
// started one at a time, interleaved round by round so that load from elsewhere hits
// all of them alike. For each start: time to ONLINE in /cluster.json (probed every
// 10 ms), the CPU seconds the JVM used by then (robust against a busy machine) split
// by thread kind (JIT compilers, GC, the rest), the phases drillbit.log shows, the
// first query's latency, and (full mode) a warm query's latency, so a flag that
// starts faster but runs slower shows.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { cdsArchive, CDS_STAMP } from '../src/drill/launch.js';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { parseDrillbitLog, startupPhases, type DirectLaunchOptions } from './lib/direct.js';
import { completed, drillQuery, timedPost } from './lib/http.js';
import { cpuSeconds, jvmThreadCpu } from './lib/machine.js';
import { compare, summarize, type Comparison, type Summary } from './lib/stats.js';
import { trips, MiB } from './lib/data.js';
import { mdTable, ms, ratio } from './lib/report.js';

export interface Variant {
  name: string;
  description: string;
  /** False: measured for reference only (e.g. C1 only: fast start, slow queries). */
  acceptable: boolean;
  launch: DirectLaunchOptions;
  /** Measured only when asked for (BENCH_STARTUP_VARIANTS): explored, nothing to see in every run. */
  extra?: boolean;
}

const swapGc = (gc: string) => (args: string[]) => args.map((a) => (a === '-XX:+UseG1GC' ? gc : a));

export const VARIANTS: Variant[] = [
  { name: 'before', description: 'the command line before this work: no class-data archive, configuration folder first', acceptable: true, launch: { cds: false } },
  { name: 'default', description: 'launch.ts now: the AppCDS archive built by `dromedar drill install`', acceptable: true, launch: {} },
  { name: 'sandbox', description: 'default in the bubblewrap sandbox the local scheduler uses (scheduler.local.sandbox: true)', acceptable: true, launch: { sandbox: true } },
  { name: 'serial-gc', description: 'default + -XX:+UseSerialGC instead of G1', acceptable: true, launch: { transformArgs: swapGc('-XX:+UseSerialGC') } },
  { name: 'parallel-gc', description: 'default + -XX:+UseParallelGC instead of G1', acceptable: true, launch: { transformArgs: swapGc('-XX:+UseParallelGC') } },
  { name: 'no-perfdata', description: 'default + -XX:-UsePerfData (no hsperfdata mmap file)', acceptable: true, launch: { jvmOptions: ['-XX:-UsePerfData'] } },
  { name: 'no-relocation', description: 'default + -XX:ArchiveRelocationMode=0 (map the archive at its own address)', acceptable: true, launch: { jvmOptions: ['-XX:+UnlockDiagnosticVMOptions', '-XX:ArchiveRelocationMode=0'] }, extra: true },
  { name: 'ci-3', description: 'default + -XX:CICompilerCount=3 (one more JIT thread than the 2 of a 2-core machine)', acceptable: true, launch: { jvmOptions: ['-XX:CICompilerCount=3'] } },
  { name: 'c2-only', description: 'default + -XX:-TieredCompilation (interpreter, then C2 only; same peak code)', acceptable: true, launch: { jvmOptions: ['-XX:-TieredCompilation'] } },
  { name: 'lazy-c2', description: 'default + C2 thresholds x4 (-XX:Tier4InvocationThreshold=20000 -XX:Tier4CompileThreshold=60000)', acceptable: true, launch: { jvmOptions: ['-XX:Tier4InvocationThreshold=20000', '-XX:Tier4CompileThreshold=60000'] } },
  { name: 'no-dynamic-udf', description: 'default + drill.exec.udf.disable_dynamic: true (no CREATE FUNCTION USING JAR)', acceptable: true, launch: { extraConf: 'drill.exec.udf.disable_dynamic: true' } },
  { name: 'c1-only', description: 'REFERENCE ONLY, not acceptable: default + -XX:TieredStopAtLevel=1 (C1 code only, slower queries)', acceptable: false, launch: { jvmOptions: ['-XX:TieredStopAtLevel=1'] } },
  { name: 'xshare-off', description: 'REFERENCE ONLY: -Xshare:off (not even the JDK\'s own class-data archive)', acceptable: false, launch: { cds: false, jvmOptions: ['-Xshare:off'] }, extra: true },
];

interface StartSample {
  variant: string;
  round: number;
  onlineMs: number;
  cpuS: number;
  threads: Record<string, number>;
  phases: Record<string, number>;
  drillStartupMs: number | null;
  firstQueryMs: number;
  warmQueryMs: number | null;
  ok: boolean;
}

export const startupBenchmark: Benchmark = {
  name: 'startup',
  title: 'One Drillbit start-up: launch variants (AppCDS, GC, JIT, Drill config), ONLINE time and CPU',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const only = process.env.BENCH_STARTUP_VARIANTS?.split(',');
    const variants = ctx.smoke ? VARIANTS.filter((v) => v.name === 'before' || v.name === 'default' || v.name === 'sandbox') : VARIANTS.filter((v) => (only ? only.includes(v.name) : !v.extra));
    const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_STARTUP_ROUNDS ?? 5);
    const data = await trips(ctx, 'startup', ctx.smoke ? 1 * MiB : 16 * MiB);
    const sql = `SELECT city, COUNT(*) AS n, ROUND(SUM(CAST(fare AS DOUBLE)), 2) AS fare FROM ${data.table} GROUP BY city ORDER BY city`;
    const cluster = await ctx.directCluster();
    const archive = cdsArchive(ctx.runtime);
    const stamp = archive ? JSON.parse(await readFile(join(ctx.runtime.home, CDS_STAMP), 'utf8')) : null;
    if (!archive) ctx.log('startup: no class-data archive for this Drill; run `dromedar drill install` (the "default" variant is then the same as "before")');

    // One unmeasured start warms the page cache (jars, archive) for everybody.
    if (!ctx.smoke) {
      const warm = await cluster.startBit({});
      await warm.stop();
    }
    const samples: StartSample[] = [];
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round: no variant always goes first or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const variant of order) {
        const bit = await cluster.startBit(variant.launch);
        try {
          const timing = bit.timing!;
          const cpuS = cpuSeconds(bit.pid) ?? NaN;
          const threads = jvmThreadCpu(bit.pid);
          const log = await parseDrillbitLog(join(bit.dir, 'log', 'drillbit.log'));
          const phases = startupPhases(log, bit.spawnedAt, bit.spawnedAt + timing.onlineMs);
          const url = `http://127.0.0.1:${bit.httpPort}/query.json`;
          const first = await timedPost(url, drillQuery(sql));
          let ok = completed(first);
          let warmQueryMs: number | null = null;
          if (!ctx.smoke) {
            const warm: number[] = [];
            for (let i = 0; i < 3; i++) {
              const r = await timedPost(url, drillQuery(sql));
              ok &&= completed(r);
              warm.push(r.totalMs);
            }
            warmQueryMs = Math.min(...warm);
          }
          samples.push({ variant: variant.name, round, onlineMs: timing.onlineMs, cpuS, threads, phases, drillStartupMs: timing.drillStartupMs, firstQueryMs: first.totalMs, warmQueryMs, ok });
          ctx.log(`startup: ${variant.name} round ${round + 1}/${rounds}: ONLINE ${timing.onlineMs} ms, ${cpuS} CPU-s, first query ${Math.round(first.totalMs)} ms${warmQueryMs === null ? '' : `, warm ${Math.round(warmQueryMs)} ms`}${ok ? '' : ' (QUERY FAILED)'}`);
        } finally {
          await bit.stop();
        }
      }
    }

    const series: Record<string, Summary> = {};
    const comparisons: Comparison[] = [];
    const of = (v: string) => samples.filter((s) => s.variant === v);
    const base = of('before');
    for (const variant of variants) {
      const s = of(variant.name);
      series[`${variant.name}.online_ms`] = summarize(s.map((x) => x.onlineMs), 'ms');
      series[`${variant.name}.cpu_s`] = summarize(s.map((x) => x.cpuS), 's');
      series[`${variant.name}.first_query_ms`] = summarize(s.map((x) => x.firstQueryMs), 'ms');
      if (!ctx.smoke) series[`${variant.name}.warm_query_ms`] = summarize(s.map((x) => x.warmQueryMs ?? NaN), 'ms');
      if (variant.name === 'before') continue;
      const paired = s.length === base.length;
      comparisons.push(compare(`${variant.name} vs before: time to ONLINE`, { name: 'before', values: base.map((x) => x.onlineMs) }, { name: variant.name, values: s.map((x) => x.onlineMs) }, 'ms', { paired }));
      comparisons.push(compare(`${variant.name} vs before: CPU to ONLINE`, { name: 'before', values: base.map((x) => x.cpuS) }, { name: variant.name, values: s.map((x) => x.cpuS) }, 's', { paired }));
      comparisons.push(compare(`${variant.name} vs before: first query`, { name: 'before', values: base.map((x) => x.firstQueryMs) }, { name: variant.name, values: s.map((x) => x.firstQueryMs) }, 'ms', { paired }));
      if (!ctx.smoke) comparisons.push(compare(`${variant.name} vs before: warm query`, { name: 'before', values: base.map((x) => x.warmQueryMs ?? NaN) }, { name: variant.name, values: s.map((x) => x.warmQueryMs ?? NaN) }, 'ms', { paired }));
      // Flags on top of the archive: against "default", round by round.
      const def = of('default');
      if (variant.name !== 'default' && def.length === s.length && def.length > 0) {
        comparisons.push(compare(`${variant.name} vs default: time to ONLINE`, { name: 'default', values: def.map((x) => x.onlineMs) }, { name: variant.name, values: s.map((x) => x.onlineMs) }, 'ms', { paired: true }));
        comparisons.push(compare(`${variant.name} vs default: CPU to ONLINE`, { name: 'default', values: def.map((x) => x.cpuS) }, { name: variant.name, values: s.map((x) => x.cpuS) }, 's', { paired: true }));
        if (!ctx.smoke) comparisons.push(compare(`${variant.name} vs default: warm query`, { name: 'default', values: def.map((x) => x.warmQueryMs ?? NaN) }, { name: variant.name, values: s.map((x) => x.warmQueryMs ?? NaN) }, 'ms', { paired: true }));
      }
    }
    const phaseMedians: Record<string, Record<string, number>> = {};
    const threadMedians: Record<string, Record<string, number>> = {};
    for (const variant of variants) {
      const s = of(variant.name);
      phaseMedians[variant.name] = medians(s.map((x) => x.phases));
      threadMedians[variant.name] = medians(s.map((x) => x.threads));
    }
    const failed = samples.filter((s) => !s.ok).length;
    const def = comparisons.find((c) => c.name === 'default vs before: time to ONLINE');
    const targets: Target[] = [];
    if (def) targets.push({ name: 'startup: default vs before, time to ONLINE (ratio, lower is better)', value: def.ratio, unit: 'ratio', target: '< 1', met: def.ratio < 1 });
    // The sandbox's cost: the same command line with and without bwrap, round by round.
    const sandboxed = comparisons.find((c) => c.name === 'sandbox vs default: time to ONLINE');
    if (sandboxed) targets.push({ name: 'startup: sandbox vs default, time to ONLINE (ratio)', value: sandboxed.ratio, unit: 'ratio', target: '<= 1.05', met: sandboxed.ratio <= 1.05 });
    targets.push({ name: 'startup: queries failed after start-up', value: failed, unit: 'count', target: '= 0', met: failed === 0 });

    const rows = variants.map((v) => {
      const c = (what: string) => comparisons.find((x) => x.name === `${v.name} vs before: ${what}`);
      const d = (what: string) => comparisons.find((x) => x.name === `${v.name} vs default: ${what}`);
      return [
        v.name + (v.acceptable ? '' : ' (ref.)'),
        ms(series[`${v.name}.online_ms`]!),
        ratio(c('time to ONLINE')),
        `${series[`${v.name}.cpu_s`]!.p50.toFixed(2)} s`,
        ratio(c('CPU to ONLINE')),
        ms(series[`${v.name}.first_query_ms`]!),
        ctx.smoke ? '–' : ms(series[`${v.name}.warm_query_ms`]!),
        ctx.smoke ? '–' : ratio(c('warm query')),
        v.name === 'before' || v.name === 'default' ? '–' : `${ratio(d('CPU to ONLINE'))} / ${ctx.smoke ? '–' : ratio(d('warm query'))}`,
      ];
    });
    const phaseNames = [...new Set(Object.values(phaseMedians).flatMap((p) => Object.keys(p)))];
    const markdown = [
      `Drillbit heap ${ctx.drillMemory.heap}, direct ${ctx.drillMemory.directMemory}; ${rounds} round(s), variants interleaved (order rotated each round); ONLINE probed every 10 ms.`,
      archive ? `Class-data archive: \`${archive}\` (${Math.round((stamp?.bytes ?? 0) / MiB)} MiB, built by \`dromedar drill install\` in ${Math.round((stamp?.buildMs ?? 0) / 1000)} s).` : 'No class-data archive was installed: "default" equals "before".',
      '',
      mdTable(['variant', 'ONLINE p50 (p90, min–max)', 'ratio', 'CPU to ONLINE', 'CPU ratio', 'first query', 'warm query', 'warm ratio', 'vs default: CPU / warm query'], rows),
      '',
      'Medians of the start-up phases (ms; from drillbit.log, each phase ends at its log line):',
      '',
      mdTable(['variant', ...phaseNames], variants.map((v) => [v.name, ...phaseNames.map((p) => String(Math.round(phaseMedians[v.name]![p] ?? NaN)))])),
      '',
      'CPU seconds by JVM thread kind at ONLINE (medians):',
      '',
      mdTable(['variant', 'main+other', 'JIT C1', 'JIT C2', 'GC/VM'], variants.map((v) => { const t = threadMedians[v.name]!; return [v.name, ((t.main ?? 0) + (t.other ?? 0)).toFixed(2), (t['jit-c1'] ?? 0).toFixed(2), (t['jit-c2'] ?? 0).toFixed(2), (t['gc-vm'] ?? 0).toFixed(2)]; })),
    ].join('\n');
    return {
      parameters: { rounds, variants: variants.map(({ name, description, acceptable }) => ({ name, description, acceptable })), heap: ctx.drillMemory, query: sql, archive, archiveStamp: stamp },
      series,
      comparisons,
      targets,
      breakdown: { phases: phaseMedians, threadCpu: threadMedians },
      details: { samples },
      notes: [
        'Ratios are variant p50 / "before" p50 from the same run; pairedRatio summarizes the per-round ratios.',
        'CPU seconds are less sensitive to other load on the machine than wall-clock times.',
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
