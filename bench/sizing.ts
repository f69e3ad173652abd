// Benchmark 5: sizing a query over a directory of 10,000 files (and 100,000), with
// src/sizing's Sizer directly: cold (a new Sizer, its listing cache empty; its SQL
// worker already started; the process's Parquet footer cache warm, as in a gateway
// that has seen the files), cold with footers never read before (a footer cache of
// its own), cold with sizing.measure "files" (no footers: what sizing did before it
// read them), and cached (the same query again). Every file is named .parquet, so
// every one has its footer read (and found not to be Parquet). Baseline, same run:
// the bare file system work, readdirSync + statSync of every file (and, for scale,
// fs.promises readdir + stat with the Sizer's concurrency of 64). CPU time too
// (process.cpuUsage: every thread, the scan worker's included): the machine is shared.
// The files are sparse (sizes, no data): sizing reads metadata only.
import { readdirSync, statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Footers, Sizer } from '../src/sizing/index.js';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { manyFiles } from './lib/data.js';
import { compare, summarize, type Comparison, type Summary } from './lib/stats.js';
import { mdTable, msP99, ratio } from './lib/report.js';

export const sizingBenchmark: Benchmark = {
  name: 'sizing',
  title: 'Sizing: planning a query over 10,000 and 100,000 files, cold and cached',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const sets = ctx.smoke ? [{ name: 'files1k', count: 1_000, coldRuns: 3 }] : [{ name: 'files10k', count: 10_000, coldRuns: 15 }, { name: 'files100k', count: 100_000, coldRuns: 5 }];
    const cachedRuns = ctx.smoke ? 50 : 500;
    const config = ctx.config(ctx.newHome('sizing'));
    const series: Record<string, Summary> = {};
    const comparisons: Comparison[] = [];
    const targets: Target[] = [];
    const rows: string[][] = [];
    const details: Record<string, unknown> = {};
    for (const set of sets) {
      const dir = join(ctx.dataDir, set.name);
      const t0 = performance.now();
      const bytes = await manyFiles(dir, set.count);
      ctx.log(`sizing: ${set.count} files written in ${Math.round(performance.now() - t0)} ms`);
      const sql = `SELECT COUNT(*) FROM dfs.data.\`${set.name}\``;
      const fs: number[] = [];
      const fsCpu: number[] = [];
      const fsAsync: number[] = [];
      const cold: number[] = [];
      const coldCpu: number[] = [];
      const first: number[] = [];
      const footersCold: number[] = [];
      const footersColdCpu: number[] = [];
      const filesMeasure: number[] = [];
      const filesConfig = ctx.config(ctx.newHome('sizing-files'), { sizing: { measure: 'files' } });
      let planned = { bytes: 0, files: 0 };
      // The process's footer cache sees the files once, as a gateway would have.
      const warm = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 });
      await warm.plan(sql);
      await warm.close();
      for (let i = 0; i < set.coldRuns; i++) {
        let c = cpuMs();
        fs.push(syncScan(dir));
        fsCpu.push(cpuMs() - c);
        fsAsync.push(await rawScan(dir));
        // Cold listing, SQL worker already running (a gateway's is, after its first query).
        const sizer = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 });
        await sizer.plan('SELECT * FROM sys.version');
        c = cpuMs();
        let t = performance.now();
        const plan = await sizer.plan(sql);
        cold.push(performance.now() - t);
        coldCpu.push(cpuMs() - c);
        planned = { bytes: plan.bytes, files: plan.targets[0]?.files ?? 0 };
        await sizer.close();
        // Footers never read before: a footer cache of its own.
        const unseen = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 }, { footers: new Footers({ maxBytes: 64 * 2 ** 20 }) });
        await unseen.plan('SELECT * FROM sys.version');
        c = cpuMs();
        t = performance.now();
        await unseen.plan(sql);
        footersCold.push(performance.now() - t);
        footersColdCpu.push(cpuMs() - c);
        await unseen.close();
        // sizing.measure "files": no footers at all.
        const byFiles = new Sizer(filesConfig, { minDrillbits: 1, maxDrillbits: 8 });
        await byFiles.plan('SELECT * FROM sys.version');
        t = performance.now();
        await byFiles.plan(sql);
        filesMeasure.push(performance.now() - t);
        await byFiles.close();
        // The very first plan of a new Sizer: the SQL worker's start-up included (the
        // scan workers are the process's, shared by every Sizer: already running).
        const fresh = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 });
        t = performance.now();
        await fresh.plan(sql);
        first.push(performance.now() - t);
        await fresh.close();
      }
      if (planned.bytes !== bytes || planned.files !== set.count) throw new Error(`sizing ${set.name}: planned ${planned.files} files / ${planned.bytes} bytes, wrote ${set.count} / ${bytes}`);
      const sizer = new Sizer(config, { minDrillbits: 1, maxDrillbits: 8 });
      await sizer.plan(sql);
      const cached: number[] = [];
      const cachedCpuStart = cpuMs();
      for (let i = 0; i < cachedRuns; i++) {
        const t = performance.now();
        await sizer.plan(sql);
        cached.push(performance.now() - t);
      }
      // One plan's CPU is below the clock's resolution: the mean over all of them.
      const cachedCpuMean = (cpuMs() - cachedCpuStart) / cachedRuns;
      await sizer.close();
      const key = set.name;
      series[`${key}.fs_readdir_stat_ms`] = summarize(fs, 'ms');
      series[`${key}.fs_async_readdir_stat_ms`] = summarize(fsAsync, 'ms');
      series[`${key}.fs_readdir_stat_cpu_ms`] = summarize(fsCpu, 'ms');
      series[`${key}.cold_ms`] = summarize(cold, 'ms');
      series[`${key}.cold_cpu_ms`] = summarize(coldCpu, 'ms');
      series[`${key}.first_plan_of_new_sizer_ms`] = summarize(first, 'ms');
      series[`${key}.cached_ms`] = summarize(cached, 'ms');
      series[`${key}.cold_footers_unseen_ms`] = summarize(footersCold, 'ms');
      series[`${key}.cold_footers_unseen_cpu_ms`] = summarize(footersColdCpu, 'ms');
      series[`${key}.cold_measure_files_ms`] = summarize(filesMeasure, 'ms');
      const vsFs = compare(`${set.count} files: cold plan vs readdirSync+statSync`, { name: 'readdirSync+statSync', values: fs }, { name: 'Sizer.plan cold', values: cold }, 'ms', { paired: true });
      const cachedVsCold = compare(`${set.count} files: cached plan vs cold plan`, { name: 'cold', values: cold }, { name: 'cached', values: cached }, 'ms');
      const cpuVsFs = compare(`${set.count} files: cold plan CPU vs readdirSync+statSync CPU`, { name: 'readdirSync+statSync CPU', values: fsCpu }, { name: 'Sizer.plan cold CPU', values: coldCpu }, 'ms', { paired: true });
      const vsFiles = compare(`${set.count} files: cold plan (footers cached) vs cold plan with sizing.measure files`, { name: 'measure files, cold', values: filesMeasure }, { name: 'measure scan, cold', values: cold }, 'ms', { paired: true });
      const unseenVsFiles = compare(`${set.count} files: cold plan, footers never read vs sizing.measure files`, { name: 'measure files, cold', values: filesMeasure }, { name: 'measure scan, footers unseen', values: footersCold }, 'ms', { paired: true });
      const unseenVsFs = compare(`${set.count} files: cold plan, footers never read vs readdirSync+statSync`, { name: 'readdirSync+statSync', values: fs }, { name: 'measure scan, footers unseen', values: footersCold }, 'ms', { paired: true });
      comparisons.push(vsFs, cpuVsFs, cachedVsCold, vsFiles, unseenVsFiles, unseenVsFs);
      if (!ctx.smoke && set.count === 10_000) {
        targets.push({ name: 'sizing 10,000 files: cold plan p50', value: series[`${key}.cold_ms`]!.p50, unit: 'ms', target: '<= 100', met: series[`${key}.cold_ms`]!.p50 <= 100 });
        targets.push({ name: 'sizing 10,000 files: cached plan p50', value: series[`${key}.cached_ms`]!.p50, unit: 'ms', target: '<= 1', met: series[`${key}.cached_ms`]!.p50 <= 1 });
      }
      if (!ctx.smoke && set.count === 100_000) {
        targets.push({ name: 'sizing 100,000 files: cold plan p50 (reported)', value: series[`${key}.cold_ms`]!.p50, unit: 'ms', target: '(report)', met: true });
        targets.push({ name: 'sizing 100,000 files: cached plan p50 (reported)', value: series[`${key}.cached_ms`]!.p50, unit: 'ms', target: '(report)', met: true });
      }
      rows.push(
        [`${set.count.toLocaleString('en')} files: readdirSync + statSync of each (baseline: the bare metadata work)`, msP99(series[`${key}.fs_readdir_stat_ms`], 2), '1'],
        [`${set.count.toLocaleString('en')} files: fs.promises readdir + stat, 64 at a time`, msP99(series[`${key}.fs_async_readdir_stat_ms`], 2), ratio(compare('', { name: '', values: fs }, { name: '', values: fsAsync }, 'ms'))],
        [`${set.count.toLocaleString('en')} files: Sizer.plan, cold (footers cached)`, msP99(series[`${key}.cold_ms`], 2), `${ratio(vsFs)} (vs measure files ${ratio(vsFiles)})`],
        [`${set.count.toLocaleString('en')} files: CPU time, readdirSync + statSync / Sizer.plan cold (all threads)`, `${msP99(series[`${key}.fs_readdir_stat_cpu_ms`], 2)} / ${msP99(series[`${key}.cold_cpu_ms`], 2)}`, ratio(cpuVsFs)],
        [`${set.count.toLocaleString('en')} files: Sizer.plan, cold, sizing.measure "files" (no footers)`, msP99(series[`${key}.cold_measure_files_ms`], 2), ratio(compare('', { name: '', values: fs }, { name: '', values: filesMeasure }, 'ms', { paired: true }))],
        [`${set.count.toLocaleString('en')} files: Sizer.plan, cold, footers never read before`, msP99(series[`${key}.cold_footers_unseen_ms`], 2), `${ratio(unseenVsFs)} (vs measure files ${ratio(unseenVsFiles)})`],
        [`${set.count.toLocaleString('en')} files: CPU time, Sizer.plan cold with footers never read (all threads)`, msP99(series[`${key}.cold_footers_unseen_cpu_ms`], 2), '–'],
        [`${set.count.toLocaleString('en')} files: first plan of a new Sizer (SQL worker start)`, msP99(series[`${key}.first_plan_of_new_sizer_ms`], 2), '–'],
        [`${set.count.toLocaleString('en')} files: Sizer.plan, cached`, msP99(series[`${key}.cached_ms`], 3), `${ratio(cachedVsCold)} of cold`],
        [`${set.count.toLocaleString('en')} files: Sizer.plan, cached, mean CPU time`, `${cachedCpuMean.toFixed(3)} ms`, '–'],
      );
      details[key] = { files: set.count, bytes, cachedCpuMeanMs: cachedCpuMean };
      await rm(dir, { recursive: true, force: true });
    }
    const markdown = [
      `One flat directory each, files of 1–390 KiB (sparse), \`SELECT COUNT(*) FROM dfs.data.\\\`<dir>\\\`\`; cold: ${sets.map((s) => `${s.coldRuns} runs for ${s.count.toLocaleString('en')}`).join(', ')} (a new Sizer each); cached: ${cachedRuns} plans on one Sizer. The OS's own dentry/inode cache is warm for both arms (the files were just written).`,
      '',
      mdTable(['what', 'p50 (p90, p99, min–max)', 'ratio'], rows),
    ].join('\n');
    return { parameters: { sets, cachedRuns }, series, comparisons, targets, details, notes: [], markdown };
  },
};

/** CPU time of the process so far (user + system, every thread), in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** readdirSync + statSync of every entry: the metadata work alone, no event loop. */
function syncScan(dir: string): number {
  const t = performance.now();
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  if (total < 0) throw new Error('unreachable');
  return performance.now() - t;
}

/** readdir + stat of every entry, 64 at a time (the Sizer's file system concurrency). */
async function rawScan(dir: string): Promise<number> {
  const t = performance.now();
  const names = await readdir(dir);
  let next = 0;
  let total = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        total += (await stat(join(dir, name))).size;
      }
    }),
  );
  if (total < 0) throw new Error('unreachable');
  return performance.now() - t;
}
