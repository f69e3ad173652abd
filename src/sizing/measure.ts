// What one file-system target costs Drill to read, from its listing: the files left
// after dirN pruning, and then, with sizing.measure "scan", for Parquet files the
// column chunks the query reads in the row groups Drill keeps (parquet.ts, from
// footers.ts), for every other file its size (text and JSON are read whole; a
// compressed file is read whole, compressed). A Parquet file whose footer cannot be
// used (corrupt, truncated, gone, changed) counts its size, and the target says why.
// Results are kept per listing object (a new listing is a new object), so a cached
// plan of a big directory costs a map lookup, not a pass over its files.
import { basename } from 'node:path';
import type { ColumnFilter, ColumnUse, DirCondition } from '../sql/types.js';
import type { Changed, Footers } from './footers.js';
import type { FooterResult } from './footer.js';
import { countParquet, describe, type ParquetFile } from './parquet.js';
import { prune } from './prune.js';
import type { Listing } from './scan.js';

export type Measure = 'scan' | 'files';

export interface Fallback {
  files: number;
  bytes: number;
  reason: string;
  /** One of the files (the first by path). */
  example: string;
}

export interface FileMeasure {
  bytes: number;
  bytesStored: number;
  files: number;
  counted: 'parquet' | 'files' | 'mixed';
  columns: string[] | null;
  rowGroups: { kept: number; total: number } | null;
  pruning: string[];
  fallbacks: Fallback[];
  notes: string[];
  /** Indices into listing.paths of the files counted. */
  kept: number[] | null;
}

export interface FileQuery {
  dirs: DirCondition[];
  columns: ColumnUse;
  filters: ColumnFilter[];
  measure: Measure;
}

// Distinct queries remembered per listing (a listing lives for the cache's TTL).
const MEMO_PER_LISTING = 64;
const COMPRESSED = /\.(gz|bz2|xz|zst|zstd|lz4|lzo|snappy|deflate|zip|br)$/i;
const PARQUET_NAME = /\.parquet$/i;
// A name with an extension (other than .parquet) is some other format: Drill picks
// Parquet by the .parquet extension or by PAR1 at the start of an extension-less file.
const HAS_EXTENSION = /\.[A-Za-z0-9]{1,10}$/;

export class FileMeasurer {
  private readonly memo = new WeakMap<Listing, Map<string, FileMeasure>>();

  constructor(private readonly footers: Footers) {}

  async measure(listing: Listing, query: FileQuery): Promise<FileMeasure> {
    const key = JSON.stringify(query);
    const byQuery = this.memo.get(listing);
    const hit = byQuery?.get(key);
    if (hit) return hit;
    const result = await this.compute(listing, query);
    if (byQuery && byQuery.size < MEMO_PER_LISTING) byQuery.set(key, result);
    else this.memo.set(listing, new Map([[key, result]]));
    return result;
  }

  private async compute(listing: Listing, query: FileQuery): Promise<FileMeasure> {
    const kept = prune(listing, query.dirs);
    const indices = kept ?? listing.paths.map((_, i) => i);
    let bytesStored = 0;
    for (const i of indices) bytesStored += listing.sizes[i]!;
    const pruning: string[] = [];
    if (kept !== null) pruning.push(`directories (${query.dirs.map(describeDir).join(' AND ')}): ${kept.length} of ${listing.paths.length} files`);
    const base = { bytesStored, files: indices.length, pruning, kept };
    if (query.measure === 'files' || indices.length === 0) {
      return { ...base, bytes: bytesStored, counted: 'files', columns: null, rowGroups: null, fallbacks: [], notes: [] };
    }
    const candidates = indices.filter((i) => isParquetCandidate(listing.paths[i]!));
    const footers = candidates.length > 0 ? await this.footers.get(listing, candidates) : [];
    const parquet: ParquetFile[] = [];
    const failed = new Map<string, Fallback>();
    const other = new Set(indices);
    candidates.forEach((i, k) => {
      const footer = footers[k]!;
      const path = listing.paths[i]!;
      if (footer.ok) {
        parquet.push({ path, footer });
        other.delete(i);
      } else if (footer.kind !== 'not-parquet' || PARQUET_NAME.test(path)) {
        other.delete(i);
        const reason = fallbackReason(footer);
        const entry = failed.get(reason) ?? { files: 0, bytes: 0, reason, example: path };
        entry.files++;
        entry.bytes += listing.sizes[i]!;
        if (path < entry.example) entry.example = path;
        failed.set(reason, entry);
      }
    });
    const notes: string[] = [];
    let otherBytes = 0;
    let compressed = 0;
    for (const i of other) {
      otherBytes += listing.sizes[i]!;
      if (COMPRESSED.test(listing.paths[i]!)) compressed++;
    }
    if (other.size > 0) notes.push(`${other.size} file(s) not Parquet: counted at file size (Drill reads text and JSON whole)`);
    if (compressed > 0) notes.push(`${compressed} compressed file(s): counted at their compressed size (what Drill reads from disk)`);
    const fallbacks = [...failed.values()];
    for (const f of fallbacks) otherBytes += f.bytes;
    if (parquet.length === 0) {
      return { ...base, bytes: otherBytes, counted: 'files', columns: null, rowGroups: null, fallbacks, notes };
    }
    parquet.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const count = countParquet(parquet, query.columns, query.filters);
    if (count.pruned.length > 0) pruning.push(`row groups (${count.pruned.join(' AND ')}): ${count.rowGroups.kept} of ${count.rowGroups.total}`);
    if (count.unpruned) notes.push(count.unpruned);
    if (count.allPruned) notes.push('every row group pruned: Drill plans one for the schema and prunes it again when the scan runs, reading nothing');
    if (query.filters.length > 0 && count.pruned.length === 0 && !count.unpruned) notes.push(`row groups: none pruned by ${query.filters.map(describe).join(' AND ')}`);
    return {
      ...base,
      bytes: count.bytes + otherBytes,
      counted: other.size + fallbacks.length > 0 ? 'mixed' : 'parquet',
      columns: query.columns.all ? ['*'] : count.columns,
      rowGroups: count.rowGroups,
      fallbacks,
      notes,
    };
  }
}

function isParquetCandidate(path: string): boolean {
  const name = basename(path);
  return PARQUET_NAME.test(name) || !HAS_EXTENSION.test(name);
}

function fallbackReason(footer: Exclude<FooterResult, { ok: true }> | Changed): string {
  switch (footer.kind) {
    case 'vanished':
      return `vanished between listing and reading its footer: counted at its listed size`;
    case 'changed':
      return `${footer.message}: counted at its listed size`;
    case 'not-parquet':
      return `named .parquet but not Parquet (${footer.message}): counted at file size`;
    case 'too-large':
      return `Parquet footer not read (${footer.message}): counted at file size`;
    default:
      return `Parquet footer unusable (${footer.message}): counted at file size`;
  }
}

function describeDir(condition: DirCondition): string {
  const values = condition.values.map((v) => (typeof v === 'number' ? String(v) : `'${v}'`));
  return values.length === 1 ? `dir${condition.level} = ${values[0]}` : `dir${condition.level} IN (${values.join(', ')})`;
}
