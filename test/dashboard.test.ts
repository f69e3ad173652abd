// The dashboard in a real browser (Debian's chromium driven by puppeteer-core) against
// the real gateway and real Drillbits (local scheduler, real ZooKeeper): the page loads
// with a token entered at its prompt, shows the cluster, runs a query typed into its box
// with progress and rows, cancels a running query, and its timeline shows the scale
// events; /metrics, scraped and parsed by Prometheus' own parser, counts what the test
// did. Screenshots go to test-output/ (git-ignored). Without chromium the browser tests
// skip with a message, except in CI, where they must run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Gateway } from '../src/server/gateway.js';
import { LocalScheduler } from '../src/schedulers/local/local-scheduler.js';
import { resolveRuntime } from '../src/drill/install.js';
import { createLogger } from '../src/util/log.js';
import { jvmsMentioning, testConfig } from './support/env.js';
import { startOfflineGateway, type OfflineGateway } from './support/offline-gateway.js';
import { scrape } from './support/prometheus.js';

// In-page callbacks run in the browser; these names exist there (the project compiles without the DOM lib).
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any, window: any, MutationObserver: any, sessionStorage: any;
type HTMLInputElement = { value: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'tok_dashboard_7c41e9a2d5';
const SHOTS = join(process.cwd(), 'test-output');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`CI is set but ${CHROMIUM} is missing: the browser tests must run in CI (scripts/setup-system.sh installs chromium)`);
const skip = haveChromium ? false : `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): the dashboard's browser tests are skipped`;

interface Opened {
  page: Page;
  /** Every URL the page requested. */
  urls: string[];
  /** Console errors and CSP violations. */
  problems: string[];
  prompts: number;
}

async function open(browser: Browser, url: string, token: string | null): Promise<Opened> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 900 });
  const opened: Opened = { page, urls: [], problems: [], prompts: 0 };
  page.on('request', (r) => opened.urls.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && opened.problems.push(m.text()));
  page.on('pageerror', (e) => opened.problems.push(String(e)));
  page.on('dialog', (d) => {
    opened.prompts++;
    void (token === null ? d.dismiss() : d.accept(token));
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return opened;
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the dashboard without Drill (offline gateway)', { skip }, () => {
  let gateway: OfflineGateway;
  let browser: Browser;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startOfflineGateway({ tokens: [TOKEN], queueTimeoutMs: 300 });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
  });

  test('asks for the token once, keeps it in sessionStorage, never in a URL; no CSP violation', async () => {
    const opened = await open(browser, gateway.url, TOKEN);
    const { page, urls, problems } = opened;
    await page.waitForSelector('#health.ok');
    assert.match(await text(page, '#cluster-summary'), /desired 0 · online 0/);
    assert.match(await text(page, '#drillbits'), /no Drillbits/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dromedar-token')), TOKEN);
    assert.equal(opened.prompts, 1, 'one prompt, however many calls got a 401');
    for (const url of urls) assert.ok(!url.includes(TOKEN), url);
    assert.equal(await page.$('form[action="/j_security_check"]'), null, 'no login form');
    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused/i.test(p)), []);
    // The QSF, read and set.
    assert.equal(await page.$eval('#qsf', (e) => (e as HTMLInputElement).value), String(gateway.config.sizing.qsf));
    await page.$eval('#qsf', (e) => ((e as HTMLInputElement).value = '7'));
    await page.click('#qsf-form button');
    await page.waitForFunction(() => document.getElementById('qsf-note')?.textContent === 'set to 7');
    const qsf = await fetch(`${gateway.url}/v1/qsf`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await qsf.json()) as { qsf: number }).qsf, 7);
    await page.close();
  });

  test('a refusal shows what failed and what to do, as text (markup in it stays text)', async () => {
    const { page } = await open(browser, gateway.url, TOKEN);
    await page.waitForSelector('#health.ok');
    await page.type('#sql', 'SELECT * FROM dfs.data.`../<img id=xss src=x>`');
    await page.click('#run');
    await page.waitForFunction(() => !document.getElementById('error')!.hidden && /did not run/.test(document.getElementById('error')!.textContent ?? ''));
    const error = await text(page, '#error');
    assert.match(error, /The query did not run: .*outside/);
    assert.match(error, /change the query/);
    assert.equal(await page.$('#xss'), null, 'no element made from the data');
    await shot(page, 'dashboard-refusal');
    await page.close();
  });

  test('without a token (prompt dismissed) the page says what to do and shows no data', async () => {
    const { page } = await open(browser, gateway.url, null);
    await page.waitForFunction(() => /needs a token/.test(document.getElementById('error')?.textContent ?? ''));
    assert.equal(await text(page, '#drillbits'), '');
    await page.close();
  });
});

describe('the dashboard with real Drillbits', { skip }, () => {
  const config = testConfig({
    server: { auth: { tokens: [TOKEN] } },
    pool: { minDrillbits: 0, maxDrillbits: 1, idleTimeoutMs: 5_000, queueTimeoutMs: 240_000 },
  });
  let scheduler: LocalScheduler;
  let gateway: Gateway;
  let browser: Browser;
  let startedAt = 0;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    scheduler = new LocalScheduler(config, await resolveRuntime(config));
    startedAt = Date.now();
    gateway = await Gateway.start(config, { scheduler, log: createLogger('silent') });
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await gateway?.stop({ drainMs: 1_000, stopDrillbits: false });
    await scheduler?.stop();
    const left = jvmsMentioning(config.home);
    config.cleanup();
    assert.deepEqual(left, [], 'no Drillbit or ZooKeeper of this test may outlive it');
  });

  test('from zero: a query typed into the box starts a Drillbit with progress, shows its rows; the timeline shows the scale events; /metrics counts it', { timeout: 600_000 }, async () => {
    const { page, problems } = await open(browser, gateway.url, TOKEN);
    await page.waitForSelector('#health.ok');
    assert.match(await text(page, '#drillbits'), /no Drillbits/);
    const sql = `SELECT employee_id, full_name, '<b id="xss">bold</b>' AS html FROM cp.\`employee.json\` ORDER BY employee_id LIMIT 5`;
    await page.type('#sql', sql);
    const progress: string[] = [];
    await page.exposeFunction('sawProgress', (p: string) => progress.push(p));
    await page.evaluate(() => {
      const node = document.getElementById('progress')!;
      new MutationObserver(() => (window as unknown as { sawProgress(p: string): void }).sawProgress(node.textContent ?? '')).observe(node, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#run');
    await page.waitForSelector('#drillbits li.STARTING, #drillbits li.ONLINE', { timeout: 240_000 });
    await shot(page, 'dashboard-starting');
    await page.waitForSelector('#rows tbody tr', { timeout: 300_000 });
    assert.ok(progress.some((p) => /starting Drillbits 0\/1/.test(p)), `progress seen: ${progress.join(' | ')}`);
    assert.match(await text(page, '#progress'), /COMPLETED: 5 row\(s\)/);
    const cells = await page.$$eval('#rows tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    assert.equal(cells.length, 5);
    assert.equal(cells[0]![0], '1');
    assert.equal(cells[0]![2], '<b id="xss">bold</b>', 'markup in a row is shown as text');
    assert.equal(await page.$('#xss'), null);
    assert.match(await text(page, '#decision'), /→ 1 Drillbit\(s\), ran on /);
    await page.waitForSelector('#drillbits li.ONLINE');
    await page.waitForSelector('#timeline line.event[data-code="demand"]');
    assert.match(await text(page, '#events'), /demand 0 → 1: demand for 1 Drillbit/);
    await shot(page, 'dashboard-query');

    const s = await scrape(gateway.url, TOKEN);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'query', outcome: 'finished', status: '200' }), 1);
    assert.equal(s.count('dromedar_query_wait_seconds', { start: 'cold' }), 1, 'the query waited for its Drillbit to start');
    assert.ok(s.sum('dromedar_query_wait_seconds', { start: 'cold' }) > 1, 'a JVM takes more than a second to start');
    assert.equal(s.count('dromedar_query_first_byte_seconds', { front_end: 'query' }), 1);
    assert.equal(s.value('dromedar_scale_events_total', { reason: 'demand', direction: 'up' }), 1);
    assert.equal(s.value('dromedar_drillbits', { state: 'online' }), 1);
    assert.equal(s.value('dromedar_drill_reachable'), 1);
    const cost = s.value('dromedar_drillbit_seconds_total');
    assert.ok(cost > 0 && cost <= (Date.now() - startedAt) / 1000 + 1, `Drillbit-seconds ${cost}: one Drillbit at most, since the gateway started`);

    // Idle for pool.idleTimeoutMs: the pool drains it; the timeline says why.
    await page.waitForSelector('#events li[data-code="idle"]', { timeout: 120_000 });
    await page.waitForFunction(() => /no Drillbits/.test(document.getElementById('drillbits')?.textContent ?? ''), { timeout: 120_000 });
    await shot(page, 'dashboard-idle');
    const later = await scrape(gateway.url, TOKEN);
    assert.equal(later.value('dromedar_scale_events_total', { reason: 'idle', direction: 'down' }), 1);
    assert.equal(later.value('dromedar_drillbits', { state: 'online' }), 0);
    assert.equal(later.value('dromedar_drill_reachable'), 0, 'nothing to reach: /metrics still answers and says so');
    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused/i.test(p)), []);
    await page.close();
  });

  test('cancel cancels a running query', { timeout: 600_000 }, async () => {
    const { page } = await open(browser, gateway.url, TOKEN);
    await page.waitForSelector('#health.ok');
    // A query that runs for minutes: a cross join of Drill's sample data with itself, thrice.
    await page.type('#sql', 'SELECT COUNT(*) FROM cp.`employee.json` a, cp.`employee.json` b, cp.`employee.json` c, cp.`employee.json` d WHERE a.salary + b.salary + c.salary + d.salary < 0');
    await page.click('#run');
    await page.waitForSelector('#queries tr[data-state="RUNNING"] button.cancel', { timeout: 300_000 });
    await shot(page, 'dashboard-running');
    await page.click('#queries tr[data-state="RUNNING"] button.cancel');
    await page.waitForSelector('#queries tr[data-state="CANCELED"]', { timeout: 30_000 });
    await page.waitForFunction(() => /did not run|FAILED|cancel/i.test(document.getElementById('progress')?.textContent ?? ''), { timeout: 30_000 });
    await shot(page, 'dashboard-cancelled');
    const s = await scrape(gateway.url, TOKEN);
    assert.equal(s.value('dromedar_queries_total', { front_end: 'query', outcome: 'cancelled', status: '499' }), 1);
    await page.close();
  });
});
