// The bytes Drill reads of a Parquet table, from the footers of its files: the
// compressed column chunks of the columns the query reads, in the row groups that
// Drill's filter pushdown keeps. What Drill does (drill-1.22.0, exec/java-exec
// .../store/parquet and .../expr):
// - ParquetRecordReader reads, per row group, every page of each projected column's
//   chunk: the chunk's compressed size is what it reads from disk (its
//   PARQUET_ROW_GROUP_SCAN metrics count exactly the compressed page bytes; the
//   chunk size adds the page headers, a few hundred bytes).
// - AbstractParquetGroupScan.applyFilter evaluates the filter on each row group's
//   min/max (ComparisonPredicate): a row group is dropped when a conjunct cannot
//   hold for any value in [min, max], or when the column is all nulls; statistics
//   that are missing keep it. When every row group is dropped, the first is kept
//   (for the schema), and pruned again when the scan runs (ROWGROUPS_PRUNED): no
//   bytes are read. At or above planner.store.parquet.rowgroup.filter.pushdown.threshold
//   (10,000) row groups nothing is pruned at planning.
// - Empty row groups are skipped (FileMetadataCollector, DRILL-5009).
// Only comparisons certain to decide as Drill does prune here; anything in doubt
// (other types, float rounding, casts) keeps the row group: over-estimating is safe.
import type { ColumnFilter, ColumnUse, Literal } from '../sql/types.js';
import type { ChunkStats, Footer, Leaf } from './footer.js';

export const PUSHDOWN_THRESHOLD = 10_000;
const DAY_MS = 86_400_000;

export interface ParquetFile {
  path: string;
  footer: Footer;
}

export interface ParquetCount {
  bytes: number;
  rowGroups: { kept: number; total: number };
  /** The leaf columns counted (dotted paths), in schema order of the first file that has them. */
  columns: string[];
  /** The comparisons that pruned at least one row group. */
  pruned: string[];
  /** Why filters did not prune although there were some. */
  unpruned: string | null;
  /** Every row group was pruned: Drill plans one (for the schema) and reads none. */
  allPruned: boolean;
}

/** Counts the bytes read of Parquet files (`files` in Drill's order: by path). */
export function countParquet(files: ParquetFile[], use: ColumnUse, filters: ColumnFilter[]): ParquetCount {
  const columns = new Set<string>();
  const groups: Array<{ file: ParquetFile; index: number; selected: number[] }> = [];
  for (const file of files) {
    const selected = file.footer.leaves.flatMap((leaf, i) => (reads(use, leaf) ? [i] : []));
    for (const i of selected) columns.add(file.footer.leaves[i]!.path.join('.'));
    file.footer.rowGroups.forEach((group, index) => {
      if (group.rows > 0) groups.push({ file, index, selected });
    });
  }
  const total = groups.length;
  let kept = groups;
  const pruned = new Set<string>();
  let unpruned: string | null = null;
  if (filters.length > 0 && total >= PUSHDOWN_THRESHOLD) {
    unpruned = `${total} row groups: at or over Drill's planner.store.parquet.rowgroup.filter.pushdown.threshold (${PUSHDOWN_THRESHOLD}), nothing is pruned at planning`;
  } else if (filters.length > 0) {
    kept = groups.filter(({ file, index }) => {
      for (const filter of filters) {
        if (!mayMatch(file.footer, index, filter)) {
          pruned.add(describe(filter));
          return false;
        }
      }
      return true;
    });
    // Drill keeps one for the schema, and its run-time pruning drops it again: nothing is read.
    if (kept.length === 0 && total > 0) {
      return { bytes: 0, rowGroups: { kept: 1, total }, columns: [...columns], pruned: [...pruned], unpruned, allPruned: true };
    }
  }
  let bytes = 0;
  for (const { file, index, selected } of kept) {
    const sizes = file.footer.rowGroups[index]!.bytes;
    for (const i of selected) bytes += sizes[i]!;
  }
  return { bytes, rowGroups: { kept: kept.length, total }, columns: [...columns], pruned: [...pruned], unpruned, allPruned: false };
}

// A column path read covers the leaves below it (m: m.x and m.y), and a leaf covers deeper paths.
function reads(use: ColumnUse, leaf: Leaf): boolean {
  if (use.all) return true;
  return use.paths.some((path) => {
    const n = Math.min(path.length, leaf.path.length);
    for (let i = 0; i < n; i++) if (path[i] !== leaf.path[i]) return false;
    return true;
  });
}

export function describe(filter: ColumnFilter): string {
  const text = filter.values.map((v) => (v.kind === 'number' ? v.text : v.kind === 'date' ? `DATE '${v.value}'` : `'${v.value.replaceAll("'", "''")}'`));
  return filter.op === 'in' ? `${filter.column} IN (${text.join(', ')})` : `${filter.column} ${filter.op} ${text[0]}`;
}

/** Whether a row group may hold a row for which `filter` holds (false only when certain it holds for none). */
export function mayMatch(footer: Footer, group: number, filter: ColumnFilter): boolean {
  const leaf = footer.leaves.findIndex((l) => l.path.length === 1 && l.path[0] === filter.column);
  if (leaf < 0) return true;
  const { kind } = footer.leaves[leaf]!;
  const rows = footer.rowGroups[group]!.rows;
  const stats = footer.rowGroups[group]!.stats[leaf];
  if (!stats) return true;
  // ComparisonPredicate: a column of nulls only matches no comparison.
  if (stats.nulls !== null && rows > 0 && stats.nulls === rows) return false;
  if (stats.min === null || stats.max === null) return true;
  return filter.values.some((value) => mayMatchOne(kind, stats, filter.op, value)) || filter.values.length === 0;
}

function mayMatchOne(kind: Leaf['kind'], stats: ChunkStats, op: ColumnFilter['op'], value: Literal): boolean {
  const vsMin = compare(kind, stats.min!, value);
  const vsMax = compare(kind, stats.max!, value);
  // null: cannot tell (another type, rounding): keep.
  if (vsMin === null || vsMax === null) return true;
  switch (op) {
    case '=':
    case 'in':
      return vsMin <= 0 && vsMax >= 0;
    case '<':
      return vsMin < 0;
    case '<=':
      return vsMin <= 0;
    case '>':
      return vsMax > 0;
    case '>=':
      return vsMax >= 0;
  }
}

/** Sign of (statistic - literal), or null when the two do not compare certainly as Drill compares them. */
export function compare(kind: Leaf['kind'], stat: bigint | number | string, literal: Literal): -1 | 0 | 1 | null {
  if (kind === 'string') {
    if (literal.kind !== 'string' || typeof stat !== 'string') return null;
    // Drill compares VARCHAR statistics as unsigned bytes of UTF-8.
    return sign(Buffer.compare(Buffer.from(stat, 'utf8'), Buffer.from(literal.value, 'utf8')));
  }
  if (kind === 'date') {
    if (literal.kind !== 'date' || typeof stat !== 'number') return null;
    const days = Date.parse(`${literal.value}T00:00:00Z`) / DAY_MS;
    return Number.isInteger(days) ? sign(stat - days) : null;
  }
  if (literal.kind !== 'number') return null;
  if (kind === 'int' && /^[+-]?\d+$/.test(literal.text)) {
    const big = BigInt(literal.text);
    const s = typeof stat === 'bigint' ? stat : Number.isInteger(stat) ? BigInt(stat) : null;
    return s === null ? null : s < big ? -1 : s > big ? 1 : 0;
  }
  if (kind === 'int' || kind === 'double' || kind === 'decimal') {
    const a = Number(stat);
    const b = Number(literal.text);
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    // Decimals arrive as doubles (unscaled / 10^scale): within rounding, say nothing.
    if (Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) return a === b && kind === 'int' ? 0 : null;
    return a < b ? -1 : 1;
  }
  return null;
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
