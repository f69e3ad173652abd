// The SQL side's answer: what a query reads, as the SQL says it.

/** One `dirN IN (values)` restriction; all of a reference's restrictions must hold. */
export interface DirCondition {
  /** N of dirN: 0 is the first directory level under the table's selection root. */
  level: number;
  values: Array<string | number>;
}

/**
 * The columns of a table a query reads. Paths are lower case (Drill's names are
 * case-insensitive) and start at a top-level column: ['a'] for `a`, ['m', 'x'] for
 * `t.m.x`. Names that are no column of the table (aliases, implicit columns) may be
 * here: what the table does not have costs nothing.
 */
export interface ColumnUse {
  /** Every column (a `*` reaches this table). */
  all: boolean;
  paths: string[][];
}

/** A literal as written: numbers keep their text (no precision lost), dates are `DATE 'yyyy-mm-dd'`. */
export type Literal = { kind: 'number'; text: string } | { kind: 'string'; value: string } | { kind: 'date'; value: string };

/**
 * `column op literal` (or IN a list of literals), AND-ed into a table's WHERE: what
 * Drill's Parquet filter pushdown prunes row groups with.
 */
export interface ColumnFilter {
  column: string;
  op: '=' | '<' | '>' | '<=' | '>=' | 'in';
  values: Literal[];
}

export interface TableRef {
  /** Schema path as written, dotted names split: dfs.tmp.`x` and `dfs.tmp`.`x` -> ['dfs', 'tmp']. */
  schema: string[];
  /** The table name; for file system plugins, the path. */
  table: string;
  dirs: DirCondition[];
  /** The columns read whatever the query's output is asked for; absent: not known (all). */
  columns?: ColumnUse;
  /** Literal comparisons on columns of this table alone; absent: none known. */
  filters?: ColumnFilter[];
  /**
   * Set on a copy of a reference that Drill scans once more than the SQL names it:
   * the reference repeated (an index into SqlReading.refs, reading what that one reads)
   * and why (a correlated subquery Drill decorrelates, a NOT IN).
   */
  rescan?: { of: number; why: string };
}

/** What an output column of a statement needs of one of its references. */
export interface Need {
  /** Index into SqlReading.refs. */
  ref: number;
  /** A column path; null: every column. */
  path: string[] | null;
}

/**
 * A statement's output columns in terms of its references, so that a consumer that
 * reads only some of them (a query over a view) makes the references read only what
 * those need. Built for a top-level SELECT; absent for anything else.
 */
export interface RelationOutput {
  /** In order; name in lower case, null when the column has no name of its own. */
  columns: Array<{ name: string | null; needs: Need[] }>;
  /** References a `*` in the select list passes names not among `columns` on to. */
  stars: number[];
}

export interface SqlReading {
  /** False when node-sql-parser could not read the SQL and the token fallback found the references. */
  parsed: boolean;
  refs: TableRef[];
  output?: RelationOutput;
}

/** Whether a reference names a CTE in scope rather than a table (names are case-insensitive). */
export function namesCte(ref: TableRef, ctes: ReadonlySet<string>): boolean {
  return ref.schema.length === 0 && ctes.has(ref.table.toLowerCase());
}
