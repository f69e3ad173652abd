// The SQL side's answer: what a query reads, as the SQL says it.

/** One `dirN IN (values)` restriction; all of a reference's restrictions must hold. */
export interface DirCondition {
  /** N of dirN: 0 is the first directory level under the table's selection root. */
  level: number;
  values: Array<string | number>;
}

export interface TableRef {
  /** Schema path as written, dotted names split: dfs.tmp.`x` and `dfs.tmp`.`x` -> ['dfs', 'tmp']. */
  schema: string[];
  /** The table name; for file system plugins, the path. */
  table: string;
  dirs: DirCondition[];
}

export interface SqlReading {
  /** False when node-sql-parser could not read the SQL and the token fallback found the references. */
  parsed: boolean;
  refs: TableRef[];
}

/** Whether a reference names a CTE in scope rather than a table (names are case-insensitive). */
export function namesCte(ref: TableRef, ctes: ReadonlySet<string>): boolean {
  return ref.schema.length === 0 && ctes.has(ref.table.toLowerCase());
}
