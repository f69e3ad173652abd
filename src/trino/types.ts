// Drill's column types as Trino's, and Drill's values in the encoding Trino clients
// decode. What the clients accept (trino-client JsonDecodingUtils, trino-jdbc's
// result set, the Python client's mapper.py): integers as JSON integers (or their text),
// doubles as JSON floats ("1.0", never "1": the JDBC decoder refuses an integer token)
// or "NaN"/"Infinity", decimals as strings, dates 'YYYY-MM-DD', times 'HH:MM:SS.fff',
// timestamps 'YYYY-MM-DD HH:MM:SS.fff', varbinary as base64, arrays as JSON arrays,
// and json (Drill's maps, dicts, lists of mixed values) as a string of JSON.
import { Num, type Json } from './json.js';

export interface TypeSignature {
  rawType: string;
  arguments: Array<{ kind: 'LONG'; value: number } | { kind: 'TYPE'; value: TypeSignature }>;
}

export interface TrinoType {
  /** Trino's type name, e.g. decimal(10,2), array(bigint). */
  name: string;
  signature: TypeSignature;
}

export interface TrinoColumn {
  name: string;
  type: string;
  typeSignature: TypeSignature;
}

const UNBOUNDED = 2147483647;

const simple = (rawType: string, ...longs: number[]): TrinoType => ({
  name: longs.length > 0 && rawType !== 'varchar' ? `${rawType}(${longs.join(',')})` : rawType,
  signature: { rawType, arguments: longs.map((value) => ({ kind: 'LONG' as const, value })) },
});

export const T = {
  bigint: simple('bigint'),
  integer: simple('integer'),
  smallint: simple('smallint'),
  tinyint: simple('tinyint'),
  double: simple('double'),
  real: simple('real'),
  boolean: simple('boolean'),
  varchar: simple('varchar', UNBOUNDED),
  varbinary: simple('varbinary'),
  date: simple('date'),
  time: simple('time', 3),
  timestamp: simple('timestamp', 3),
  json: simple('json'),
  decimal: (precision: number, scale: number) => simple('decimal', precision, scale),
  array: (element: TrinoType): TrinoType => ({ name: `array(${element.name})`, signature: { rawType: 'array', arguments: [{ kind: 'TYPE', value: element.signature }] } }),
};

/**
 * The Trino type of a column Drill describes as `drillType` (its `metadata` entry: the
 * minor type, with "(precision, scale)" or "(width)"). Drill's metadata does not say
 * whether a column is repeated: `arrayOf` turns a column into an array when its values
 * are (see `inferColumns`).
 */
export function trinoType(drillType: string): TrinoType {
  const m = /^\s*([A-Z0-9_]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?/i.exec(drillType);
  const minor = (m?.[1] ?? '').toUpperCase();
  switch (minor) {
    case 'BIGINT':
    case 'UINT4':
    case 'UINT8':
      return T.bigint;
    case 'INT':
    case 'INTEGER':
    case 'UINT2':
      return T.integer;
    case 'SMALLINT':
    case 'UINT1':
      return T.smallint;
    case 'TINYINT':
      return T.tinyint;
    case 'FLOAT8':
    case 'DOUBLE':
      return T.double;
    case 'FLOAT4':
    case 'FLOAT':
    case 'REAL':
      return T.real;
    case 'BIT':
    case 'BOOLEAN':
      return T.boolean;
    case 'VARDECIMAL':
    case 'DECIMAL':
    case 'DECIMAL9':
    case 'DECIMAL18':
    case 'DECIMAL28SPARSE':
    case 'DECIMAL38SPARSE':
    case 'DECIMAL28DENSE':
    case 'DECIMAL38DENSE': {
      const precision = Math.min(38, Math.max(1, Number(m?.[2] ?? 38)));
      const scale = Math.min(precision, Number(m?.[3] ?? 0));
      return T.decimal(precision, scale);
    }
    case 'VARBINARY':
    case 'FIXEDBINARY':
      return T.varbinary;
    case 'DATE':
      return T.date;
    case 'TIME':
      return T.time;
    case 'TIMESTAMP':
    case 'TIMESTAMPTZ':
      return T.timestamp;
    case 'MAP':
    case 'DICT':
    case 'LIST':
    case 'UNION':
    case 'GENERIC_OBJECT':
      return T.json;
    default:
      // VARCHAR, VAR16CHAR, FIXEDCHAR, the intervals (Drill writes ISO periods), NULL, LATE.
      return T.varchar;
  }
}

/**
 * The columns of an answer, from Drill's names and metadata and the first rows:
 * a column whose first non-null value is a JSON array is an array (Drill writes a
 * REPEATED column's values as arrays but names only the element type).
 */
export function inferColumns(names: string[], metadata: string[], rows: Array<Record<string, Json>>): TrinoColumn[] {
  return names.map((name, i) => {
    let type = trinoType(metadata[i] ?? 'VARCHAR');
    const first = rows.find((row) => row[name] !== null && row[name] !== undefined)?.[name];
    if (Array.isArray(first)) type = T.array(type === T.json ? elementType(rows.flatMap((row) => (Array.isArray(row[name]) ? (row[name] as Json[]) : []))) : type);
    return { name, type: type.name, typeSignature: type.signature };
  });
}

// A LIST's elements: one scalar kind throughout, else json.
function elementType(values: Json[]): TrinoType {
  const kinds = new Set(values.filter((v) => v !== null).map((v) => (v instanceof Num ? (v.isInteger ? 'int' : 'num') : Array.isArray(v) ? 'json' : typeof v)));
  if (kinds.size === 1 && kinds.has('int')) return T.bigint;
  if ([...kinds].every((k) => k === 'int' || k === 'num') && kinds.size > 0) return T.double;
  if (kinds.size === 1 && kinds.has('string')) return T.varchar;
  if (kinds.size === 1 && kinds.has('boolean')) return T.boolean;
  return T.json;
}

/** Encodes one Drill value as the JSON text of the Trino encoding of `type`. */
export function encodeValue(value: Json | undefined, type: TypeSignature): string {
  if (value === null || value === undefined) return 'null';
  switch (type.rawType) {
    case 'bigint':
    case 'integer':
    case 'smallint':
    case 'tinyint':
      return integer(value);
    case 'double':
    case 'real':
      return float(value);
    case 'decimal':
      return JSON.stringify(value instanceof Num ? value.text : String(value));
    case 'boolean':
      return value === true || value === 'true' ? 'true' : value === false || value === 'false' ? 'false' : 'null';
    case 'date':
      return quoted(date(value));
    case 'time':
      return quoted(time(value));
    case 'timestamp':
      return quoted(timestamp(value));
    case 'varbinary':
      // Drill writes a byte[] as base64 (Jackson), which is Trino's encoding too.
      return JSON.stringify(typeof value === 'string' ? value : Buffer.from(jsonText(value)).toString('base64'));
    case 'array': {
      const element = (type.arguments[0] as { value: TypeSignature }).value;
      // A value that is no array in an array column: a one-element array of it.
      const items = Array.isArray(value) ? value : [value];
      return `[${items.map((v) => encodeValue(v, element)).join(',')}]`;
    }
    case 'json':
      return JSON.stringify(jsonText(value));
    default:
      return JSON.stringify(typeof value === 'string' ? value : value instanceof Num ? value.text : jsonText(value));
  }
}

function quoted(text: string | null): string {
  return text === null ? 'null' : JSON.stringify(text);
}

function integer(value: Json): string {
  if (value instanceof Num && value.isInteger) return value.text;
  const text = value instanceof Num ? value.text : String(value);
  if (/^-?\d+$/.test(text.trim())) return text.trim();
  const n = Number(text);
  return Number.isFinite(n) ? String(Math.trunc(n)) : 'null';
}

function float(value: Json): string {
  const text = (value instanceof Num ? value.text : String(value)).trim();
  if (/^(NaN|-?Infinity)$/.test(text)) return JSON.stringify(text);
  if (!/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return 'null';
  // Jackson reads "1" as an integer token, which Trino's double decoder refuses.
  return /[.eE]/.test(text) ? text.replace(/^(-?)\./, '$10.').replace(/\.(?=[eE]|$)/, '.0') : `${text}.0`;
}

/** Drill's JSON of a map, list or dict, as JSON text (numbers keep their digits). */
export function jsonText(value: Json): string {
  if (value === null) return 'null';
  if (value instanceof Num) return /^(NaN|-?Infinity)$/.test(value.text) ? JSON.stringify(value.text) : value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  return JSON.stringify(value);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

// Drill's REST answer has dates, times and timestamps as epoch milliseconds (a TIME as
// milliseconds of the day, UTC); text ('2024-01-02T10:11:12.345') is read too.
function fromEpoch(value: Json): Date | null {
  if (value instanceof Num) {
    const d = new Date(Number(value.text));
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

function date(value: Json): string | null {
  const d = fromEpoch(value);
  if (d) return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const m = /^\s*([+-]?\d{4,})-(\d{2})-(\d{2})/.exec(String(value));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

function fraction(text: string | undefined): string {
  return (text ?? '').padEnd(3, '0').slice(0, 3);
}

function time(value: Json): string | null {
  const d = fromEpoch(value);
  if (d) return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  const m = /(?:^|[T ])(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?/.exec(String(value));
  return m ? `${m[1]}:${m[2]}:${m[3] ?? '00'}.${fraction(m[4])}` : null;
}

function timestamp(value: Json): string | null {
  const d = fromEpoch(value);
  if (d) return `${date(value)} ${time(value)}`;
  const text = String(value);
  const day = date(text);
  if (day === null) return null;
  const rest = text.slice(text.indexOf(day.slice(-5)) + 5);
  return `${day} ${/\d{2}:\d{2}/.test(rest) ? time(rest.replace(/^[T ]/, ' ')) : '00:00:00.000'}`;
}
