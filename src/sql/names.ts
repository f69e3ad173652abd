// The columns SQL the parser could not read may read: every name written in it.
// Drill reads a column only if the SQL names it, or a `*` reaches it (a view's
// columns are named in the view's own SQL), so every identifier of the text is a
// safe over-estimate of the columns of any table in it. A `*` where a select list
// has one (after SELECT, DISTINCT, ALL, a comma or a qualifier's dot) means every
// column, except `EXISTS (SELECT *`, which reads no column; `COUNT(*)` and `a * b`
// mean none.
import { significantList } from './lexer.js';
import type { ColumnUse } from './types.js';

const STAR_AFTER = new Set(['SELECT', 'DISTINCT', 'ALL']);

export function namedColumns(sql: string): ColumnUse {
  const list = significantList(sql);
  const names = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const token = list.at(i)!;
    if (token.kind === 'word' || token.kind === 'quoted') {
      names.add(token.value.toLowerCase());
    } else if (list.isPunctAt(i, '*')) {
      const before = list.at(i - 1);
      const exists = list.isKeywordAt(i - 1, 'SELECT') && list.isPunctAt(i - 2, '(') && list.isKeywordAt(i - 3, 'EXISTS');
      if (exists) continue;
      if (!before || list.isPunctAt(i - 1, ',') || list.isPunctAt(i - 1, '.') || (before.kind === 'word' && STAR_AFTER.has(before.value.toUpperCase()))) return { all: true, paths: [] };
    }
  }
  return { all: false, paths: [...names].map((name) => [name]) };
}
