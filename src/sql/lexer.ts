// The one SQL lexer: Drill 1.22's token rules, so the gateway splits a text exactly
// where Drill does. Every reader of SQL text stands on it: the statement check, the
// sizing reader and its rewrite for node-sql-parser, the fallback, the retry decision.
// It never throws and is linear in the input (binary garbage, unterminated quotes,
// megabytes); what Drill's lexer refuses becomes an 'invalid' token, and a text with
// one is a text Drill fails to parse.
//
// Followed: the Parser.jj Drill 1.22 compiles (drill-java-exec-1.22.0.jar javacc/Parser.jj,
// Calcite 1.34.0's codegen/templates/Parser.jj with Drill's parserImpls.ftl), "LITERALS",
// "COMMENTS", "IDENTIFIERS" and the lexical states DEFAULT/DQID/BTID:
// - JavaCC takes the longest match; of equally long ones, the first rule in the file.
// - Whitespace is exactly ' ', \t, \n, \r, \f (anything else is a lexical error).
// - SINGLE_LINE_COMMENT: ("//"|"--") (~["\n","\r"])* ("\n"|"\r"|"\r\n")?
// - "/*+" is the hint token HINT_BEG and "*/" the token COMMENT_END; "/**" followed by
//   a character that is not "/" opens a formal comment (that character is part of the
//   opening), "/*" a multi-line one; both end at the first "*/" after the opening, do not
//   nest, and are a lexical error when unterminated.
// - QUOTED_STRING: ' ( ~['] | '' )* ' (newlines allowed, no backslash escapes); prefixed
//   N'..', _charset'..', U&'..', X'..', and E'..' with C-style backslash escapes.
// - Identifiers: BTID `..` (`` for `), DQID "..", DEFAULT [..] (]] for ]): never empty,
//   no \n or \r inside; U&".." in every state (with UESCAPE 'c' after it); unquoted
//   LETTER (LETTER|DIGIT)* where LETTER includes $ and _; keywords match ASCII case only
//   (IGNORE_CASE compares with the keyword's own upper and lower case letters).
// - COLLATION_ID: (LETTER|DIGIT)+ (LETTER|DIGIT|:|.|-|_)* $ (LETTER|_)+ ($ (LETTER|DIGIT|_)+)?

export type TokenKind =
  | 'space' // whitespace
  | 'comment' // -- or // line, /* block */
  | 'word' // unquoted identifier or keyword
  | 'quoted' // quoted identifier (`..`, "..", [..], U&".."), value unescaped
  | 'string' // character or binary string literal, value unescaped
  | 'number'
  | 'collation' // COLLATION_ID, e.g. latin1$sv_SE$1
  | 'punct' // operators and separators, one to three characters
  | 'invalid'; // what Drill's lexer refuses: the text cannot parse

/** Which quoted identifiers Drill reads: planner.parser.quoting_identifiers. */
export type Quoting = 'BACK_TICK' | 'DOUBLE_QUOTE' | 'BRACKET';

export interface LexOptions {
  quoting?: Quoting;
}

export interface Token {
  kind: TokenKind;
  /** The source text of the token, exactly as written. */
  text: string;
  /** For quoted kinds the unescaped content; otherwise the text. */
  value: string;
}

// Character classes: ASCII is looked up in a table, the rest tested by ranges.
class CharClass {
  private readonly ascii: Uint8Array;

  constructor(private readonly re: RegExp) {
    this.ascii = Uint8Array.from({ length: 128 }, (_, code) => (re.test(String.fromCharCode(code)) ? 1 : 0));
  }

  test(c: string | undefined): boolean {
    if (c === undefined) return false;
    const code = c.charCodeAt(0);
    return code < 128 ? this.ascii[code] === 1 : this.re.test(c);
  }
}

// Parser.jj #LETTER and #DIGIT, verbatim.
const LETTER_RANGES = '$A-Z_a-z\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u00ff\\u0100-\\u1fff\\u3040-\\u318f\\u3300-\\u337f\\u3400-\\u3d2d\\u4e00-\\u9fff\\uf900-\\ufaff';
const DIGIT_RANGES = '0-9\\u0660-\\u0669\\u06f0-\\u06f9\\u0966-\\u096f\\u09e6-\\u09ef\\u0a66-\\u0a6f\\u0ae6-\\u0aef\\u0b66-\\u0b6f\\u0be7-\\u0bef\\u0c66-\\u0c6f\\u0ce6-\\u0cef\\u0d66-\\u0d6f\\u0e50-\\u0e59\\u0ed0-\\u0ed9\\u1040-\\u1049';
const LETTER = new CharClass(new RegExp(`[${LETTER_RANGES}]`));
const WORD_PART = new CharClass(new RegExp(`[${LETTER_RANGES}${DIGIT_RANGES}]`));
const ASCII_DIGIT = new CharClass(/[0-9]/);
const SPACE = new CharClass(/[ \t\n\r\f]/);
const CHARSET = new CharClass(/[A-Za-z0-9:.\-_]/);
const COLLATION_RUN = new CharClass(new RegExp(`[${LETTER_RANGES}${DIGIT_RANGES}:.\\-_]`));
const COLLATION = new RegExp(`[${LETTER_RANGES}${DIGIT_RANGES}][${LETTER_RANGES}${DIGIT_RANGES}:.\\-_]*\\$[${LETTER_RANGES}_]+(?:\\$[${LETTER_RANGES}${DIGIT_RANGES}_]+)?`, 'y');
// A COLLATION_ID is looked for in runs up to this long (a regular expression over a longer
// run could backtrack quadratically), and only where a run starts. Elsewhere the run is
// read as identifiers and dots, which names more than Drill reads: Drill sees one
// collation token, valid only after COLLATE, and fails to parse.
const COLLATION_SCAN_LIMIT = 128;

// Operators of more than one character (Parser.jj "SEPARATORS", "OPERATORS").
const PUNCT2 = new Set(['<=', '>=', '<>', '!=', '||', '=>', '..', '*/']);
const PUNCT1 = new Set([...'()[]{};.,=><?:+-*/%|^$']);

export function tokenize(sql: string, options: LexOptions = {}): Token[] {
  const quoting = options.quoting ?? 'BACK_TICK';
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const [end, kind] = scan(sql, i, quoting);
    tokens.push(makeToken(sql.slice(i, end), kind, quoting));
    i = end;
  }
  return applyUescape(tokens);
}

/**
 * The significant tokens of `sql` (no whitespace, no comments) as a TokenList that
 * holds kinds and offsets only: 9 bytes a token instead of an object and two strings,
 * so a hostile megabyte of `a,a,a,...` costs about 9 MiB, not 90. Tokens are made
 * when asked for (`at`).
 */
export function significantList(sql: string, options: LexOptions = {}): TokenList {
  const quoting = options.quoting ?? 'BACK_TICK';
  const kinds = new Uint8Array(sql.length);
  const starts = new Int32Array(sql.length);
  const ends = new Int32Array(sql.length);
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const [end, kind] = scan(sql, i, quoting);
    if (kind !== 'space' && kind !== 'comment') {
      kinds[n] = KINDS.indexOf(kind);
      starts[n] = i;
      ends[n] = end;
      n++;
    }
    i = end;
  }
  return TokenList.compact(sql, quoting, kinds.subarray(0, n), starts.subarray(0, n), ends.subarray(0, n));
}

const KINDS: readonly TokenKind[] = ['space', 'comment', 'word', 'quoted', 'string', 'number', 'collation', 'punct', 'invalid'];

/** Tokens that carry meaning: no whitespace, no comments. */
export function significant(tokens: Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** Whether Drill's lexer refuses the text (then Drill's parser refuses it too). */
export function hasInvalid(list: TokenList): boolean {
  for (let i = 0; i < list.length; i++) if (list.kindAt(i) === 'invalid') return true;
  return false;
}

/** ASCII-only upper case: Drill's keywords match ASCII letters only ("ſelect" is no SELECT). */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

// The end and kind of the token starting at i.
function scan(sql: string, i: number, quoting: Quoting): [number, TokenKind] {
  const c = sql[i]!;
  const next = sql[i + 1];
  if (SPACE.test(c)) {
    let j = i + 1;
    while (SPACE.test(sql[j])) j++;
    return [j, 'space'];
  }
  if ((c === '-' && next === '-') || (c === '/' && next === '/')) return [lineCommentEnd(sql, i), 'comment'];
  if (c === '/' && next === '*') {
    if (sql[i + 2] === '+') return [i + 3, 'punct']; // HINT_BEG
    const from = sql[i + 2] === '*' && i + 3 < sql.length && sql[i + 3] !== '/' ? i + 4 : i + 2;
    const close = sql.indexOf('*/', from);
    return close < 0 ? [sql.length, 'invalid'] : [close + 2, 'comment'];
  }
  if (c === "'") return stringAt(sql, i, i);
  // Prefixed literals beat the identifier they start like (longest match).
  if ((c === 'N' || c === 'n' || c === 'X' || c === 'x' || c === 'E' || c === 'e') && next === "'") {
    return c === 'E' || c === 'e' ? cStyleStringAt(sql, i) : stringAt(sql, i, i + 1);
  }
  if ((c === 'U' || c === 'u') && next === '&') {
    if (sql[i + 2] === "'") return stringAt(sql, i, i + 2);
    if (sql[i + 2] === '"') {
      const end = quotedEnd(sql, i + 2, '"', true);
      if (end > 0) return [end, 'quoted'];
    }
  }
  if (c === '_' && CHARSET.test(next)) {
    let j = i + 2;
    while (CHARSET.test(sql[j])) j++;
    if (sql[j] === "'") return stringAt(sql, i, j);
  }
  const open = quoting === 'BACK_TICK' ? '`' : quoting === 'DOUBLE_QUOTE' ? '"' : '[';
  if (c === open) {
    const end = quotedEnd(sql, i, open === '[' ? ']' : open, true);
    if (end > 0) return [end, 'quoted'];
  }
  if (WORD_PART.test(c)) return wordAt(sql, i);
  if (c === '.' && ASCII_DIGIT.test(next)) return numberAt(sql, i);
  if (next !== undefined && PUNCT2.has(c + next)) return [i + 2, 'punct'];
  if (c === '{') return [braceEnd(sql, i), 'punct'];
  if (PUNCT1.has(c)) return [i + 1, 'punct'];
  // '"' outside DQID is the token DOUBLE_QUOTE, which no rule of Drill's grammar takes.
  // A surrogate pair is one invalid token, not two halves.
  const code = c.charCodeAt(0);
  return [code >= 0xd800 && code <= 0xdbff && i + 1 < sql.length ? i + 2 : i + 1, 'invalid'];
}

function lineCommentEnd(sql: string, i: number): number {
  let j = i + 2;
  while (j < sql.length && sql[j] !== '\n' && sql[j] !== '\r') j++;
  if (sql[j] === '\r' && sql[j + 1] === '\n') return j + 2;
  return j < sql.length ? j + 1 : j;
}

// A '...' literal whose quote is at q (the token starts at i, with its prefix).
function stringAt(sql: string, i: number, q: number): [number, TokenKind] {
  const end = quotedEnd(sql, q, "'", false);
  if (end > 0) return [end, 'string'];
  // QUOTE alone is a token no rule of Drill's grammar takes; or the prefix is an identifier.
  return i === q ? [i + 1, 'invalid'] : wordAt(sql, i);
}

// E'...': a backslash escapes the next character; '' is a quote too.
function cStyleStringAt(sql: string, i: number): [number, TokenKind] {
  let j = i + 2;
  for (;;) {
    if (j >= sql.length) return [i + 1, 'word']; // no literal: the identifier E, then QUOTE
    const ch = sql[j];
    if (ch === '\\') j += 2;
    else if (ch === "'") {
      if (sql[j + 1] === "'") j += 2;
      else return [j + 1, 'string'];
    } else j++;
  }
}

/**
 * The end of the quoted token opening at `open` (its closing character `close`,
 * doubled for itself), or 0 when there is none. As JavaCC's longest match: when the
 * text ends (or, for identifiers, a line ends) before the closing quote, the token is
 * the longest one that did close, at the first quote of the last doubled pair.
 */
function quotedEnd(sql: string, open: number, close: string, identifier: boolean): number {
  let j = open + 1;
  let lastClose = 0;
  for (;;) {
    if (j >= sql.length) return lastClose;
    const ch = sql[j]!;
    if (identifier && (ch === '\n' || ch === '\r')) return lastClose;
    if (ch === close) {
      const empty = j === open + 1;
      if (sql[j + 1] === close) {
        if (!(identifier && empty)) lastClose = j + 1;
        j += 2;
        continue;
      }
      return identifier && empty ? lastClose : j + 1;
    }
    j++;
  }
}

// IDENTIFIER, number or COLLATION_ID, whichever is longest (IDENTIFIER first on a tie).
function wordAt(sql: string, i: number): [number, TokenKind] {
  let end: number;
  let kind: TokenKind;
  if (LETTER.test(sql[i])) {
    end = i + 1;
    while (WORD_PART.test(sql[end])) end++;
    kind = 'word';
  } else if (ASCII_DIGIT.test(sql[i])) {
    [end, kind] = numberAt(sql, i);
  } else {
    end = i; // a non-ASCII digit starts no identifier or number, only a collation
    kind = 'invalid';
  }
  // Looked for only where a run of collation characters starts (from there a collation
  // that starts later in the run also matches, and is longer).
  if (!COLLATION_RUN.test(sql[i - 1])) {
    let run = i;
    let dollar = false;
    while (run - i <= COLLATION_SCAN_LIMIT && COLLATION_RUN.test(sql[run])) dollar = sql[run++] === '$' || dollar;
    if (dollar && run - i <= COLLATION_SCAN_LIMIT) {
      COLLATION.lastIndex = i;
      const m = COLLATION.exec(sql);
      if (m && i + m[0].length > end) return [i + m[0].length, 'collation'];
    }
  }
  if (end === i + 1 && sql[i] === '$') return [end, 'punct']; // DOLLAR comes before IDENTIFIER
  return end > i ? [end, kind] : [i + 1, 'invalid'];
}

// UNSIGNED_INTEGER_LITERAL, DECIMAL_NUMERIC_LITERAL, APPROX_NUMERIC_LITERAL.
function numberAt(sql: string, i: number): [number, TokenKind] {
  let j = i;
  while (ASCII_DIGIT.test(sql[j])) j++;
  if (sql[j] === '.') {
    j++;
    while (ASCII_DIGIT.test(sql[j])) j++;
  }
  if (sql[j] === 'e' || sql[j] === 'E') {
    let k = j + 1;
    if (sql[k] === '+' || sql[k] === '-') k++;
    if (ASCII_DIGIT.test(sql[k])) {
      while (ASCII_DIGIT.test(sql[k])) k++;
      j = k;
    }
  }
  return [j, 'number'];
}

// LBRACE_D, LBRACE_T, LBRACE_TS, LBRACE_FN: "{" (" ")* then d, t, ts or fn; else "{".
function braceEnd(sql: string, i: number): number {
  let j = i + 1;
  while (sql[j] === ' ') j++;
  const a = sql[j]?.toLowerCase();
  const b = sql[j + 1]?.toLowerCase();
  if (a === 't' && b === 's') return j + 2;
  if (a === 'f' && b === 'n') return j + 2;
  if (a === 'd' || a === 't') return j + 1;
  return i + 1;
}

function makeToken(text: string, kind: TokenKind, quoting: Quoting): Token {
  if (kind === 'quoted') return { kind, text, value: identifierValue(text, quoting) };
  if (kind === 'string') return { kind, text, value: stringValue(text) };
  return { kind, text, value: text };
}

function identifierValue(text: string, quoting: Quoting): string {
  if (text.startsWith('U&') || text.startsWith('u&')) return unescapeUnicode(undouble(text.slice(2), '"'), '\\') ?? text;
  return undouble(text, quoting === 'BRACKET' ? ']' : text[0]!);
}

function stringValue(text: string): string {
  const q = text.indexOf("'");
  const prefix = text.slice(0, q).toUpperCase();
  const body = text.slice(q);
  if (prefix === 'E') return cStyleValue(body.slice(1, -1));
  const value = undouble(body, "'");
  return prefix === 'U&' ? (unescapeUnicode(value, '\\') ?? value) : value;
}

function undouble(quoted: string, close: string): string {
  return quoted.slice(1, -1).split(close + close).join(close);
}

function cStyleValue(body: string): string {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '\\': '\\', "'": "'", '"': '"' };
  return body.replace(/''/g, "'").replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{1,2}|[0-7]{1,3}|[\s\S])/g, (_, e: string) => {
    if (e[0] === 'u' && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return simple[e] ?? e;
  });
}

/**
 * Calcite's SqlLiteral.unescapeUnicode: `<esc>XXXX` (4 hex digits), `<esc>+XXXXXX`
 * (6), `<esc><esc>` the escape itself; null for any other escape (Drill's parse error).
 */
export function unescapeUnicode(value: string, esc: string): string | null {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== esc) {
      out += ch;
      continue;
    }
    if (value[i + 1] === esc) {
      out += esc;
      i++;
      continue;
    }
    const six = value[i + 1] === '+';
    const digits = value.slice(six ? i + 2 : i + 1, six ? i + 8 : i + 5);
    if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== (six ? 6 : 4)) return null;
    const code = parseInt(digits, 16);
    if (code > 0x10ffff) return null;
    out += String.fromCodePoint(code);
    i += six ? 7 : 4;
  }
  return out;
}

// U&"..." UESCAPE 'c': the escape character comes after the identifier.
function applyUescape(tokens: Token[]): Token[] {
  const sig: number[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== 'space' && t.kind !== 'comment') sig.push(i);
  });
  for (let s = 0; s < sig.length; s++) {
    const t = tokens[sig[s]!]!;
    const escaped = withUescape(t, tokens[sig[s + 1]!], tokens[sig[s + 2]!]);
    if (escaped !== t) tokens[sig[s]!] = escaped;
  }
  return tokens;
}

function withUescape(token: Token, next: Token | undefined, escape: Token | undefined): Token {
  if (!/^u&/i.test(token.text) || !isKeyword(next, 'UESCAPE') || escape?.kind !== 'string' || escape.text[0] !== "'") return token;
  const esc = escape.value;
  // Calcite's checkUnicodeEscapeChar: one character, not a hex digit, +, ", space.
  const raw = token.kind === 'quoted' ? undouble(token.text.slice(2), '"') : undouble(token.text.slice(2), "'");
  const value = esc.length === 1 && !/[0-9a-fA-F+" \t\n\r\f]/.test(esc) ? unescapeUnicode(raw, esc) : null;
  return { ...token, value: value ?? token.text };
}

/** Whether a token is the keyword `word` (upper case; ASCII case-insensitive). */
export function isKeyword(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.value.length === word.length && asciiUpper(token.value) === word;
}

export function isPunct(token: Token | undefined, char: string): boolean {
  return token?.kind === 'punct' && token.text === char;
}

interface Compact {
  sql: string;
  quoting: Quoting;
  kinds: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

/**
 * Tokens with their parentheses paired up front, in one pass, so that finding a
 * closing parenthesis is O(1) and no input makes the callers quadratic. Either an
 * array of tokens or, compact (significantList), kinds and offsets into the text.
 */
export class TokenList {
  private readonly closers: Int32Array;
  readonly length: number;

  constructor(
    private readonly array: Token[],
    private readonly compact: Compact | null = null,
  ) {
    this.length = compact ? compact.kinds.length : array.length;
    this.closers = this.pairParens();
  }

  static compact(sql: string, quoting: Quoting, kinds: Uint8Array, starts: Int32Array, ends: Int32Array): TokenList {
    return new TokenList([], { sql, quoting, kinds, starts, ends });
  }

  /** The tokens as an array (made on demand for a compact list). */
  get tokens(): Token[] {
    if (!this.compact) return this.array;
    return Array.from({ length: this.length }, (_, i) => this.at(i)!);
  }

  at(i: number): Token | undefined {
    const c = this.compact;
    if (!c) return this.array[i];
    if (i < 0 || i >= this.length) return undefined;
    const token = this.raw(i)!;
    return token.kind === 'quoted' || token.kind === 'string' ? withUescape(token, this.raw(i + 1), this.raw(i + 2)) : token;
  }

  kindAt(i: number): TokenKind | undefined {
    const c = this.compact;
    if (!c) return this.array[i]?.kind;
    return i >= 0 && i < this.length ? KINDS[c.kinds[i]!] : undefined;
  }

  /** Offset of token i in the text (compact lists only; -1 otherwise). */
  startOf(i: number): number {
    return this.compact && i >= 0 && i < this.length ? this.compact.starts[i]! : -1;
  }

  private raw(i: number): Token | undefined {
    const c = this.compact!;
    if (i < 0 || i >= this.length) return undefined;
    return makeToken(c.sql.slice(c.starts[i], c.ends[i]), KINDS[c.kinds[i]!]!, c.quoting);
  }

  /** Whether token i is the punctuation `char`, without making the token. */
  isPunctAt(i: number, char: string): boolean {
    const c = this.compact;
    if (!c) return isPunct(this.array[i], char);
    return i >= 0 && i < this.length && c.kinds[i] === PUNCT && c.ends[i]! - c.starts[i]! === char.length && c.sql.startsWith(char, c.starts[i]!);
  }

  /** Whether token i is the keyword `word` (upper case), without making the token unless it may be. */
  isKeywordAt(i: number, word: string): boolean {
    const c = this.compact;
    if (!c) return isKeyword(this.array[i], word);
    if (i < 0 || i >= this.length || c.kinds[i] !== WORD || c.ends[i]! - c.starts[i]! !== word.length) return false;
    return asciiUpper(c.sql.slice(c.starts[i], c.ends[i])) === word;
  }

  /** Index of the `)` closing the `(` at `open`; the last index when unbalanced. */
  closing(open: number): number {
    return this.closers[open] ?? this.length - 1;
  }

  private pairParens(): Int32Array {
    const closers = new Int32Array(this.length).fill(this.length - 1);
    const open: number[] = [];
    for (let i = 0; i < this.length; i++) {
      if (this.isPunctAt(i, '(')) open.push(i);
      else if (this.isPunctAt(i, ')') && open.length > 0) closers[open.pop()!] = i;
    }
    return closers;
  }
}

const PUNCT = KINDS.indexOf('punct');
const WORD = KINDS.indexOf('word');

export interface TableFunctionCall {
  nameStart: number;
  nameEnd: number;
  /** Index of the `)` closing `table(`. */
  end: number;
}

/** `TABLE ( name ( args ) )` starting at i, with the token indexes of its parts. */
export function tableFunctionAt(list: TokenList, i: number): TableFunctionCall | null {
  if (!isKeyword(list.at(i), 'TABLE')) return null;
  const open = nextSignificant(list, i + 1);
  if (!isPunct(list.at(open), '(')) return null;
  const nameStart = nextSignificant(list, open + 1);
  let nameEnd = nameStart;
  while (isNameToken(list.at(nameEnd))) nameEnd++;
  if (nameEnd === nameStart || !isPunct(list.at(nameEnd), '(')) return null;
  const end = nextSignificant(list, list.closing(nameEnd) + 1);
  if (!isPunct(list.at(end), ')')) return null;
  return { nameStart, nameEnd, end };
}

// Parts of a qualified name, with the blanks that may separate them.
function isNameToken(token: Token | undefined): boolean {
  if (!token) return false;
  return ['word', 'quoted', 'space', 'comment'].includes(token.kind) || isPunct(token, '.');
}

function nextSignificant(list: TokenList, i: number): number {
  while (i < list.length && (list.at(i)!.kind === 'space' || list.at(i)!.kind === 'comment')) i++;
  return i;
}

/**
 * The text with every quoted identifier written in backticks (Drill's default quoting),
 * for a front end whose clients quote otherwise ("..." or [...]: Drill's
 * planner.parser.quoting_identifiers): sizing reads the result exactly as Drill reads
 * the original with that quoting. Everything else is kept as written.
 */
export function requote(sql: string, quoting: Quoting): string {
  if (quoting === 'BACK_TICK') return sql;
  return tokenize(sql, { quoting })
    .map((t) => (t.kind === 'quoted' && !/^u&/i.test(t.text) ? '`' + t.value.replace(/`/g, '``') + '`' : t.kind === 'invalid' && t.text === '`' ? '\u0007' : t.text))
    .join('');
}
