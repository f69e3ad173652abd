// How big is the data a query reads, and how many Drillbits that calls for.
// SQL -> table references (src/sql) -> plugin, workspace, path (resolve) ->
// files and bytes from file system metadata (scan, cached) -> dirN pruning ->
// the QSF rule. Nothing here talks to Drill.
import type { Config } from '../config/load.js';
import { SqlReader } from '../sql/index.js';
import { workspaces, type Workspace } from '../storage/dfs.js';
import { DromedarError } from '../util/errors.js';
import { realpath } from 'node:fs/promises';
import { Listings } from './cache.js';
import { Limiter } from './limit.js';
import { prune } from './prune.js';
import { defaultSchemaPath, resolveTarget, type Target } from './resolve.js';
import { drillbitsFor, parseQsf } from './qsf.js';
import { scanWorkers } from './workers.js';

export { drillbitsFor, parseQsf } from './qsf.js';

export interface TargetSize {
  name: string;
  plugin: string;
  workspace: string | null;
  path: string | null;
  bytes: number;
  files: number;
  missing: boolean;
}

export interface Plan {
  targets: TargetSize[];
  bytes: number;
  qsf: number;
  drillbits: number;
  parsed: boolean;
}

export interface PlanOptions {
  qsf?: number;
  defaultSchema?: string;
}

/** The largest SQL text sized: the gateway's request limit. */
export const MAX_SQL_BYTES = 1024 * 1024;
// Concurrent stat calls made on the event loop's thread (cache checks) across all
// sizings; scans run in worker threads (workers.ts).
const FS_CONCURRENCY = 64;

interface Measured {
  size: TargetSize;
  /** Absolute paths of the files counted. */
  paths: () => string[];
}

export class Sizer {
  readonly qsfBounds: { min: number; max: number };
  private readonly defaultQsf: number;
  private readonly drillbitBounds: { min: number; max: number };
  private readonly workspaces: Map<string, Workspace>;
  private readonly listings: Listings;
  private readonly reader = new SqlReader();
  private realRoots: Promise<string[]> | undefined;

  constructor(config: Pick<Config, 'dataDir' | 'storage' | 'sizing'>, bounds: { minDrillbits?: number; maxDrillbits?: number } = {}) {
    this.qsfBounds = { min: config.sizing.qsfMin, max: config.sizing.qsfMax };
    this.defaultQsf = parseQsf(config.sizing.qsf, 'sizing.qsf', this.qsfBounds);
    this.drillbitBounds = { min: bounds.minDrillbits ?? 1, max: bounds.maxDrillbits ?? Infinity };
    this.workspaces = workspaces(config);
    const cache = { ttlMs: config.sizing.cacheTtlMs, maxEntries: config.sizing.cacheMaxEntries };
    this.listings = new Listings(new Limiter(FS_CONCURRENCY), cache, () => this.roots());
    // The first scan need not wait for a worker thread to start.
    scanWorkers.warm();
  }

  /** Starts the SQL parser's worker and loads the parser, so the first query does not wait for them. */
  warm(): Promise<void> {
    return this.reader.warm();
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
    return { targets: targets.map((t) => t.size), bytes, qsf, drillbits: drillbitsFor(bytes, qsf, this.drillbitBounds), parsed };
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

  private async measure(sql: string, defaultSchema: string | undefined): Promise<{ parsed: boolean; targets: Measured[] }> {
    checkSql(sql);
    const schema = defaultSchemaPath(defaultSchema, this.workspaces);
    const reading = await this.reader.read(sql);
    // Resolve all first: a bad reference fails the plan before any file system work.
    const resolved = reading.refs.map((ref) => resolveTarget(ref, schema, this.workspaces));
    return { parsed: reading.parsed, targets: await Promise.all(resolved.map((t) => this.measureTarget(t))) };
  }

  private async measureTarget(target: Target): Promise<Measured> {
    if (target.kind === 'metadata') {
      const size = { name: target.name, plugin: target.plugin, workspace: null, path: null, bytes: 0, files: 0, missing: false };
      return { size, paths: () => [] };
    }
    const listing = await this.listings.get(target.path);
    const kept = prune(listing, target.dirs);
    let bytes = listing.bytes;
    if (kept !== null) {
      bytes = 0;
      for (const i of kept) bytes += listing.sizes[i]!;
    }
    const files = kept === null ? listing.paths.length : kept.length;
    const paths = () => (kept === null ? [...listing.paths] : kept.map((i) => listing.paths[i]!));
    const { name, plugin, workspace, path } = target;
    return { size: { name, plugin, workspace, path, bytes, files, missing: !listing.exists }, paths };
  }
}

function checkSql(sql: unknown): asserts sql is string {
  if (typeof sql !== 'string') throw new DromedarError('invalid_request', 'sql must be a string', 400);
  if (sql.trim() === '') throw new DromedarError('empty_sql', 'the SQL is empty', 400);
  const bytes = Buffer.byteLength(sql, 'utf8');
  if (bytes > MAX_SQL_BYTES) {
    throw new DromedarError('sql_too_large', `the SQL is ${bytes} bytes; the limit is ${MAX_SQL_BYTES} bytes`, 413);
  }
}
