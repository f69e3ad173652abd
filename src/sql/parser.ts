// node-sql-parser with the dialect that reads Drill best. Of the v5 dialects,
// `postgresql` accepts the most Drill queries: backtick identifiers holding
// slashes, dots and globs (dfs.`/a/b*.json`), three-part names (dfs.ws.`x`),
// INTERSECT/EXCEPT, IN/EXISTS subqueries and CTAS. Only its single-dialect
// bundle is loaded: a fifth of the start-up time of the all-dialects one.
// What no dialect accepts (Drill's table functions, EXPLAIN PLAN FOR) is
// rewritten into what the parser reads, keeping the table references intact.
import postgresql from 'node-sql-parser/build/postgresql.js';
import { isKeyword, isPunct, significant, tableFunctionAt, TokenList, tokenize, type LexOptions, type Token } from './lexer.js';

const parser = new postgresql.Parser();

/** The AST of one Drill SQL text; throws what the parser throws. */
export function parseDrillSql(sql: string, options: LexOptions = {}): unknown {
  return parser.astify(rewriteForParser(sql, options), { database: 'postgresql' });
}

/**
 * Drill syntax the parser lacks, turned into equivalent references. The text is
 * rebuilt from Drill's tokens (src/sql/lexer.ts), so the parser sees what Drill sees:
 * every identifier in backticks with its value (U&"..", [..] and ".." quoting
 * included), every string as a plain '..' literal, comments and hints gone.
 */
export function rewriteForParser(sql: string, options: LexOptions = {}): string {
  const tokens = unwrapTableFunctions(new TokenList(dropHints(tokenize(sql, options))));
  return drillForms(dropExplain(tokens)).map(plainText).join('');
}

const INTERVAL_UNITS = new Set(['YEAR', 'MONTH', 'DAY', 'HOUR', 'MINUTE', 'SECOND']);

/**
 * Drill forms node-sql-parser lacks, in forms it has, keeping every name: an interval's
 * precision (INTERVAL '90' DAY (3): the precision goes), SUBSTRING(x FROM a FOR b)
 * (commas), and a backtick identifier standing alone outside a table position (an alias,
 * `value`: as "value").
 */
function drillForms(tokens: Token[]): Token[] {
  const sig = tokens.map((t, i) => i).filter((i) => tokens[i]!.kind !== 'space' && tokens[i]!.kind !== 'comment');
  const out = tokens.slice();
  const at = (k: number) => (k >= 0 && k < sig.length ? out[sig[k]!] : undefined);
  const blank: Token = { kind: 'space', text: ' ', value: ' ' };
  for (let k = 0; k < sig.length; k++) {
    const t = at(k)!;
    if (isKeyword(t, 'INTERVAL') && at(k + 1)?.kind === 'string' && INTERVAL_UNITS.has(String(at(k + 2)?.value).toUpperCase()) && at(k + 2)?.kind === 'word') {
      if (isPunct(at(k + 3), '(') && at(k + 4)?.kind === 'number' && isPunct(at(k + 5), ')')) {
        for (const d of [3, 4, 5]) out[sig[k + d]!] = blank;
      }
    } else if (isKeyword(t, 'SUBSTRING') && isPunct(at(k + 1), '(')) {
      let depth = 0;
      for (let j = k + 1; j < sig.length; j++) {
        const u = at(j)!;
        if (isPunct(u, '(')) depth++;
        else if (isPunct(u, ')') && --depth === 0) break;
        else if (depth === 1 && (isKeyword(u, 'FROM') || isKeyword(u, 'FOR'))) out[sig[j]!] = { kind: 'punct', text: ',', value: ',' };
      }
    } else if (t.kind === 'quoted' && !isPunct(at(k - 1), '.') && !isPunct(at(k + 1), '.') && !isPunct(at(k + 1), '(')) {
      const prev = at(k - 1);
      const tablePosition = ['FROM', 'JOIN', 'TABLE', 'INTO', 'UPDATE'].some((w) => isKeyword(prev, w)) || isPunct(prev, ',') || isPunct(prev, '(');
      if (!tablePosition && !UNSAFE_FOR_PARSER.test(t.value)) out[sig[k]!] = { kind: 'word', text: '"' + t.value.replace(/"/g, '""') + '"', value: t.value };
    }
  }
  return out;
}

// node-sql-parser reads a backslash in a literal or identifier as an escape, where
// Drill reads it as itself ('a\' is one string to Drill): such texts go to the
// fallback rather than to a parser that would see other tokens than Drill.
const UNSAFE_FOR_PARSER = /[\\`\u0000-\u001f]/;

function plainText(t: Token): string {
  if (t.kind === 'comment') return ' ';
  if ((t.kind === 'quoted' || t.kind === 'string') && UNSAFE_FOR_PARSER.test(t.value)) {
    throw new Error('a quoted value node-sql-parser would read differently from Drill');
  }
  if (t.kind === 'quoted') return '`' + t.value.replace(/`/g, '``') + '`';
  if (t.kind === 'string' && t.text[0] !== "'") return "'" + t.value.replace(/'/g, "''") + "'";
  return t.text;
}

// /*+ hints */ name no tables; UESCAPE 'c' is folded into the identifier before it.
function dropHints(tokens: Token[]): Token[] {
  const out: Token[] = [];
  let inHint = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isPunct(t, '/*+')) inHint = true;
    else if (inHint && isPunct(t, '*/')) inHint = false;
    else if (!inHint) out.push(t);
  }
  return dropUescape(out);
}

function dropUescape(tokens: Token[]): Token[] {
  const sig = tokens.map((t, i) => [t, i] as const).filter(([t]) => t.kind !== 'space' && t.kind !== 'comment');
  const drop = new Set<number>();
  for (let s = 1; s + 1 < sig.length; s++) {
    if (isKeyword(sig[s]![0], 'UESCAPE') && /^u&/i.test(sig[s - 1]![0].text) && sig[s + 1]![0].kind === 'string') {
      drop.add(sig[s]![1]);
      drop.add(sig[s + 1]![1]);
    }
  }
  return tokens.filter((_, i) => !drop.has(i));
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
