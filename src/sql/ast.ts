// What a statement reads, from node-sql-parser's AST: its table references, and for
// each the dirN restrictions, the literal comparisons and the columns it reads.
//
// Names are resolved as Drill (Calcite) resolves them over tables without a schema
// (every name is a column of a file table): a qualified name belongs to the FROM item
// of that alias (innermost scope first, outer scopes for correlation); an unqualified
// one to the innermost scope's items that can have it. Only the columns a query's
// output needs of a derived table, CTE or view are read (Drill pushes projections
// down): a SELECT's output is described by a RelationOutput and composed (columns.ts).
// CTEs are expanded where they are referenced, as Drill does: a CTE named twice is
// scanned twice, one never named is not scanned.
//
// Drill also scans some tables more often than the SQL names them: a correlated
// subquery whose correlation is more than `inner = outer` equalities is decorrelated
// with a copy of the outer query's FROM (scanned once more), and NOT IN (subquery)
// reads its subquery twice (once for the NULL check). Those scans come out as
// references with `rescan` set.
import { addNeed, compose, rename } from './columns.js';
import { columnFilters, columnName, conjuncts, dirConditions, isNode, type FromItem } from './dir-filter.js';
import type { ColumnUse, Need, RelationOutput, SqlReading, TableRef } from './types.js';

type Node = Record<string, unknown>;

/** A FROM item as names resolve against it. */
interface Item {
  /** The alias, or for a table without one its name (lower case). */
  name: string | null;
  /** A table: the index of its reference. */
  ref?: number;
  /** A derived table, CTE, or anything else with known output columns. */
  rel?: RelationOutput;
  /** Whether any name may be one of its columns (tables, UNNEST, functions). */
  dynamic: boolean;
}

interface Scope {
  items: Item[];
  parent: Scope | null;
  ctes: Map<string, Cte>;
  /** References made for this SELECT's FROM list (derived tables' and CTEs' included). */
  fromRefs: number[];
}

interface Cte {
  node: unknown;
  columns: string[] | null;
  /** The CTEs visible to its body. */
  ctes: Map<string, Cte>;
}

/** A subquery being analyzed: where it sits, and the outer scopes its correlation needs copied. */
interface Frame {
  scope: Scope;
  copies: Set<Scope>;
}

const MAX_CTE_EXPANSIONS = 1_000;

export function readingFromAst(ast: unknown): Omit<SqlReading, 'parsed'> {
  const analysis = new Analysis();
  return analysis.statement(ast);
}

/** The references alone (tests, diagnostics). */
export function referencesFromAst(ast: unknown): TableRef[] {
  return readingFromAst(ast).refs;
}

class Analysis {
  private readonly refs: TableRef[] = [];
  private readonly uses: ColumnUse[] = [];
  private readonly frames: Frame[] = [];
  private readonly rescans: Array<{ refs: number[]; why: string }> = [];
  private readonly expanding = new Set<Cte>();
  private expansions = 0;

  statement(ast: unknown): Omit<SqlReading, 'parsed'> {
    let output: RelationOutput | undefined;
    if (Array.isArray(ast)) {
      for (const node of ast) this.outer(node);
    } else if (isNode(ast) && ast.type === 'select') {
      output = this.select(ast, null, new Map());
    } else {
      this.outer(ast);
    }
    const refs = this.refs.map((ref, i) => ({ ...ref, columns: this.uses[i]! }));
    for (const { refs: copied, why } of this.rescans) {
      for (const of of copied) refs.push({ ...refs[of]!, columns: { all: false, paths: [] }, rescan: { of, why } });
    }
    return output ? { refs, output } : { refs };
  }

  // Any other statement (CTAS, INSERT, several statements): every query in it is read in full.
  private outer(node: unknown): void {
    if (Array.isArray(node)) {
      for (const item of node) this.outer(item);
      return;
    }
    if (!isNode(node)) return;
    if (node.type === 'select' || Array.isArray(node.from)) {
      this.always(compose(this.select(node, null, new Map()), 'all'));
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') this.outer(value);
  }

  private always(needs: Need[]): void {
    for (const need of needs) addNeed(this.uses, need);
  }

  private newRef(ref: TableRef): number {
    this.refs.push(ref);
    this.uses.push({ all: false, paths: [] });
    return this.refs.length - 1;
  }

  /** One SELECT (or set operation) in `parent`'s scope; its output for the consumer to compose. */
  private select(node: Node, parent: Scope | null, outerCtes: Map<string, Cte>): RelationOutput {
    const ctes = this.withCtes(node, outerCtes);
    if (isNode(node._next)) return this.setOperation(node, parent, ctes);
    const scope: Scope = { items: [], parent, ctes, fromRefs: [] };
    const fromItems: FromItem[] = [];
    const from = Array.isArray(node.from) ? node.from.filter(isNode) : [];
    for (const entry of from) {
      const before = this.refs.length;
      const { item, fromItem } = this.fromItem(entry, scope);
      scope.items.push(item);
      fromItems.push(fromItem);
      for (let i = before; i < this.refs.length; i++) scope.fromRefs.push(i);
    }
    // Join conditions and USING lists, once every item is known.
    for (const entry of from) {
      if (entry.on !== undefined) this.condition(entry.on, scope);
      if (Array.isArray(entry.using)) {
        for (const name of entry.using) {
          const text = isNode(name) ? name.value : name;
          if (typeof text === 'string') this.always(this.resolve(scope, [text.toLowerCase()], false));
        }
      }
    }
    const dirs = dirConditions(node.where, fromItems);
    const filters = columnFilters(node.where, fromItems);
    fromItems.forEach((item, i) => {
      const index = scope.items[i]?.ref;
      if (item.ref && index !== undefined) {
        this.refs[index]!.dirs = dirs[i] ?? [];
        this.refs[index]!.filters = filters[i] ?? [];
      }
    });
    this.condition(node.where, scope);
    const output = this.selectList(node.columns, scope);
    for (const key of ['groupby', 'having', 'orderby', 'window', 'qualify'] as const) this.byOutput(node[key], scope, output);
    // DISTINCT compares whole rows: every output column is read.
    if (isNode(node.distinct) && typeof node.distinct.type === 'string' && node.distinct.type !== '') this.always(compose(output, 'all'));
    return output;
  }

  // UNION, INTERSECT, EXCEPT: each branch is read in full (set semantics need every column).
  private setOperation(node: Node, parent: Scope | null, ctes: Map<string, Cte>): RelationOutput {
    let first: RelationOutput | null = null;
    for (let branch: unknown = node; isNode(branch); branch = branch._next) {
      const single = { ...branch, _next: undefined, with: null };
      const output = this.select(single, parent, ctes);
      this.always(compose(output, 'all'));
      first ??= output;
    }
    return { columns: (first?.columns ?? []).map((c) => ({ name: c.name, needs: [] })), stars: [] };
  }

  private withCtes(node: Node, outer: Map<string, Cte>): Map<string, Cte> {
    if (!Array.isArray(node.with) || node.with.length === 0) return outer;
    const ctes = new Map(outer);
    for (const entry of node.with) {
      if (!isNode(entry)) continue;
      const raw = isNode(entry.name) ? entry.name.value : entry.name;
      if (typeof raw !== 'string') continue;
      const body = isNode(entry.stmt) && isNode(entry.stmt.ast) ? entry.stmt.ast : entry.stmt;
      const columns = Array.isArray(entry.columns) ? entry.columns.map((c) => nameOf(c)).filter((c): c is string => c !== null) : null;
      // A CTE sees the ones before it (and, for recursion, itself: guarded by `expanding`).
      ctes.set(raw.toLowerCase(), { node: body, columns: columns && columns.length > 0 ? columns : null, ctes });
    }
    return ctes;
  }

  private fromItem(entry: Node, scope: Scope): { item: Item; fromItem: FromItem } {
    const { alias, columns } = parseAlias(entry.as);
    const table = typeof entry.table === 'string' && entry.expr === undefined ? entry.table : null;
    if (table !== null) {
      // db may hold a dotted name (`dfs.tmp`.`x`); Drill reads it as two schema levels.
      const schema = [entry.db, entry.schema].filter((s): s is string => typeof s === 'string' && s !== '').flatMap((s) => s.split('.'));
      const cte = schema.length === 0 ? findCte(scope, table.toLowerCase()) : null;
      if (cte) {
        let rel = this.expandCte(cte);
        if (columns) rel = rename(rel, columns);
        return { item: { name: (alias ?? table).toLowerCase(), rel, dynamic: false }, fromItem: { ref: null, alias } };
      }
      const ref: TableRef = { schema, table, dirs: [] };
      const index = this.newRef(ref);
      return { item: { name: (alias ?? table).toLowerCase(), ref: index, dynamic: true }, fromItem: { ref, alias } };
    }
    const sub = subquery(entry.expr);
    if (sub) {
      // A derived table sees the scopes around its SELECT, not its siblings.
      let rel = this.select(sub, scope.parent, scope.ctes);
      if (columns) rel = rename(rel, columns);
      return { item: { name: alias?.toLowerCase() ?? null, rel, dynamic: false }, fromItem: { ref: null, alias } };
    }
    // UNNEST, FLATTEN, VALUES, a table function: what it reads is read from the items before it.
    this.condition(entry.expr, scope);
    return { item: { name: alias?.toLowerCase() ?? null, dynamic: true }, fromItem: { ref: null, alias } };
  }

  private expandCte(cte: Cte): RelationOutput {
    if (this.expanding.has(cte) || ++this.expansions > MAX_CTE_EXPANSIONS || !isNode(cte.node)) return { columns: [], stars: [] };
    this.expanding.add(cte);
    try {
      // A CTE's body is a query of its own: it correlates with nothing around the reference.
      const rel = this.select(cte.node, null, cte.ctes);
      return cte.columns ? rename(rel, cte.columns) : rel;
    } finally {
      this.expanding.delete(cte);
    }
  }

  private selectList(columns: unknown, scope: Scope): RelationOutput {
    const output: RelationOutput = { columns: [], stars: [] };
    for (const column of Array.isArray(columns) ? columns : []) {
      if (!isNode(column)) continue;
      const expr = column.expr;
      const star = starOf(expr);
      if (star !== undefined) {
        for (const item of scope.items) {
          if (star !== null && item.name !== star) continue;
          if (item.ref !== undefined) output.stars.push(item.ref);
          else if (item.rel) {
            output.columns.push(...item.rel.columns);
            output.stars.push(...item.rel.stars);
          }
        }
        continue;
      }
      const needs: Need[] = [];
      this.walk(expr, scope, needs, false);
      const alias = typeof column.as === 'string' ? column.as : nameOf(column.as);
      output.columns.push({ name: (alias ?? plainName(expr))?.toLowerCase() ?? null, needs });
    }
    return output;
  }

  // GROUP BY, HAVING, ORDER BY may name an output column by its alias or position.
  private byOutput(node: unknown, scope: Scope, output: RelationOutput): void {
    const entries = isNode(node) && Array.isArray(node.columns) ? node.columns : Array.isArray(node) ? node : [node];
    for (const entry of entries) {
      const expr = isNode(entry) && entry.expr !== undefined && entry.type !== 'column_ref' ? entry.expr : entry;
      if (isNode(expr) && expr.type === 'number') {
        const column = output.columns[Number(expr.value) - 1];
        if (column) this.always(column.needs);
        continue;
      }
      if (isNode(expr) && expr.type === 'column_ref' && !expr.table) {
        // An output column's alias wins over a column of that name, as in Calcite.
        const name = columnName(expr.column)?.toLowerCase();
        const named = output.columns.filter((column) => column.name === name);
        for (const column of named) this.always(column.needs);
        if (named.length > 0) continue;
      }
      this.condition(entry, scope);
    }
  }

  // A condition (WHERE, ON, ...): its columns are always read. The operands of an
  // AND-ed `a = b` between two columns are equalities, which decorrelate without a copy.
  private condition(expr: unknown, scope: Scope): void {
    const sink: Need[] = [];
    for (const conjunct of isNode(expr) ? conjuncts(expr) : []) {
      if (conjunct.type === 'binary_expr' && conjunct.operator === '=' && isColumn(conjunct.left) && isColumn(conjunct.right)) {
        this.walk(conjunct.left, scope, sink, true);
        this.walk(conjunct.right, scope, sink, true);
      } else {
        this.walk(conjunct, scope, sink, false);
      }
    }
    if (!isNode(expr)) this.walk(expr, scope, sink, false);
    this.always(sink);
  }

  private walk(node: unknown, scope: Scope, sink: Need[], equality: boolean): void {
    if (Array.isArray(node)) {
      for (const item of node) this.walk(item, scope, sink, equality);
      return;
    }
    if (!isNode(node)) return;
    if (node.type === 'column_ref') {
      const path = columnPath(node);
      if (path) sink.push(...this.resolve(scope, path, equality));
      // A shape not understood: whatever it names, every column of this scope's tables covers it.
      else if (node.column !== '*') for (const item of scope.items) sink.push(...needsOf(item, []));
      return;
    }
    const sub = subquery(node);
    if (sub) {
      this.subquery(sub, scope, 'all');
      return;
    }
    if (node.type === 'function' && functionName(node) === 'EXISTS') return this.existsArgs(node.args, scope);
    if (node.type === 'unary_expr' && String(node.operator).replace(/\s+/g, '').toUpperCase() === 'NOTEXISTS') return this.existsArgs(node.expr, scope);
    if (node.type === 'binary_expr' && String(node.operator).replace(/\s+/g, ' ').toUpperCase() === 'NOT IN') {
      this.walk(node.left, scope, sink, false);
      for (const inner of isNode(node.right) && Array.isArray(node.right.value) ? node.right.value : [node.right]) {
        const list = subquery(inner);
        if (list) this.subquery(list, scope, 'all', 'NOT IN (subquery): Drill reads the subquery again for its NULL check');
        else this.walk(inner, scope, sink, false);
      }
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc' && key !== 'tableList' && key !== 'columnList') this.walk(value, scope, sink, false);
  }

  private existsArgs(args: unknown, scope: Scope): void {
    const values = isNode(args) && Array.isArray(args.value) ? args.value : [args];
    for (const value of values) {
      const sub = subquery(value);
      // EXISTS reads no output column of its subquery.
      if (sub) this.subquery(sub, scope, 'none');
      else this.condition(value, scope);
    }
  }

  private subquery(node: Node, scope: Scope, read: 'all' | 'none', again?: string): void {
    const frame: Frame = { scope, copies: new Set() };
    this.frames.push(frame);
    const before = this.refs.length;
    try {
      const output = this.select(node, scope, scope.ctes);
      if (read === 'all') this.always(compose(output, 'all'));
    } finally {
      this.frames.pop();
    }
    const inner = Array.from({ length: this.refs.length - before }, (_, i) => before + i);
    if (again && inner.length > 0) this.rescans.push({ refs: inner, why: again });
    for (const outer of frame.copies) {
      if (outer.fromRefs.length > 0) {
        this.rescans.push({ refs: [...outer.fromRefs], why: 'a correlated subquery (correlation beyond column equalities): Drill decorrelates it with another scan of the outer FROM' });
      }
    }
  }

  /** The needs of a column path (lower case) named in `scope`. */
  private resolve(scope: Scope, path: string[], equality: boolean): Need[] {
    // A qualifier is an item's name, possibly after its schema (dfs.tpch.lineitem.l_tax).
    for (let s: Scope | null = scope; s; s = s.parent) {
      for (let k = 1; k < path.length; k++) {
        const item = s.items.find((i) => i.name === path[k - 1]);
        if (item) {
          this.correlate(s, equality);
          return needsOf(item, path.slice(k));
        }
      }
    }
    // Unqualified, or a qualifier that names no item (a map column: m.x).
    const name = path[0]!;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const candidates = s.items.filter((i) => i.dynamic || (i.rel !== undefined && (i.rel.stars.length > 0 || i.rel.columns.some((c) => c.name === name))));
      if (candidates.length > 0) {
        this.correlate(s, equality);
        return candidates.flatMap((item) => needsOf(item, path));
      }
    }
    return [];
  }

  // A name resolved in an outer scope: every subquery between here and there is correlated with it.
  private correlate(target: Scope, equality: boolean): void {
    if (equality) return;
    for (const frame of this.frames) {
      if (isWithin(frame.scope, target)) frame.copies.add(target);
    }
  }
}

/** Whether `outer` is `scope` or one of the scopes around it. */
function isWithin(scope: Scope, outer: Scope): boolean {
  for (let s: Scope | null = scope; s; s = s.parent) if (s === outer) return true;
  return false;
}

function needsOf(item: Item, path: string[]): Need[] {
  if (item.ref !== undefined) return [{ ref: item.ref, path: path.length > 0 ? path : null }];
  if (item.rel) return path.length > 0 ? compose(item.rel, [path[0]!]) : compose(item.rel, 'all');
  return [];
}

function findCte(scope: Scope, name: string): Cte | null {
  return scope.ctes.get(name) ?? null;
}

// `AS t`, `AS t (a, b)` (node-sql-parser gives the column list inside the string).
function parseAlias(as: unknown): { alias: string | null; columns: string[] | null } {
  const text = typeof as === 'string' ? as : nameOf(as);
  if (text === null) return { alias: null, columns: null };
  const match = /^([^(]*)\(([^)]*)\)$/.exec(text);
  if (!match) return { alias: text, columns: null };
  const columns = match[2]!.split(',').map((c) => c.trim().replace(/^[`"]|[`"]$/g, '').toLowerCase()).filter((c) => c !== '');
  return { alias: match[1]!.trim() || null, columns };
}

function nameOf(node: unknown): string | null {
  if (typeof node === 'string') return node;
  if (!isNode(node)) return null;
  if (typeof node.value === 'string') return node.value;
  if (node.type === 'column_ref') return columnName(node.column);
  return null;
}

/** A subquery's SELECT, wherever the dialect wraps it. */
function subquery(node: unknown): Node | null {
  if (!isNode(node)) return null;
  if (isNode(node.ast) && (node.ast.type === 'select' || Array.isArray(node.ast.from))) return node.ast;
  if (node.type === 'select') return node;
  return null;
}

function functionName(node: Node): string | null {
  const name = node.name;
  if (typeof name === 'string') return name.toUpperCase();
  if (isNode(name) && Array.isArray(name.name)) {
    const last = name.name[name.name.length - 1];
    return isNode(last) && typeof last.value === 'string' ? last.value.toUpperCase() : null;
  }
  return null;
}

/** `*` (null) or `t.*` (t) in a select list; undefined for anything else. */
function starOf(expr: unknown): string | null | undefined {
  if (!isNode(expr)) return undefined;
  if (expr.type === 'star') return null;
  if (expr.type !== 'column_ref' || expr.column !== '*') return undefined;
  const table = nameOf(expr.table);
  return table === null || table === '' ? null : table.toLowerCase();
}

function isColumn(node: unknown): boolean {
  return isNode(node) && node.type === 'column_ref' && columnPath(node) !== null;
}

/** The parts of a column reference, lower case: [qualifier?, column, field...]. */
function columnPath(node: Node): string[] | null {
  const dotted = isNode(node.column) && isNode(node.column.expr) && node.column.expr.type === 'binary_expr' ? dots(node.column.expr) : null;
  if (dotted) return dotted.map((p) => p.toLowerCase());
  const column = columnName(node.column);
  if (column === null || column === '*') return null;
  const parts = [node.db, node.schema, node.table].map((p) => nameOf(p)).filter((p): p is string => p !== null && p !== '');
  return [...parts.flatMap((p) => p.split('.')), column].map((p) => p.toLowerCase());
}

// a.b.c.d beyond three parts comes as a tree of `.` operators.
function dots(expr: unknown): string[] | null {
  if (typeof expr === 'string') return [expr];
  if (!isNode(expr)) return null;
  if (expr.type === 'default' && typeof expr.value === 'string') return [expr.value];
  if (expr.type !== 'binary_expr' || expr.operator !== '.') return null;
  const left = dots(expr.left);
  const right = dots(expr.right);
  return left && right ? [...left, ...right] : null;
}

// The name an unaliased output column gets: the column's own name.
function plainName(expr: unknown): string | null {
  if (!isNode(expr) || expr.type !== 'column_ref') return null;
  const path = columnPath(expr);
  return path ? path[path.length - 1]! : null;
}
