// The gateway survives hostile input: a corpus of malformed SQL, huge and endless
// bodies, invalid UTF-8, deep JSON, odd content types, header injection and oversized
// headers, odd methods and URLs, sent over bare sockets to the real app and HTTP server
// (test/support/offline-gateway.ts: no Drill runs, so a route that needs a Drillbit
// answers its documented 504 within pool.queueTimeoutMs). Every answer must be one the
// OpenAPI document lists for its route, as JSON {error, message} (or a plan); after each
// batch /healthz must answer at once; the process's memory must stay bounded.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MAX_SQL_BYTES } from '../src/sizing/index.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';
import { send, type RawAnswer, type RawRequest } from './support/raw-http.js';

const TOKEN = 'hostile-input-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const MIB = 2 ** 20;
// Answers the HTTP layer gives any request, whatever its route (listed in the document's description).
const TRANSPORT = [400, 404, 405, 408, 417, 431];

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

let gateway: OfflineGateway;
let doc: Doc;
// A full GC on demand, to tell memory kept from garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
let baseline = { rss: 0, heapUsed: 0 };
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
sampler.unref();

before(async () => {
  gateway = await startOfflineGateway({
    tokens: [TOKEN],
    queueTimeoutMs: 100,
    files: { 'sales/a.json': '{"a":1}\n', 'sales/2024/b.json': '{"a":2}\n', [`names/${'a'.repeat(40)}`]: 'x' },
  });
  doc = (await send(gateway.url, { path: '/openapi.json', headers: AUTH })).json as Doc;
  gc();
  baseline = process.memoryUsage();
});

after(async () => {
  clearInterval(sampler);
  await gateway.close();
});

/** The statuses the document lists for a request, plus what the HTTP layer answers anything. */
function documented(method: string, path: string): Set<number> {
  const route = new URL(path, 'http://gateway').pathname;
  const op = doc.paths[route]?.[method === 'HEAD' ? 'get' : method.toLowerCase()];
  return new Set([...(op ? Object.keys(op.responses).map(Number) : [403]), ...TRANSPORT]);
}

/** Asserts a documented answer: a listed status, JSON {error, message} for errors, a plan for a 200 plan. */
function assertDocumented(res: RawAnswer, method: string, path: string, what: string): void {
  const label = `${what}: ${res.status} ${res.body.subarray(0, 300).toString()}`;
  assert.notEqual(res.status, 500, label);
  assert.ok(documented(method, path).has(res.status), `undocumented status for ${method} ${path.slice(0, 60)}: ${label}`);
  if (method === 'HEAD') return;
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, label);
  if (res.status >= 400) {
    assert.equal(typeof res.json?.error, 'string', label);
    assert.equal(typeof res.json?.message, 'string', label);
  } else if (path.startsWith('/v1/plan')) {
    assert.ok(Array.isArray(res.json?.targets) && typeof res.json?.parsed === 'boolean', label);
  }
}

function* repeat(chunk: Buffer, times: number): Iterable<Buffer> {
  for (let i = 0; i < times; i++) yield chunk;
}

async function healthy(): Promise<void> {
  const started = performance.now();
  const res = await send(gateway.url, { path: '/healthz' }, 5_000);
  assert.deepEqual([res.status, res.json], [200, { status: 'ok' }]);
  assert.ok(performance.now() - started < 1_000, `/healthz took ${Math.round(performance.now() - started)} ms`);
}

async function expectAll(cases: [string, RawRequest][]): Promise<void> {
  for (const [what, request] of cases) {
    const res = await send(gateway.url, { ...request, headers: { ...AUTH, ...request.headers } });
    assertDocumented(res, request.method ?? 'GET', request.path, what);
  }
  await healthy();
}

// SQL three ways: POST /v1/plan and POST /query as JSON, POST /query as text, POST /query.json.
function sqlRequests(what: string, sql: string): [string, RawRequest][] {
  const json = { 'content-type': 'application/json' };
  return [
    [`plan: ${what}`, { method: 'POST', path: '/v1/plan', headers: json, body: JSON.stringify({ sql }) }],
    [`query text: ${what}`, { method: 'POST', path: '/query', headers: { 'content-type': 'text/plain' }, body: sql }],
    [`query.json: ${what}`, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: sql }) }],
  ];
}

describe('hostile input', () => {
  test('malformed SQL: garbage, NUL bytes, unterminated quotes, 10k-deep nesting, over 1 MiB', async () => {
    const garbage = randomBytes(64 * 1024).toString('latin1');
    const corpus: [string, string][] = [
      ['binary garbage', garbage],
      ['control characters', Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('').repeat(100)],
      ['NUL bytes', 'SELECT\u0000* FROM dfs.`sales\u0000`\u0000'],
      ['only NULs', '\u0000'.repeat(10_000)],
      ['unterminated backtick', 'SELECT * FROM dfs.`sales'],
      ['unterminated quote', "SELECT * FROM dfs.`sales` WHERE a = 'abc"],
      ['unterminated double quote', 'SELECT "abc FROM dfs.`sales`'],
      ['unterminated comment', 'SELECT * FROM dfs.`sales` /* never closed'],
      ['a wall of backticks', `SELECT * FROM dfs.${'`'.repeat(9_999)}`],
      ['10k-deep parentheses', `SELECT * FROM dfs.\`sales\` WHERE ${'('.repeat(10_000)}a = 1${')'.repeat(10_000)}`],
      ['10k-deep subqueries', `${'SELECT * FROM ('.repeat(10_000)}SELECT * FROM dfs.\`sales\`${') t'.repeat(10_000)}`],
      ['10k unclosed parentheses', `SELECT ${'('.repeat(10_000)}`],
      ['10k UNION ALL', `${'SELECT * FROM dfs.`sales` UNION ALL '.repeat(10_000)}SELECT 1`],
      ['3k distinct missing tables', Array.from({ length: 3_000 }, (_, i) => `SELECT * FROM dfs.\`t${i}\``).join(' UNION ALL ')],
      ['a glob with 2^20 alternatives', `SELECT * FROM dfs.\`${'{a,b}'.repeat(20)}\``],
      ['an unclosed glob class', 'SELECT * FROM dfs.`sales/[a-`'],
      ['lone surrogates', 'SELECT * FROM dfs.`\ud800sales\udfff`'],
      ['bidi and zero-width characters', 'SELECT * FROM dfs.`sa\u202eles\u200b` WHERE \ufeffa = 1'],
      ['a 100k-character identifier', `SELECT * FROM dfs.\`${'x'.repeat(100_000)}\``],
      ['exactly 1 MiB', `SELECT 1 -- ${'x'.repeat(MAX_SQL_BYTES - 12)}`],
      ['1 MiB + 1 byte', `SELECT 1 -- ${'x'.repeat(MAX_SQL_BYTES - 11)}`],
      ['1.5 MiB of SQL', `SELECT * FROM dfs.\`sales\` WHERE a IN (${'1,'.repeat(0.75 * MIB)}1)`],
    ];
    for (const [what, sql] of corpus) await expectAll(sqlRequests(what, sql));
    const over = await send(gateway.url, { method: 'POST', path: '/v1/plan', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ sql: `SELECT 1 -- ${'x'.repeat(MIB)}` }) });
    assert.equal(over.json.error, 'sql_too_large');
  });

  test('huge, endless and lying bodies', async () => {
    const types = { json: { 'content-type': 'application/json' }, text: { 'content-type': 'text/plain' } };
    const cases: [string, RawRequest][] = [];
    for (const [method, path, headers] of [
      ['POST', '/query', types.text],
      ['POST', '/query', types.json],
      ['POST', '/v1/plan', types.json],
      ['POST', '/query.json', types.json],
      ['PUT', '/v1/qsf', types.json],
      ['GET', '/v1/cluster', {}],
    ] as const) {
      cases.push([`3 MiB to ${method} ${path}`, { method, path, headers, body: Buffer.alloc(3 * MIB, 0x41) }]);
      cases.push([`a 10 GiB Content-Length to ${method} ${path}`, { method, path, headers: { ...headers, 'content-length': String(10 * 2 ** 30) }, body: [Buffer.from('{"sql":')] }]);
    }
    // 100 MiB without a length (chunked): refused once over the limit, connection closed.
    cases.push(['100 MiB chunked', { method: 'POST', path: '/query', headers: types.text, body: repeat(Buffer.alloc(MIB, 0x20), 100) }]);
    cases.push(['an empty body', { method: 'POST', path: '/query', headers: types.text, body: '' }]);
    cases.push(['an empty JSON body', { method: 'POST', path: '/v1/plan', headers: types.json, body: '' }]);
    await expectAll(cases);
    for (const [, request] of cases.filter(([what]) => what.startsWith('3 MiB') && !what.includes('GET'))) {
      const res = await send(gateway.url, { ...request, headers: { ...AUTH, ...request.headers } });
      assert.equal(res.json.error, 'body_too_large', request.path);
    }
  });

  test('invalid UTF-8 and other encodings', async () => {
    const bodies: [string, Buffer][] = [
      ['0xff 0xfe', Buffer.from([0xff, 0xfe, 0x53, 0x45, 0x4c])],
      ['an overlong /', Buffer.concat([Buffer.from('SELECT * FROM dfs.`..'), Buffer.from([0xc0, 0xaf]), Buffer.from('etc`')])],
      ['an encoded surrogate', Buffer.concat([Buffer.from('SELECT 1 '), Buffer.from([0xed, 0xa0, 0x80])])],
      ['a truncated sequence', Buffer.concat([Buffer.from('SELECT 1 '), Buffer.from([0xe2, 0x82])])],
      ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('SELECT 1', 'utf16le')])],
      ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT 1')])],
      ['latin-1 é', Buffer.from('SELECT * FROM dfs.`café`', 'latin1')],
    ];
    const cases: [string, RawRequest][] = [];
    for (const [what, bytes] of bodies) {
      cases.push([`text ${what}`, { method: 'POST', path: '/query', headers: { 'content-type': 'text/plain' }, body: bytes }]);
      const json = Buffer.concat([Buffer.from('{"sql":"'), bytes, Buffer.from('"}')]);
      cases.push([`JSON ${what}`, { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json' }, body: json }]);
      cases.push([`Drill JSON ${what}`, { method: 'POST', path: '/query.json', headers: { 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from('{"query":"'), bytes, Buffer.from('"}')]) }]);
    }
    await expectAll(cases);
    const invalid = await send(gateway.url, { ...cases[0]![1], headers: { ...AUTH, ...cases[0]![1].headers } });
    assert.equal(invalid.json.error, 'invalid_encoding');
  });

  test('deep, wide and odd JSON', async () => {
    const deepArray = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const deepObject = `${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`;
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])));
    const bodies: [string, string][] = [
      ['1M-deep array', deepArray],
      ['200k-deep object', deepObject],
      ['deep qsf', `{"sql":"SELECT 1","qsf":${'['.repeat(400_000)}${']'.repeat(400_000)}}`],
      ['deep options', `{"query":"SELECT 1","options":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`],
      ['50k keys', wide],
      ['50k keys beside sql', `{"sql":"SELECT 1",${wide.slice(1)}`],
      ['a duplicate key overriding sql', '{"sql":"SELECT 1","sql":"SELECT * FROM dfs.`../../etc/passwd`"}'],
      ['__proto__', '{"__proto__":{"sql":"SELECT 1"},"constructor":{"prototype":{"sql":1}}}'],
      ['an array', '[{"sql":"SELECT 1"}]'],
      ['a string', '"SELECT 1"'],
      ['null', 'null'],
      ['a huge number', `{"sql":"SELECT 1","qsf":1${'0'.repeat(400)},"autoLimit":1e400}`],
      ['a negative zero qsf', '{"sql":"SELECT 1","qsf":-0}'],
      ['types all wrong', '{"sql":[],"qsf":{},"defaultSchema":false,"autoLimit":"x","queryType":7,"query":null,"options":[]}'],
      ['trailing garbage', '{"sql":"SELECT 1"} {"sql":"SELECT 2"}'],
      ['NUL in JSON', '{"sql":"SELECT 1"}\u0000'],
      ['a long escape run', `{"sql":"${'\\u0000'.repeat(100_000)}"}`],
    ];
    const cases: [string, RawRequest][] = [];
    for (const [what, body] of bodies) {
      for (const [method, path] of [['POST', '/v1/plan'], ['POST', '/query'], ['POST', '/query.json'], ['PUT', '/v1/qsf']] as const) {
        cases.push([`${what} to ${path}`, { method, path, headers: { 'content-type': 'application/json' }, body }]);
      }
    }
    await expectAll(cases);
  });

  test('odd content types', async () => {
    const form = 'sql=SELECT+*+FROM+dfs.%60sales%60';
    const multipart = '--b\r\ncontent-disposition: form-data; name="sql"\r\n\r\nSELECT 1\r\n--b--\r\n';
    const types: [string | undefined, string][] = [
      [undefined, 'SELECT 1'],
      ['', 'SELECT 1'],
      ['multipart/form-data; boundary=b', multipart],
      ['application/x-www-form-urlencoded', form],
      ['text/plain; charset=utf-16le', Buffer.from('SELECT 1', 'utf16le').toString('latin1')],
      ['text/plain; charset=iso-8859-1', 'SELECT 1'],
      ['application/json; charset=iso-8859-1', '{"sql":"SELECT 1"}'],
      ['APPLICATION/JSON', '{"sql":"SELECT 1"}'],
      ['application/json ; charset="UTF-8"', '{"sql":"SELECT 1"}'],
      ['application/json, text/plain', '{"sql":"SELECT 1"}'],
      ['text/plain;;;;', 'SELECT 1'],
      [';', 'SELECT 1'],
      [`application/json; ${'x=y; '.repeat(1_500)}`, '{"sql":"SELECT 1"}'],
      ['*/*', 'SELECT 1'],
      ['application/*', '{"sql":"SELECT 1"}'],
      ['application/vnd.api+json', '{"sql":"SELECT 1"}'],
      ['application/sql; charset=latin1', 'SELECT 1'],
      ['text/html', '<script>SELECT 1</script>'],
      ['application/xml', '<sql>SELECT 1</sql>'],
      ['application/json\u00ff', '{"sql":"SELECT 1"}'],
    ];
    const cases: [string, RawRequest][] = [];
    for (const [type, body] of types) {
      for (const [method, path] of [['POST', '/query'], ['POST', '/v1/plan'], ['POST', '/query.json'], ['PUT', '/v1/qsf']] as const) {
        const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
        cases.push([`${JSON.stringify(type)} to ${path}`, { method, path, headers, body: Buffer.from(body, 'latin1') }]);
      }
    }
    await expectAll(cases);
  });

  test('header injection, oversized headers and odd header values', async () => {
    const line = (path: string, headers: string, body = '') =>
      Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n${headers}\r\n${body}`, 'latin1');
    const raw: [string, Buffer][] = [
      ['CRLF: a second header', line('/query', 'dromedar-qsf: 1\r\nx-injected: yes\r\n', 'SELECT 1')],
      ['CRLF CRLF: a second request after the headers', line('/query', 'dromedar-qsf: 1\r\n\r\nPOST /gracefulShutdown HTTP/1.1\r\nhost: x\r\n', '')],
      ['a bare CR', line('/query', 'dromedar-qsf: 1\rx-injected: yes\r\n', 'SELECT 1')],
      ['a bare LF', line('/query', 'dromedar-qsf: 1\nx-injected: yes\r\n', 'SELECT 1')],
      ['NUL in a value', line('/query', 'dromedar-qsf: 1\u0000\r\n', 'SELECT 1')],
      ['obsolete line folding', line('/query', 'dromedar-qsf: 1\r\n 2\r\n', 'SELECT 1')],
      ['a space before the colon', line('/query', 'dromedar-qsf : 1\r\n', 'SELECT 1')],
      ['a 20 KB header', line('/query', `dromedar-qsf: ${'1'.repeat(20_000)}\r\n`, 'SELECT 1')],
      ['2000 headers', line('/query', Array.from({ length: 2_000 }, (_, i) => `x-h${i}: v\r\n`).join(''), 'SELECT 1')],
      ['Content-Length and chunked', line('/query', 'transfer-encoding: chunked\r\n', '0\r\n\r\n')],
      ['two Content-Lengths', line('/query', 'content-length: 3\r\n', 'SELECT 1')],
      ['latin-1 bytes in a value', line('/query', 'dromedar-qsf: \u00ff\u00fe1\r\n', 'SELECT 1')],
      ['a header name with a space', line('/query', 'dromedar qsf: 1\r\n', 'SELECT 1')],
      ['no header name', line('/query', ': 1\r\n', 'SELECT 1')],
    ];
    for (const [what, bytes] of raw) {
      const res = await send(gateway.url, bytes);
      assertDocumented(res, 'POST', '/query', what);
      assert.equal(res.headers['x-injected'], undefined, what);
    }
    const qsfValues = ['1e309', '-0', '0x10', 'NaN', 'Infinity', '1'.repeat(8_000), '1, 2', '', '+', '1e-400', '١٢٣'];
    const cases: [string, RawRequest][] = qsfValues.map((qsf) => [
      `Dromedar-QSF ${JSON.stringify(qsf.slice(0, 20))}`,
      { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json', 'dromedar-qsf': qsf }, body: '{"sql":"SELECT 1"}' },
    ]);
    cases.push(['repeated Dromedar-QSF', { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json', 'dromedar-qsf': '1\r\ndromedar-qsf: 2' }, body: '{"sql":"SELECT 1"}' }]);
    cases.push(['an unknown Expect', { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json', expect: 'x-weird' }, body: '{"sql":"SELECT 1"}' }]);
    cases.push(['Expect: 100-continue', { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json', expect: '100-continue' }, body: '{"sql":"SELECT 1"}' }]);
    await expectAll(cases);
  });

  test('odd methods, odd URLs, odd HTTP', async () => {
    const cases: [string, RawRequest][] = [];
    for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'SEARCH', 'PURGE', 'LINK', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      for (const path of ['/query', '/v1/plan', '/v1/qsf', '/healthz', '/openapi.json', '/nowhere']) cases.push([`${method} ${path}`, { method, path }]);
    }
    cases.push(
      ['a bad percent escape', { path: '/%zz' }],
      ['a bad escape in ?qsf', { method: 'POST', path: '/v1/plan?qsf=%zz', headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1"}' }],
      ['qsf twice', { method: 'POST', path: '/v1/plan?qsf=1&qsf=abc', headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1"}' }],
      ['qsf[]', { method: 'POST', path: '/v1/plan?qsf[]=1&qsf[x]=2', headers: { 'content-type': 'application/json' }, body: '{"sql":"SELECT 1"}' }],
      ['an 8 KB query string', { path: `/v1/qsf?${'a=1&'.repeat(2_000)}` }],
      ['a 15 KB path', { path: `/${'a'.repeat(15_000)}` }],
      ['a 20 KB path', { path: `/${'a'.repeat(20_000)}` }],
      ['absolute form', { path: 'http://evil.example/v1/qsf' }],
      ['a fragment', { path: '/v1/qsf#x' }],
      ['a backslash', { path: '/v1\\qsf' }],
      ['dot segments', { path: '/v1/../v1/./qsf' }],
      ['encoded NUL', { path: '/v1/qsf%00' }],
      ['a bad Host', { path: '/v1/qsf', headers: { host: 'a b' } }],
      ['a port out of range', { path: '/v1/qsf', headers: { host: 'x:99999' } }],
    );
    await expectAll(cases);
    // What the request would be if it were one: its method and path pick the documented answers.
    const raw: [string, string, string, string][] = [
      ['an unknown method', 'FOO', '/query', 'FOO /query HTTP/1.1\r\nhost: x\r\n\r\n'],
      ['a lower-case method', 'GET', '/healthz', 'get /healthz HTTP/1.1\r\nhost: x\r\n\r\n'],
      ['CONNECT', 'CONNECT', '/', 'CONNECT evil.example:443 HTTP/1.1\r\nhost: evil.example:443\r\n\r\n'],
      ['asterisk form', 'OPTIONS', '/', 'OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n'],
      ['HTTP/2 preface', 'PRI', '/', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
      ['HTTP/3.0', 'GET', '/healthz', 'GET /healthz HTTP/3.0\r\nhost: x\r\n\r\n'],
      ['no version', 'GET', '/healthz', 'GET /healthz\r\n\r\n'],
      ['garbage', 'GET', '/', `${randomBytes(2_000).toString('latin1')}\r\n\r\n`],
      ['a target with spaces', 'GET', '/v1/', 'GET /v1/ qsf HTTP/1.1\r\nhost: x\r\n\r\n'],
      ['no Host (HTTP/1.0)', 'GET', '/healthz', 'GET /healthz HTTP/1.0\r\n\r\n'],
    ];
    for (const [what, method, path, text] of raw) {
      const res = await send(gateway.url, Buffer.from(text, 'latin1'));
      assertDocumented(res, method, path, what);
    }
    await healthy();
  });

  test('200 hostile requests at once', async () => {
    const mix: RawRequest[] = [
      { method: 'POST', path: '/query', headers: { 'content-type': 'text/plain' }, body: 'SELECT * FROM dfs.`sales`' },
      { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'application/json' }, body: `{"sql":"${'('.repeat(5_000)}"}` },
      { method: 'POST', path: '/query.json', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(3 * MIB, 0x7b) },
      { method: 'POST', path: '/v1/plan', headers: { 'content-type': 'text/plain' }, body: randomBytes(10_000) },
      { path: '/gracefulShutdown' },
    ];
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const request = mix[i % mix.length]!;
        return [request, await send(gateway.url, { ...request, headers: { ...AUTH, ...request.headers } }, 60_000)] as const;
      }),
    );
    for (const [request, res] of results) assertDocumented(res, request.method ?? 'GET', request.path, `concurrent ${request.method} ${request.path}`);
    await healthy();
  });

  test("a glob that backtracks does not stall the gateway", async () => {
    // Seven stars against a 40-character name: about a second of regex on the main thread.
    const body = JSON.stringify({ sql: `SELECT * FROM dfs.\`names/${'*'.repeat(7)}x\`` });
    let planned = false;
    const plan = send(gateway.url, { method: 'POST', path: '/v1/plan', headers: { ...AUTH, 'content-type': 'application/json' }, body }, 120_000).finally(() => (planned = true));
    let slowest = 0;
    while (!planned) {
      const started = performance.now();
      await send(gateway.url, { path: '/healthz' });
      slowest = Math.max(slowest, performance.now() - started);
    }
    assertDocumented(await plan, 'POST', '/v1/plan', 'the backtracking glob');
    assert.ok(slowest < 200, `/healthz waited ${Math.round(slowest)} ms behind one glob`);
  });

  // Bounded: the peak covers the largest inputs at once (the SQL parser's worker is capped at a
  // 64 MiB old generation and falls back beyond it), and nothing stays behind.
  test('memory stays bounded, and nothing is kept', (t) => {
    gc();
    const kept = process.memoryUsage().heapUsed - baseline.heapUsed;
    const mib = (bytes: number) => Math.round(bytes / MIB);
    t.diagnostic(`RSS ${mib(baseline.rss)} MiB, peak ${mib(peakRss)} MiB; heap after GC ${mib(baseline.heapUsed)} -> ${mib(baseline.heapUsed + kept)} MiB`);
    assert.ok(peakRss - baseline.rss < 1536 * MIB, `RSS grew by ${mib(peakRss - baseline.rss)} MiB`);
    assert.ok(kept < 64 * MIB, `${mib(kept)} MiB of heap outlived the corpus`);
  });
});
