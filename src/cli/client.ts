// The CLI as a client of a running gateway (query, status), and local sizing (plan).
import Table from 'cli-table3';
import { request } from 'undici';
import type { Config } from '../config/load.js';
import { Sizer, type Plan } from '../sizing/index.js';
import { DromedarError, describe } from '../util/errors.js';

interface DrillResult {
  queryId?: string;
  columns?: string[];
  rows?: Record<string, unknown>[];
  queryState?: string;
  errorMessage?: string;
}

/** The gateway's bearer token from DROMEDAR_TOKEN, when set (server.auth.tokens on the gateway). */
function authHeaders(): Record<string, string> {
  const token = process.env.DROMEDAR_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export async function queryGateway(url: string, sql: string, options: { qsf?: number | undefined; defaultSchema?: string | undefined; format?: string | undefined }): Promise<number> {
  const format = options.format ?? (process.stdout.isTTY ? 'table' : 'json');
  if (!['table', 'json', 'csv'].includes(format)) throw new DromedarError('usage', `--format must be table, json or csv (got '${format}')`);
  const progress = watchProgress(url);
  let res;
  try {
    res = await request(`${url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders() },
      body: JSON.stringify({ sql, qsf: options.qsf, defaultSchema: options.defaultSchema }),
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  } catch (err) {
    throw new DromedarError('unreachable', `no gateway at ${url} (${describe(err)}); start one with 'dromedar up'`);
  } finally {
    progress.stop();
  }
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new DromedarError('query_failed', errorText(text, res.statusCode));
  const result = JSON.parse(text) as DrillResult;
  const h = res.headers;
  process.stderr.write(
    `sized: ${mib(Number(h['dromedar-dataset-bytes']))} read at QSF ${h['dromedar-qsf']} -> ${h['dromedar-drillbits']} Drillbit(s)` +
      `${h['dromedar-parsed'] === 'false' ? ' (read by the fallback extractor: no pruning)' : ''}; ${h['server-timing']}\n`,
  );
  if (result.queryState !== 'COMPLETED') {
    throw new DromedarError('query_failed', `Drill: query ${result.queryState ?? 'failed'}: ${(result.errorMessage ?? 'no message').split('\n')[0]}`);
  }
  process.stdout.write(render(result, format, text));
  return 0;
}

function render(result: DrillResult, format: string, raw: string): string {
  const columns = result.columns ?? [];
  const rows = result.rows ?? [];
  if (format === 'json') return raw.endsWith('\n') ? raw : raw + '\n';
  if (format === 'csv') return [columns, ...rows.map((r) => columns.map((c) => r[c]))].map((line) => line.map(csvCell).join(',')).join('\n') + '\n';
  const table = new Table({ head: columns, style: PLAIN });
  for (const row of rows) table.push(columns.map((c) => cell(row[c])));
  return `${table.toString()}\n${rows.length} row(s)\n`;
}

// No colours: output is often piped or logged.
const PLAIN = { head: [], border: [] };

function cell(value: unknown): string {
  return value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function csvCell(value: unknown): string {
  const text = cell(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// While the gateway waits for Drillbits, show how many are up.
function watchProgress(url: string): { stop(): void } {
  let last = '';
  const tty = process.stderr.isTTY;
  const started = Date.now();
  const timer = setInterval(async () => {
    try {
      const res = await request(`${url}/v1/cluster`, { headers: authHeaders(), headersTimeout: 2_000, bodyTimeout: 2_000 });
      const cluster = (await res.body.json()) as { desired: number; queued: number; drillbits: { state: string }[] };
      if (cluster.queued === 0) return;
      const online = cluster.drillbits.filter((b) => b.state === 'ONLINE').length;
      const line = `starting Drillbits ${online}/${cluster.desired} … ${Math.round((Date.now() - started) / 1000)} s`;
      if (tty) process.stderr.write(`\r${line}`);
      else if (line.split(' …')[0] !== last.split(' …')[0]) process.stderr.write(`${line}\n`);
      last = line;
    } catch {
      /* the query request reports unreachability */
    }
  }, 500);
  return {
    stop() {
      clearInterval(timer);
      if (tty && last) process.stderr.write('\n');
    },
  };
}

export async function printStatus(url: string): Promise<number> {
  let cluster;
  try {
    const res = await request(`${url}/v1/cluster`, { headers: authHeaders(), headersTimeout: 5_000, bodyTimeout: 5_000 });
    if (res.statusCode !== 200) throw new Error(errorText(await res.body.text(), res.statusCode));
    cluster = (await res.body.json()) as {
      desired: number;
      queued: number;
      running: number;
      drillbits: { id: string; address: string; httpPort: number; userPort: number; state: string }[];
      events: { at: string; from: number; to: number; reason: string }[];
    };
  } catch (err) {
    throw new DromedarError('unreachable', `no gateway answering at ${url} (${describe(err)}); start one with 'dromedar up'`);
  }
  console.log(`gateway ${url}: desired ${cluster.desired} Drillbit(s), ${cluster.running} running and ${cluster.queued} waiting queries`);
  const bits = new Table({ head: ['id', 'address', 'http', 'user', 'state'], style: PLAIN });
  for (const b of cluster.drillbits) bits.push([b.id, b.address, b.httpPort, b.userPort, b.state]);
  console.log(cluster.drillbits.length ? bits.toString() : '(no Drillbits running)');
  for (const e of cluster.events.slice(-10)) console.log(`${e.at}  ${e.from} -> ${e.to}  ${e.reason}`);
  return 0;
}

export async function planLocally(config: Config, sql: string, options: { qsf?: number | undefined; defaultSchema?: string | undefined; json: boolean }): Promise<number> {
  const plan = await new Sizer(config).plan(sql, { qsf: options.qsf ?? config.sizing.qsf, defaultSchema: options.defaultSchema });
  console.log(options.json ? JSON.stringify(plan, null, 2) : describePlan(plan));
  return 0;
}

function describePlan(plan: Plan): string {
  const table = new Table({ head: ['target', 'path', 'files', 'stored', 'read', 'counted'], style: PLAIN });
  const add = (targets: Plan['targets'], depth: number) => {
    for (const t of targets) {
      table.push([`${'  '.repeat(depth)}${t.name}`, t.path ?? '', t.files, mib(t.bytesStored), t.missing ? 'missing' : mib(t.bytes), how(t)]);
      if (t.view) add(t.view.targets as unknown as Plan['targets'], depth + 1);
    }
  };
  add(plan.targets, 0);
  const parsed = plan.parsed ? '' : ' (not all SQL could be parsed or sized: a minimum)';
  return `${table.toString()}\n${mib(plan.bytes)} (sizing.measure ${plan.measure}) at QSF ${plan.qsf} -> ${plan.drillbits} Drillbit(s)${parsed}`;
}

// How a target's bytes were counted, in a few words.
function how(t: Plan['targets'][number]): string {
  if (t.unknown) return `unknown: ${t.unknown}`;
  const parts: string[] = [t.counted];
  if (t.columns) parts.push(t.columns[0] === '*' ? 'all columns' : `${t.columns.length} column(s)`);
  if (t.rowGroups) parts.push(`${t.rowGroups.kept}/${t.rowGroups.total} row groups`);
  if (t.fallbacks.length > 0) parts.push(`${t.fallbacks.reduce((n, f) => n + f.files, 0)} file(s) at file size`);
  if (t.rescan) parts.push('scanned again by Drill');
  return parts.join(', ');
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function errorText(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { message?: string; error?: string };
    return `${status} ${body.error ?? ''}: ${body.message ?? text}`;
  } catch {
    return `${status}: ${text.slice(0, 200)}`;
  }
}
