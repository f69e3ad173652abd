// Drill's REST surface as the gateway serves it, without running Drill: the logins Drill's
// clients can do (Basic with a token as the password, Drill's form login and its session
// cookie), Drill's web root, /query.json's reading of Drill's request (what Drill takes
// passes on to the pool; what Drill refuses is a 400 in Drill's error shape), identity,
// and Drill's option catalog. Real HTTP against the real app (test/support/offline-gateway.ts:
// a request that passes validation waits for a Drillbit that never comes and gets 504).
// What Drill itself answers to the same requests is compared in drill-clients.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { pino } from 'pino';
import { DrillOptionCatalog } from '../src/drill/options.js';
import { Authenticator, SESSION_COOKIE } from '../src/server/auth.js';
import { readDrillBody } from '../src/server/drill-body.js';
import { OPTION_CATALOG_FIXTURE_DIR } from './support/env.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';
import { send, type RawAnswer } from './support/raw-http.js';

const TOKEN = 'tok_7d1e9a3c5b2f4e6d8a0c';
const json = { 'content-type': 'application/json' };
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const SQL = 'SELECT 1 AS a FROM (VALUES(1))';

function drillError(res: RawAnswer, status: number, pattern: RegExp, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.body.toString().slice(0, 300)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, what);
  assert.equal(typeof res.json?.errorMessage, 'string', `${what}: Drill's clients read errorMessage`);
  assert.equal(res.json.errorMessage, res.json.message, what);
  assert.match(res.json.errorMessage, pattern, what);
}

/** The Drill-Session-Id cookie a response sets ('' when it clears it), or undefined. */
function sessionCookie(res: RawAnswer): { value: string; attributes: string } | undefined {
  const header = res.headers['set-cookie'];
  const match = header && new RegExp(`${SESSION_COOKIE}=([^;]*)(;[^,]*)?`).exec(header);
  return match ? { value: match[1]!, attributes: match[2] ?? '' } : undefined;
}

describe('sessions of the form login: bounded in idle time, age and number', () => {
  let clock = 0;
  const settings = { idleTimeoutSecs: 60, maxLifetimeSecs: 300, maxSessions: 3 };
  const auth = new Authenticator([TOKEN], settings, () => clock);
  const app = new Hono();
  app.post('/login', (c) => {
    auth.openSession(c);
    return c.text('ok');
  });
  app.get('/check', (c) => c.text(String(auth.hasSession(c))));
  const login = async () => /Drill-Session-Id=([^;]+)/.exec((await app.request('/login', { method: 'POST' })).headers.get('set-cookie') ?? '')![1]!;
  const valid = async (id: string) => (await (await app.request('/check', { headers: { cookie: `${SESSION_COOKIE}=${id}` } })).text()) === 'true';

  test('a session ends after its idle timeout, and each use moves that on', async () => {
    clock = 1_000;
    const id = await login();
    assert.equal(await valid(id), true);
    clock += 59_000;
    assert.equal(await valid(id), true, 'used within the idle timeout');
    clock += 59_000;
    assert.equal(await valid(id), true, 'the last use moved the idle timeout on');
    clock += 61_000;
    assert.equal(await valid(id), false, 'idle for longer than idleTimeoutSecs');
  });

  test('a session in use still ends maxLifetimeSecs after the login', async () => {
    clock = 1_000_000;
    const id = await login();
    for (let t = 0; t < 290; t += 50) {
      clock += 50_000;
      assert.equal(await valid(id), clock - 1_000_000 <= 300_000, `at ${clock - 1_000_000} ms`);
    }
    clock += 50_000;
    assert.equal(await valid(id), false);
  });

  test('at most maxSessions live at once: the least recently used goes first; unknown ids are no session', async () => {
    clock = 5_000_000;
    const ids = [await login(), await login(), await login()];
    assert.equal(await valid(ids[0]!), true);
    const fourth = await login();
    assert.equal(auth.sessionCount, 3);
    assert.deepEqual(await Promise.all([...ids, fourth].map(valid)), [true, false, true, true], 'the second was used least recently');
    assert.equal(await valid('x'.repeat(43)), false);
    assert.equal(await valid(''), false);
  });
});

describe("Drill's body of /query.json, read as Drill's Jackson reads it", () => {
  test('comments, unquoted names, a byte order mark and a repeated field (the last wins) are Drill JSON', () => {
    const body = readDrillBody(`\uFEFF/* c */ {queryType: "SQL", // x\n "query": "SELECT 2", "query": "${SQL}"} // end`);
    assert.equal(body?.query, SQL);
    assert.equal(body?.queryType, 'SQL');
  });

  test('numbers and booleans given for text fields are their text as written', () => {
    const body = readDrillBody('{"queryType":"SQL","query":42,"autoLimit":1.0,"userName":true,"options":{"a":10,"b":false,"c":null}}');
    assert.deepEqual(body, { query: '42', queryType: 'SQL', autoLimit: '1.0', userName: 'true', defaultSchema: null, options: { a: '10', b: 'false', c: null }, autoLimitRowCount: null });
  });

  test('an empty body or null is no request; trailing values, arrays, unknown fields are errors', () => {
    assert.equal(readDrillBody(''), null);
    assert.equal(readDrillBody(' null '), null);
    for (const bad of ['{"query":"x"} {"a":1}', '{"query":"x"} x', '[]', '5', '{"query":["x"]}', '{"query":{}}', '{"Query":"x"}', '{"options":"x"}', "{'query':'x'}", '{"query":"x",}', '{"autoLimit":01}', '{"autoLimit":+1}', '{"autoLimit":NaN}', '{"query":"a\tb"}', '# x\n{}']) {
      assert.throws(() => readDrillBody(bad), (err: { status?: number }) => err.status === 400, bad);
    }
  });
});

describe('logins Drill clients can do, with tokens on', () => {
  let gateway: OfflineGateway;
  const logged: string[] = [];
  before(async () => {
    const stream = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    gateway = await startOfflineGateway({ tokens: [TOKEN], log: pino<never>({ level: 'debug' }, stream) });
  });
  after(() => gateway.close());

  test("Drill's web root answers 200 HTML to anyone, HEAD too (pydrill's is_active probe), and never holds a login form", async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await send(gateway.url, { method, path: '/' });
      assert.equal(res.status, 200, method);
      assert.match(res.headers['content-type']!, /^text\/html/);
      if (method === 'GET') {
        assert.match(res.body.toString(), /<html/);
        assert.ok(!res.body.toString().includes('action="/j_security_check"'), 'pydrill takes a page with the login form for a failed login');
        assert.match(res.body.toString(), /href="\/login"/);
      }
    }
    const login = await send(gateway.url, { path: '/login' });
    assert.equal(login.status, 200);
    assert.match(login.body.toString(), /<form[^>]*action="\/j_security_check"[^>]*method="POST"/);
    assert.match(login.body.toString(), /name="j_username"[\s\S]*name="j_password"/);
  });

  test('HTTP Basic with the token as the password; any user name; a wrong one is 401 with a Basic challenge', async () => {
    for (const user of ['alice', '']) assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: basic(user, TOKEN) })).status, 200, user);
    const wrong = await send(gateway.url, { path: '/v1/qsf', headers: basic('alice', `${TOKEN}x`) });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers['www-authenticate']!, /Basic realm="dromedar"/);
    assert.match(wrong.headers['www-authenticate']!, /Bearer realm="dromedar", error="invalid_token"/);
    assert.equal(wrong.json.error, 'unauthorized');
    assert.ok(!wrong.body.toString().includes(TOKEN));
    for (const authorization of ['Basic', 'Basic !!!', `Basic ${Buffer.from(TOKEN).toString('base64')}`]) {
      const res = await send(gateway.url, { path: '/v1/qsf', headers: { authorization } });
      assert.equal(res.status, 401, authorization);
    }
    // On Drill's routes the 401 is in Drill's error shape too.
    const drill = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: SQL }) });
    drillError(drill, 401, /needs a token.*Basic.*j_security_check/, 'POST /query.json without a token');
  });

  test("Drill's form login: a wrong password is Drill's login page again (200, in red), a token opens a session", async () => {
    for (const body of [`j_username=alice&j_password=${TOKEN}x`, 'j_username=alice', `j_username=${TOKEN}&j_password=`]) {
      const res = await send(gateway.url, { method: 'POST', path: '/j_security_check', headers: form, body });
      assert.equal(res.status, 200, body);
      assert.match(res.body.toString(), /<p style="color:red">Invalid username\/password credentials\.<\/p>/);
      assert.match(res.body.toString(), /action="\/j_security_check"/);
      assert.equal(sessionCookie(res), undefined, 'no session for a failed login');
    }
    const ok = await send(gateway.url, { method: 'POST', path: '/j_security_check', headers: form, body: `j_username=superset&j_password=${encodeURIComponent(TOKEN)}` });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/');
    const cookie = sessionCookie(ok)!;
    assert.ok(cookie.value.length >= 40, 'a long random session id');
    assert.match(cookie.attributes, /HttpOnly/);
    assert.match(cookie.attributes, /SameSite=Strict/);
    assert.match(cookie.attributes, /Path=\//);
    assert.match(cookie.attributes, /Max-Age=43200/);
    const withCookie = { cookie: `${SESSION_COOKIE}=${cookie.value}` };
    assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: withCookie })).status, 200);
    const root = await send(gateway.url, { path: '/', headers: withCookie });
    assert.ok(!root.body.toString().includes('href="/login"'), 'logged in: no login link');
    // The session is as good as the token on Drill's routes: the query gets past auth to the pool (504 offline).
    const query = await send(gateway.url, { method: 'POST', path: '/query.json', headers: { ...json, ...withCookie }, body: JSON.stringify({ queryType: 'SQL', query: SQL, userName: null }) });
    drillError(query, 504, /Drillbits came ONLINE/, 'a query with the session cookie');
    // A header, when sent, decides (a wrong one is not rescued by the cookie).
    assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: { ...withCookie, authorization: 'Bearer not-the-token-at-all' } })).status, 401);
    const logout = await send(gateway.url, { path: '/logout', headers: withCookie });
    assert.equal(logout.status, 200);
    assert.equal(sessionCookie(logout)?.value, '', 'the cookie is cleared');
    assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: withCookie })).status, 401, 'the session ended');
    assert.equal((await send(gateway.url, { path: '/v1/qsf', headers: { cookie: `${SESSION_COOKIE}=forged` } })).status, 401);
  });

  test('the login takes a form only; tokens and session ids never reach the log', async () => {
    const res = await send(gateway.url, { method: 'POST', path: '/j_security_check', headers: json, body: JSON.stringify({ j_password: TOKEN }) });
    drillError(res, 415, /x-www-form-urlencoded/, 'a JSON login');
    const ok = await send(gateway.url, { method: 'POST', path: '/j_security_check', headers: form, body: `j_username=u&j_password=${TOKEN}` });
    const id = sessionCookie(ok)!.value;
    await send(gateway.url, { path: '/v1/qsf', headers: { cookie: `${SESSION_COOKIE}=${id}` } });
    const text = logged.join('');
    assert.ok(text.includes('/j_security_check'), 'the login is logged (path and status)');
    for (const secret of [TOKEN, id, 'j_password']) assert.ok(!text.includes(secret), `the log holds ${secret}`);
  });
});

describe('without tokens', () => {
  let gateway: OfflineGateway;
  before(async () => {
    gateway = await startOfflineGateway();
  });
  after(() => gateway.close());

  test('a login is refused with a clear 400 rather than taking a password and ignoring it', async () => {
    const res = await send(gateway.url, { method: 'POST', path: '/j_security_check', headers: form, body: 'j_username=a&j_password=b' });
    drillError(res, 400, /no authentication.*connect without a user name and password/, 'j_security_check');
    assert.equal((await send(gateway.url, { path: '/' })).status, 200);
  });

  test("what Drill takes passes to the pool: null for userName, autoLimit, defaultSchema and options; numbers as text; any autoLimit", async () => {
    const bodies = [
      { queryType: 'SQL', query: SQL, userName: null, autoLimit: null, defaultSchema: null, options: null },
      { queryType: 'sql', query: SQL, userName: '', autoLimit: '', defaultSchema: '' },
      { queryType: 'SQL', query: SQL, autoLimit: 'abc' },
      { queryType: 'SQL', query: SQL, autoLimit: -5 },
      { queryType: 'SQL', query: SQL, autoLimit: 1.5 },
      { queryType: 'SQL', query: SQL, autoLimit: true },
      { queryType: 'SQL', query: SQL, autoLimitRowCount: '3' },
      { queryType: 'SQL', query: SQL, options: {} },
      { queryType: 'SQL', query: SQL, options: { 'store.json.all_text_mode': true, 'PLANNER.WIDTH.MAX_PER_NODE': ' 2 ', 'planner.memory.hash_agg_table_factor': '1.1d' } },
    ];
    for (const body of bodies) {
      const res = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify(body) });
      drillError(res, 504, /Drillbits came ONLINE/, JSON.stringify(body));
    }
    // A number is read as its text, as Drill's Jackson does: past the body rules, "42" is then
    // a statement of no kind the gateway passes (Drill's parser would refuse it too).
    const number = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: 42 }) });
    drillError(number, 403, /unknown statement/, 'a number as the query');
    const commented = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: `/* Drill allows comments */ {queryType: "SQL", query: "${SQL}"}` });
    drillError(commented, 504, /Drillbits came ONLINE/, 'comments and unquoted names');
  });

  test('what Drill refuses is a 400 naming the field, in Drill\'s error shape; a content type Drill refuses is a 415', async () => {
    const cases: [string, RegExp][] = [
      ['', /body is empty/],
      ['null', /body is empty/],
      ['[]', /JSON object/],
      [`{"query":"${SQL}"}`, /queryType is required/],
      [`{"queryType":null,"query":"${SQL}"}`, /queryType is required/],
      [`{"queryType":"FOO","query":"${SQL}"}`, /not one of Drill's query types/],
      ['{"queryType":"SQL"}', /query is required/],
      ['{"queryType":"SQL","query":null}', /query is required/],
      ['{"queryType":"SQL","query":["SELECT 1"]}', /query must be a string/],
      [`{"queryType":"SQL","query":"${SQL}","foo":1}`, /unknown field "foo"/],
      [`{"queryType":"SQL","query":"${SQL}","autoLimit":[1]}`, /autoLimit must be a string/],
      [`{"queryType":"SQL","query":"${SQL}","autoLimitRowCount":true}`, /autoLimitRowCount must be a whole number/],
      [`{"queryType":"SQL","query":"${SQL}","autoLimitRowCount":99999999999}`, /out of range of int/],
      [`{"queryType":"SQL","query":"${SQL}","options":["x"]}`, /options must be an object/],
      [`{"queryType":"SQL","query":"${SQL}","options":{"store.json.all_text_mode":{"a":1}}}`, /options\.store\.json\.all_text_mode must be a string/],
      [`{"queryType":"SQL","query":"${SQL}","options":{"store.json.all_text_mode":null}}`, /options\.store\.json\.all_text_mode: a value is needed/],
      [`{"queryType":"SQL","query":"${SQL}"} {}`, /more than one JSON value/],
      ['{"queryType":"SQL","query":', /not JSON as Drill reads it/],
    ];
    for (const [body, message] of cases) {
      drillError(await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body }), 400, message, body);
    }
    for (const type of ['text/plain', '']) {
      const res = await send(gateway.url, { method: 'POST', path: '/query.json', headers: type ? { 'content-type': type } : {}, body: JSON.stringify({ queryType: 'SQL', query: SQL }) });
      drillError(res, 415, /application\/json/, `content type ${type || 'none'}`);
    }
  });

  test('userName: null or empty passes; a user is refused with 400 while impersonation is off (never silently dropped)', async () => {
    const res = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: SQL, userName: 'alice' }) });
    drillError(res, 400, /userName "alice": user impersonation is not enabled.*drill\.impersonation/, 'userName alice');
    assert.equal(res.json.error, 'impersonation_disabled');
  });

  test("Drill's option catalog: an option Drill does not have, a system-only one, or a value not of its kind is a 400 naming it", async () => {
    const catalog = DrillOptionCatalog.fromInstall(OPTION_CATALOG_FIXTURE_DIR);
    assert.ok(catalog && catalog.size > 200, `${OPTION_CATALOG_FIXTURE_DIR} has Drill's option catalog`);
    const post = (options: Record<string, unknown>) => send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: SQL, options }) });
    drillError(await post({ 'no.such.option': '1' }), 400, /Drill has no option no\.such\.option/, 'unknown');
    drillError(await post({ 'exec.udf.enable_dynamic_support': 'false' }), 400, /exec\.udf\.enable_dynamic_support can only be set system-wide \(its scope is SYSTEM\)/, 'system-only');
    drillError(await post({ 'store.json.all_text_mode': 'yes' }), 400, /"yes" is not a valid value for Drill option store\.json\.all_text_mode of type BOOLEAN/, 'boolean');
    drillError(await post({ 'planner.width.max_per_node': 2.5 }), 400, /"2\.5" is not a valid value for Drill option planner\.width\.max_per_node of type LONG/, 'long');
    assert.equal((await post({ 'planner.parser.quoting_identifiers': '"' })).json.error, 'forbidden_option');
  });

  test("errors on Drill's routes carry errorMessage; the gateway's own routes answer {error, message}", async () => {
    drillError(await send(gateway.url, { method: 'POST', path: '/gracefulShutdown' }), 403, /not reachable through Dromedar/, 'gracefulShutdown');
    drillError(await send(gateway.url, { method: 'POST', path: '/status.json' }), 405, /takes GET/, 'POST /status.json');
    drillError(await send(gateway.url, { method: 'POST', path: '/' }), 405, /takes GET/, 'POST /');
    const own = await send(gateway.url, { method: 'PUT', path: '/v1/qsf', headers: json, body: '{"qsf":-1}' });
    assert.equal(own.status, 400);
    assert.deepEqual(Object.keys(own.json).sort(), ['error', 'message']);
  });
});

describe('with drill.impersonation on', () => {
  test("a userName passes on to Drill (here: to the pool), from the body or Drill's User-Name header", async () => {
    const gateway = await startOfflineGateway({ config: { drill: { impersonation: true } } });
    try {
      const res = await send(gateway.url, { method: 'POST', path: '/query.json', headers: json, body: JSON.stringify({ queryType: 'SQL', query: SQL, userName: 'alice' }) });
      drillError(res, 504, /Drillbits came ONLINE/, 'userName alice');
    } finally {
      await gateway.close();
    }
  });
});
