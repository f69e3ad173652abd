// Hadoop's glob syntax, which Drill's FileSelection uses through globStatus:
// `*`, `?`, `[abc]`, `[a-z]`, `[^a]`/`[!a]`, `{a,b}` and `\` escapes, matched one
// path segment at a time. `*` matches names starting with `.` too (Hadoop has no
// hidden-file rule in globs; Drill filters hidden names later, when listing).
import { DromedarError } from '../util/errors.js';

const GLOB_CHARS = /[*?[{\\]/;
const MAX_EXPANSIONS = 1024;

export function hasGlob(path: string): boolean {
  return GLOB_CHARS.test(path);
}

/**
 * Braces expanded into separate patterns: `{a,b/c}` may span segments (Hadoop's
 * GlobExpander), which a per-segment matcher cannot see.
 */
export function expandBraces(pattern: string): string[] {
  const open = unescapedIndex(pattern, '{', 0);
  if (open < 0) return [pattern];
  const close = matchingBrace(pattern, open);
  if (close < 0) throw invalidGlob(pattern, 'unclosed {');
  const prefix = pattern.slice(0, open);
  const suffix = pattern.slice(close + 1);
  const out = splitAlternatives(pattern.slice(open + 1, close)).flatMap((alt) => expandBraces(prefix + alt + suffix));
  if (out.length > MAX_EXPANSIONS) throw invalidGlob(pattern, `more than ${MAX_EXPANSIONS} alternatives`);
  return out;
}

/** Matches one path segment (a file or folder name) against a glob. */
export interface SegmentMatcher {
  test(name: string): boolean;
}

/**
 * A matcher for one path segment, or null when the segment has no glob characters.
 * The segment is split at its `*`s into pieces that each match a fixed number of
 * characters, found left to right: linear in the name, where a regular expression of
 * `.*`s backtracks exponentially on names like `*a*a*a*a*x`.
 */
export function segmentMatcher(segment: string): SegmentMatcher | null {
  if (!/[*?[]/.test(segment.replace(/\\./g, ''))) return null;
  const pieces = splitStars(segment).map(compilePiece);
  return { test: (name) => matchPieces(pieces, name) };
}

interface Piece {
  regex: RegExp;
  length: number;
}

function compilePiece(glob: string): Piece {
  const { regex, length } = globToRegex(glob);
  try {
    return { regex: new RegExp(regex, 'y'), length };
  } catch {
    throw invalidGlob(glob, 'bad character class');
  }
}

function matchPieces(pieces: Piece[], name: string): boolean {
  const at = (piece: Piece, index: number) => {
    piece.regex.lastIndex = index;
    return index >= 0 && index + piece.length <= name.length && piece.regex.test(name);
  };
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (pieces.length === 1) return name.length === first.length && at(first, 0);
  if (!at(first, 0)) return false;
  let pos = first.length;
  const end = name.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    let found = -1;
    for (let i = pos; i + piece.length <= end; i++) {
      if (at(piece, i)) {
        found = i;
        break;
      }
    }
    if (found < 0) return false;
    pos = found + piece.length;
  }
  return pos <= end && at(last, end);
}

// The glob split at `*`s outside character classes and escapes.
function splitStars(glob: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let inSet = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      current += c + glob[++i];
    } else if (inSet) {
      current += c;
      inSet = c !== ']';
    } else if (c === '[') {
      current += c;
      inSet = true;
    } else if (c === '*') {
      pieces.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return pieces;
}

/** A segment without glob characters, escapes removed. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

// Hadoop's GlobPattern.set, for one star-free piece of a segment: every element
// (character, escape, class, `?`) matches exactly one character.
function globToRegex(glob: string): { regex: string; length: number } {
  let regex = '';
  let length = 0;
  let inSet = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      regex += escapeRegex(glob[++i]!);
      length++;
    } else if (inSet) {
      // [!a] is [^a]; everything else in a class is taken as written.
      regex += c === '!' && glob[i - 1] === '[' ? '^' : c;
      inSet = c !== ']';
    } else if (c === '[') {
      regex += c;
      inSet = true;
      length++;
    } else {
      regex += c === '?' ? '.' : escapeRegex(c);
      length++;
    }
  }
  if (inSet) throw invalidGlob(glob, 'unclosed [');
  return { regex, length };
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function unescapedIndex(text: string, char: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === char) return i;
  }
  return -1;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

// Top-level commas only: {a,{b,c}} has two alternatives.
function splitAlternatives(inner: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '\\') i++;
    else if (inner[i] === '{') depth++;
    else if (inner[i] === '}') depth--;
    else if (inner[i] === ',' && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts;
}

function invalidGlob(pattern: string, why: string): DromedarError {
  return new DromedarError('invalid_path', `invalid glob in ${pattern}: ${why}`, 400);
}
