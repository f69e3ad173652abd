// Table references from node-sql-parser's AST. The walk is generic (every
// object, every key), so subqueries are found wherever the dialect puts them:
// IN/EXISTS, scalar subqueries, derived tables, set operations (`_next`),
// CTAS and INSERT sources. Only `from` lists hold tables; CTE names in scope
// are not tables.
import { dirConditions, isNode, type FromItem } from './dir-filter.js';
import { namesCte, type TableRef } from './types.js';

type Node = Record<string, unknown>;

export function referencesFromAst(ast: unknown): TableRef[] {
  const refs: TableRef[] = [];
  visit(ast, new Set(), refs);
  return refs;
}

function visit(node: unknown, ctes: ReadonlySet<string>, refs: TableRef[]): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, ctes, refs);
    return;
  }
  if (!isNode(node)) return;
  const scope = withCtes(node, ctes);
  // CTE bodies first, then FROM: targets come out roughly in the order of the text.
  visit(node.with, scope, refs);
  if (Array.isArray(node.from)) {
    refs.push(...fromRefs(node, scope));
    // Derived tables, ON conditions: everything in FROM but the tables themselves.
    for (const item of node.from) if (isNode(item)) visit(baseTable(item) ? item.on : item, scope, refs);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'with' && !(key === 'from' && Array.isArray(value))) visit(value, scope, refs);
  }
}

// A WITH list puts its names in scope for the statement and for the CTE bodies.
function withCtes(node: Node, ctes: ReadonlySet<string>): ReadonlySet<string> {
  if (!Array.isArray(node.with)) return ctes;
  const names = node.with.map(cteName).filter((n): n is string => n !== null);
  return names.length === 0 ? ctes : new Set([...ctes, ...names]);
}

function cteName(item: unknown): string | null {
  if (!isNode(item)) return null;
  const name = isNode(item.name) ? item.name.value : item.name;
  return typeof name === 'string' ? name.toLowerCase() : null;
}

function fromRefs(select: Node, ctes: ReadonlySet<string>): TableRef[] {
  const items = (select.from as unknown[]).filter(isNode).map(fromItem);
  const conditions = dirConditions(select.where, items);
  const refs: TableRef[] = [];
  items.forEach((item, i) => {
    if (item.ref && !namesCte(item.ref, ctes)) refs.push({ ...item.ref, dirs: conditions[i] ?? [] });
  });
  return refs;
}

function fromItem(node: Node): FromItem {
  const table = baseTable(node);
  const alias = typeof node.as === 'string' ? node.as : null;
  if (!table) return { ref: null, alias };
  // db may hold a dotted name (`dfs.tmp`.`x`); Drill reads it as two schema levels.
  const schema = [node.db, node.schema].filter((s): s is string => typeof s === 'string' && s !== '').flatMap((s) => s.split('.'));
  return { ref: { schema, table, dirs: [] }, alias };
}

function baseTable(node: Node): string | null {
  return typeof node.table === 'string' && node.expr === undefined ? node.table : null;
}

