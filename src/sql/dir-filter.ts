// Which WHERE conjuncts restrict Drill's implicit directory columns (dir0, dir1, ...)
// of which table, and which compare a column with literals (Parquet row-group
// pruning). Only what is certainly a restriction counts: a top-level AND of
// `dirN = literal`, `literal = dirN` and `dirN IN (literals)`; for columns also
// <, >, <=, >= and BETWEEN. Anything else (OR, NOT, functions, a column another
// table could own) restricts nothing here, which over-estimates: safe, where
// under-estimating would not be.
import type { ColumnFilter, DirCondition, Literal, TableRef } from './types.js';

type Node = Record<string, unknown>;

/** One entry of a FROM list: a table (ref) or anything else (derived table, UNNEST, ...). */
export interface FromItem {
  ref: TableRef | null;
  alias: string | null;
}

const DIR_COLUMN = /^dir(0|[1-9]\d{0,3})$/i;

/** The directory conditions of each FROM item, by index. */
export function dirConditions(where: unknown, items: FromItem[]): DirCondition[][] {
  const out = items.map((): DirCondition[] => []);
  for (const conjunct of conjuncts(where)) {
    const found = dirCondition(conjunct);
    const owner = found ? ownerOf(found.qualifier, items) : -1;
    if (found && owner >= 0) out[owner]!.push(found.condition);
  }
  return out;
}

// Drill's planner.in_subquery_threshold: an IN list this long or longer becomes a
// join with a VALUES table, which Drill's Parquet filter pushdown does not see.
const IN_LIST_THRESHOLD = 20;
// Drill's implicit columns: what they are compared with says nothing about row groups.
const IMPLICIT = /^(dir(0|[1-9]\d{0,3})|filename|filepath|fqn|suffix)$/i;
const FLIPPED: Record<string, ColumnFilter['op']> = { '=': '=', '<': '>', '>': '<', '<=': '>=', '>=': '<=' };

/** The literal comparisons on columns of each FROM item, by index. */
export function columnFilters(where: unknown, items: FromItem[]): ColumnFilter[][] {
  const out = items.map((): ColumnFilter[] => []);
  for (const conjunct of conjuncts(where)) {
    for (const found of columnFilter(conjunct)) {
      const owner = ownerOf(found.qualifier, items);
      if (owner >= 0) out[owner]!.push(found.filter);
    }
  }
  return out;
}

function columnFilter(expr: Node): Array<{ qualifier: string | null; filter: ColumnFilter }> {
  if (expr.type !== 'binary_expr') return [];
  const operator = String(expr.operator).toUpperCase();
  if (operator in FLIPPED) {
    const direct = comparison(expr.left, expr.right, operator as ColumnFilter['op']);
    const flipped = direct ? null : comparison(expr.right, expr.left, FLIPPED[operator]!);
    const found = direct ?? flipped;
    return found ? [found] : [];
  }
  const column = plainColumn(expr.left);
  if (!column || !isNode(expr.right) || expr.right.type !== 'expr_list' || !Array.isArray(expr.right.value)) return [];
  const values = expr.right.value.map(typedLiteral);
  if (values.some((v) => v === null)) return [];
  const literals = values as Literal[];
  if (operator === 'BETWEEN' && literals.length === 2) {
    return [
      { qualifier: column.qualifier, filter: { column: column.name, op: '>=', values: [literals[0]!] } },
      { qualifier: column.qualifier, filter: { column: column.name, op: '<=', values: [literals[1]!] } },
    ];
  }
  if (operator === 'IN' && literals.length > 0 && literals.length < IN_LIST_THRESHOLD) {
    return [{ qualifier: column.qualifier, filter: { column: column.name, op: 'in', values: literals } }];
  }
  return [];
}

function comparison(columnSide: unknown, valueSide: unknown, op: ColumnFilter['op']): { qualifier: string | null; filter: ColumnFilter } | null {
  const column = plainColumn(columnSide);
  const value = typedLiteral(valueSide);
  if (!column || value === null) return null;
  return { qualifier: column.qualifier, filter: { column: column.name, op, values: [value] } };
}

// A column named by itself or with its table's qualifier (no map fields, no subscripts).
function plainColumn(node: unknown): { qualifier: string | null; name: string } | null {
  if (!isNode(node) || node.type !== 'column_ref' || node.db || node.schema || node.array_index) return null;
  const name = columnName(node.column);
  if (name === null || IMPLICIT.test(name)) return null;
  const qualifier = typeof node.table === 'string' && node.table !== '' ? node.table : null;
  return { qualifier, name: name.toLowerCase() };
}

function typedLiteral(node: unknown): Literal | null {
  if (!isNode(node)) return null;
  if (node.type === 'single_quote_string' && typeof node.value === 'string') return { kind: 'string', value: node.value.replaceAll("''", "'") };
  if ((node.type === 'number' || node.type === 'bigint') && (typeof node.value === 'number' || typeof node.value === 'string')) {
    const text = String(node.value);
    return Number.isFinite(Number(text)) ? { kind: 'number', text } : null;
  }
  if (node.type === 'date' && typeof node.value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(node.value)) return { kind: 'date', value: node.value };
  return null;
}

export function conjuncts(expr: unknown): Node[] {
  if (!isNode(expr)) return [];
  if (expr.type === 'binary_expr' && String(expr.operator).toUpperCase() === 'AND') {
    return [...conjuncts(expr.left), ...conjuncts(expr.right)];
  }
  return [expr];
}

interface Found {
  qualifier: string | null;
  condition: DirCondition;
}

function dirCondition(expr: Node): Found | null {
  if (expr.type !== 'binary_expr') return null;
  const operator = String(expr.operator).toUpperCase();
  if (operator === '=') return equality(expr.left, expr.right) ?? equality(expr.right, expr.left);
  if (operator === 'IN') return membership(expr.left, expr.right);
  return null;
}

function equality(columnSide: unknown, valueSide: unknown): Found | null {
  const column = dirColumn(columnSide);
  const value = literal(valueSide);
  if (!column || value === null) return null;
  return { qualifier: column.qualifier, condition: { level: column.level, values: [value] } };
}

function membership(columnSide: unknown, list: unknown): Found | null {
  const column = dirColumn(columnSide);
  if (!column || !isNode(list) || list.type !== 'expr_list' || !Array.isArray(list.value)) return null;
  const values = list.value.map(literal);
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return { qualifier: column.qualifier, condition: { level: column.level, values: values as Array<string | number> } };
}

function dirColumn(node: unknown): { qualifier: string | null; level: number } | null {
  if (!isNode(node) || node.type !== 'column_ref' || node.db || node.schema) return null;
  const name = columnName(node.column);
  const match = name === null ? null : DIR_COLUMN.exec(name);
  if (!match) return null;
  const qualifier = typeof node.table === 'string' && node.table !== '' ? node.table : null;
  return { qualifier, level: Number(match[1]) };
}

export function columnName(column: unknown): string | null {
  if (typeof column === 'string') return column;
  const expr = isNode(column) && isNode(column.expr) ? column.expr : null;
  return expr && typeof expr.value === 'string' ? expr.value : null;
}

function literal(node: unknown): string | number | null {
  if (!isNode(node)) return null;
  if (node.type === 'single_quote_string' && typeof node.value === 'string') return node.value.replaceAll("''", "'");
  if (node.type === 'number' && (typeof node.value === 'number' || typeof node.value === 'string')) {
    const n = Number(node.value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

// An unqualified dirN belongs to the only FROM item; a qualified one to the item
// of that alias (or table name). In a join an unqualified dirN is ambiguous.
export function ownerOf(qualifier: string | null, items: FromItem[]): number {
  if (qualifier === null) return items.length === 1 && items[0]!.ref ? 0 : -1;
  const q = qualifier.toLowerCase();
  const owners = items.flatMap((item, i) => (item.ref && (item.alias ?? item.ref.table).toLowerCase() === q ? [i] : []));
  return owners.length === 1 ? owners[0]! : -1;
}

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
