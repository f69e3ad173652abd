// Benchmark: sizing accuracy. TPC-H generated as Parquet by tpchgen-cli (PyPI) at
// scale factor 1 (0.01 in smoke mode), the 22 queries in Drill's form (bench/tpch/),
// each planned (POST /v1/plan) and run (POST /query) through a real gateway with a
// real Drillbit; the estimate compared with the bytes Drill's profile says it read
// (src/sizing/actual.ts). Baseline, same run: the files' sizes (what sizing counted
// before it read footers: sizing.measure "files"). Targets: every query parsed;
// estimate/actual within 0.8-1.5 for at least 20 of 22; never below 0.8.
import { mkdirSync, readFileSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accuracy } from '../src/sizing/actual.js';
import type { Plan } from '../src/sizing/index.js';
import { drillbitsFor } from '../src/sizing/qsf.js';
import { sleep } from '../src/util/process.js';
import { pythonEnv, run } from '../test/support/python.js';
import type { Benchmark, BenchContext, BenchOutput, Target } from './lib/context.js';
import { getJson, timedPost } from './lib/http.js';
import { mdTable } from './lib/report.js';
import { summarize, type Comparison, compare } from './lib/stats.js';

export const TPCHGEN = 'tpchgen-cli==4.0.0';
const TABLES = ['customer', 'lineitem', 'nation', 'orders', 'part', 'partsupp', 'region', 'supplier'];
const QUERIES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'tpch');
const MiB = 2 ** 20;
const QSF = 100;

interface Row {
  query: string;
  parsed: boolean;
  estimate: number;
  stored: number;
  actual: number | null;
  ratio: number | null;
  storedRatio: number | null;
  comparable: boolean;
  why: string | null;
  drillbits: number;
  drillbitsByFiles: number;
  planMs: number;
  queryMs: number;
  state: string | null;
}

/** TPC-H as Parquet, one folder per table (dfs.tpch.<table>), made once per folder. */
export async function tpch(dir: string, scaleFactor: number, log: (line: string) => void): Promise<void> {
  if (TABLES.every((t) => existsSync(join(dir, t, `${t}.parquet`)))) return;
  const env = await pythonEnv('tpchgen', [TPCHGEN]);
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const result = await run(env.bin('tpchgen-cli'), ['parquet', '-s', String(scaleFactor), '-o', dir, '--overwrite'], { timeoutMs: 900_000 });
  if (result.code !== 0) throw new Error(`tpchgen-cli failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-5).join('\n')}`);
  for (const table of TABLES) {
    mkdirSync(join(dir, table), { recursive: true });
    renameSync(join(dir, `${table}.parquet`), join(dir, table, `${table}.parquet`));
  }
  log(`accuracy: TPC-H SF ${scaleFactor} generated in ${Math.round(performance.now() - t0)} ms`);
}

function sql(name: string): string | null {
  const file = join(QUERIES, name);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

export const accuracyBenchmark: Benchmark = {
  name: 'accuracy',
  title: 'Sizing accuracy: estimate vs the bytes Drill reads, TPC-H as Parquet, 22 queries',
  async run(ctx: BenchContext): Promise<BenchOutput> {
    const scaleFactor = ctx.smoke ? 0.01 : 1;
    const dir = join(ctx.dataDir, `tpch-sf${scaleFactor}`);
    await tpch(dir, scaleFactor, ctx.log);
    mkdirSync(join(ctx.workDir, 'tmp'), { recursive: true });
    const gw = await ctx.startGateway('accuracy', {
      storage: { workspaces: { default: { location: '.' }, data: { location: '.' }, tpch: { location: dir }, tmp: { location: join(ctx.workDir, 'tmp'), writable: true } } },
      sizing: { qsf: QSF },
      pool: { minDrillbits: 1, maxDrillbits: 1, idleTimeoutMs: 600_000, queueTimeoutMs: 300_000 },
    });
    const rows: Row[] = [];
    try {
      await gw.waitOnline(1);
      const queries = readdirSync(QUERIES).filter((f) => /^q\d\d\.sql$/.test(f)).sort();
      for (const file of queries) {
        const name = file.replace(/\.sql$/, '');
        const setup = sql(`${name}.setup.sql`);
        if (setup) await must(gw.url, setup, `${name} setup`);
        try {
          rows.push(await measure(ctx, gw.url, name, sql(file)!));
        } finally {
          const teardown = sql(`${name}.teardown.sql`);
          if (teardown) await must(gw.url, teardown, `${name} teardown`);
        }
        const r = rows[rows.length - 1]!;
        ctx.log(`accuracy: ${name} parsed ${r.parsed} estimate ${mib(r.estimate)} actual ${r.actual === null ? '-' : mib(r.actual)} ratio ${r.ratio?.toFixed(3) ?? '-'} (files ${r.storedRatio?.toFixed(2) ?? '-'})`);
      }
    } finally {
      await ctx.stopGateway(gw);
    }
    return report(ctx, scaleFactor, rows);
  },
};

async function measure(ctx: BenchContext, url: string, name: string, text: string): Promise<Row> {
  const planned = await timedPost(`${url}/v1/plan`, { sql: text }, { keepBody: true });
  if (planned.status !== 200) throw new Error(`${name}: POST /v1/plan ${planned.status}: ${planned.text?.slice(0, 300)}`);
  const plan = JSON.parse(planned.text!) as Plan;
  const ran = await timedPost(`${url}/query`, { sql: text }, { keepBody: false });
  const queryId = ran.headers['dromedar-query-id'];
  if (ran.status !== 200 || !queryId || !/"queryState"\s*:\s*"COMPLETED"/.test(ran.tail)) throw new Error(`${name}: POST /query ${ran.status}, ${ran.tail.slice(-300)}`);
  const profile = await finalProfile(url, queryId);
  const result = accuracy(plan, profile);
  const stored = storedBytes(plan.targets);
  return {
    query: name,
    parsed: plan.parsed,
    estimate: plan.bytes,
    stored,
    actual: result.actual,
    ratio: result.ratio,
    storedRatio: result.actual ? stored / result.actual : null,
    comparable: result.comparable,
    why: result.why,
    drillbits: drillbitsFor(plan.bytes, QSF),
    drillbitsByFiles: drillbitsFor(stored, QSF),
    planMs: planned.totalMs,
    queryMs: ran.totalMs,
    state: result.profile.state,
  };
}

// What the seed counted: every file of every target (views through to theirs).
function storedBytes(targets: Plan['targets']): number {
  return targets.reduce((n, t) => n + (t.view ? storedBytes(t.view.targets as unknown as Plan['targets']) : t.bytesStored), 0);
}

async function must(url: string, text: string, what: string): Promise<void> {
  const r = await timedPost(`${url}/query`, { sql: text }, { keepBody: true });
  if (r.status !== 200 || !/"queryState"\s*:\s*"COMPLETED"/.test(r.text ?? '')) throw new Error(`${what}: ${r.status} ${r.text?.slice(0, 300)}`);
}

// Drill writes the profile as the query ends: wait for its final state.
async function finalProfile(url: string, queryId: string): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const profile = await getJson<{ state?: unknown; end?: unknown }>(`${url}/profiles/${queryId}.json`).catch(() => null);
    if (profile && profile.end && [2, 3, 4, 'COMPLETED', 'FAILED', 'CANCELED'].includes(profile.state as never)) return profile;
    if (Date.now() > deadline) throw new Error(`no final profile for ${queryId}`);
    await sleep(100);
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function report(ctx: BenchContext, scaleFactor: number, rows: Row[]): BenchOutput {
  const ratios = rows.flatMap((r) => (r.ratio === null ? [] : [r.ratio]));
  const storedRatios = rows.flatMap((r) => (r.storedRatio === null ? [] : [r.storedRatio]));
  const within = rows.filter((r) => r.ratio !== null && r.ratio >= 0.8 && r.ratio <= 1.5).length;
  const below = rows.filter((r) => r.ratio !== null && r.ratio < 0.8).length;
  const parsed = rows.filter((r) => r.parsed).length;
  const series = {
    ratio: summarize(ratios, 'ratio'),
    files_ratio: summarize(storedRatios, 'ratio'),
    plan_ms: summarize(rows.map((r) => r.planMs), 'ms'),
    query_ms: summarize(rows.map((r) => r.queryMs), 'ms'),
  };
  const comparisons: Comparison[] = [compare('estimate/actual: footers (scan) vs file sizes (files)', { name: 'sizing.measure files', values: storedRatios }, { name: 'sizing.measure scan', values: ratios }, 'ratio')];
  const targets: Target[] = [
    { name: `TPC-H SF ${scaleFactor}: queries parsed`, value: parsed, unit: `of ${rows.length}`, target: `= ${rows.length}`, met: parsed === rows.length },
    { name: `TPC-H SF ${scaleFactor}: estimate/actual within 0.8-1.5`, value: within, unit: `of ${rows.length}`, target: '>= 20 of 22', met: within >= 20 },
    { name: `TPC-H SF ${scaleFactor}: estimate/actual below 0.8`, value: below, unit: 'queries', target: '= 0', met: below === 0 },
  ];
  const fmt = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));
  const table = mdTable(
    ['query', 'parsed', 'estimate', 'actual (profile)', 'estimate/actual', 'file sizes', 'files/actual', `Drillbits at QSF ${QSF} (files)`],
    rows.map((r) => [r.query, r.parsed ? 'yes' : 'no', mib(r.estimate), r.actual === null ? '–' : mib(r.actual), fmt(r.ratio), mib(r.stored), fmt(r.storedRatio, 2), `${r.drillbits} (${r.drillbitsByFiles})`]),
  );
  const worstLow = ratios.length ? Math.min(...ratios) : NaN;
  const worstHigh = ratios.length ? Math.max(...ratios) : NaN;
  const markdown = [
    `TPC-H SF ${scaleFactor} as Parquet (tpchgen-cli ${TPCHGEN.split('==')[1]}, SNAPPY, one file per table), the 22 queries of bench/tpch/ (Q15 through the view revenue0, created by Drill before the query). Each query planned with POST /v1/plan and run with POST /query through one gateway and one Drillbit; actual = the bytes of the query's Parquet scans in its profile.`,
    '',
    table,
    '',
    `Median estimate/actual ${fmt(series.ratio.p50)} (file sizes: ${fmt(series.files_ratio.p50, 2)}); worst ${fmt(worstLow)} and ${fmt(worstHigh)}; within 0.8–1.5: ${within} of ${rows.length}; below 0.8: ${below}; parsed: ${parsed} of ${rows.length}${parsed < rows.length ? ` (not parsed: ${rows.filter((r) => !r.parsed).map((r) => r.query).join(', ')}: sized from the names in their text)` : ''}.`,
  ].join('\n');
  const notes = rows.filter((r) => !r.comparable).map((r) => `${r.query}: not comparable: ${r.why}`);
  return { parameters: { scaleFactor, qsf: QSF, queries: rows.length }, series, comparisons, targets, details: { rows }, notes, markdown };
}
