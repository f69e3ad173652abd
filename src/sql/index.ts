// The SQL side of sizing: which tables a query reads, with its dirN restrictions,
// literal comparisons and the columns it reads of each.
export type { ColumnFilter, ColumnUse, DirCondition, Literal, Need, RelationOutput, SqlReading, TableRef } from './types.js';
export { readReferences, fallbackReading } from './references.js';
export { columnsFor, compose, rename, type ColumnRequest } from './columns.js';
export { namedColumns } from './names.js';
export { SqlReader, DEFAULT_PARSE_DEADLINE_MS, PARSE_WORKER_LIMITS, type SqlReaderOptions, type SqlReaderStats } from './reader.js';
