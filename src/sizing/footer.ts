// A Parquet file's footer, read with synchronous calls in a scan worker (workers.ts):
// the last 8 bytes (metadata length and the PAR1 magic), then the metadata itself,
// parsed by hyparquet's parquetMetadata, which reads only the bytes it is given. What
// sizing needs of it is kept: per row group its row count, and per column chunk its
// compressed size (the bytes Drill reads for that column) and its min/max statistics
// when pruning can use them. Never throws: a file that is gone, unreadable, not
// Parquet or corrupt gives a FooterFailure saying so.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
// Only hyparquet's metadata module: the worker needs no page decoding.
import { parquetMetadata } from 'hyparquet/src/metadata.js';
import type { SchemaElement } from 'hyparquet';

/** How a column's statistics compare with literals; 'none': they are not used. */
export type StatKind = 'int' | 'double' | 'decimal' | 'date' | 'string' | 'none';

export interface Leaf {
  /** The column's path in the schema, lower case: ['l_orderkey'], ['m', 'x']. */
  path: string[];
  kind: StatKind;
}

/** min/max as comparable values: int bigint or number, double/decimal number, date days, string. */
export interface ChunkStats {
  min: bigint | number | string | null;
  max: bigint | number | string | null;
  nulls: number | null;
}

export interface RowGroup {
  rows: number;
  /** Compressed size of each leaf's column chunk, in leaf order. */
  bytes: number[];
  /** Statistics of each leaf's chunk (null: none usable). */
  stats: Array<ChunkStats | null>;
}

export interface Footer {
  ok: true;
  /** The file when read: the footer is valid for exactly this file. */
  stamp: Stamp;
  rows: number;
  leaves: Leaf[];
  rowGroups: RowGroup[];
  /** The footer's own length in bytes (what reading it cost). */
  footerBytes: number;
}

export interface FooterFailure {
  ok: false;
  stamp: Stamp | null;
  /** 'vanished': gone since the listing; 'not-parquet': no PAR1 magic; 'corrupt'; 'unreadable'. */
  kind: 'vanished' | 'not-parquet' | 'corrupt' | 'unreadable' | 'too-large';
  message: string;
}

export type FooterResult = Footer | FooterFailure;

/** Footers larger than this are not read (a worker's memory is shared by every scan). */
export const MAX_FOOTER_BYTES = 64 * 2 ** 20;
/** Longer string statistics are not kept: pruning on them is rare, keeping them costs memory. */
const MAX_STRING_STAT = 256;
const MAGIC = 0x31524150; // "PAR1", little-endian

/** A file's identity and version: size, mtime, ctime (ms) and inode. */
export type Stamp = [number, number, number, number];

export function stampOf(st: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): Stamp {
  return [st.size, st.mtimeMs, st.ctimeMs, st.ino];
}

export function readFooter(path: string): FooterResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? { ok: false, stamp: null, kind: 'vanished', message: 'the file was gone when its footer was read' }
      : { ok: false, stamp: null, kind: 'unreadable', message: `the file cannot be opened (${code ?? String(err)})` };
  }
  let stamp: Stamp | null = null;
  try {
    const st = fstatSync(fd);
    stamp = stampOf(st);
    if (!st.isFile()) return { ok: false, stamp, kind: 'not-parquet', message: 'not a regular file' };
    if (st.size < 12) return { ok: false, stamp, kind: 'not-parquet', message: `${st.size} bytes: too short for a Parquet file` };
    const tail = Buffer.alloc(8);
    if (readSync(fd, tail, 0, 8, st.size - 8) !== 8) return { ok: false, stamp, kind: 'corrupt', message: 'the last 8 bytes could not be read' };
    if (tail.readUInt32LE(4) !== MAGIC) return { ok: false, stamp, kind: 'not-parquet', message: 'no PAR1 magic at the end' };
    const length = tail.readUInt32LE(0);
    if (length + 8 > st.size - 4) return { ok: false, stamp, kind: 'corrupt', message: `a footer of ${length} bytes does not fit in a file of ${st.size} (truncated?)` };
    if (length > MAX_FOOTER_BYTES) return { ok: false, stamp, kind: 'too-large', message: `a footer of ${length} bytes is over the limit of ${MAX_FOOTER_BYTES}` };
    const buffer = Buffer.alloc(length + 8);
    if (readSync(fd, buffer, 0, length + 8, st.size - length - 8) !== length + 8) return { ok: false, stamp, kind: 'corrupt', message: 'the footer could not be read in full' };
    return summarize(buffer, stamp, length);
  } catch (err) {
    return { ok: false, stamp, kind: 'unreadable', message: `reading failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    closeSync(fd);
  }
}

function summarize(buffer: Buffer, stamp: Stamp, footerBytes: number): FooterResult {
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), {
      geoparquet: false,
      // Days since the epoch as a number: dates compare as they are.
      parsers: { dateFromDays: (days: number) => days },
    });
  } catch (err) {
    return { ok: false, stamp, kind: 'corrupt', message: `the footer cannot be parsed: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    const elements = metadata.schema.filter((e) => e.type !== undefined);
    const leaves = leafPaths(metadata.schema).map((path, i) => ({ path, kind: statKind(elements[i]) }));
    const rowGroups = metadata.row_groups.map((group) => {
      if (group.columns.length !== leaves.length) throw new Error(`a row group has ${group.columns.length} column chunks for ${leaves.length} columns`);
      return {
        rows: Number(group.num_rows),
        bytes: group.columns.map((c) => {
          const size = Number(c.meta_data?.total_compressed_size);
          if (!Number.isFinite(size) || size < 0) throw new Error('a column chunk without a compressed size');
          return size;
        }),
        stats: group.columns.map((c, i) => chunkStats(c.meta_data?.statistics, leaves[i]!.kind)),
      };
    });
    return { ok: true, stamp, rows: Number(metadata.num_rows), leaves, rowGroups, footerBytes };
  } catch (err) {
    return { ok: false, stamp, kind: 'corrupt', message: `the footer is inconsistent: ${err instanceof Error ? err.message : String(err)}` };
  }
}

// Leaf column paths from the flattened schema (depth-first, num_children per group).
function leafPaths(schema: SchemaElement[]): string[][] {
  const out: string[][] = [];
  let i = 1; // schema[0] is the root
  const walk = (prefix: string[], count: number) => {
    for (let n = 0; n < count && i < schema.length; n++) {
      const element = schema[i++]!;
      const path = [...prefix, String(element.name).toLowerCase()];
      if (element.num_children && element.num_children > 0) walk(path, element.num_children);
      else out.push(path);
    }
  };
  walk([], schema[0]?.num_children ?? schema.length - 1);
  return out;
}

function statKind(element: SchemaElement | undefined): StatKind {
  if (!element) return 'none';
  const converted = element.converted_type;
  const logical = element.logical_type?.type;
  if (converted === 'DECIMAL' || logical === 'DECIMAL') return element.type === 'INT32' || element.type === 'INT64' ? 'decimal' : 'none';
  if (converted === 'DATE' || logical === 'DATE') return element.type === 'INT32' ? 'date' : 'none';
  if (element.type === 'INT32' || element.type === 'INT64') {
    if (converted === undefined && logical === undefined) return 'int';
    if (converted === 'INT_8' || converted === 'INT_16' || converted === 'INT_32' || converted === 'INT_64') return 'int';
    if (logical === 'INTEGER' && element.logical_type && 'isSigned' in element.logical_type && element.logical_type.isSigned) return 'int';
    return 'none'; // unsigned, time, timestamp: not compared here
  }
  if (element.type === 'DOUBLE') return 'double';
  if (element.type === 'BYTE_ARRAY' && (converted === 'UTF8' || logical === 'STRING')) return 'string';
  return 'none';
}

// min_value/max_value (the statistics with a defined sort order); the deprecated
// min/max only for signed-order types, as parquet-mr (and so Drill) reads them.
function chunkStats(stats: unknown, kind: StatKind): ChunkStats | null {
  if (kind === 'none' || typeof stats !== 'object' || stats === null) return null;
  const s = stats as { min_value?: unknown; max_value?: unknown; min?: unknown; max?: unknown; null_count?: unknown };
  const nulls = s.null_count === undefined || s.null_count === null ? null : Number(s.null_count);
  let min = s.min_value;
  let max = s.max_value;
  if ((min === undefined || max === undefined) && kind !== 'string') {
    min = s.min;
    max = s.max;
  }
  return { min: comparable(min, kind), max: comparable(max, kind), nulls: Number.isFinite(nulls) ? nulls : null };
}

function comparable(value: unknown, kind: StatKind): bigint | number | string | null {
  if (value === undefined || value === null) return null;
  if (kind === 'string') return typeof value === 'string' && value.length <= MAX_STRING_STAT && !value.includes('\uFFFD') ? value : null;
  if (typeof value === 'bigint') return kind === 'int' ? value : Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  return null;
}
