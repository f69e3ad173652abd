// A forgiving tokenizer for Drill SQL. It never throws and is linear in the input,
// so it is safe on any text (binary garbage, unterminated quotes, megabytes):
// the rewrite before parsing and the fallback extractor both stand on it.

export type TokenKind =
  | 'space' // whitespace
  | 'comment' // -- line or /* block */
  | 'word' // unquoted identifier or keyword
  | 'quoted' // `backtick identifier`, value unescaped
  | 'string' // 'string literal', value unescaped
  | 'dquoted' // "double-quoted", value unescaped
  | 'number'
  | 'punct'; // any other single character

export interface Token {
  kind: TokenKind;
  /** The source text of the token, exactly as written. */
  text: string;
  /** For quoted kinds the unescaped content; otherwise the text. */
  value: string;
}

// Character classes: the regular expression decides; ASCII (nearly every character of
// any SQL) is looked up in a table made from it, which is several times faster.
class CharClass {
  private readonly ascii: Uint8Array;

  constructor(private readonly re: RegExp) {
    this.ascii = Uint8Array.from({ length: 128 }, (_, code) => (re.test(String.fromCharCode(code)) ? 1 : 0));
  }

  test(c: string): boolean {
    const code = c.charCodeAt(0);
    return code < 128 ? this.ascii[code] === 1 : this.re.test(c);
  }
}

const WORD_START = new CharClass(/[A-Za-z_\u0080-\uffff]/);
const WORD_PART = new CharClass(/[A-Za-z0-9_$\u0080-\uffff]/);
const DIGIT = new CharClass(/[0-9]/);
const SPACE = new CharClass(/\s/);
const NUMBER_PART = new CharClass(/[0-9.eE]/);

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const end = tokenEnd(sql, i);
    const text = sql.slice(i, end);
    tokens.push(makeToken(text));
    i = end;
  }
  return tokens;
}

/**
 * The significant tokens of `sql` (no whitespace, no comments) as a TokenList that
 * holds kinds and offsets only: 9 bytes a token instead of an object and two strings,
 * so a hostile megabyte of `a,a,a,...` costs about 9 MiB, not 90. Tokens are made
 * when asked for (`at`).
 */
export function significantList(sql: string): TokenList {
  const kinds = new Uint8Array(sql.length);
  const starts = new Int32Array(sql.length);
  const ends = new Int32Array(sql.length);
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const end = tokenEnd(sql, i);
    const kind = kindAt(sql, i);
    if (kind !== 'space' && kind !== 'comment') {
      kinds[n] = KINDS.indexOf(kind);
      starts[n] = i;
      ends[n] = end;
      n++;
    }
    i = end;
  }
  return TokenList.compact(sql, kinds.subarray(0, n), starts.subarray(0, n), ends.subarray(0, n));
}

const KINDS: readonly TokenKind[] = ['space', 'comment', 'word', 'quoted', 'string', 'dquoted', 'number', 'punct'];

// The kind of the token starting at i: what makeToken decides from its text.
function kindAt(sql: string, i: number): TokenKind {
  const c = sql[i]!;
  if (SPACE.test(c)) return 'space';
  if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) return 'comment';
  if (c === '`') return 'quoted';
  if (c === "'") return 'string';
  if (c === '"') return 'dquoted';
  if (WORD_START.test(c)) return 'word';
  if (DIGIT.test(c)) return 'number';
  return 'punct';
}

/** Tokens that carry meaning: no whitespace, no comments. */
export function significant(tokens: Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

function tokenEnd(sql: string, i: number): number {
  const c = sql[i]!;
  const next = sql[i + 1];
  if (SPACE.test(c)) return scanWhile(sql, i, SPACE);
  if (c === '-' && next === '-') return lineEnd(sql, i);
  if (c === '/' && next === '*') return blockCommentEnd(sql, i);
  if (c === '`' || c === "'" || c === '"') return quotedEnd(sql, i, c);
  if (WORD_START.test(c)) return scanWhile(sql, i, WORD_PART);
  if (DIGIT.test(c)) return scanWhile(sql, i, NUMBER_PART);
  return i + 1;
}

function scanWhile(sql: string, i: number, chars: CharClass): number {
  let j = i + 1;
  while (j < sql.length && chars.test(sql[j]!)) j++;
  return j;
}

function lineEnd(sql: string, i: number): number {
  const nl = sql.indexOf('\n', i);
  return nl < 0 ? sql.length : nl + 1;
}

function blockCommentEnd(sql: string, i: number): number {
  const close = sql.indexOf('*/', i + 2);
  return close < 0 ? sql.length : close + 2;
}

// The quote character doubled stands for itself, as in Drill (Calcite).
function quotedEnd(sql: string, i: number, quote: string): number {
  let j = i + 1;
  for (;;) {
    const close = sql.indexOf(quote, j);
    if (close < 0) return sql.length;
    if (sql[close + 1] !== quote) return close + 1;
    j = close + 2;
  }
}

function makeToken(text: string): Token {
  const c = text[0]!;
  if (SPACE.test(c)) return { kind: 'space', text, value: text };
  if (text.startsWith('--') || text.startsWith('/*')) return { kind: 'comment', text, value: text };
  if (c === '`') return { kind: 'quoted', text, value: unquote(text, c) };
  if (c === "'") return { kind: 'string', text, value: unquote(text, c) };
  if (c === '"') return { kind: 'dquoted', text, value: unquote(text, c) };
  if (WORD_START.test(c)) return { kind: 'word', text, value: text };
  if (DIGIT.test(c)) return { kind: 'number', text, value: text };
  return { kind: 'punct', text, value: text };
}

function unquote(text: string, quote: string): string {
  const closed = text.length >= 2 && text.endsWith(quote);
  const inner = text.slice(1, closed ? -1 : undefined);
  return inner.split(quote + quote).join(quote);
}

/** Whether a token is the keyword `word` (case-insensitive). */
export function isKeyword(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.value.toUpperCase() === word;
}

export function isPunct(token: Token | undefined, char: string): boolean {
  return token?.kind === 'punct' && token.text === char;
}

interface Compact {
  sql: string;
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

  static compact(sql: string, kinds: Uint8Array, starts: Int32Array, ends: Int32Array): TokenList {
    return new TokenList([], { sql, kinds, starts, ends });
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
    return makeToken(c.sql.slice(c.starts[i], c.ends[i]));
  }

  /** Whether token i is the punctuation `char`, without making the token. */
  isPunctAt(i: number, char: string): boolean {
    const c = this.compact;
    if (!c) return isPunct(this.array[i], char);
    return i >= 0 && i < this.length && c.kinds[i] === PUNCT && c.ends[i]! - c.starts[i]! === 1 && c.sql[c.starts[i]!] === char;
  }

  /** Whether token i is the keyword `word` (upper case), without making the token unless it may be. */
  isKeywordAt(i: number, word: string): boolean {
    const c = this.compact;
    if (!c) return isKeyword(this.array[i], word);
    if (i < 0 || i >= this.length || c.kinds[i] !== WORD || c.ends[i]! - c.starts[i]! !== word.length) return false;
    return c.sql.slice(c.starts[i], c.ends[i]).toUpperCase() === word;
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
