// Which columns of each reference a statement reads, once it is known which of the
// statement's output columns are wanted: all of them for a query, those a query over
// a view asks for (Drill pushes projections through views and derived tables into
// the scans). One composition, used for derived tables and CTEs (ast.ts) and for
// views (src/sizing).
import type { ColumnUse, Need, RelationOutput, SqlReading } from './types.js';

/** Output columns wanted of a relation: every one, or these names (lower case). */
export type ColumnRequest = 'all' | readonly string[];

/** What a relation's references must read for `request` of its output columns. */
export function compose(rel: RelationOutput, request: ColumnRequest): Need[] {
  const needs: Need[] = [];
  if (request === 'all') {
    for (const column of rel.columns) needs.push(...column.needs);
    for (const ref of rel.stars) needs.push({ ref, path: null });
    return needs;
  }
  for (const name of request) {
    const named = rel.columns.filter((c) => c.name === name);
    if (named.length > 0) for (const column of named) needs.push(...column.needs);
    else for (const ref of rel.stars) needs.push({ ref, path: [name] });
  }
  return needs;
}

/**
 * The relation with its columns renamed in order (`AS t (a, b)`, a view's field list).
 * Behind a `*` the positions are not known here: then every name needs everything.
 */
export function rename(rel: RelationOutput, names: readonly string[]): RelationOutput {
  if (rel.stars.length > 0) {
    const everything = compose(rel, 'all');
    return { columns: names.map((name) => ({ name, needs: everything })), stars: [] };
  }
  return {
    columns: rel.columns.map((column, i) => ({ name: i < names.length ? names[i]! : column.name, needs: column.needs })),
    stars: [],
  };
}

/** Adds a need to per-reference uses. */
export function addNeed(uses: ColumnUse[], need: Need): void {
  const use = uses[need.ref];
  if (!use || use.all) return;
  if (need.path === null) {
    use.all = true;
    use.paths = [];
    return;
  }
  const key = need.path.join('.');
  if (!use.paths.some((p) => p.join('.') === key)) use.paths.push(need.path);
}

/**
 * The columns each reference of a reading reads when `request` of its output is wanted
 * (a query: 'all'). A reference without column information reads every column; a
 * rescan reads what the reference it repeats reads.
 */
export function columnsFor(reading: SqlReading, request: ColumnRequest = 'all'): ColumnUse[] {
  const uses: ColumnUse[] = reading.refs.map((ref) => (ref.columns ? { all: ref.columns.all, paths: [...ref.columns.paths] } : { all: true, paths: [] }));
  if (reading.output) for (const need of compose(reading.output, request)) addNeed(uses, need);
  reading.refs.forEach((ref, i) => {
    if (ref.rescan && uses[ref.rescan.of]) uses[i] = uses[ref.rescan.of]!;
  });
  return uses;
}
