// JSON as Drill writes it, read without losing what JSON.parse loses: a BIGINT past
// 2^53 or a DECIMAL of 38 digits keeps its exact text (a Num), so the Trino answer
// carries the digits Drill sent. Linear, never recursive past MAX_DEPTH, never throws
// anything but a JsonError.

/** A JSON number, as its source text. */
export class Num {
  constructor(readonly text: string) {}
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.text);
  }
}

export type Json = null | boolean | string | Num | Json[] | { [key: string]: Json };

export class JsonError extends Error {}

const MAX_DEPTH = 1000;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parses one complete JSON text. */
export function parseJson(text: string): Json {
  const p = { i: 0 };
  const value = parseValue(text, p, 0);
  skipSpace(text, p);
  if (p.i !== text.length) throw new JsonError(`unexpected ${JSON.stringify(text[p.i])} at ${p.i}`);
  return value;
}

function skipSpace(s: string, p: { i: number }): void {
  while (p.i < s.length) {
    const c = s.charCodeAt(p.i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    p.i++;
  }
}

function parseValue(s: string, p: { i: number }, depth: number): Json {
  if (depth > MAX_DEPTH) throw new JsonError('nested too deep');
  skipSpace(s, p);
  const c = s[p.i];
  if (c === '{') {
    p.i++;
    const out: { [key: string]: Json } = {};
    skipSpace(s, p);
    if (s[p.i] === '}') {
      p.i++;
      return out;
    }
    for (;;) {
      skipSpace(s, p);
      if (s[p.i] !== '"') throw new JsonError(`expected a key at ${p.i}`);
      const key = parseString(s, p);
      skipSpace(s, p);
      if (s[p.i] !== ':') throw new JsonError(`expected : at ${p.i}`);
      p.i++;
      // Own property even for "__proto__".
      Object.defineProperty(out, key, { value: parseValue(s, p, depth + 1), enumerable: true, writable: true, configurable: true });
      skipSpace(s, p);
      if (s[p.i] === ',') {
        p.i++;
        continue;
      }
      if (s[p.i] === '}') {
        p.i++;
        return out;
      }
      throw new JsonError(`expected , or } at ${p.i}`);
    }
  }
  if (c === '[') {
    p.i++;
    const out: Json[] = [];
    skipSpace(s, p);
    if (s[p.i] === ']') {
      p.i++;
      return out;
    }
    for (;;) {
      out.push(parseValue(s, p, depth + 1));
      skipSpace(s, p);
      if (s[p.i] === ',') {
        p.i++;
        continue;
      }
      if (s[p.i] === ']') {
        p.i++;
        return out;
      }
      throw new JsonError(`expected , or ] at ${p.i}`);
    }
  }
  if (c === '"') return parseString(s, p);
  if (s.startsWith('true', p.i)) return (p.i += 4), true;
  if (s.startsWith('false', p.i)) return (p.i += 5), false;
  if (s.startsWith('null', p.i)) return (p.i += 4), null;
  // Jackson writes NaN and Infinity bare for doubles when asked to (Drill does not by default).
  for (const word of ['NaN', 'Infinity', '-Infinity']) if (s.startsWith(word, p.i)) return (p.i += word.length), new Num(word);
  NUMBER.lastIndex = p.i;
  const m = NUMBER.exec(s);
  if (!m) throw new JsonError(`unexpected ${JSON.stringify(c ?? 'end')} at ${p.i}`);
  p.i += m[0].length;
  return new Num(m[0]);
}

function parseString(s: string, p: { i: number }): string {
  const start = p.i + 1;
  let end = start;
  let escaped = false;
  for (; end < s.length; end++) {
    const c = s.charCodeAt(end);
    if (c === 0x5c) {
      escaped = true;
      end++;
    } else if (c === 0x22) break;
  }
  if (end >= s.length) throw new JsonError('unterminated string');
  const raw = s.slice(start, end);
  p.i = end + 1;
  if (!escaped) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    throw new JsonError(`bad escape in string at ${start}`);
  }
}

/**
 * Where the JSON value starting at `from` ends (the index after it), or -1 when `s` ends
 * first. Strings and nesting are followed; the value is not checked (parseJson does that).
 */
export function valueEnd(s: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < s.length && /\s/.test(s[i]!)) i++;
  if (i >= s.length) return -1;
  const first = s[i];
  if (first !== '{' && first !== '[' && first !== '"') {
    // A scalar ends at the next delimiter; one at the very end may still be growing.
    const m = /[,\]}\s]/g;
    m.lastIndex = i;
    const hit = m.exec(s);
    return hit ? hit.index : -1;
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < s.length; i++) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      if (i >= s.length) return -1;
      if (depth === 0) return i + 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
