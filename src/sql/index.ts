// The SQL side of sizing: which tables a query reads, with its dirN restrictions.
export type { DirCondition, SqlReading, TableRef } from './types.js';
export { readReferences, fallbackReading } from './references.js';
export { SqlReader, DEFAULT_PARSE_DEADLINE_MS, PARSE_WORKER_LIMITS, type SqlReaderOptions, type SqlReaderStats } from './reader.js';
