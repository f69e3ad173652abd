// Which WHERE conjuncts restrict Drill's implicit directory columns (dir0, dir1, ...)
// of which table. Only what is certainly a restriction counts: a top-level AND of
// `dirN = literal`, `literal = dirN` and `dirN IN (literals)`. Anything else (OR,
// NOT, functions, <, >, a column another table could own) restricts nothing here,
// which over-estimates: safe, where under-estimating would not be.
import type { DirCondition, TableRef } from './types.js';

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

function conjuncts(expr: unknown): Node[] {
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

function columnName(column: unknown): string | null {
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
function ownerOf(qualifier: string | null, items: FromItem[]): number {
  if (qualifier === null) return items.length === 1 && items[0]!.ref ? 0 : -1;
  const q = qualifier.toLowerCase();
  const owners = items.flatMap((item, i) => (item.ref && (item.alias ?? item.ref.table).toLowerCase() === q ? [i] : []));
  return owners.length === 1 ? owners[0]! : -1;
}

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
