// The bytes Drill reports having read, from a finished query's profile
// (GET /profiles/{id}.json), and how a plan's estimate compares with them.
//
// What Drill 1.22 reports (exec/java-exec/src/main/java/org/apache/drill/exec):
// - Parquet scans (operatorTypeName PARQUET_ROW_GROUP_SCAN, operatorType 21) carry
//   the metrics of store/CommonParquetRecordReader.Metric, by ordinal: 0
//   NUM_ROWGROUPS, 2/3 NUM_DICT/DATA_PAGE_LOADS, 4 NUM_DATA_PAGES_DECODED, 5/6
//   NUM_DICT/DATA_PAGES_DECOMPRESSED, 7/8 TOTAL_DICT/DATA_PAGE_READ_BYTES, 9/10
//   TOTAL_DICT/DATA_DECOMPRESSED_BYTES, summed over the scan's row groups.
//   PageReader.updateStats(bytesIn, bytesOut) counts bytesIn under *_READ_BYTES (and
//   a load) when bytesIn == bytesOut, else under *_DECOMPRESSED_BYTES (and a
//   decompression).
//   With the asynchronous page reader (store.parquet.reader.pagereader.async, the
//   default), AsyncPageReader calls it once per page of a compressed column, when
//   decompressing: the page's compressed size lands in DECOMPRESSED_BYTES, or in
//   READ_BYTES when the page did not shrink; pages of an UNCOMPRESSED column are
//   loaded (a load counted in nextPageFromQueue) and never counted in bytes. So the
//   bytes read are READ + DECOMPRESSED, and all pages were counted exactly when
//   data page loads + decompressions = 2 x pages decoded.
//   The synchronous PageReader calls it for every page header and every page as read
//   (READ_BYTES: all bytes from disk) and once more for each decompression: then the
//   bytes read are READ_BYTES alone. The profile's optionsJson says which reader ran.
//   Drill's reader for nested and repeated columns (DrillParquetReader, also behind
//   `*` over such a schema) counts no pages at all: when a scan that projects
//   columns decodes no page of the row groups it did not prune, its bytes are not
//   reported. Row groups pruned at run time (ROWGROUPS_PRUNED, 1) are not read.
// - Text, JSON and the other EVF scans (TEXT_SUB_SCAN, JSON_SUB_SCAN, ...) report no
//   byte metric at all (not even records): their bytes are unknown.
// - COUNT(*) without a filter over Parquet is answered from footers
//   (DIRECT_SUB_SCAN): no bytes read, nothing to report.

export interface ScanBytes {
  /** The scan as the plan numbers it: major fragment - operator, e.g. "03-05". */
  operator: string;
  /** operatorTypeName, e.g. PARQUET_ROW_GROUP_SCAN, TEXT_SUB_SCAN. */
  type: string;
  /** The table, from the plan text (e.g. "dfs.tpch.lineitem"); null when not found. */
  table: string | null;
  /** Bytes read as Drill reports them; null when this kind of scan reports none. */
  bytes: number | null;
  /** Whether `bytes` is everything the scan read (false: pages Drill loaded without counting them). */
  complete: boolean;
  /** Row groups the scan read (Parquet). */
  rowGroups: number | null;
  /** Minor fragments that ran the scan. */
  fragments: number;
}

export interface ProfileBytes {
  /** Drill's query state (COMPLETED, FAILED, CANCELED), as the profile names it. */
  state: string | null;
  /** Bytes read by the scans that report them; null when none does. */
  bytes: number | null;
  /** True when every scan reported all it read. */
  complete: boolean;
  scans: ScanBytes[];
}

export interface Accuracy {
  /** The plan's bytes. */
  estimate: number;
  /** Drill's (ProfileBytes.bytes). */
  actual: number | null;
  /** estimate / actual; null when there is no actual or it is 0. */
  ratio: number | null;
  /**
   * Whether the ratio means something: Drill reported all it read, and everything the
   * plan counted is of a kind Drill reports (Parquet); else why not.
   */
  comparable: boolean;
  why: string | null;
  profile: ProfileBytes;
}

const PARQUET_SCAN = 'PARQUET_ROW_GROUP_SCAN';
// CommonParquetRecordReader.Metric ordinals.
const M = { rowGroups: 0, pruned: 1, dictLoads: 2, dataLoads: 3, dataDecoded: 4, dataDecompressed: 6, dictRead: 7, dataRead: 8, dictDecompressedBytes: 9, dataDecompressedBytes: 10 } as const;
const ASYNC_OPTION = 'store.parquet.reader.pagereader.async';
// operatorType ids of CoreOperatorType, for profiles without operatorTypeName.
const TYPE_NAMES: Record<number, string> = { 21: PARQUET_SCAN, 28: 'TEXT_SUB_SCAN', 29: 'JSON_SUB_SCAN', 43: 'HIVE_DRILL_NATIVE_PARQUET_ROW_GROUP_SCAN' };

type Json = Record<string, unknown>;

/** The bytes a profile's scans report. Never throws: anything unexpected counts as not reported. */
export function bytesReadFromProfile(profile: unknown): ProfileBytes {
  const p = isObject(profile) ? profile : {};
  const { tables, columns } = scanLines(typeof p.plan === 'string' ? p.plan : '');
  const sync = optionSetTo(p.optionsJson, ASYNC_OPTION, false);
  const scans = new Map<string, ScanBytes & { metrics: Record<number, number> }>();
  for (const fragment of arrayOf(p.fragmentProfile)) {
    const major = numberOf(fragment.majorFragmentId);
    for (const minor of arrayOf(fragment.minorFragmentProfile)) {
      for (const op of arrayOf(minor.operatorProfile)) {
        const type = typeof op.operatorTypeName === 'string' ? op.operatorTypeName : (TYPE_NAMES[numberOf(op.operatorType) ?? -1] ?? null);
        if (type === null || !/SCAN/.test(type) || type === 'DIRECT_SUB_SCAN') continue;
        const key = `${pad(major)}-${pad(numberOf(op.operatorId))}`;
        let scan = scans.get(key);
        if (!scan) {
          scan = { operator: key, type, table: tables.get(key) ?? null, bytes: null, complete: true, rowGroups: null, fragments: 0, metrics: {} };
          scans.set(key, scan);
        }
        scan.fragments++;
        for (const metric of arrayOf(op.metric)) {
          const id = numberOf(metric.metricId);
          const value = numberOf(metric.longValue);
          if (id !== null && value !== null) scan.metrics[id] = (scan.metrics[id] ?? 0) + value;
        }
      }
    }
  }
  const out: ScanBytes[] = [];
  for (const { metrics, ...scan } of scans.values()) {
    if (scan.type === PARQUET_SCAN || scan.type.endsWith(`_${PARQUET_SCAN}`)) {
      const m = (id: number) => metrics[id] ?? 0;
      const read = m(M.dictRead) + m(M.dataRead);
      const decompressed = m(M.dictDecompressedBytes) + m(M.dataDecompressedBytes);
      const pages = m(M.dictLoads) + m(M.dataLoads) + m(M.dataDecoded);
      const unread = m(M.rowGroups) - m(M.pruned);
      const projects = (columns.get(scan.operator) ?? ['?']).length > 0;
      if (pages === 0 && unread > 0 && projects) {
        // Rows were read without a page counted: the nested-column reader.
        scan.bytes = null;
        scan.complete = false;
      } else if (sync) {
        scan.bytes = read;
        scan.complete = true;
      } else {
        scan.bytes = read + decompressed;
        scan.complete = m(M.dataLoads) + m(M.dataDecompressed) === 2 * m(M.dataDecoded);
      }
      scan.rowGroups = metrics[M.rowGroups] ?? null;
    } else {
      scan.complete = false;
    }
    out.push(scan);
  }
  const reported = out.filter((s) => s.bytes !== null);
  return {
    state: typeof p.state === 'string' ? p.state : typeof p.state === 'number' ? STATES[p.state] ?? String(p.state) : null,
    bytes: reported.length > 0 ? reported.reduce((n, s) => n + s.bytes!, 0) : null,
    complete: out.every((s) => s.complete),
    scans: out,
  };
}

// QueryState numbers of UserBitShared.proto, for profiles that give a number.
const STATES: Record<number, string> = { 0: 'STARTING', 1: 'RUNNING', 2: 'COMPLETED', 3: 'CANCELED', 4: 'FAILED', 5: 'CANCELLATION_REQUESTED', 6: 'ENQUEUED', 7: 'PREPARING', 8: 'PLANNING' };

/**
 * Estimate vs actual, for a plan (its bytes and how its targets were counted) and the
 * profile of the query it sized: the one call a query registry makes when a query ends.
 */
export function accuracy(plan: { bytes: number; targets: ReadonlyArray<{ counted: string; bytes: number }> }, profile: unknown): Accuracy {
  const actual = bytesReadFromProfile(profile);
  const ratio = actual.bytes !== null && actual.bytes > 0 ? plan.bytes / actual.bytes : null;
  let why: string | null = null;
  const flat = flatten(plan.targets);
  if (actual.bytes === null) why = 'no scan of the query reports the bytes it read (text, JSON and other non-Parquet scans do not)';
  else if (!actual.complete) why = 'a scan read bytes it does not report (a non-Parquet scan, or uncompressed Parquet pages)';
  else if (flat.some((t) => t.bytes > 0 && t.counted !== 'parquet' && t.counted !== 'metadata')) why = 'the plan counts files Drill reports no bytes for (not Parquet)';
  else if (ratio === null) why = 'Drill reports reading 0 bytes';
  return { estimate: plan.bytes, actual: actual.bytes, ratio, comparable: why === null, why, profile: actual };
}

// A view's bytes are its targets'.
function flatten(targets: ReadonlyArray<{ counted: string; bytes: number; view?: unknown }>): Array<{ counted: string; bytes: number }> {
  return targets.flatMap((t) => {
    const view = t.view as { targets?: Array<{ counted: string; bytes: number }> } | null | undefined;
    return t.counted === 'view' && view?.targets ? flatten(view.targets) : [t];
  });
}

// Whether the options the query ran with (the profile's optionsJson) set a boolean option to `value`.
function optionSetTo(optionsJson: unknown, name: string, value: boolean): boolean {
  if (typeof optionsJson !== 'string') return false;
  try {
    const options = JSON.parse(optionsJson) as unknown;
    return Array.isArray(options) && options.some((o) => isObject(o) && o.name === name && o.bool_val === value);
  } catch {
    return false;
  }
}

// "03-05  Scan(table=[[dfs, tpch, lineitem]], groupscan=[... columns=[`a`, `b`]]])":
// 03-05 reads dfs.tpch.lineitem, columns a and b.
function scanLines(plan: string): { tables: Map<string, string>; columns: Map<string, string[]> } {
  const tables = new Map<string, string>();
  const columns = new Map<string, string[]>();
  for (const line of plan.split('\n')) {
    const match = /^\s*(\d+-\d+)\s+Scan\(table=\[\[([^\]]*)\]\]/.exec(line);
    if (!match) continue;
    tables.set(match[1]!, match[2]!.split(',').map((s) => s.trim()).join('.'));
    const list = /columns=\[([^\]]*)\]/.exec(line);
    if (list) columns.set(match[1]!, list[1]!.split(',').map((c) => c.trim()).filter((c) => c !== ''));
  }
  return { tables, columns };
}

function pad(n: number | null): string {
  return n === null ? '??' : String(n).padStart(2, '0');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function numberOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return null;
}
