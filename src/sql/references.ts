// What a query reads: node-sql-parser's reading when it can, the token fallback otherwise.
import { readingFromAst } from './ast.js';
import { referencesFromTokens } from './fallback.js';
import { parseDrillSql } from './parser.js';
import type { SqlReading } from './types.js';

/**
 * Table references of one SQL text. Never throws on bad SQL: what the parser cannot
 * read (syntax it lacks, nesting that overflows the stack) goes to the fallback.
 */
export function readReferences(sql: string): SqlReading {
  try {
    return { parsed: true, ...readingFromAst(parseDrillSql(sql)) };
  } catch {
    return fallbackReading(sql);
  }
}

/** References found from tokens alone: no directory pruning, `parsed: false`. */
export function fallbackReading(sql: string): SqlReading {
  return { parsed: false, refs: referencesFromTokens(sql) };
}
