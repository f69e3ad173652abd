// Which statements pass the gateway: an allow-list by leading keywords, read with the
// one lexer (comments skipped as Drill skips them). This is the only list; the README's
// Security section shows it (statementTable), and a test checks they agree.
//
// The leading keywords are those of Drill 1.22's SqlStmt() alternatives (javacc/Parser.jj
// in drill-java-exec-1.22.0.jar: SqlShowTables, SqlShowSchemas, SqlDescribeSchema,
// SqlDescribeTable, SqlUseSchema, SqlCreateOrReplace, SqlDropAlias, SqlDropAllAliases,
// SqlDrop, SqlShowFiles, SqlRefreshMetadata, SqlCreateFunction, SqlDropFunction,
// SqlAnalyzeTable, DrillSqlSetOption, DrillSqlResetOption, SqlAlterSchema, SqlSetOption,
// SqlAlter, OrderedQueryOrExpr, SqlExplain, SqlDescribe, SqlInsert, SqlDelete, SqlUpdate,
// SqlMerge, SqlProcedureCall).
import { asciiUpper, hasInvalid, significantList, type LexOptions, type Token, type TokenList } from './lexer.js';

/** How the gateway confines an allowed statement (src/server/policy.ts does it). */
export type Confinement =
  | 'query' // its tables are sized, and so confined to the workspaces (src/sizing/resolve.ts)
  | 'listing' // SHOW FILES: the folder must lie in a workspace, links resolved
  | 'writable' // the target must be in a writable workspace
  | 'workspace' // the target must be in a workspace
  | 'schema' // the schema must be a known one
  | 'option' // the option must not be refused (REFUSED_DRILL_OPTIONS)
  | 'none';

export interface StatementRule {
  /** How the statement is named in messages and the README. */
  kind: string;
  /** The leading keywords, each a set of alternatives ('SCHEMAS|DATABASES'). */
  words: string[];
  allowed: boolean;
  confine: Confinement;
  /** Why, for the README. */
  note: string;
}

// First match wins: the longer prefixes come before the shorter ones they start with.
export const STATEMENT_RULES: readonly StatementRule[] = [
  { kind: 'SELECT', words: ['SELECT'], allowed: true, confine: 'query', note: 'a query' },
  { kind: 'WITH', words: ['WITH'], allowed: true, confine: 'query', note: 'a query' },
  { kind: 'VALUES', words: ['VALUES'], allowed: true, confine: 'query', note: 'a query' },
  { kind: '( query )', words: ['('], allowed: true, confine: 'query', note: 'a parenthesized query' },
  { kind: 'EXPLAIN PLAN FOR', words: ['EXPLAIN', 'PLAN'], allowed: true, confine: 'query', note: 'of a query (SELECT, WITH, VALUES) only' },
  { kind: 'SHOW SCHEMAS', words: ['SHOW', 'SCHEMAS|DATABASES'], allowed: true, confine: 'none', note: '' },
  { kind: 'SHOW TABLES', words: ['SHOW', 'TABLES'], allowed: true, confine: 'schema', note: 'of a known schema' },
  { kind: 'SHOW FILES', words: ['SHOW', 'FILES'], allowed: true, confine: 'listing', note: 'of a folder inside a workspace (symbolic links resolved; no `..`, no leading `/`, no URI)' },
  { kind: 'DESCRIBE SCHEMA', words: ['DESCRIBE|DESC', 'SCHEMA|DATABASE'], allowed: true, confine: 'workspace', note: 'FOR TABLE a table in a workspace, or a known schema' },
  { kind: 'DESCRIBE', words: ['DESCRIBE|DESC'], allowed: true, confine: 'workspace', note: 'a table in a workspace' },
  { kind: 'CREATE TABLE AS', words: ['CREATE', 'TABLE'], allowed: true, confine: 'writable', note: 'in a writable workspace' },
  { kind: 'CREATE VIEW', words: ['CREATE', 'VIEW'], allowed: true, confine: 'writable', note: 'in a writable workspace' },
  { kind: 'CREATE OR REPLACE VIEW', words: ['CREATE', 'OR', 'REPLACE', 'VIEW'], allowed: true, confine: 'writable', note: 'in a writable workspace' },
  { kind: 'DROP TABLE', words: ['DROP', 'TABLE'], allowed: true, confine: 'writable', note: 'in a writable workspace' },
  { kind: 'DROP VIEW', words: ['DROP', 'VIEW'], allowed: true, confine: 'writable', note: 'in a writable workspace' },
  { kind: 'REFRESH TABLE METADATA', words: ['REFRESH', 'TABLE', 'METADATA'], allowed: true, confine: 'workspace', note: 'of a table in a workspace' },
  { kind: 'ANALYZE TABLE', words: ['ANALYZE', 'TABLE'], allowed: true, confine: 'workspace', note: 'of a table in a workspace' },
  { kind: 'ALTER SESSION SET', words: ['ALTER', 'SESSION', 'SET'], allowed: true, confine: 'option', note: 'of an option that is not refused' },
  { kind: 'ALTER SESSION RESET', words: ['ALTER', 'SESSION', 'RESET'], allowed: true, confine: 'option', note: 'of an option that is not refused, or ALL' },
  { kind: 'SET', words: ['SET'], allowed: true, confine: 'option', note: 'of an option that is not refused (session scope)' },
  { kind: 'RESET', words: ['RESET'], allowed: true, confine: 'option', note: 'of an option that is not refused, or ALL (session scope)' },
  { kind: 'USE', words: ['USE'], allowed: true, confine: 'schema', note: 'of a known schema' },
  // Refused, named so the message says what was refused.
  { kind: 'CREATE SCHEMA', words: ['CREATE', 'SCHEMA'], allowed: false, confine: 'none', note: 'LOAD and PATH name any file' },
  { kind: 'CREATE OR REPLACE SCHEMA', words: ['CREATE', 'OR', 'REPLACE', 'SCHEMA'], allowed: false, confine: 'none', note: 'LOAD and PATH name any file' },
  { kind: 'CREATE TEMPORARY TABLE', words: ['CREATE', 'TEMPORARY'], allowed: false, confine: 'none', note: "writes into Drill's temporary workspace, outside the gateway's view" },
  { kind: 'CREATE ALIAS', words: ['CREATE', 'ALIAS|PUBLIC'], allowed: false, confine: 'none', note: 'aliases re-point names cluster-wide and persistently' },
  { kind: 'CREATE OR REPLACE ALIAS', words: ['CREATE', 'OR', 'REPLACE', 'ALIAS|PUBLIC'], allowed: false, confine: 'none', note: 'aliases re-point names cluster-wide and persistently' },
  { kind: 'CREATE FUNCTION', words: ['CREATE', 'FUNCTION'], allowed: false, confine: 'none', note: 'USING JAR loads code into every Drillbit' },
  { kind: 'DROP SCHEMA', words: ['DROP', 'SCHEMA'], allowed: false, confine: 'none', note: '' },
  { kind: 'DROP ALIAS', words: ['DROP', 'ALIAS|PUBLIC|ALL'], allowed: false, confine: 'none', note: '' },
  { kind: 'DROP FUNCTION', words: ['DROP', 'FUNCTION'], allowed: false, confine: 'none', note: '' },
  { kind: 'ALTER SYSTEM', words: ['ALTER', 'SYSTEM'], allowed: false, confine: 'none', note: 'changes options for every user of the cluster' },
  { kind: 'ALTER SCHEMA', words: ['ALTER', 'SCHEMA'], allowed: false, confine: 'none', note: '' },
];

export interface Statement {
  /** The rule's kind, or the leading keywords of an unknown statement ('GRANT'). */
  kind: string;
  rule: StatementRule | null;
  allowed: boolean;
  /** Whether running it twice is harmless: a query, EXPLAIN, SHOW, DESCRIBE. */
  readOnly: boolean;
  /** The name the statement acts on (table, view, folder, schema, option), as parts. */
  target: string[] | null;
  /** Why it is refused although its keywords are allowed (EXPLAIN of a non-query, two statements). */
  problem: string | null;
  /** A token Drill's lexer refuses: the text cannot parse. */
  invalid: boolean;
}

const READ_ONLY = new Set(['SELECT', 'WITH', 'VALUES', '( query )', 'EXPLAIN PLAN FOR', 'SHOW SCHEMAS', 'SHOW TABLES', 'SHOW FILES', 'DESCRIBE SCHEMA', 'DESCRIBE']);

export function classifyStatement(sql: string, options: LexOptions = {}): Statement {
  return classifyList(significantList(sql, options));
}

function classifyList(list: TokenList): Statement {
  const invalid = hasInvalid(list);
  const rule = ruleAt(list, 0);
  if (!rule) return { kind: leadingWords(list), rule: null, allowed: false, readOnly: false, target: null, problem: null, invalid };
  let problem = rule.allowed ? statementCount(list) : null;
  let target: string[] | null = null;
  if (rule.allowed) {
    const found = targetOf(rule, list);
    target = found.target;
    problem ??= found.problem;
  }
  return { kind: rule.kind, rule, allowed: rule.allowed && problem === null, readOnly: READ_ONLY.has(rule.kind), target, problem, invalid };
}

function ruleAt(list: TokenList, start: number): StatementRule | null {
  return STATEMENT_RULES.find((r) => r.words.every((alternatives, k) => matches(list, start + k, alternatives))) ?? null;
}

function matches(list: TokenList, i: number, alternatives: string): boolean {
  return alternatives.split('|').some((w) => (w === '(' ? list.isPunctAt(i, '(') : list.isKeywordAt(i, w)));
}

// Drill parses one statement (SqlStmtEof): a ';' with anything after it is refused here.
function statementCount(list: TokenList): string | null {
  for (let i = 0; i < list.length - 1; i++) if (list.isPunctAt(i, ';')) return 'more than one statement (Drill runs one statement a request)';
  return null;
}

function leadingWords(list: TokenList): string {
  const words: string[] = [];
  for (let i = 0; i < 3 && list.kindAt(i) === 'word'; i++) words.push(asciiUpper(list.at(i)!.value));
  return words.length > 0 ? words.join(' ') : list.length === 0 ? 'empty statement' : 'unknown statement';
}

function targetOf(rule: StatementRule, list: TokenList): { target: string[] | null; problem: string | null } {
  let i = rule.words.length;
  switch (rule.kind) {
    case 'EXPLAIN PLAN FOR': {
      while (i < list.length && !list.isKeywordAt(i, 'FOR')) i++;
      const inner = ruleAt(list, i + 1);
      const ok = inner?.confine === 'query' && inner.kind !== 'EXPLAIN PLAN FOR';
      return { target: null, problem: ok ? null : `EXPLAIN PLAN FOR takes a query (SELECT, WITH, VALUES), not ${inner?.kind ?? 'this statement'}` };
    }
    case 'SHOW TABLES':
    case 'SHOW FILES':
      if (list.isKeywordAt(i, 'FROM') || list.isKeywordAt(i, 'IN')) return { target: nameAt(list, i + 1), problem: null };
      return { target: null, problem: null };
    case 'DESCRIBE SCHEMA':
      if (list.isKeywordAt(i, 'FOR') && list.isKeywordAt(i + 1, 'TABLE')) return { target: nameAt(list, i + 2), problem: null };
      return { target: nameAt(list, i), problem: null };
    case 'DESCRIBE':
      if (list.isKeywordAt(i, 'STATEMENT')) return { target: null, problem: 'DESCRIBE STATEMENT is not a statement Dromedar passes' };
      if (list.isKeywordAt(i, 'TABLE')) i++;
      return { target: nameAt(list, i), problem: null };
    case 'CREATE TABLE AS':
      if (list.isKeywordAt(i, 'IF') && list.isKeywordAt(i + 1, 'NOT') && list.isKeywordAt(i + 2, 'EXISTS')) i += 3;
      return { target: nameAt(list, i), problem: null };
    case 'CREATE VIEW':
    case 'CREATE OR REPLACE VIEW':
    case 'DROP TABLE':
    case 'DROP VIEW':
      if (list.isKeywordAt(i, 'IF') && list.isKeywordAt(i + 1, 'EXISTS')) i += 2;
      if (list.isKeywordAt(i, 'IF') && list.isKeywordAt(i + 1, 'NOT') && list.isKeywordAt(i + 2, 'EXISTS')) i += 3;
      return { target: nameAt(list, i), problem: null };
    case 'REFRESH TABLE METADATA':
      if (list.isKeywordAt(i, 'COLUMNS')) i = list.isPunctAt(i + 1, '(') ? list.closing(i + 1) + 1 : i + 2;
      return { target: nameAt(list, i), problem: null };
    case 'ANALYZE TABLE':
      // ANALYZE TABLE [TABLE(] name: the table function's name is the table.
      if (list.isKeywordAt(i, 'TABLE') && list.isPunctAt(i + 1, '(')) i += 2;
      return { target: nameAt(list, i), problem: null };
    case 'ALTER SESSION SET':
    case 'ALTER SESSION RESET':
    case 'SET':
    case 'RESET':
      if (list.isKeywordAt(i, 'ALL') && (rule.kind.endsWith('RESET') || rule.kind === 'RESET') && i + 1 >= list.length - (list.isPunctAt(list.length - 1, ';') ? 1 : 0)) {
        return { target: ['ALL'], problem: null };
      }
      return { target: nameAt(list, i), problem: null };
    case 'USE':
      return { target: nameAt(list, i), problem: null };
    default:
      return { target: null, problem: null };
  }
}

// A CompoundIdentifier: identifiers (words or quoted) separated by dots; null when none.
function nameAt(list: TokenList, i: number): string[] | null {
  const parts: string[] = [];
  for (;;) {
    const t: Token | undefined = list.at(i);
    if (!t || (t.kind !== 'word' && t.kind !== 'quoted')) return parts.length > 0 ? parts : null;
    parts.push(t.value);
    if (!list.isPunctAt(i + 1, '.')) return parts;
    i += 2;
  }
}

/** The README's list of statements, from STATEMENT_RULES. */
export function statementTable(): string {
  const row = (r: StatementRule) => `| \`${r.kind}\` | ${r.allowed ? 'allowed' : 'refused'} | ${r.note} |`;
  return ['| statement | | |', '| --- | --- | --- |', ...STATEMENT_RULES.map(row), '| anything else (`INSERT`, `GRANT`, `CALL`, ...) | refused | |'].join('\n');
}
