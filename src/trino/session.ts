// What a Trino client says about its session, read from its headers, and the
// statements Trino runs in the coordinator itself (USE, SET/RESET SESSION, PREPARE,
// DEALLOCATE, EXECUTE): answered here with the X-Trino-Set-* / Added-Prepare headers
// clients keep the session with, since Drill's REST API holds no session.
//
// Names: a Trino catalog is Drill's storage plugin (dfs, cp, sys, information_schema)
// and a Trino schema its workspace: catalog dfs + schema data is Drill's dfs.data.
// Trino clients quote identifiers with "..." where Drill quotes with `...`: the SQL is
// rewritten token by token (the one lexer of src/sql), so sizing, the statement rules
// and Drill all read the same backtick-quoted names.
import { checkDrillOptions } from '../server/input.js';
import type { DrillOptionCatalog } from '../drill/options.js';
import { requote, tokenize, type Token } from '../sql/lexer.js';
import { DromedarError } from '../util/errors.js';

export interface TrinoSession {
  user: string;
  catalog: string | undefined;
  schema: string | undefined;
  source: string | undefined;
  tags: string[];
  /** X-Trino-Session: name -> value (Drill options once checked). */
  properties: Record<string, string>;
  /** X-Trino-Prepared-Statement: name -> SQL. */
  prepared: Record<string, string>;
}

/** Reads the X-Trino-* headers (X-Presto-* too, for older clients). */
export function readSession(header: (name: string) => string | undefined): TrinoSession {
  const h = (name: string) => header(`x-trino-${name}`) ?? header(`x-presto-${name}`);
  return {
    user: h('user') ?? 'trino',
    catalog: h('catalog') || undefined,
    schema: h('schema') || undefined,
    source: h('source') || undefined,
    tags: (h('client-tags') ?? '').split(',').map((t) => t.trim()).filter(Boolean),
    properties: pairs(h('session')),
    prepared: pairs(h('prepared-statement')),
  };
}

// "a=1,b=x%20y": values URL-encoded (names too, for prepared statements).
function pairs(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      // Form encoding (trino-jdbc's URLEncoder): + is a space.
      const decode = (text: string) => decodeURIComponent(text.trim().replace(/\+/g, ' '));
      out[decode(part.slice(0, eq))] = decode(part.slice(eq + 1));
    } catch {
      throw new DromedarError('invalid_request', `a session header value is not URL-encoded: ${JSON.stringify(part.slice(0, 100))}`, 400);
    }
  }
  return out;
}

/** Drill's default schema for the session's catalog and schema (dfs + data: dfs.data). */
export function defaultSchema(session: Pick<TrinoSession, 'catalog' | 'schema'>): string | undefined {
  if (!session.catalog || session.catalog === 'system') return undefined;
  // sys and information_schema have no workspaces: Trino sees them as schema "default".
  if (!session.schema || (session.schema === 'default' && ['sys', 'information_schema'].includes(session.catalog))) return session.catalog;
  return `${session.catalog}.${session.schema}`;
}

/** The session's properties as Drill options, checked by the rules of POST /query.json. */
export function drillOptions(session: TrinoSession, catalog: DrillOptionCatalog | null): Record<string, string> | undefined {
  if (Object.keys(session.properties).length === 0) return undefined;
  checkDrillOptions(session.properties, catalog);
  return { ...session.properties };
}

// Trino's clients quote identifiers with "...": their statements are read that way.
const TRINO = { quoting: 'DOUBLE_QUOTE' } as const;

/** "..." identifiers as `...` (a ` inside doubled), the rest of the text untouched. */
export function toDrillQuoting(sql: string): string {
  return requote(sql, 'DOUBLE_QUOTE');
}

/** What a statement the gateway answers itself asks for; null: the SQL goes to Drill. */
export type Control =
  | { kind: 'use'; catalog: string; schema: string | undefined }
  | { kind: 'set'; name: string; value: string }
  | { kind: 'reset'; name: string }
  | { kind: 'prepare'; name: string; sql: string }
  | { kind: 'deallocate'; name: string }
  | { kind: 'execute'; sql: string };

function words(sql: string): Token[] {
  return tokenize(sql, TRINO).filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

const upper = (t: Token | undefined) => (t && t.kind === 'word' ? t.value.toUpperCase() : '');
const name = (t: Token | undefined) => (t && (t.kind === 'word' || t.kind === 'quoted') ? (t.kind === 'word' ? t.value.toLowerCase() : t.value) : undefined);

/** The statements Trino's coordinator answers itself, read with the SQL lexer. */
export function control(sql: string, session: TrinoSession): Control | null {
  const t = words(sql.replace(/;\s*$/, ''));
  const first = upper(t[0]);
  if (first === 'USE') {
    // USE schema | USE catalog.schema
    const a = name(t[1]);
    const dotted = t[2]?.text === '.';
    const b = dotted ? name(t[3]) : undefined;
    if (!a || (dotted && !b) || t.length !== (dotted ? 4 : 2)) throw syntax('USE takes a schema or catalog.schema');
    if (dotted) return { kind: 'use', catalog: a, schema: b };
    if (!session.catalog) throw new DromedarError('invalid_request', 'USE schema needs a catalog: send X-Trino-Catalog or USE catalog.schema', 400);
    return { kind: 'use', catalog: session.catalog, schema: a };
  }
  if (first === 'SET' && upper(t[1]) === 'SESSION') {
    const eq = t.findIndex((x) => x.text === '=');
    if (eq < 3) throw syntax('SET SESSION takes name = value');
    const property = t.slice(2, eq).map((x) => x.value).join('');
    const value = t.slice(eq + 1);
    if (value.length !== 1 || !['string', 'number', 'word'].includes(value[0]!.kind)) throw syntax('SET SESSION takes a literal value');
    return { kind: 'set', name: property, value: value[0]!.value };
  }
  if (first === 'RESET' && upper(t[1]) === 'SESSION') return { kind: 'reset', name: t.slice(2).map((x) => x.value).join('') };
  if (first === 'PREPARE') {
    const n = name(t[1]);
    if (!n || upper(t[2]) !== 'FROM') throw syntax('PREPARE takes name FROM statement');
    const from = sql.search(/\bFROM\b/i);
    return { kind: 'prepare', name: n, sql: sql.slice(from + 4).trim().replace(/;\s*$/, '') };
  }
  if (first === 'DEALLOCATE' && upper(t[1]) === 'PREPARE') {
    const n = name(t[2]);
    if (!n) throw syntax('DEALLOCATE PREPARE takes a name');
    return { kind: 'deallocate', name: n };
  }
  if (first === 'EXECUTE') {
    let text: string;
    let rest: Token[];
    if (upper(t[1]) === 'IMMEDIATE') {
      if (t[2]?.kind !== 'string') throw syntax('EXECUTE IMMEDIATE takes a string literal');
      text = t[2].value;
      rest = t.slice(3);
    } else {
      const n = name(t[1]);
      const found = n === undefined ? undefined : (session.prepared[n] ?? Object.entries(session.prepared).find(([k]) => k.toLowerCase() === n)?.[1]);
      if (found === undefined) throw new DromedarError('not_found', `Prepared statement not found: ${n ?? ''}`, 404);
      text = found;
      rest = t.slice(2);
    }
    const parameters = rest.length === 0 ? [] : upper(rest[0]) === 'USING' ? splitParameters(rest.slice(1)) : null;
    if (parameters === null) throw syntax('EXECUTE takes USING and its parameters');
    return { kind: 'execute', sql: bind(text, parameters) };
  }
  return null;
}

function syntax(message: string): DromedarError {
  return new DromedarError('syntax_error', message, 400);
}

// The USING list: literals only, each rewritten as Drill reads it.
function splitParameters(tokens: Token[]): string[] {
  const out: string[] = [];
  let current: Token[] = [];
  for (const t of tokens) {
    if (t.text === ',') {
      out.push(literal(current));
      current = [];
    } else current.push(t);
  }
  out.push(literal(current));
  return out;
}

// trino-jdbc writes its parameters as literals: 1, 'x', DATE '...', TIMESTAMP '...',
// X'...', and typed ones (BIGINT '1', DOUBLE '1.5', DECIMAL '1.25', REAL '1.5') that Drill
// has no syntax for: those become CASTs. Anything else is refused, so a parameter can
// never be more SQL than one value.
function literal(tokens: Token[]): string {
  const [a, b, c] = tokens;
  const text = tokens.map((t) => t.text).join(' ');
  if (tokens.length === 1 && a!.kind === 'number') return a!.text;
  if (tokens.length === 2 && a!.text === '-' && b!.kind === 'number') return `-${b!.text}`;
  if (tokens.length === 1 && a!.kind === 'string') return quote(a!.value);
  if (tokens.length === 1 && ['NULL', 'TRUE', 'FALSE'].includes(upper(a))) return upper(a);
  if (tokens.length === 2 && b!.kind === 'string') {
    const type = upper(a);
    const v = b!.value;
    if (type === 'DATE' || type === 'TIME' || type === 'TIMESTAMP') return `${type} ${quote(v)}`;
    if (type === 'X' && /^[0-9a-fA-F]*$/.test(v)) return `X'${v}'`;
    if (type === 'VARCHAR' || type === 'CHAR') return quote(v);
    const numeric = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(v.trim());
    if (numeric && ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT'].includes(type)) return `CAST(${quote(v.trim())} AS ${type === 'TINYINT' ? 'INTEGER' : type})`;
    if (numeric && (type === 'DOUBLE' || type === 'REAL')) return `CAST(${quote(v.trim())} AS ${type === 'REAL' ? 'FLOAT' : 'DOUBLE'})`;
    if (numeric && type === 'DECIMAL') {
      const digits = v.trim().replace(/^[+-]/, '').split(/[eE]/)[0]!;
      const scale = digits.includes('.') ? digits.split('.')[1]!.length : 0;
      const precision = Math.min(38, Math.max(scale + 1, digits.replace('.', '').length));
      return `CAST(${quote(v.trim())} AS DECIMAL(${precision}, ${scale}))`;
    }
  }
  if (tokens.length === 1 && a!.kind === 'word' && /^X'/i.test(a!.text)) return a!.text;
  void c;
  throw new DromedarError('syntax_error', `EXECUTE ... USING takes literals (a number, 'text', DATE '...', TIMESTAMP '...', NULL, ...), not ${JSON.stringify(text.slice(0, 100))}`, 400);
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The statement with each ? parameter marker replaced by its literal, in order. */
export function bind(sql: string, parameters: string[]): string {
  const tokens = tokenize(sql, TRINO);
  const markers = tokens.filter((t) => t.kind === 'punct' && t.text === '?').length;
  if (markers !== parameters.length) throw new DromedarError('syntax_error', `the statement has ${markers} ? parameters, ${parameters.length} were given`, 400);
  let n = 0;
  return tokens.map((t) => (t.kind === 'punct' && t.text === '?' ? parameters[n++]! : t.text)).join('');
}
