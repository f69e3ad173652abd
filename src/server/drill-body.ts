// The body of POST /query.json read the way Drill 1.22 reads it, so the gateway takes
// exactly what Drill takes. Drill's REST API binds the body to QueryWrapper with Jackson
// (2.18, the mapper of LogicalPlanPersistence): comments (/* */ and //) and unquoted
// field names are allowed; whatever follows the first JSON value is not read; every field
// is a String (Map<String, String> for `options`), and Jackson turns a number or a
// boolean given for a String into its text ("autoLimit": 10 is "10", 1.0 stays "1.0"),
// while an object or array there, an unknown field, or a body that is no object is an
// error Drill answers with 400, and so is anything but comments after the object
// (FAIL_ON_TRAILING_TOKENS). Jackson also binds `autoLimitRowCount` (QueryWrapper's
// getter of the parsed autoLimit, set on the final field), an int that wins over
// `autoLimit`. This reader keeps those rules (checked against Drill 1.22 itself); the
// fields' meaning is input.ts's business.
import { DromedarError } from '../util/errors.js';

/** QueryWrapper's fields as Jackson binds them: text, null (given as null, or absent). */
export interface DrillBody {
  query: string | null;
  queryType: string | null;
  autoLimit: string | null;
  userName: string | null;
  defaultSchema: string | null;
  options: Record<string, string | null> | null;
  /** The int field when given: a whole number (a fraction is cut off; null is 0); null when absent. */
  autoLimitRowCount: number | null;
}

const FIELDS = ['query', 'queryType', 'autoLimit', 'userName', 'defaultSchema', 'options', 'autoLimitRowCount'] as const;

type Node =
  | { kind: 'object'; entries: [string, Node][] }
  | { kind: 'array' }
  | { kind: 'scalar'; text: string }
  | { kind: 'null' };

/** Binds a /query.json body; null for an empty body or a JSON null (Drill then has no request at all). */
export function readDrillBody(source: string): DrillBody | null {
  // Jackson skips a byte order mark.
  const reader = new Reader(source.replace(/^\uFEFF/, ''));
  reader.space();
  if (reader.atEnd()) return null;
  const root = reader.value();
  reader.space();
  if (!reader.atEnd()) throw bad('the body holds more than one JSON value (only comments may follow the object)');
  if (root.kind === 'null') return null;
  if (root.kind !== 'object') throw bad(`the body must be a JSON object with Drill's fields (${FIELDS.join(', ')}), not ${root.kind === 'array' ? 'an array' : 'a single value'}`);
  const body: DrillBody = { query: null, queryType: null, autoLimit: null, userName: null, defaultSchema: null, options: null, autoLimitRowCount: null };
  for (const [name, node] of root.entries) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      throw bad(`unknown field ${JSON.stringify(name.slice(0, 100))}: Drill's /query.json takes ${FIELDS.join(', ')} (names are case-sensitive)`);
    }
    if (name === 'options') body.options = options(node);
    else if (name === 'autoLimitRowCount') body.autoLimitRowCount = int(node, name);
    else body[name as Exclude<(typeof FIELDS)[number], 'options' | 'autoLimitRowCount'>] = text(node, name);
  }
  return body;
}

function text(node: Node, field: string): string | null {
  if (node.kind === 'null') return null;
  if (node.kind === 'scalar') return node.text;
  throw bad(`${field} must be a string (or a number or boolean, taken as its text), not ${node.kind === 'array' ? 'an array' : 'an object'}`);
}

// Jackson's int: a number (a fraction cut off) or a numeric string; null and "" are 0.
function int(node: Node, field: string): number {
  const value = text(node, field)?.trim() ?? '';
  if (value === '') return 0;
  if (!/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) throw bad(`${field} must be a whole number`);
  const n = Math.trunc(Number(value));
  if (n < -(2 ** 31) || n > 2 ** 31 - 1) throw bad(`${field} ${value} is out of range of int (-2147483648 - 2147483647)`);
  return n;
}

function options(node: Node): Record<string, string | null> | null {
  if (node.kind === 'null') return null;
  if (node.kind !== 'object') throw bad('options must be an object of Drill option names to values');
  const out: Record<string, string | null> = {};
  for (const [name, value] of node.entries) out[name] = text(value, `options.${name}`);
  return out;
}

function bad(message: string): DromedarError {
  return new DromedarError('invalid_request', message, 400);
}

// A JSON reader with Jackson's ALLOW_COMMENTS and ALLOW_UNQUOTED_FIELD_NAMES; scalars
// keep their text as written (Jackson's getValueAsString for numbers and booleans).
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

// Jackson's StreamReadConstraints: at most 1000 nested objects and arrays.
const MAX_DEPTH = 1000;

class Reader {
  private at = 0;
  private depth = 0;

  constructor(private readonly src: string) {}

  atEnd(): boolean {
    return this.at >= this.src.length;
  }

  value(): Node {
    this.space();
    const ch = this.src[this.at];
    if (ch === '{' || ch === '[') {
      if (++this.depth > MAX_DEPTH) throw this.error(`objects and arrays nested deeper than ${MAX_DEPTH} (Jackson's limit)`);
      const node: Node = ch === '{' ? this.object() : (this.array(), { kind: 'array' });
      this.depth--;
      return node;
    }
    if (ch === '"') return { kind: 'scalar', text: this.string() };
    const word = /^(?:true|false|null)(?![A-Za-z0-9_$])/.exec(this.src.slice(this.at, this.at + 6))?.[0];
    if (word) {
      this.at += word.length;
      return word === 'null' ? { kind: 'null' } : { kind: 'scalar', text: word };
    }
    NUMBER.lastIndex = this.at;
    const number = NUMBER.exec(this.src)?.[0];
    if (number && !/^[A-Za-z0-9_.$]/.test(this.src[this.at + number.length] ?? '')) {
      this.at += number.length;
      return { kind: 'scalar', text: number };
    }
    throw this.error(ch === undefined ? 'the body ends inside a JSON value' : `unexpected ${JSON.stringify(ch)}`);
  }

  private object(): Node {
    this.at++;
    // A Map, not a search of the entries: a body of 50k fields must stay linear.
    const entries = new Map<string, Node>();
    this.space();
    if (this.src[this.at] === '}') {
      this.at++;
      return { kind: 'object', entries: [] };
    }
    for (;;) {
      this.space();
      const key = this.src[this.at] === '"' ? this.string() : this.name();
      this.space();
      if (this.src[this.at] !== ':') throw this.error(`expected ':' after the field name ${JSON.stringify(key.slice(0, 50))}`);
      this.at++;
      const value = this.value();
      // Jackson binds a repeated field's last value (here: moved to the end, as it was).
      entries.delete(key);
      entries.set(key, value);
      this.space();
      const next = this.src[this.at++];
      if (next === '}') return { kind: 'object', entries: [...entries] };
      if (next !== ',') throw this.error("expected ',' or '}' in an object", -1);
    }
  }

  private array(): void {
    this.at++;
    this.space();
    if (this.src[this.at] === ']') {
      this.at++;
      return;
    }
    for (;;) {
      this.value();
      this.space();
      const next = this.src[this.at++];
      if (next === ']') return;
      if (next !== ',') throw this.error("expected ',' or ']' in an array", -1);
    }
  }

  // Unquoted field names: Java identifier characters, as Jackson's _handleOddName takes them.
  private name(): string {
    const name = /^[\p{L}\p{Nl}_$][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$]*/u.exec(this.src.slice(this.at, this.at + 1000))?.[0];
    if (!name) throw this.error('expected a field name');
    this.at += name.length;
    return name;
  }

  private string(): string {
    const start = this.at;
    let i = start + 1;
    for (;;) {
      const c = this.src.charCodeAt(i);
      if (Number.isNaN(c)) throw this.error('a string without its closing quote');
      if (c === 0x22) break;
      if (c < 0x20) throw this.error('an unescaped control character in a string', i - this.at);
      if (c === 0x5c) {
        const escaped = this.src[i + 1] ?? '';
        if (escaped !== '' && '"\\/bfnrt'.includes(escaped)) i += 2;
        else if (escaped === 'u' && /^[0-9a-fA-F]{4}$/.test(this.src.slice(i + 2, i + 6))) i += 6;
        else throw this.error('a bad escape in a string', i - this.at);
        continue;
      }
      i++;
    }
    this.at = i + 1;
    return JSON.parse(this.src.slice(start, i + 1)) as string;
  }

  /** Skips whitespace and comments. */
  space(): void {
    for (;;) {
      const rest = this.src.slice(this.at, this.at + 2);
      if (/^[ \t\r\n]/.test(rest)) this.at++;
      else if (rest === '//') {
        const end = this.src.indexOf('\n', this.at);
        this.at = end < 0 ? this.src.length : end + 1;
      } else if (rest === '/*') {
        const end = this.src.indexOf('*/', this.at + 2);
        if (end < 0) throw this.error('a comment without its closing */');
        this.at = end + 2;
      } else return;
    }
  }

  private error(what: string, offset = 0): DromedarError {
    return new DromedarError('invalid_json', `the body is not JSON as Drill reads it: ${what} at character ${this.at + offset + 1}`, 400);
  }
}
