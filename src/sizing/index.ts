// How big is the data a query reads, and how many Drillbits that calls for.
// SQL -> table references with the columns and comparisons of each (src/sql) ->
// plugin, workspace, path (resolve) -> a view (views.ts: its own SQL, sized the same
// way, recursively) or files from file system metadata (scan, cached) -> dirN
// pruning -> what Drill reads of them (measure.ts: Parquet column chunks of the row
// groups kept, other files whole) -> the QSF rule. Nothing here talks to Drill.
import type { Config } from '../config/load.js';
import { columnsFor, namedColumns, rename, SqlReader, type ColumnUse, type SqlReading, type TableRef } from '../sql/index.js';
import { workspaces, type Workspace } from '../storage/dfs.js';
import { DromedarError } from '../util/errors.js';
import { realpath } from 'node:fs/promises';
import { Listings } from './cache.js';
import { Footers, sharedFooters } from './footers.js';
import { hasGlob } from './glob.js';
import { Limiter } from './limit.js';
import { FileMeasurer, type Fallback, type Measure } from './measure.js';
import { defaultSchemaPath, resolveTarget, type Target } from './resolve.js';
import { drillbitsFor, parseQsf } from './qsf.js';
import { Views, type ViewFile } from './views.js';
import { scanWorkers, sizingScope } from './workers.js';

export { drillbitsFor, parseQsf } from './qsf.js';
export type { Measure } from './measure.js';
export { Footers } from './footers.js';

/** One table the query reads, and how its bytes were counted. */
export interface TargetSize {
  name: string;
  plugin: string;
  workspace: string | null;
  path: string | null;
  /** Bytes counted: what Drill reads (sizing.measure "scan") or the files' sizes ("files"). */
  bytes: number;
  /** The sizes of the files counted (after directory pruning). */
  bytesStored: number;
  files: number;
  missing: boolean;
  /** parquet: column chunks from footers; files: file sizes; mixed: both; view; metadata (no files); unknown. */
  counted: 'parquet' | 'files' | 'mixed' | 'view' | 'metadata' | 'unknown';
  /** Parquet: the columns counted (['*']: all); null when no Parquet file was counted. */
  columns: string[] | null;
  /** Parquet: row groups kept by the filter pushdown, of all (non-empty) row groups. */
  rowGroups: { kept: number; total: number } | null;
  /** What cut files and row groups. */
  pruning: string[];
  /** Files counted at their size although they looked like Parquet, and why. */
  fallbacks: Fallback[];
  notes: string[];
  /** Why Drill scans this once more than the SQL names it (decorrelation, NOT IN). */
  rescan: string | null;
  /** A view: its file, the schema its SQL is read in, and its own targets. */
  view: { file: string; defaultSchema: string; parsed: boolean; targets: TargetSize[] } | null;
  /** Why this target could not be sized (counted as 0 bytes; the plan says parsed: false). */
  unknown: string | null;
}

export interface Plan {
  targets: TargetSize[];
  bytes: number;
  qsf: number;
  drillbits: number;
  /** False when the SQL (or a view's) could not be parsed, or a target could not be sized: the size is a minimum. */
  parsed: boolean;
  /** How bytes were counted (sizing.measure). */
  measure: Measure;
}

export interface PlanOptions {
  qsf?: number;
  defaultSchema?: string;
}

/** The largest SQL text sized: the gateway's request limit. */
export const MAX_SQL_BYTES = 1024 * 1024;
/** Table references one SQL text may name: beyond it a 400, not minutes of scans. */
export const MAX_TABLE_REFERENCES = 1_024;
/** Views within views are followed this deep. */
export const MAX_VIEW_DEPTH = 16;
// Concurrent stat calls made on the event loop's thread (cache checks) across all
// sizings; scans run in worker threads (workers.ts).
const FS_CONCURRENCY = 64;

interface Measured {
  size: TargetSize;
  /** Absolute paths of the files counted. */
  paths: () => string[];
  parsed: boolean;
}

interface Expansion {
  /** View files being expanded, outermost first (for loops). */
  views: string[];
}

export class Sizer {
  readonly qsfBounds: { min: number; max: number };
  readonly measureKind: Measure;
  private readonly defaultQsf: number;
  private readonly drillbitBounds: { min: number; max: number };
  private readonly workspaces: Map<string, Workspace>;
  private readonly listings: Listings;
  private readonly footers: Footers;
  private readonly files_: FileMeasurer;
  private readonly views: Views;
  private readonly reader = new SqlReader();
  private realRoots: Promise<string[]> | undefined;

  /** `options.footers`: a footer cache of its own (benchmarks: footers never read before); default the process's. */
  constructor(config: Pick<Config, 'dataDir' | 'storage' | 'sizing'>, bounds: { minDrillbits?: number; maxDrillbits?: number } = {}, options: { footers?: Footers } = {}) {
    this.qsfBounds = { min: config.sizing.qsfMin, max: config.sizing.qsfMax };
    this.defaultQsf = parseQsf(config.sizing.qsf, 'sizing.qsf', this.qsfBounds);
    this.measureKind = config.sizing.measure;
    this.drillbitBounds = { min: bounds.minDrillbits ?? 1, max: bounds.maxDrillbits ?? Infinity };
    this.workspaces = workspaces(config);
    const cache = { ttlMs: config.sizing.cacheTtlMs, maxEntries: config.sizing.cacheMaxEntries };
    this.listings = new Listings(new Limiter(FS_CONCURRENCY), cache, () => this.roots());
    // A TTL of 0 (or no footer bytes) turns caching off, footers included.
    const caching = config.sizing.cacheTtlMs > 0 && config.sizing.footerCacheBytes > 0;
    this.footers = options.footers ?? (caching ? sharedFooters(config.sizing.footerCacheBytes) : new Footers({ maxBytes: 0 }));
    this.files_ = new FileMeasurer(this.footers);
    this.views = new Views(() => this.roots());
    // The first scan need not wait for a worker thread to start.
    scanWorkers.warm();
  }

  /** The dfs workspaces, by name: what statements are confined to (src/server/policy.ts). */
  get workspaceMap(): ReadonlyMap<string, Workspace> {
    return this.workspaces;
  }

  /** Starts the SQL parser's worker and loads the parser, so the first query does not wait for them. */
  warm(): Promise<void> {
    return this.reader.warm();
  }

  /** The listing cache's hits and misses, and footers read from files (for /metrics). */
  get cacheStats(): { listingHits: number; listingMisses: number; footersRead: number } {
    return { listingHits: this.listings.stats.hits, listingMisses: this.listings.stats.misses, footersRead: this.footers.filesRead };
  }

  /** Parquet footers read from files (not from the cache) so far, by this Sizer's footer cache (the process's, when caching). */
  get footersRead(): number {
    return this.footers.filesRead;
  }

  // A symbolic link inside a workspace may lead anywhere; Drill would follow it. Every
  // path a scan reads must really (links resolved) lie in one of these.
  private roots(): Promise<string[]> {
    this.realRoots ??= Promise.all([...this.workspaces.values()].map((w) => realpath(w.root).catch(() => w.root)));
    return this.realRoots;
  }

  async plan(sql: string, options: PlanOptions = {}): Promise<Plan> {
    const qsf = options.qsf === undefined ? this.defaultQsf : parseQsf(options.qsf, 'qsf', this.qsfBounds);
    const { parsed, targets } = await this.measure(sql, options.defaultSchema);
    const bytes = targets.reduce((sum, t) => sum + t.size.bytes, 0);
    return { targets: targets.map((t) => t.size), bytes, qsf, drillbits: drillbitsFor(bytes, qsf, this.drillbitBounds), parsed, measure: this.measureKind };
  }

  /** For tests/diagnostics: absolute paths of every file counted, per target, each target's sorted. */
  async files(sql: string, options: { defaultSchema?: string } = {}): Promise<string[]> {
    const { targets } = await this.measure(sql, options.defaultSchema);
    return targets.flatMap((t) => t.paths().sort());
  }

  /** Stops the SQL parsing worker (it does not keep the process alive anyway). */
  close(): Promise<void> {
    return this.reader.close();
  }

  // Each plan's scans queue apart from other plans' (workers.ts serves them round-robin).
  private measure(sql: string, defaultSchema: string | undefined): Promise<{ parsed: boolean; targets: Measured[] }> {
    return sizingScope.run({}, () => this.measureNow(sql, defaultSchema));
  }

  private async measureNow(sql: string, defaultSchema: string | undefined): Promise<{ parsed: boolean; targets: Measured[] }> {
    checkSql(sql);
    const schema = defaultSchemaPath(defaultSchema, this.workspaces);
    const reading = await this.reader.read(sql);
    if (reading.refs.length > MAX_TABLE_REFERENCES) {
      throw new DromedarError('too_many_tables', `the query names ${reading.refs.length} tables; the limit is ${MAX_TABLE_REFERENCES} table references a query`, 400);
    }
    // Resolve all first: a bad reference fails the plan before any file system work.
    const resolved = reading.refs.map((ref) => resolveTarget(ref, schema, this.workspaces));
    const uses = readColumns(reading, sql, 'all');
    const targets = await Promise.all(resolved.map((t, i) => this.measureTarget(t, reading.refs[i]!, uses[i]!, { views: [] })));
    return { parsed: reading.parsed && targets.every((t) => t.parsed), targets };
  }

  private async measureTarget(target: Target, ref: TableRef, use: ColumnUse, expansion: Expansion): Promise<Measured> {
    const rescan = ref.rescan?.why ?? null;
    if (target.kind === 'metadata') {
      return { size: { ...empty(target.name, target.plugin, null, null), counted: 'metadata', rescan }, paths: () => [], parsed: true };
    }
    // Drill looks a name up as a view first (a glob names files only). Both are looked
    // up at once: a view is rare, and a cached listing costs its check either way.
    const [view, listing] = await Promise.all([hasGlob(target.path) ? null : this.views.find(target.path), this.listings.get(target.path)]);
    if (view) return this.measureView(target, view, ref, use, expansion);
    const measured = await this.files_.measure(listing, { dirs: target.dirs, columns: use, filters: ref.filters ?? [], measure: this.measureKind });
    const { name, plugin, workspace, path } = target;
    const size: TargetSize = {
      ...empty(name, plugin, workspace, path),
      bytes: measured.bytes,
      bytesStored: measured.bytesStored,
      files: measured.files,
      missing: !listing.exists,
      counted: measured.counted,
      columns: measured.columns && [...measured.columns],
      rowGroups: measured.rowGroups && { ...measured.rowGroups },
      pruning: [...measured.pruning],
      fallbacks: measured.fallbacks.map((f) => ({ ...f })),
      notes: [...measured.notes],
      rescan,
    };
    const kept = measured.kept;
    return { size, paths: () => (kept === null ? [...listing.paths] : kept.map((i) => listing.paths[i]!)), parsed: true };
  }

  private async measureView(target: Extract<Target, { kind: 'files' }>, found: ViewFile, ref: TableRef, use: ColumnUse, expansion: Expansion): Promise<Measured> {
    const base = { ...empty(target.name, target.plugin, target.workspace, target.path), rescan: ref.rescan?.why ?? null };
    const unknown = (why: string): Measured => ({ size: { ...base, counted: 'unknown', unknown: why }, paths: () => [], parsed: false });
    if (expansion.views.includes(found.file)) return unknown(`the view loops: ${[...expansion.views, found.file].join(' -> ')}`);
    if (expansion.views.length >= MAX_VIEW_DEPTH) return unknown(`views nested deeper than ${MAX_VIEW_DEPTH}`);
    if (!found.ok) return unknown(`view ${found.file}: ${found.reason}`);
    const { view } = found;
    const reading = await this.reader.read(view.sql);
    const output = reading.output && view.fields ? rename(reading.output, view.fields) : reading.output;
    // Only what the outer query reads of the view (a path's first name: its column).
    const request = use.all ? 'all' : [...new Set(use.paths.map((p) => p[0]!))];
    const uses = readColumns({ ...reading, ...(output ? { output } : {}) }, view.sql, request);
    const inner = { views: [...expansion.views, found.file] };
    const children = await Promise.all(
      reading.refs.map(async (innerRef, i): Promise<Measured> => {
        let resolved: Target;
        try {
          resolved = resolveTarget(innerRef, view.schema, this.workspaces);
        } catch (err) {
          const name = [...innerRef.schema, `\`${innerRef.table}\``].join('.');
          const why = err instanceof DromedarError ? err.message : String(err);
          return { size: { ...empty(name, innerRef.schema[0]?.toLowerCase() ?? '', null, null), counted: 'unknown', unknown: `in view ${found.file}: ${why}` }, paths: () => [], parsed: false };
        }
        let child: Measured;
        try {
          child = await this.measureTarget(resolved, innerRef, uses[i]!, inner);
        } catch (err) {
          // A path leading outside every workspace stays refused (403), wherever it is named.
          if (!(err instanceof DromedarError) || err.status === 403) throw err;
          return { size: { ...empty(resolved.name, resolved.plugin, resolved.kind === 'files' ? resolved.workspace : null, resolved.kind === 'files' ? resolved.path : null), counted: 'unknown', unknown: `in view ${found.file}: ${err.message}` }, paths: () => [], parsed: false };
        }
        // A table the view names that does not exist: Drill fails the query; the size is unknown.
        if (child.size.missing) return { ...child, size: { ...child.size, counted: 'unknown', unknown: `view ${found.file} names ${child.size.name}, which does not exist` }, parsed: false };
        return child;
      }),
    );
    const sum = (key: 'bytes' | 'bytesStored' | 'files') => children.reduce((n, c) => n + c.size[key], 0);
    const parsed = reading.parsed && children.every((c) => c.parsed);
    const notes = reading.parsed ? [] : ["the view's SQL could not be parsed: its tables are found from tokens, every name in it counted as a column, no pruning"];
    return {
      size: {
        ...base,
        bytes: sum('bytes'),
        bytesStored: sum('bytesStored'),
        files: sum('files'),
        counted: 'view',
        notes,
        view: { file: found.file, defaultSchema: view.schema.join('.'), parsed, targets: children.map((c) => c.size) },
      },
      paths: () => children.flatMap((c) => c.paths()),
      parsed,
    };
  }
}

/** The columns each reference reads; for SQL the parser could not read, every name in it. */
function readColumns(reading: SqlReading, sql: string, request: 'all' | string[]): ColumnUse[] {
  if (reading.parsed) return columnsFor(reading, request);
  const named = namedColumns(sql);
  return reading.refs.map(() => named);
}

function empty(name: string, plugin: string, workspace: string | null, path: string | null): TargetSize {
  return {
    name,
    plugin,
    workspace,
    path,
    bytes: 0,
    bytesStored: 0,
    files: 0,
    missing: false,
    counted: 'files',
    columns: null,
    rowGroups: null,
    pruning: [],
    fallbacks: [],
    notes: [],
    rescan: null,
    view: null,
    unknown: null,
  };
}

function checkSql(sql: unknown): asserts sql is string {
  if (typeof sql !== 'string') throw new DromedarError('invalid_request', 'sql must be a string', 400);
  if (sql.trim() === '') throw new DromedarError('empty_sql', 'the SQL is empty', 400);
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > MAX_SQL_BYTES) {
    throw new DromedarError('sql_too_large', `the SQL is ${bytes} bytes; the limit is ${MAX_SQL_BYTES} bytes`, 413);
  }
}
