// Trino's client protocol documents (trinodb/trino docs/src/main/sphinx/develop/
// client-protocol.md; the shapes trino-client's QueryResults, StatementStats and
// QueryError read). Pure functions from a query's state to the JSON text sent.
import type { TrinoColumn } from './types.js';

/** The Trino version announced (/v1/info, SELECT version()): one clients treat as modern. */
export const TRINO_VERSION = '476';

export interface ErrorCode {
  name: string;
  code: number;
  type: 'USER_ERROR' | 'INTERNAL_ERROR' | 'INSUFFICIENT_RESOURCES' | 'EXTERNAL';
}

// Trino's StandardErrorCode values for what the gateway reports.
const CODES: Record<string, ErrorCode> = {
  GENERIC_USER_ERROR: { name: 'GENERIC_USER_ERROR', code: 0, type: 'USER_ERROR' },
  SYNTAX_ERROR: { name: 'SYNTAX_ERROR', code: 1, type: 'USER_ERROR' },
  ABANDONED_QUERY: { name: 'ABANDONED_QUERY', code: 2, type: 'USER_ERROR' },
  USER_CANCELED: { name: 'USER_CANCELED', code: 3, type: 'USER_ERROR' },
  PERMISSION_DENIED: { name: 'PERMISSION_DENIED', code: 4, type: 'USER_ERROR' },
  NOT_FOUND: { name: 'NOT_FOUND', code: 5, type: 'USER_ERROR' },
  NOT_SUPPORTED: { name: 'NOT_SUPPORTED', code: 13, type: 'USER_ERROR' },
  INVALID_SESSION_PROPERTY: { name: 'INVALID_SESSION_PROPERTY', code: 26, type: 'USER_ERROR' },
  GENERIC_INTERNAL_ERROR: { name: 'GENERIC_INTERNAL_ERROR', code: 65536, type: 'INTERNAL_ERROR' },
  GENERIC_INSUFFICIENT_RESOURCES: { name: 'GENERIC_INSUFFICIENT_RESOURCES', code: 131072, type: 'INSUFFICIENT_RESOURCES' },
  // Connector (here: Drill) errors are EXTERNAL, numbered from 0x0100_0000.
  DRILL_ERROR: { name: 'DRILL_ERROR', code: 16777216, type: 'EXTERNAL' },
};

/** Trino's error code for a gateway error (code and HTTP status) or a Drill message. */
export function errorCode(code: string, status: number, message: string): ErrorCode {
  if (code === 'USER_CANCELED' || code === 'ABANDONED_QUERY') return CODES[code]!;
  if (code === 'cancelled') return CODES.USER_CANCELED!;
  if (code === 'drill_query_failed' || code === 'drill_error') {
    if (/\b(not found|cannot be found|does not exist)\b/i.test(message)) return CODES.NOT_FOUND!;
    if (/^(PARSE|VALIDATION) ERROR|Encountered ".*" at line/.test(message)) return CODES.SYNTAX_ERROR!;
    if (/^(UNSUPPORTED_OPERATION|PLAN) ERROR/.test(message)) return CODES.NOT_SUPPORTED!;
    if (/^RESOURCE ERROR/.test(message)) return CODES.GENERIC_INSUFFICIENT_RESOURCES!;
    if (/^(SYSTEM|CONNECTION|INTERNAL) ERROR/.test(message)) return CODES.DRILL_ERROR!;
    return CODES.GENERIC_USER_ERROR!;
  }
  if (code.startsWith('drill_')) return CODES.DRILL_ERROR!;
  if (code === 'invalid_option' || code === 'forbidden_option') return CODES.INVALID_SESSION_PROPERTY!;
  if (status === 403) return CODES.PERMISSION_DENIED!;
  if (status === 404) return CODES.NOT_FOUND!;
  if (status === 503 || status === 504 || status === 429) return CODES.GENERIC_INSUFFICIENT_RESOURCES!;
  if (status >= 400 && status < 500) return CODES.GENERIC_USER_ERROR!;
  return CODES.GENERIC_INTERNAL_ERROR!;
}

export interface QueryError {
  message: string;
  errorCode: number;
  errorName: string;
  errorType: string;
  failureInfo: { type: string; message: string; suppressed: never[]; stack: never[] };
}

export function queryError(code: string, status: number, message: string): QueryError {
  const c = errorCode(code, status, message);
  return {
    message,
    errorCode: c.code,
    errorName: c.name,
    errorType: c.type,
    failureInfo: { type: c.type === 'EXTERNAL' ? 'org.apache.drill.common.exceptions.UserRemoteException' : 'io.trino.spi.TrinoException', message, suppressed: [], stack: [] },
  };
}

export interface Stats {
  state: string;
  queued: boolean;
  scheduled: boolean;
  nodes: number;
  /** Drillbits wanted; completedSplits: how many are up (the CLI shows them). */
  totalSplits: number;
  completedSplits: number;
  elapsedTimeMillis: number;
  queuedTimeMillis: number;
  processedRows: number;
  processedBytes: number;
  physicalInputBytes: number;
}

export function statsJson(s: Stats): Record<string, unknown> {
  return {
    state: s.state,
    queued: s.queued,
    scheduled: s.scheduled,
    nodes: s.nodes,
    totalSplits: s.totalSplits,
    queuedSplits: s.queued ? Math.max(0, s.totalSplits - s.completedSplits) : 0,
    runningSplits: s.state === 'RUNNING' ? s.totalSplits : 0,
    completedSplits: s.completedSplits,
    cpuTimeMillis: 0,
    wallTimeMillis: s.elapsedTimeMillis,
    queuedTimeMillis: s.queuedTimeMillis,
    elapsedTimeMillis: s.elapsedTimeMillis,
    processedRows: s.processedRows,
    processedBytes: s.processedBytes,
    physicalInputBytes: s.physicalInputBytes,
    physicalWrittenBytes: 0,
    peakMemoryBytes: 0,
    spilledBytes: 0,
  };
}

export interface Results {
  id: string;
  infoUri: string;
  partialCancelUri?: string;
  nextUri?: string;
  columns?: TrinoColumn[];
  /** JSON text of each row, already encoded. */
  rows?: string[];
  stats: Stats;
  error?: QueryError;
  updateType?: string;
  updateCount?: number;
}

/** The QueryResults document; rows are spliced in as text (numbers keep their digits). */
export function resultsJson(r: Results): string {
  const doc: Record<string, unknown> = { id: r.id, infoUri: r.infoUri };
  if (r.partialCancelUri) doc.partialCancelUri = r.partialCancelUri;
  if (r.nextUri) doc.nextUri = r.nextUri;
  if (r.columns) doc.columns = r.columns;
  doc.stats = statsJson(r.stats);
  if (r.error) doc.error = r.error;
  doc.warnings = [];
  if (r.updateType) doc.updateType = r.updateType;
  if (r.updateCount !== undefined) doc.updateCount = r.updateCount;
  const text = JSON.stringify(doc);
  if (!r.rows || r.rows.length === 0 || !r.columns) return text;
  return `${text.slice(0, -1)},"data":[${r.rows.join(',')}]}`;
}
