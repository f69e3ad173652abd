// node-sql-parser with the dialect that reads Drill best. Of the v5 dialects,
// `postgresql` accepts the most Drill queries: backtick identifiers holding
// slashes, dots and globs (dfs.`/a/b*.json`), three-part names (dfs.ws.`x`),
// INTERSECT/EXCEPT, IN/EXISTS subqueries and CTAS. Only its single-dialect
// bundle is loaded: a fifth of the start-up time of the all-dialects one.
// What no dialect accepts (Drill's table functions, EXPLAIN PLAN FOR) is
// rewritten into what the parser reads, keeping the table references intact.
import postgresql from 'node-sql-parser/build/postgresql.js';
import { isKeyword, significant, tableFunctionAt, TokenList, tokenize, type Token } from './lexer.js';

const parser = new postgresql.Parser();

/** The AST of one Drill SQL text; throws what the parser throws. */
export function parseDrillSql(sql: string): unknown {
  return parser.astify(rewriteForParser(sql), { database: 'postgresql' });
}

/** Drill syntax the parser lacks, turned into equivalent references. */
export function rewriteForParser(sql: string): string {
  const tokens = unwrapTableFunctions(new TokenList(tokenize(sql)));
  return dropExplain(tokens)
    .map((t) => t.text)
    .join('');
}

// table(dfs.`x.csv`(type => 'text')) reads dfs.`x.csv`: keep the name, drop the call.
function unwrapTableFunctions(list: TokenList): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < list.length; i++) {
    const call = tableFunctionAt(list, i);
    if (call) {
      out.push(...list.tokens.slice(call.nameStart, call.nameEnd));
      i = call.end;
    } else {
      out.push(list.at(i)!);
    }
  }
  return out;
}

// EXPLAIN PLAN [...] FOR <query> plans the query: its references are the query's.
function dropExplain(tokens: Token[]): Token[] {
  if (!isKeyword(significant(tokens)[0], 'EXPLAIN')) return tokens;
  const forIndex = tokens.findIndex((t) => isKeyword(t, 'FOR'));
  return forIndex < 0 ? tokens : tokens.slice(forIndex + 1);
}
