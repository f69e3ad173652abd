// Medians and spread of repeated measurements, and ratios against a baseline
// measured in the same run.

export interface Summary {
  n: number;
  unit: string;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  stdev: number;
}

/** Linear interpolation between closest ranks (R's type 7, numpy's default). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarize(values: readonly number[], unit: string): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n ? sorted.reduce((s, v) => s + v, 0) / n : NaN;
  const variance = n > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return {
    n,
    unit,
    min: n ? sorted[0]! : NaN,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: n ? sorted[n - 1]! : NaN,
    mean,
    stdev: Math.sqrt(variance),
  };
}

export interface Comparison {
  name: string;
  baseline: string;
  subject: string;
  unit: string;
  baselineP50: number;
  subjectP50: number;
  /** subject p50 / baseline p50. */
  ratio: number;
  /** subject p50 - baseline p50 (in `unit`). */
  deltaP50: number;
  /** Ratios of the pairs measured next to each other (interleaved runs), when there are pairs. */
  pairedRatio?: Summary;
  /** What the ratio should be, e.g. "<= 1.05"; absent when the benchmark sets no target. */
  target?: string;
  /** Whether the target is met (null when there is no target). */
  met: boolean | null;
}

export function compare(
  name: string,
  baseline: { name: string; values: readonly number[] },
  subject: { name: string; values: readonly number[] },
  unit: string,
  options: { target?: { op: '<=' | '>='; value: number }; paired?: boolean } = {},
): Comparison {
  const b = summarize(baseline.values, unit);
  const s = summarize(subject.values, unit);
  const ratio = s.p50 / b.p50;
  const out: Comparison = {
    name,
    baseline: baseline.name,
    subject: subject.name,
    unit,
    baselineP50: b.p50,
    subjectP50: s.p50,
    ratio,
    deltaP50: s.p50 - b.p50,
    met: null,
  };
  if (options.paired && baseline.values.length === subject.values.length && baseline.values.length > 0) {
    out.pairedRatio = summarize(
      subject.values.map((v, i) => v / baseline.values[i]!),
      'ratio',
    );
  }
  if (options.target) {
    out.target = `${options.target.op} ${options.target.value}`;
    out.met = options.target.op === '<=' ? ratio <= options.target.value : ratio >= options.target.value;
  }
  return out;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A compact "p50 (p90/p99, min–max)" string for tables. */
export function fmt(s: Summary, digits = 1): string {
  const r = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  return `${r(s.p50)} (p90 ${r(s.p90)}, p99 ${r(s.p99)}, ${r(s.min)}–${r(s.max)}) ${s.unit} n=${s.n}`;
}

export function shuffleRotation<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
