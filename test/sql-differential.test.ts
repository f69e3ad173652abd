// The gateway reads SQL as Drill does, checked against Drill itself (issue 11 item 4).
// For each text of the corpus (test/fixtures/sql-corpus/base.json) and mutations of it
// made here from fixed seeds (comments, line ends, whitespace, hidden UNIONs, string
// tricks, parentheses), the gateway's reading (statement kind, refusal, the files it
// sizes) is compared with a real Drillbit's `EXPLAIN PLAN FOR <text>`: the files in
// Drill's plan, or Drill's parse error. EXPLAIN runs nothing; the harmless statements
// the gateway lets through (SHOW, DESCRIBE, USE, ALTER SESSION) also run for real, on
// a Drillbit whose workspaces are temp folders. The test fails when
// - Drill plans to read a file the gateway did not count (or the gateway refused nothing),
// - Drill plans a text as a query that the gateway classified as another statement,
// - Drill parses a text the gateway called unreadable (its lexer differs from Drill's),
// - Drill's first token of a text it refuses is not the gateway's first token,
// - a statement the gateway passes runs in Drill as something else.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { checkStatement } from '../src/server/policy.js';
import { Sizer } from '../src/sizing/index.js';
import { significantList } from '../src/sql/lexer.js';
import { classifyStatement } from '../src/sql/statements.js';
import { DromedarError } from '../src/util/errors.js';
import { startDrillbit, type TestDrillbit } from './support/drillbit.js';
import { testConfig } from './support/env.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = [join(here, 'fixtures', 'sql-corpus'), join(here, '..', '..', 'test', 'fixtures', 'sql-corpus')].find(existsSync)!;
const BASE: string[] = JSON.parse(readFileSync(join(corpusDir, 'base.json'), 'utf8'));

const config = testConfig({
  storage: { workspaces: { default: { location: '.' }, data: { location: '.' }, tmp: { location: '../tmp', writable: true } } },
});
let drill: TestDrillbit;
let sizer: Sizer;

// A small PRNG so the mutations are the same on every run.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMENTS = ['--x\n', '--x\r', '--x\r\n', '//x\n', '//x\r', '/*x*/', '/***/', '/**x*/', '/* -- */', "-- '\n", '/*/ */', '/* \n */', '--\n', '//\r\n'];
const BLANKS = ['\t', '\f', '\r', '\n', '\r\n', '  ', '\u000b', '\u00a0'];
const HIDDEN = ['-- c\r', '// c\r', '/* c */', '--\r\n', "'a\\' ", '/***/ ', '-- c\n'];
const UNION = ' UNION ALL SELECT * FROM dfs.data.`b.json`';

/** Mutations of the base texts, from fixed seeds: each one a text the corpus does not have. */
function mutations(): string[] {
  const out = new Set<string>();
  BASE.forEach((text, n) => {
    const rnd = mulberry32(1_000 + n);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const spaces = [...text.matchAll(/ /g)].map((m) => m.index!);
    if (spaces.length > 0) {
      const at = pick(spaces);
      out.add(text.slice(0, at) + ' ' + pick(COMMENTS) + text.slice(at + 1));
      const at2 = pick(spaces);
      out.add(text.slice(0, at2) + pick(BLANKS) + text.slice(at2 + 1));
    }
    if (/^select/i.test(text) && !text.includes(';')) {
      out.add(text + ' ' + pick(HIDDEN) + UNION);
      out.add('(' + text + ')');
    }
    if (n % 3 === 0) out.add(text.replace(/[a-z]/g, (c) => (rnd() < 0.5 ? c.toUpperCase() : c)).replace(/`[^`]*`/g, (q) => q.toLowerCase()));
  });
  for (const b of BASE) out.delete(b);
  return [...out];
}

interface GatewayReading {
  kind: string;
  allowed: boolean;
  /** The refusal's code, when refused. */
  refused: string | null;
  files: string[];
}

async function gatewayReading(sql: string): Promise<GatewayReading> {
  const statement = classifyStatement(sql);
  try {
    await checkStatement(sql, { workspaces: sizer.workspaceMap });
    const files = statement.rule?.confine === 'query' ? await sizer.files(sql) : [];
    return { kind: statement.kind, allowed: true, refused: null, files: files.map(real) };
  } catch (err) {
    if (!(err instanceof DromedarError) || err.status >= 500) throw err;
    return { kind: statement.kind, allowed: false, refused: err.code, files: [] };
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

interface DrillReading {
  planned: boolean;
  files: string[];
  error: string;
}

async function drillReading(sql: string): Promise<DrillReading> {
  const answer = await drill.sql(`EXPLAIN PLAN FOR ${sql}`, {}, true);
  if (answer.queryState !== 'COMPLETED') return { planned: false, files: [], error: answer.errorMessage ?? JSON.stringify(answer) };
  const text = answer.rows?.map((r) => `${String(r.text)}\n${String(r.json)}`).join('\n') ?? '';
  const files = new Set<string>();
  for (const m of text.matchAll(/file:(\/[^,\]\s"'}]*)/g)) {
    const path = real(m[1]!);
    if (existsSync(path) && statSync(path).isFile()) files.add(path);
  }
  return { planned: true, files: [...files], error: '' };
}

// Drill's "Encountered "X" at line L, column C": the first token it could not take.
const ENCOUNTERED = /Encountered "(.*?)" at line (\d+), column (\d+)/;
const PREFIX = 'EXPLAIN PLAN FOR ';

// Line and column of an offset as JavaCC counts them (\r, \n and \r\n end a line; a tab
// moves to the next multiple of 8 plus one... SimpleCharStream's tabSize is 1 in Calcite).
function lineColumn(text: string, offset: number): [number, number] {
  let line = 1;
  let column = 0;
  for (let i = 0; i <= offset && i < text.length; i++) {
    const c = text[i];
    if (i === offset) return [line, column + 1];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) {
      line++;
      column = 0;
    } else if (c !== '\r') column++;
  }
  return [line, column + 1];
}

// ParseException's add_escapes: \b \t \n \f \r \" \' \\ and \uXXXX for the rest.
function unescapeJavaCC(image: string): string {
  const simple: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', "'": "'", '\\': '\\' };
  return image.replace(/\\(u[0-9a-fA-F]{4}|[btnfr"'\\])/g, (_, e: string) => (e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : simple[e]!));
}

function divergence(sql: string, gw: GatewayReading, dr: DrillReading): string | null {
  if (dr.planned) {
    if (gw.refused === 'invalid_sql') return `Drill planned a text the gateway called unreadable (${gw.kind})`;
    if (!gw.allowed) return null; // refused: nothing reaches Drill
    if (classifyStatement(sql).rule?.confine !== 'query') return `Drill planned it as a query; the gateway read ${gw.kind}`;
    const missed = dr.files.filter((f) => !gw.files.includes(f));
    if (missed.length > 0) return `Drill reads ${missed.join(', ')}, which the gateway did not count (it counted ${gw.files.join(', ') || 'nothing'})`;
    return null;
  }
  // Drill refused the text. Where its error is at the text's first token (its message
  // names the position), that token must start where the gateway's first token starts:
  // earlier means Drill read a token in what the gateway skipped as a comment or blank.
  const m = ENCOUNTERED.exec(dr.error);
  const list = significantList(sql);
  if (m && list.length > 0) {
    const [line, column] = lineColumn(PREFIX + sql, PREFIX.length + list.startOf(0));
    const at = [Number(m[2]), Number(m[3])] as const;
    const image = unescapeJavaCC(m[1]!).toUpperCase();
    if (image !== '' && !image.startsWith('<') && !list.tokens.some((t) => t.text.toUpperCase() === image)) {
      return `Drill stopped at a token ${m[1]} the gateway does not have`;
    }
    if (image === '' && (at[0] < line || (at[0] === line && at[1] < column))) {
      return `Drill stopped at line ${at[0]} column ${at[1]}, before the gateway's first token (line ${line} column ${column})`;
    }
  }
  return null;
}

before(async () => {
  const root = config.dataDir;
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, '..', 'tmp'), { recursive: true });
  mkdirSync(join(root, '..', 'data2'), { recursive: true });
  writeFileSync(join(root, 'a.json'), '{"a": 1, "b": "x"}\n');
  writeFileSync(join(root, 'b.json'), '{"a": 2, "b": "y"}\n');
  writeFileSync(join(root, 'sub', 'c.json'), '{"a": 3}\n');
  writeFileSync(join(root, 't.csv'), '1,2\n');
  writeFileSync(join(root, '..', 'tmp', 'w.json'), '{"a": 4}\n');
  writeFileSync(join(root, '..', 'data2', 'x.json'), '{"secret": 1}\n');
  writeFileSync(join(root, '..', 'secret.json'), '{"secret": 2}\n');
  symlinkSync(join(root, '..', 'data2'), join(root, 'link'));
  sizer = new Sizer(config);
  drill = await startDrillbit(config);
});

after(async () => {
  await drill?.stop();
  await sizer?.close();
  config.cleanup();
});

/** Runs `work` over `items`, `width` at a time (one Drillbit answers several at once). */
async function pool<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

test('the corpus and its mutations: Drill reads nothing the gateway did not count, and no statement is read as another kind', { timeout: 600_000 }, async () => {
  const texts = [...BASE, ...mutations()];
  assert.ok(texts.length >= 300, `corpus of ${texts.length} texts`);
  const results = await pool(texts, 6, async (sql) => {
    const [gw, dr] = await Promise.all([gatewayReading(sql), drillReading(sql)]);
    return { sql, gw, dr, problem: divergence(sql, gw, dr) };
  });
  const problems = results.filter((r) => r.problem !== null);
  const planned = results.filter((r) => r.dr.planned).length;
  const withFiles = results.filter((r) => r.dr.files.length > 0).length;
  console.log(`sql-differential: ${texts.length} texts (${BASE.length} base), Drill planned ${planned} (${withFiles} reading files), gateway refused ${results.filter((r) => !r.gw.allowed).length}, divergences ${problems.length}`);
  for (const p of problems) console.log(`divergence: ${JSON.stringify(p.sql)}: ${p.problem} | drill: ${p.dr.error.slice(0, 160).replace(/\s+/g, ' ')}`);
  assert.deepEqual(
    problems.map((p) => `${JSON.stringify(p.sql)}: ${p.problem}`),
    [],
  );
  // The corpus exercises both sides: plans that read files, and refusals.
  assert.ok(withFiles >= 50 && results.some((r) => r.gw.refused === 'statement_not_allowed') && results.some((r) => r.gw.refused === 'path_outside_workspace'));
});

// What the gateway passes that is not a query runs in Drill as that statement: the
// answer's columns say which statement ran.
test('the statements the gateway passes run in Drill as the statement it classified', { timeout: 300_000 }, async () => {
  const expected: Record<string, RegExp> = {
    'SHOW SCHEMAS': /SCHEMA_NAME/,
    'SHOW TABLES': /TABLE_NAME/,
    'SHOW FILES': /isDirectory/,
    DESCRIBE: /COLUMN_NAME/,
    USE: /Default schema changed/,
    'ALTER SESSION SET': /updated/,
    'ALTER SESSION RESET': /reset|updated/i,
    SET: /updated/,
    RESET: /reset|updated/i,
  };
  const texts = [...BASE, ...mutations()].filter((sql) => {
    const s = classifyStatement(sql);
    return s.allowed && !s.invalid && s.kind in expected;
  });
  let ran = 0;
  const failures: string[] = [];
  await pool(texts, 4, async (sql) => {
    const gw = await gatewayReading(sql);
    if (!gw.allowed) return;
    const answer = await drill.sql(sql, {}, true);
    if (answer.queryState !== 'COMPLETED') return; // Drill refused it: nothing ran
    ran++;
    const seen = JSON.stringify(answer.rows ?? []) + JSON.stringify((answer as { columns?: unknown }).columns ?? []);
    if (!expected[gw.kind]!.test(seen)) failures.push(`${JSON.stringify(sql)}: the gateway read ${gw.kind}, Drill answered ${seen.slice(0, 200)}`);
    if (gw.kind === 'SHOW FILES' && /secret|x\.json|passwd/.test(seen)) failures.push(`${JSON.stringify(sql)}: listed outside the workspaces: ${seen.slice(0, 200)}`);
  });
  console.log(`sql-differential: ${texts.length} passed statements, ${ran} ran in Drill`);
  assert.deepEqual(failures, []);
  assert.ok(ran >= 10, `only ${ran} statements ran`);
});
