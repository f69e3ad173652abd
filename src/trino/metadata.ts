// The metadata Trino clients ask for at connect time. `SELECT version()`, SHOW
// CATALOGS and SHOW SCHEMAS are answered from what the gateway knows (its workspaces;
// no Drillbit starts for them). Trino's system.jdbc tables (as trino-jdbc's
// DatabaseMetaData queries them) and information_schema (as the SQLAlchemy dialect
// does) become subqueries over Drill's INFORMATION_SCHEMA with Trino's column names,
// so the client's own WHERE and ORDER BY run in Drill unchanged.
//
// Names: Drill's schema dfs.data is catalog dfs, schema data; a schema without a dot
// (sys, information_schema) is that catalog's schema "default".
import { tokenize, type Token } from '../sql/lexer.js';
import { TRINO_VERSION } from './protocol.js';
import type { TrinoSession } from './session.js';
import { encodeValue, T, type TrinoColumn } from './types.js';

export interface StaticAnswer {
  columns: TrinoColumn[];
  /** Encoded rows (JSON text). */
  rows: string[];
  updateType?: string;
}

const varchar = (name: string): TrinoColumn => ({ name, type: T.varchar.name, typeSignature: T.varchar.signature });

function answer(column: string, values: string[]): StaticAnswer {
  return { columns: [varchar(column)], rows: values.map((v) => `[${encodeValue(v, T.varchar.signature)}]`) };
}

/** Drill schema name -> [Trino catalog, Trino schema]. */
export function splitSchema(drill: string): [string, string] {
  const dot = drill.indexOf('.');
  return dot < 0 ? [drill, 'default'] : [drill.slice(0, dot), drill.slice(dot + 1)];
}

function like(pattern: string | undefined): (s: string) => boolean {
  if (pattern === undefined) return () => true;
  const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 'i');
  return (s) => re.test(s);
}

function significant(sql: string): Token[] {
  return tokenize(sql.replace(/;\s*$/, '')).filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

const word = (t: Token | undefined) => (t?.kind === 'word' ? t.value.toUpperCase() : '');
const ident = (t: Token | undefined) => (t ? (t.kind === 'word' ? t.value.toLowerCase() : t.value) : '');

/** The answer to a statement the gateway knows without Drill; null for everything else. */
export function answerMetadata(sql: string, session: TrinoSession, schemas: string[]): StaticAnswer | null {
  const t = significant(sql);
  const all = [...new Set([...schemas, 'sys', 'information_schema'])];
  // SELECT version()
  if (t.length === 4 && word(t[0]) === 'SELECT' && word(t[1]) === 'VERSION' && t[2]?.text === '(' && t[3]?.text === ')') return answer('_col0', [TRINO_VERSION]);
  if (word(t[0]) !== 'SHOW') return null;
  if (word(t[1]) === 'CATALOGS' && (t.length === 2 || (t.length === 4 && word(t[2]) === 'LIKE' && t[3]?.kind === 'string'))) {
    const match = like(t[3]?.value);
    return answer('Catalog', [...new Set(all.map((s) => splitSchema(s)[0]))].filter(match).sort());
  }
  if (word(t[1]) === 'SCHEMAS') {
    let i = 2;
    let catalog = session.catalog;
    if (word(t[i]) === 'FROM' || word(t[i]) === 'IN') {
      catalog = ident(t[i + 1]);
      i += 2;
    }
    let pattern: string | undefined;
    if (word(t[i]) === 'LIKE' && t[i + 1]?.kind === 'string') {
      pattern = t[i + 1]!.value;
      i += 2;
    }
    if (i !== t.length || !catalog) return null;
    const match = like(pattern);
    return answer(
      'Schema',
      all
        .map(splitSchema)
        .filter(([c, s]) => c === catalog && match(s))
        .map(([, s]) => s)
        .sort(),
    );
  }
  return null;
}

// Drill SQL pieces: the catalog and schema of an INFORMATION_SCHEMA schema name.
const CAT = (col: string) => `CASE WHEN STRPOS(${col}, '.') > 0 THEN SUBSTR(${col}, 1, STRPOS(${col}, '.') - 1) ELSE ${col} END`;
const SCHEM = (col: string) => `CASE WHEN STRPOS(${col}, '.') > 0 THEN SUBSTR(${col}, STRPOS(${col}, '.') + 1) ELSE 'default' END`;
const NULL_VARCHAR = 'CAST(NULL AS VARCHAR)';

// java.sql.Types and Trino's type names for Drill's INFORMATION_SCHEMA.COLUMNS.DATA_TYPE.
const TYPES: Array<[string, number, string]> = [
  ['BIGINT', -5, 'bigint'],
  ['INTEGER', 4, 'integer'],
  ['SMALLINT', 5, 'smallint'],
  ['TINYINT', -6, 'tinyint'],
  ['DOUBLE', 8, 'double'],
  ['FLOAT', 7, 'real'],
  ['REAL', 7, 'real'],
  ['DECIMAL', 3, 'decimal'],
  ['BOOLEAN', 16, 'boolean'],
  ['CHARACTER VARYING', 12, 'varchar'],
  ['CHARACTER', 12, 'varchar'],
  ['BINARY VARYING', -3, 'varbinary'],
  ['BINARY', -3, 'varbinary'],
  ['DATE', 91, 'date'],
  ['TIME', 92, 'time(3)'],
  ['TIMESTAMP', 93, 'timestamp(3)'],
  ['ARRAY', 2003, 'array(json)'],
];
const JDBC_TYPE = `CASE DATA_TYPE ${TYPES.map(([d, n]) => `WHEN '${d}' THEN ${n}`).join(' ')} ELSE 1111 END`;
const TYPE_NAME = `CASE DATA_TYPE ${TYPES.map(([d, , n]) => `WHEN '${d}' THEN '${n}'`).join(' ')} WHEN 'MAP' THEN 'json' WHEN 'STRUCT' THEN 'json' ELSE LOWER(DATA_TYPE) END`;

const JDBC: Record<string, string> = {
  catalogs: `SELECT DISTINCT ${CAT('SCHEMA_NAME')} AS TABLE_CAT FROM INFORMATION_SCHEMA.SCHEMATA`,
  schemas: `SELECT ${SCHEM('SCHEMA_NAME')} AS TABLE_SCHEM, ${CAT('SCHEMA_NAME')} AS TABLE_CATALOG FROM INFORMATION_SCHEMA.SCHEMATA`,
  tables:
    `SELECT ${CAT('TABLE_SCHEMA')} AS TABLE_CAT, ${SCHEM('TABLE_SCHEMA')} AS TABLE_SCHEM, TABLE_NAME, ` +
    `CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' ELSE 'TABLE' END AS TABLE_TYPE, ${NULL_VARCHAR} AS REMARKS, ${NULL_VARCHAR} AS TYPE_CAT, ` +
    `${NULL_VARCHAR} AS TYPE_SCHEM, ${NULL_VARCHAR} AS TYPE_NAME, ${NULL_VARCHAR} AS SELF_REFERENCING_COL_NAME, ${NULL_VARCHAR} AS REF_GENERATION ` +
    'FROM INFORMATION_SCHEMA.`TABLES`',
  columns:
    `SELECT ${CAT('TABLE_SCHEMA')} AS TABLE_CAT, ${SCHEM('TABLE_SCHEMA')} AS TABLE_SCHEM, TABLE_NAME, COLUMN_NAME, ` +
    `${JDBC_TYPE} AS DATA_TYPE, ${TYPE_NAME} AS TYPE_NAME, COALESCE(CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION) AS COLUMN_SIZE, ` +
    `CAST(NULL AS INTEGER) AS BUFFER_LENGTH, NUMERIC_SCALE AS DECIMAL_DIGITS, NUMERIC_PRECISION_RADIX AS NUM_PREC_RADIX, ` +
    `CASE IS_NULLABLE WHEN 'NO' THEN 0 ELSE 1 END AS NULLABLE, ${NULL_VARCHAR} AS REMARKS, COLUMN_DEFAULT AS COLUMN_DEF, ` +
    `CAST(NULL AS INTEGER) AS SQL_DATA_TYPE, CAST(NULL AS INTEGER) AS SQL_DATETIME_SUB, CHARACTER_OCTET_LENGTH AS CHAR_OCTET_LENGTH, ` +
    `ORDINAL_POSITION, IS_NULLABLE, ${NULL_VARCHAR} AS SCOPE_CATALOG, ${NULL_VARCHAR} AS SCOPE_SCHEMA, ${NULL_VARCHAR} AS SCOPE_TABLE, ` +
    `CAST(NULL AS INTEGER) AS SOURCE_DATA_TYPE, 'NO' AS IS_AUTOINCREMENT, 'NO' AS IS_GENERATEDCOLUMN FROM INFORMATION_SCHEMA.COLUMNS`,
  table_types: "SELECT TABLE_TYPE FROM (VALUES ('TABLE'), ('VIEW')) AS t(TABLE_TYPE)",
  types:
    'SELECT TYPE_NAME, DATA_TYPE, `PRECISION`, CAST(NULL AS VARCHAR) AS LITERAL_PREFIX, CAST(NULL AS VARCHAR) AS LITERAL_SUFFIX, ' +
    'CAST(NULL AS VARCHAR) AS CREATE_PARAMS, 1 AS NULLABLE, FALSE AS CASE_SENSITIVE, 3 AS SEARCHABLE, FALSE AS UNSIGNED_ATTRIBUTE, ' +
    'FALSE AS FIXED_PREC_SCALE, FALSE AS AUTO_INCREMENT, CAST(NULL AS VARCHAR) AS LOCAL_TYPE_NAME, 0 AS MINIMUM_SCALE, 0 AS MAXIMUM_SCALE, ' +
    'CAST(NULL AS INTEGER) AS SQL_DATA_TYPE, CAST(NULL AS INTEGER) AS SQL_DATETIME_SUB, 10 AS NUM_PREC_RADIX FROM (VALUES ' +
    [...new Map(TYPES.map(([, n, name]) => [name, n])).entries()].map(([name, n]) => `('${name}', ${n}, ${n === 12 || n === -3 ? 2147483647 : 38})`).join(', ') +
    ') AS t(TYPE_NAME, DATA_TYPE, `PRECISION`)',
};

// information_schema as Trino has it (table_catalog, table_schema, ...), for the
// SQLAlchemy dialect's inspector.
const INFO: Record<string, string> = {
  schemata: `SELECT ${CAT('SCHEMA_NAME')} AS catalog_name, ${SCHEM('SCHEMA_NAME')} AS schema_name FROM INFORMATION_SCHEMA.SCHEMATA`,
  tables: `SELECT ${CAT('TABLE_SCHEMA')} AS table_catalog, ${SCHEM('TABLE_SCHEMA')} AS table_schema, TABLE_NAME AS table_name, CASE TABLE_TYPE WHEN 'VIEW' THEN 'VIEW' ELSE 'BASE TABLE' END AS table_type FROM INFORMATION_SCHEMA.\`TABLES\``,
  views: `SELECT ${CAT('TABLE_SCHEMA')} AS table_catalog, ${SCHEM('TABLE_SCHEMA')} AS table_schema, TABLE_NAME AS table_name, VIEW_DEFINITION AS view_definition FROM INFORMATION_SCHEMA.VIEWS`,
  columns:
    `SELECT ${CAT('TABLE_SCHEMA')} AS table_catalog, ${SCHEM('TABLE_SCHEMA')} AS table_schema, TABLE_NAME AS table_name, COLUMN_NAME AS column_name, ` +
    `ORDINAL_POSITION AS ordinal_position, COLUMN_DEFAULT AS column_default, IS_NULLABLE AS is_nullable, ${TYPE_NAME} AS data_type, ${NULL_VARCHAR} AS comment ` +
    'FROM INFORMATION_SCHEMA.COLUMNS',
};

/**
 * The SQL with Trino's metadata tables (system.jdbc.X, [catalog.]information_schema.X)
 * replaced by subqueries over Drill's INFORMATION_SCHEMA that give Trino's columns.
 */
export function rewriteMetadata(sql: string, sessionCatalog?: string): string {
  const tokens = tokenize(sql);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const at = dottedName(tokens, i);
    if (at) {
      const [parts, end] = at;
      const lower = parts.map((p) => p.toLowerCase());
      let replacement: string | undefined;
      if (!previousKeyword(out)) replacement = undefined;
      else if (lower.length === 3 && lower[0] === 'system' && lower[1] === 'jdbc') replacement = JDBC[lower[2]!];
      else if ((lower.length === 2 || lower.length === 3) && lower[lower.length - 2] === 'information_schema' && INFO[lower[lower.length - 1]!]) {
        // Trino's information_schema is one catalog's: [catalog.]information_schema.X.
        const catalog = lower.length === 3 ? lower[0]! : sessionCatalog;
        const all = INFO[lower[lower.length - 1]!]!;
        replacement = catalog && catalog !== 'system' ? `SELECT * FROM (${all}) WHERE ${lower[lower.length - 1] === 'schemata' ? 'catalog_name' : 'table_catalog'} = '${catalog.replace(/'/g, "''")}'` : all;
      }
      if (replacement) {
        // The subquery keeps the table's last name as its alias, so t.col still reads.
        out.push(`(${replacement}) AS \`${lower[lower.length - 1]}\``);
        i = end - 1;
        continue;
      }
    }
    out.push(tokens[i]!.text);
  }
  return out.join('');
}

// A FROM / JOIN target: the token before (spaces aside) is FROM, JOIN or a comma.
function previousKeyword(out: string[]): boolean {
  for (let i = out.length - 1; i >= 0; i--) {
    const text = out[i]!.trim();
    if (text === '') continue;
    return /^(FROM|JOIN|,)$/i.test(text);
  }
  return false;
}

// name(.name)* starting at i (words or quoted names); [parts, index after].
function dottedName(tokens: Token[], i: number): [string[], number] | null {
  const isName = (t: Token | undefined) => t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
  if (!isName(tokens[i])) return null;
  const before = tokens[i - 1];
  if (before && before.text === '.') return null;
  const parts = [tokens[i]!.value];
  let j = i + 1;
  while (tokens[j]?.text === '.' && isName(tokens[j + 1])) {
    parts.push(tokens[j + 1]!.value);
    j += 2;
  }
  return parts.length >= 2 ? [parts, j] : null;
}
