// The benchmarks in smoke mode (tiny sizes, few repetitions, one shared gateway, at
// most 2 small Drillbits at a time): every benchmark must run and write its JSON with
// the expected fields and sane values. No speed thresholds: a slow machine passes,
// a broken benchmark fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const RUN = fileURLToPath(new URL('../bench/run.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'dromedar-bench-smoke-'));
after(() => rmSync(out, { recursive: true, force: true }));

interface Summary {
  n: number;
  unit: string;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

interface Result {
  name: string;
  smoke: boolean;
  error?: string;
  series: Record<string, Summary>;
  comparisons: { name: string; ratio: number; baselineP50: number; subjectP50: number }[];
  targets: { name: string; value: number; met: boolean }[];
  breakdown?: Record<string, unknown>;
  markdown: string;
}

const EXPECTED: Record<string, string[]> = {
  startup: ['before.online_ms', 'before.cpu_s', 'default.online_ms', 'default.cpu_s', 'default.first_query_ms'],
  'cold-start': ['direct.online_ms', 'direct.first_query_ttfb_ms', 'gateway.n1.ttfb_ms'],
  'warm-overhead': ['direct.latency_ms', 'gateway /query.latency_ms', 'gateway /query.json.latency_ms', 'gateway /query sizing_ms', 'gateway /query drill_ms'],
  streaming: ['direct.throughput_mib_s', 'gateway.throughput_mib_s', 'gateway.rss_peak_mib', 'gateway.rss_growth_mib'],
  'trino-paging': ['paged.total_ms', 'paged.rows_per_s', 'streamed.total_ms', 'gateway.rss_growth_mib'],
  shrink: ['idle_timeout_to_gone_ms', 'drain_to_gone_ms', 'small_query_latency_ms', 'large_query_latency_ms'],
  sizing: ['files1k.fs_readdir_stat_ms', 'files1k.cold_ms', 'files1k.cached_ms', 'files1k.cold_footers_unseen_ms', 'files1k.cold_measure_files_ms'],
  accuracy: ['ratio', 'files_ratio', 'plan_ms', 'query_ms'],
};

// Values that are differences may be negative (RSS growth after a GC, a Drillbit gone a little
// before the moment computed from the client's side); all others must be > 0.
const SERVER_TIMING = /^gateway \/query(\.json)? (sizing|scale|drill)_ms$/;
const SIGNED = new Set(['streamed.rss_growth_mib', 'idle_timeout_to_drain_ms', 'idle_timeout_to_gone_ms', 'gateway.rss_growth_mib', 'gateway /query.added_ms', 'gateway /query.json.added_ms']);

test('every benchmark runs in smoke mode and writes its JSON with sane values', { timeout: 20 * 60_000 }, async () => {
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [RUN, '--smoke', '--out', out], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 0, 'node dist/bench/run.js --smoke exits 0 (see its output above)');

  const all = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { smoke: boolean; problems: string[]; results: Result[]; machine: { nproc: number } };
  assert.equal(all.smoke, true);
  assert.deepEqual(all.problems, [], 'every Drillbit, ZooKeeper and gateway process was stopped');
  assert.ok(all.machine.nproc > 0);
  assert.deepEqual(all.results.map((r) => r.name), Object.keys(EXPECTED));
  const summary = readFileSync(join(out, 'summary.md'), 'utf8');
  assert.ok(summary.includes('![charts](chart.svg)'), 'summary.md links chart.svg');
  const chart = readFileSync(join(out, 'chart.svg'), 'utf8');
  assert.ok(chart.startsWith('<svg') && chart.trimEnd().endsWith('</svg>'), 'chart.svg is an SVG document');
  for (const tag of ['g', 'text']) assert.equal((chart.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length, (chart.match(new RegExp(`</${tag}>`, 'g')) ?? []).length, `chart.svg: every <${tag}> closed`);
  assert.ok(!/NaN|undefined|Infinity/.test(chart), 'chart.svg: no NaN, undefined or Infinity');
  assert.ok((chart.match(/<g /g) ?? []).length >= 5, 'chart.svg: a panel per chartable benchmark');

  for (const [name, keys] of Object.entries(EXPECTED)) {
    const file = join(out, `${name}.json`);
    assert.ok(existsSync(file), `${name}.json written`);
    const r = JSON.parse(readFileSync(file, 'utf8')) as Result;
    assert.equal(r.error, undefined, `${name} ran without error`);
    assert.equal(r.smoke, true);
    for (const key of keys) assert.ok(r.series[key], `${name}: series ${key}`);
    for (const [key, s] of Object.entries(r.series)) {
      if (s.n === 0) continue;
      for (const v of [s.min, s.p50, s.p90, s.p99, s.max]) assert.ok(Number.isFinite(v), `${name} ${key}: finite`);
      assert.ok(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max, `${name} ${key}: min <= p50 <= p90 <= p99 <= max`);
      if (SIGNED.has(key)) continue;
      assert.ok(s.min >= 0, `${name} ${key}: not negative (${s.min} ${s.unit})`);
      // CPU seconds are counted in 10 ms ticks, and Server-Timing parts in 0.1 ms (a warm pool
      // hands out a Drillbit at once: scale;dur=0.0): those may round to zero.
      if (!key.includes('cpu_s') && !SERVER_TIMING.test(key)) assert.ok(s.p50 > 0, `${name} ${key}: positive (${s.p50} ${s.unit})`);
    }
    for (const key of keys) assert.ok(r.series[key]!.n > 0, `${name}: ${key} has measurements`);
    assert.ok(r.comparisons.length > 0, `${name}: at least one ratio against a baseline`);
    for (const c of r.comparisons) assert.ok(Number.isFinite(c.ratio) && c.ratio > 0, `${name} "${c.name}": ratio ${c.ratio} is finite and positive`);
    for (const t of r.targets) assert.ok(Number.isFinite(t.value), `${name} target "${t.name}": value is a number`);
    assert.ok(r.markdown.length > 0 && summary.includes(`## ${name}:`), `${name}: in summary.md`);
  }

  const cold = JSON.parse(readFileSync(join(out, 'cold-start.json'), 'utf8')) as Result;
  const steps = (cold.breakdown as Record<string, Record<string, number>>)['N=1']!;
  for (const step of ['JVM start to first log line', 'Drill start-up (log)', 'first query on the new Drillbit(s)']) assert.ok(steps[step]! > 0, `cold start breakdown: ${step}`);
  // Accuracy: every TPC-H query planned and run, with an estimate and Drill's bytes (no thresholds).
  const accuracy = JSON.parse(readFileSync(join(out, 'accuracy.json'), 'utf8')) as Result & { details: { rows: Array<{ query: string; estimate: number; actual: number | null; ratio: number | null; state: string }> } };
  assert.equal(accuracy.details.rows.length, 22, 'the 22 TPC-H queries');
  for (const row of accuracy.details.rows) {
    assert.equal(row.state, 'COMPLETED', `${row.query} ran`);
    assert.ok(row.estimate > 0 && row.actual !== null && row.actual > 0, `${row.query}: an estimate (${row.estimate}) and Drill's bytes (${row.actual})`);
  }
  assert.ok(accuracy.targets.some((t) => t.name.includes('within 0.8-1.5')), 'accuracy reports its targets');
  const shrink = JSON.parse(readFileSync(join(out, 'shrink.json'), 'utf8')) as Result;
  assert.ok(shrink.targets.some((t) => t.name === 'shrink: failed queries'), 'shrink reports its failed queries');
});
