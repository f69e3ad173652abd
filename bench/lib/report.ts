// summary.md: the machine, the targets, and each benchmark's tables.
import type { BenchResult } from './context.js';
import type { MachineInfo } from './machine.js';
import type { Comparison, Summary } from './stats.js';

export function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** "12.3 ms (p90 15.1, 11.0–20.2)" */
export function ms(s: Summary | undefined, digits = 1): string {
  if (!s || !s.n) return 'n/a';
  const r = (v: number) => v.toFixed(digits);
  return `${r(s.p50)} ${s.unit} (p90 ${r(s.p90)}, ${r(s.min)}–${r(s.max)})`;
}

/** "12.3 ms (p90 15.1, p99 19.9, 11.0–20.2)" */
export function msP99(s: Summary | undefined, digits = 1): string {
  if (!s || !s.n) return 'n/a';
  const r = (v: number) => v.toFixed(digits);
  return `${r(s.p50)} ${s.unit} (p90 ${r(s.p90)}, p99 ${r(s.p99)}, ${r(s.min)}–${r(s.max)})`;
}

export function ratio(c: Comparison | undefined): string {
  if (!c) return '–';
  const paired = c.pairedRatio && c.pairedRatio.n > 1 ? ` (pairs ${c.pairedRatio.min.toFixed(2)}–${c.pairedRatio.max.toFixed(2)})` : '';
  return `${c.ratio.toFixed(3)}${paired}`;
}

export function renderSummary(all: { smoke: boolean; command: string; finishedAt: string; machine: MachineInfo; problems: string[]; results: BenchResult[] }): string {
  const m = all.machine;
  const lines: string[] = [
    `# Dromedar benchmarks${all.smoke ? ' (smoke run: tiny sizes, no thresholds)' : ''}`,
    '',
    '![charts](chart.svg)',
    '',
    `Command: \`${all.command}\`, finished ${all.finishedAt}.`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memTotalGiB} GiB RAM, Linux ${m.kernel}; Node ${m.node}; ${m.java.split(' | ')[0]}.`,
    '',
    '```',
    m.freeG,
    '```',
    '',
    '## Targets',
    '',
    mdTable(
      ['benchmark', 'target', 'measured', 'met'],
      all.results.flatMap((r) => (r.error ? [[r.name, 'benchmark failed', r.error.split('\n')[0]!, 'no']] : r.targets.map((t) => [r.name, `${t.name} ${t.target}`, `${fmtNumber(t.value)} ${t.unit}`, t.met ? 'yes' : 'no']))),
    ),
    '',
  ];
  if (all.problems.length) lines.push('Problems at the end of the run:', '', ...all.problems.map((p) => `- ${p}`), '');
  for (const r of all.results) {
    lines.push(`## ${r.name}: ${r.title}`, '');
    lines.push(`Took ${Math.round(r.durationMs / 1000)} s. Load average ${r.load.loadavgBefore.join('/')} before, ${r.load.loadavgAfter.join('/')} after; all CPUs ${r.load.cpuBusy === null ? '?' : Math.round(r.load.cpuBusy * 100)}% busy meanwhile; ${r.load.foreignJvmsAtStart} other JVM(s) running at the start.`, '');
    if (r.error) {
      lines.push('**Failed:**', '', '```', r.error, '```', '');
      continue;
    }
    lines.push(r.markdown, '');
    if (r.notes.length) lines.push(...r.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n') + '\n';
}

function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toFixed(3);
}
