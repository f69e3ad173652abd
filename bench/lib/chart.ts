// chart.svg: the results as one self-contained SVG (plain string building, no
// dependencies), one small panel per benchmark present: horizontal bars at the p50
// with whiskers, value labels, a linear (or, for sizing, log) axis with units.
import type { BenchResult } from './context.js';
import type { Summary } from './stats.js';

const W = 900;
const PAD = 16;
const ROW = 22;
const BAR = 14;
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

interface Seg { value: number; color: string; label?: boolean }
interface Cell { segs: Seg[]; whisker?: [number, number]; mark?: number; text: string }
interface Column { title?: string; unit: string; cells: (Cell | undefined)[]; log?: boolean; refs?: { value: number; label: string }[]; textRoom?: number }
interface Panel { title: string; note: string; legend?: [string, string][]; rows: { label: string; heading?: boolean }[]; columns: Column[] }
type Results = Map<string, BenchResult>;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** 4614 -> "4614", 90.3 -> "90.3", 0.835 -> "0.84" */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '?';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return String(Number(v.toPrecision(2)));
}

const ok = (s: Summary | undefined): s is Summary => !!s && s.n > 0 && [s.min, s.p50, s.max].every(Number.isFinite);
const f = (n: number) => (Number.isFinite(n) ? Number(n.toFixed(1)) : 0);
const text = (x: number, y: number, s: string, attrs = '') => `<text x="${f(x)}" y="${f(y)}"${attrs ? ' ' + attrs : ''}>${esc(s)}</text>`;
const rect = (x: number, y: number, w: number, h: number, fill: string, extra = '') => `<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(h)}" fill="${fill}"${extra}/>`;
const line = (x1: number, y1: number, x2: number, y2: number, stroke: string, extra = '') => `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${stroke}"${extra}/>`;

/** A p50 bar with a min–max whisker. */
function p50Cell(s: Summary | undefined, color: string): Cell | undefined {
  return ok(s) ? { segs: [{ value: s.p50, color }], whisker: [s.min, s.max], text: fmt(s.p50) } : undefined;
}

function coldStart(r: Results): Panel | null {
  const res = r.get('cold-start');
  const bd = (res?.breakdown ?? {}) as Record<string, Record<string, number> | undefined>;
  const ns = Object.keys(bd).filter((k) => /^N=\d+$/.test(k));
  if (!res || !ns.length) return null;
  const steps = [...new Set(ns.flatMap((n) => Object.keys(bd[n] ?? {})))];
  const color = (step: string) => PALETTE[steps.indexOf(step) % PALETTE.length]!;
  const cells = ns.map((n): Cell => {
    const segs = steps.map((step) => ({ value: Number(bd[n]?.[step]) || 0, color: color(step), label: true }));
    const ttfb = res.series[`gateway.n${n.slice(2)}.ttfb_ms`];
    return { segs, text: `${fmt(segs.reduce((a, s) => a + s.value, 0))}${ok(ttfb) ? ` (TTFB p50 ${fmt(ttfb.p50)})` : ''}` };
  });
  const direct = res.series['direct.online_ms'];
  const refs = ok(direct) ? [{ value: direct.p50, label: `one Drillbit directly: spawn → ONLINE, p50 ${fmt(direct.p50)} ms` }, { value: direct.p50 * 1.25, label: `target: 1.25 × that = ${fmt(direct.p50 * 1.25)} ms` }] : [];
  return {
    title: 'Cold start: time to first byte with the pool at zero, by step',
    note: 'Stacked steps: median of each step, on the Drillbit that came up last; dashed: one Drillbit started directly, and the target.',
    legend: steps.map((s) => [s, color(s)]),
    rows: ns.map((n) => ({ label: `${n} Drillbit${n === 'N=1' ? '' : 's'}` })),
    columns: [{ unit: 'ms', cells, refs, textRoom: 150 }],
  };
}

function warmOverhead(r: Results): Panel | null {
  const res = r.get('warm-overhead');
  if (!res) return null;
  const keys = Object.keys(res.series).filter((k) => k.endsWith('.latency_ms'));
  const main = keys.filter((k) => !k.startsWith('what-if: '));
  const whatIf = keys.filter((k) => k.startsWith('what-if: '));
  const rows: Panel['rows'] = [];
  const cells: (Cell | undefined)[] = [];
  const add = (k: string, label: string, color: string) => {
    const s = res.series[k];
    if (!ok(s)) return;
    rows.push({ label });
    cells.push({ segs: [{ value: s.p50, color }], whisker: [s.p50, s.p99], mark: s.p90, text: `${fmt(s.p50)} (p90 ${fmt(s.p90)}, p99 ${fmt(s.p99)})` });
  };
  main.forEach((k, i) => add(k, k.slice(0, -'.latency_ms'.length), PALETTE[i % 3]!));
  if (whatIf.length) {
    rows.push({ label: 'what-if arms (own rounds, own direct baseline):', heading: true });
    cells.push(undefined);
    whatIf.forEach((k) => add(k, k.slice('what-if: '.length, -'.latency_ms'.length), k.includes(': direct.') ? PALETTE[0]! : PALETTE[6]!));
  }
  if (!cells.some(Boolean)) return null;
  return { title: 'Warm overhead: latency of a small query on a warm cluster', note: 'Bar: p50; whisker to p99, tick at p90.', rows, columns: [{ unit: 'ms', cells, textRoom: 150 }] };
}

function streaming(r: Results): Panel | null {
  const res = r.get('streaming');
  if (!res) return null;
  const arms: [string, string][] = [['direct', 'direct'], ['gateway', 'gateway'], ['proxy', 'minimal pass-through']];
  const column = (prefix: string, title: string): Column | null => {
    const cells = arms.map(([arm], i) => p50Cell(res.series[`${prefix}${arm}.throughput_mib_s`], PALETTE[i]!));
    return cells.some(Boolean) ? { title, unit: 'MiB/s', cells } : null;
  };
  const columns = [column('', 'all processes sharing the cores'), column('separate-cores.', 'Drill on its own core')].filter((c): c is Column => c !== null);
  const keep = arms.map((_, i) => columns.some((c) => c.cells[i]));
  for (const c of columns) c.cells = c.cells.filter((_, i) => keep[i]);
  if (!columns.length) return null;
  return { title: 'Streaming: throughput of a large result (higher is better)', note: 'Bar: p50; whisker: min–max. Same axis for both.', rows: arms.filter((_, i) => keep[i]).map(([, label]) => ({ label })), columns };
}

function startup(r: Results): Panel | null {
  const res = r.get('startup');
  if (!res) return null;
  const variants = Object.keys(res.series).filter((k) => k.endsWith('.online_ms')).map((k) => k.slice(0, -'.online_ms'.length));
  if (!variants.length) return null;
  return {
    title: 'Startup: one Drillbit, by launch variant (lower is better)',
    note: 'Bar: p50; whisker: min–max.',
    rows: variants.map((label) => ({ label })),
    columns: [
      { title: 'time to ONLINE', unit: 'ms', cells: variants.map((v) => p50Cell(res.series[`${v}.online_ms`], PALETTE[0]!)) },
      { title: 'CPU to ONLINE', unit: 's', cells: variants.map((v) => p50Cell(res.series[`${v}.cpu_s`], PALETTE[1]!)) },
    ],
  };
}

function sizing(r: Results): Panel | null {
  const res = r.get('sizing');
  if (!res) return null;
  const sizes = [...new Set(Object.keys(res.series).map((k) => /^files(\d+k?)\./.exec(k)?.[1]).filter((s): s is string => !!s))];
  const kinds: [string, string][] = [['cold_ms', 'cold plan'], ['fs_readdir_stat_ms', 'baseline: readdir + stat'], ['cached_ms', 'cached plan']];
  const rows: Panel['rows'] = [];
  const cells: (Cell | undefined)[] = [];
  for (const size of sizes) {
    for (const [kind, label] of kinds) {
      const cell = p50Cell(res.series[`files${size}.${kind}`], PALETTE[kinds.findIndex(([k]) => k === kind)]!);
      if (!cell) continue;
      rows.push({ label: `${size.replace(/k$/, ',000')} files: ${label}` });
      cells.push(cell);
    }
  }
  if (!cells.length) return null;
  return { title: 'Sizing: planning over a directory of files (lower is better)', note: 'Bar: p50; whisker: min–max. Log axis.', rows, columns: [{ unit: 'ms', cells, log: true }] };
}

// Estimate/actual per TPC-H query: what sizing counts now (footers) and what file sizes gave.
function accuracy(r: Results): Panel | null {
  const res = r.get('accuracy');
  const rows = ((res?.details as { rows?: Array<{ query: string; ratio: number | null; storedRatio: number | null }> } | undefined)?.rows ?? []).filter((x) => x.ratio !== null);
  if (!res || !rows.length) return null;
  const cell = (v: number | null, color: string): Cell | undefined => (v === null || !Number.isFinite(v) ? undefined : { segs: [{ value: v, color }], text: fmt(v) });
  const refs = [
    { value: 0.8, label: 'target 0.8–1.5' },
    { value: 1.5, label: '' },
  ];
  return {
    title: 'Sizing accuracy: estimate / bytes Drill read, TPC-H as Parquet (1 is exact)',
    note: 'Log axis. Dashed: the target band.',
    rows: rows.map((x) => ({ label: x.query })),
    columns: [
      { title: 'footers (sizing.measure scan)', unit: '×', cells: rows.map((x) => cell(x.ratio, PALETTE[0]!)), log: true, refs },
      { title: 'file sizes (measure files)', unit: '×', cells: rows.map((x) => cell(x.storedRatio, PALETTE[1]!)), log: true, refs },
    ],
  };
}

interface Scale { x: (v: number) => number; ticks: number[] }

function scale(values: number[], width: number, log: boolean): Scale {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const max = Math.max(...positive, 1e-9);
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.max(Math.min(...positive, max), max * 1e-6)));
    const hi = Math.max(10 ** Math.ceil(Math.log10(max)), lo * 10);
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.001 && ticks.length < 12; t *= 10) ticks.push(Number(t.toPrecision(1)));
    return { ticks, x: (v) => ((Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * width };
  }
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => Number((i * step).toPrecision(6)));
  return { ticks, x: (v) => (Math.min(Math.max(v, 0), top) / top) * width };
}

function drawPanel(p: Panel, top: number): { svg: string; height: number } {
  const out: string[] = [`<g transform="translate(0,${f(top)})">`];
  out.push(text(PAD, 14, p.title, 'font-size="14" font-weight="bold"'), text(PAD, 30, p.note, 'fill="#555"'));
  let y = 40;
  if (p.legend?.length) {
    let x = PAD;
    for (const [label, color] of p.legend) {
      const w = 16 + label.length * 6 + 14;
      if (x + w > W - PAD) (x = PAD), (y += 16);
      out.push(rect(x, y, 10, 10, color), text(x + 14, y + 9, label));
      x += w;
    }
    y += 22;
  }
  const labelW = Math.min(340, Math.max(110, ...p.rows.map((r) => r.label.length * 6 + 12)));
  const gap = 28;
  const colW = (W - PAD - labelW - PAD - gap * (p.columns.length - 1)) / p.columns.length;
  const refCount = Math.max(0, ...p.columns.map((c) => c.refs?.length ?? 0));
  const hasTitles = p.columns.some((c) => c.title);
  const rowsTop = y + (hasTitles ? 14 : 0) + refCount * 13;
  const rowsBottom = rowsTop + p.rows.length * ROW;
  p.rows.forEach((r, i) => out.push(text(labelW + PAD - 8, rowsTop + i * ROW + ROW / 2 + 4, r.label, r.heading ? 'text-anchor="end" font-style="italic" fill="#555"' : 'text-anchor="end"')));
  p.columns.forEach((c, ci) => {
    const x0 = PAD + labelW + ci * (colW + gap);
    const plotW = colW - (c.textRoom ?? 60);
    // Columns with the same unit share one axis.
    const values = p.columns.filter((o) => o.unit === c.unit).flatMap((o) => o.cells.flatMap((cell) => (cell ? [cell.segs.reduce((a, s) => a + s.value, 0), ...(cell.whisker ?? []), ...(o.log ? cell.segs.map((s) => s.value) : [])] : [])).concat((o.refs ?? []).map((rf) => rf.value)));
    const sc = scale(values, plotW, !!c.log);
    if (c.title) out.push(text(x0, y + 10, c.title, 'font-weight="bold"'));
    for (const t of sc.ticks) {
      const tx = x0 + sc.x(t);
      out.push(line(tx, rowsTop, tx, rowsBottom, '#e4e4e4'), line(tx, rowsBottom, tx, rowsBottom + 4, '#333'), text(tx, rowsBottom + 15, String(t), 'text-anchor="middle" fill="#333"'));
    }
    out.push(line(x0, rowsBottom, x0 + plotW, rowsBottom, '#333'), text(x0 + plotW / 2, rowsBottom + 29, c.unit + (c.log ? ' (log scale)' : ''), 'text-anchor="middle" fill="#333"'));
    c.cells.forEach((cell, i) => {
      if (!cell) return;
      const cy = rowsTop + i * ROW + ROW / 2;
      let acc = 0;
      for (const s of cell.segs) {
        const a = c.log ? 0 : sc.x(acc);
        const b = sc.x(acc + s.value);
        out.push(rect(x0 + a, cy - BAR / 2, b - a, BAR, s.color));
        if (s.label && b - a > fmt(s.value).length * 6 + 6) out.push(text(x0 + (a + b) / 2, cy + 4, fmt(s.value), 'text-anchor="middle" font-size="10" fill="#111"'));
        acc += s.value;
      }
      let end = sc.x(acc);
      if (cell.whisker) {
        const [w0, w1] = cell.whisker.map(sc.x) as [number, number];
        out.push(line(x0 + w0, cy, x0 + w1, cy, '#222'), line(x0 + w0, cy - 4, x0 + w0, cy + 4, '#222'), line(x0 + w1, cy - 4, x0 + w1, cy + 4, '#222'));
        end = Math.max(end, w1);
      }
      if (cell.mark !== undefined) out.push(line(x0 + sc.x(cell.mark), cy - 6, x0 + sc.x(cell.mark), cy + 6, '#222', ' stroke-width="2"'));
      out.push(text(x0 + end + 5, cy + 4, cell.text, 'fill="#111"'));
    });
    (c.refs ?? []).forEach((rf, i) => {
      const rx = x0 + sc.x(rf.value);
      const ly = rowsTop - 4 - (refCount - 1 - i) * 13;
      out.push(line(rx, ly + 2, rx, rowsBottom, i ? '#c0392b' : '#222', ' stroke-dasharray="5,3" stroke-width="1.5"'));
      out.push(text(rx + (rx > x0 + plotW / 2 ? -4 : 4), ly, rf.label, `${rx > x0 + plotW / 2 ? 'text-anchor="end" ' : ''}fill="${i ? '#c0392b' : '#222'}"`));
    });
  });
  out.push('</g>');
  return { svg: out.join('\n'), height: rowsBottom + 34 };
}

/** One SVG document with a panel per benchmark present (and not failed) in `all.results`. */
export function renderCharts(all: { smoke?: boolean; finishedAt?: string; results: BenchResult[] }): string {
  const byName: Results = new Map(all.results.filter((r) => !r.error && r.series).map((r) => [r.name, r]));
  const panels = [coldStart, warmOverhead, streaming, startup, sizing, accuracy]
    .map((make) => make(byName))
    .map((p) => p && { ...p, columns: p.columns.filter((c) => c.cells.some(Boolean)) })
    .filter((p): p is Panel => p !== null && p.columns.length > 0);
  const parts: string[] = [];
  let y = 44;
  for (const p of panels) {
    const { svg, height } = drawPanel(p, y);
    parts.push(svg, line(PAD, y + height + 10, W - PAD, y + height + 10, '#ccc'));
    y += height + 22;
  }
  if (!panels.length) (parts.push(text(PAD, y + 14, 'No results to chart (no benchmark finished).')), (y += 30));
  const heading = `Dromedar benchmarks${all.smoke ? ' (smoke run: tiny sizes, no thresholds)' : ''}${all.finishedAt ? `, finished ${all.finishedAt}` : ''}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${f(y)}" viewBox="0 0 ${W} ${f(y)}" font-family="sans-serif" font-size="11">`,
    rect(0, 0, W, y, '#fff'),
    text(PAD, 26, heading, 'font-size="16" font-weight="bold"'),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
