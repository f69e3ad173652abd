// `npm run bench` / `node dist/bench/run.js [--smoke] [--only name,...] [--out DIR] [--keep]`
//
// Runs every benchmark (or the named ones) in order and writes, to DIR
// (default bench/results/<timestamp>/ and bench/results/latest/):
//   <name>.json    one benchmark: series (p50/p90/p99/min/max), ratios, targets, breakdown
//   results.json   all of them, with the machine
//   summary.md     the tables
//   chart.svg      the main numbers as bar charts (self-contained SVG, linked from summary.md)
// --smoke: tiny sizes and few repetitions, for CI (bench-smoke.test.ts); no thresholds.
// Every Drillbit, ZooKeeper and gateway process started is stopped at the end.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRuntime } from '../src/drill/install.js';
import { loadConfig } from '../src/config/load.js';
import { BenchContext, DRILL_DIR, type BenchResult, type Benchmark } from './lib/context.js';
import { LoadWatch, machineInfo } from './lib/machine.js';
import { renderSummary } from './lib/report.js';
import { renderCharts } from './lib/chart.js';
import { startupBenchmark } from './startup.js';
import { coldStartBenchmark } from './cold-start.js';
import { warmOverheadBenchmark } from './warm-overhead.js';
import { streamingBenchmark } from './streaming.js';
import { shrinkBenchmark } from './shrink.js';
import { sizingBenchmark } from './sizing.js';
import { accuracyBenchmark } from './accuracy.js';
import { trinoPagingBenchmark } from './trino-paging.js';

// Order matters in smoke mode: the shared gateway's first query (cold start) starts its first Drillbit.
export const BENCHMARKS: Benchmark[] = [startupBenchmark, coldStartBenchmark, warmOverheadBenchmark, streamingBenchmark, trinoPagingBenchmark, shrinkBenchmark, sizingBenchmark, accuracyBenchmark];

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Args {
  smoke: boolean;
  only: string[] | null;
  out: string | null;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { smoke: false, only: null, out: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--smoke') args.smoke = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--out') args.out = argv[++i] ?? null;
    else if (a.startsWith('--out=')) args.out = a.slice(6);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`usage: node dist/bench/run.js [--smoke] [--only ${BENCHMARKS.map((b) => b.name).join(',')}] [--out DIR] [--keep]\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const args = parseArgs(argv);
  const unknown = (args.only ?? []).filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const selected = BENCHMARKS.filter((b) => !args.only || args.only.includes(b.name));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = resolve(args.out ?? join(REPO, 'bench', 'results', `${args.smoke ? 'smoke-' : ''}${stamp}`));
  mkdirSync(outDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'dromedar-bench-'));
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const config = loadConfig({ env: {}, overrides: { home: workDir, drill: { installDir: DRILL_DIR } } });
  const runtime = await resolveRuntime(config);
  const ctx = new BenchContext(args.smoke, outDir, workDir, runtime, log);
  const machine = machineInfo(runtime.java);
  log(`${args.smoke ? 'smoke' : 'full'} run of ${selected.map((b) => b.name).join(', ')}; results in ${outDir}; work folder ${workDir}`);

  const results: BenchResult[] = [];
  let interrupted = false;
  const finish = async (problems: string[]) => {
    const all = { smoke: args.smoke, command: `node dist/bench/run.js ${argv.join(' ')}`.trim(), finishedAt: new Date().toISOString(), machine, problems, results };
    writeFileSync(join(outDir, 'results.json'), JSON.stringify(all, null, 2) + '\n');
    writeFileSync(join(outDir, 'summary.md'), renderSummary(all));
    try {
      writeFileSync(join(outDir, 'chart.svg'), renderCharts(all));
    } catch (err) {
      log(`chart.svg not written: ${(err as Error).stack ?? String(err)}`);
    }
    if (!args.keep) rmSync(workDir, { recursive: true, force: true });
    else log(`work folder kept: ${workDir}`);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping everything started, writing what was measured (again to force)`);
    void ctx
      .close()
      .then((problems) => finish([`interrupted by ${signal}`, ...problems]))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failed = 0;
  try {
    for (const bench of selected) {
      if (interrupted) break;
      log(`== ${bench.name}: ${bench.title}`);
      const watch = new LoadWatch(() => ctx.pids());
      const started = Date.now();
      let result: BenchResult;
      try {
        const output = await bench.run(ctx);
        result = { name: bench.name, title: bench.title, smoke: args.smoke, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, load: watch.finish(), ...output };
      } catch (err) {
        failed++;
        log(`${bench.name} failed: ${(err as Error).stack ?? String(err)}`);
        result = {
          name: bench.name,
          title: bench.title,
          smoke: args.smoke,
          startedAt: new Date(started).toISOString(),
          durationMs: Date.now() - started,
          load: watch.finish(),
          parameters: {},
          series: {},
          comparisons: [],
          targets: [],
          notes: [],
          markdown: '',
          error: (err as Error).stack ?? String(err),
        };
      }
      results.push(result);
      writeFileSync(join(outDir, `${bench.name}.json`), JSON.stringify(result, null, 2) + '\n');
      log(`${bench.name} done in ${Math.round(result.durationMs / 1000)} s${result.error ? ' (FAILED)' : ''}`);
    }
  } finally {
    if (interrupted) await new Promise(() => {}); // the signal handler finishes and exits
    const problems = await ctx.close();
    for (const p of problems) log(p);
    await finish(problems);
    if (!args.out) {
      const latest = join(REPO, 'bench', 'results', args.smoke ? 'latest-smoke' : 'latest');
      rmSync(latest, { recursive: true, force: true });
      cpSync(outDir, latest, { recursive: true });
    }
    log(`summary: ${join(outDir, 'summary.md')}`);
    if (problems.length) failed++;
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
