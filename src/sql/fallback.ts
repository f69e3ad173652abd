// When node-sql-parser cannot read a query, its table references are still
// found from tokens: the qualified names after FROM and JOIN (and after commas
// in a FROM list), in query context only, so EXTRACT(YEAR FROM ts) is no table.
import { isKeyword, isPunct, significantList, tableFunctionAt, TokenList, type Token } from './lexer.js';
import { namesCte, type TableRef } from './types.js';

// Statements that can read tables; SHOW, USE, ALTER SESSION, ... read none.
const READING_STATEMENTS = new Set(['SELECT', 'WITH', 'CREATE', 'INSERT', 'EXPLAIN', 'VALUES']);

// Words after a table name that are not its alias.
const CLAUSE_WORDS = new Set(
  'WHERE JOIN INNER LEFT RIGHT FULL CROSS OUTER NATURAL ON USING GROUP ORDER HAVING LIMIT OFFSET FETCH UNION INTERSECT EXCEPT MINUS WINDOW QUALIFY LATERAL TABLESAMPLE AS'.split(
    ' ',
  ),
);

export function referencesFromTokens(sql: string): TableRef[] {
  // Kinds and offsets only: the fallback also runs on the gateway's main thread for
  // texts the parser gave up on, up to the 1 MiB limit.
  const list = significantList(sql);
  const first = list.at(0);
  if (!isPunct(first, '(') && !READING_STATEMENTS.has(first?.value.toUpperCase() ?? '')) return [];
  const ctes = cteNames(list);
  const inQuery = queryContext(list);
  const refs: TableRef[] = [];
  for (let i = 0; i < list.length; i++) {
    if (inQuery[i] && (list.isKeywordAt(i, 'FROM') || list.isKeywordAt(i, 'JOIN'))) {
      refs.push(...fromList(list, i + 1).filter((ref) => !namesCte(ref, ctes)));
    }
  }
  return refs;
}

/** For each token, whether it sits in a query (1): top level or a parenthesized SELECT/WITH. */
function queryContext(list: TokenList): Uint8Array {
  const inQuery = new Uint8Array(list.length);
  const stack: boolean[] = [true];
  for (let i = 0; i < list.length; i++) {
    inQuery[i] = stack[stack.length - 1]! ? 1 : 0;
    if (list.isPunctAt(i, '(')) stack.push(list.isKeywordAt(i + 1, 'SELECT') || list.isKeywordAt(i + 1, 'WITH'));
    else if (list.isPunctAt(i, ')') && stack.length > 1) stack.pop();
  }
  return inQuery;
}

// The comma-separated table list after FROM, or the one table after JOIN.
function fromList(list: TokenList, start: number): TableRef[] {
  const refs: TableRef[] = [];
  let i = start;
  for (;;) {
    const call = tableFunctionAt(list, i);
    const name = readName(list, call ? call.nameStart : i);
    if (!name) return refs;
    refs.push(name.ref);
    i = skipAlias(list, call ? call.end + 1 : name.end);
    if (!isPunct(list.at(i), ',')) return refs;
    i++;
  }
}

function readName(list: TokenList, start: number): { ref: TableRef; end: number } | null {
  if (isKeyword(list.at(start), 'LATERAL') || isKeyword(list.at(start), 'UNNEST')) return null;
  const parts: string[] = [];
  let i = start;
  while (isNamePart(list.at(i))) {
    parts.push(list.at(i)!.value);
    i++;
    if (!isPunct(list.at(i), '.')) break;
    i++;
  }
  const table = parts.pop();
  if (table === undefined) return null;
  return { ref: { schema: parts.flatMap((p) => p.split('.')), table, dirs: [] }, end: i };
}

function isNamePart(token: Token | undefined): boolean {
  return token?.kind === 'quoted' || token?.kind === 'word';
}

function skipAlias(list: TokenList, i: number): number {
  if (isKeyword(list.at(i), 'AS')) i++;
  const alias = list.at(i);
  if (alias?.kind === 'quoted' || (alias?.kind === 'word' && !CLAUSE_WORDS.has(alias.value.toUpperCase()))) i++;
  // A column list after the alias: AS t(a, b).
  return isPunct(list.at(i), '(') ? list.closing(i) + 1 : i;
}

// WITH [RECURSIVE] a AS (...), b (x, y) AS (...): names that are no tables.
function cteNames(list: TokenList): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    if (!list.isPunctAt(i, ',') && !list.isKeywordAt(i, 'WITH')) continue;
    const at = list.isKeywordAt(i + 1, 'RECURSIVE') ? i + 2 : i + 1;
    const afterColumns = list.isPunctAt(at + 1, '(') ? list.closing(at + 1) + 1 : at + 1;
    if (!list.isKeywordAt(afterColumns, 'AS') || !list.isPunctAt(afterColumns + 1, '(')) continue;
    const name = list.at(at);
    if (isNamePart(name)) names.add(name!.value.toLowerCase());
  }
  return names;
}

