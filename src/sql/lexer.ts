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

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const SPACE = /\s/;

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
  if (DIGIT.test(c)) return scanWhile(sql, i, /[0-9.eE]/);
  return i + 1;
}

function scanWhile(sql: string, i: number, re: RegExp): number {
  let j = i + 1;
  while (j < sql.length && re.test(sql[j]!)) j++;
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

/**
 * Tokens with their parentheses paired up front, in one pass, so that finding a
 * closing parenthesis is O(1) and no input makes the callers quadratic.
 */
export class TokenList {
  private readonly closers: Int32Array;

  constructor(readonly tokens: Token[]) {
    this.closers = pairParens(tokens);
  }

  get length(): number {
    return this.tokens.length;
  }

  at(i: number): Token | undefined {
    return this.tokens[i];
  }

  /** Index of the `)` closing the `(` at `open`; the last index when unbalanced. */
  closing(open: number): number {
    return this.closers[open] ?? this.tokens.length - 1;
  }
}

function pairParens(tokens: Token[]): Int32Array {
  const closers = new Int32Array(tokens.length).fill(tokens.length - 1);
  const open: number[] = [];
  tokens.forEach((token, i) => {
    if (isPunct(token, '(')) open.push(i);
    else if (isPunct(token, ')') && open.length > 0) closers[open.pop()!] = i;
  });
  return closers;
}

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
