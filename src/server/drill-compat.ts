// Drill's REST API, served by the gateway so that Drill REST clients and BI tools
// work pointed at it unchanged. A strict allow-list: POST /query.json (sized like
// POST /query) and a few reads, each forwarded to a fixed path on a Drillbit — a
// client's path is never forwarded. Every other Drill endpoint (graceful shutdown,
// storage and option changes, query cancel, logs) is refused however it is spelled.
import type { Context } from 'hono';
import { z } from 'zod';
import { DrillClient } from '../drill/client.js';
import { DrillOptionCatalog } from '../drill/options.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PoolManager } from '../pool/pool.js';
import type { Drillbit } from '../schedulers/scheduler.js';
import { DromedarError } from '../util/errors.js';
import { readDrillInput } from './input.js';
import { errors, type ApiRoutes } from './openapi.js';
import { queryEngine, runQuery, type QueryDeps } from './query.js';
import { decisionHeaders, drillQueryBody, drillResult } from './schemas.js';

const READS = [
  { path: '/status', summary: "Drill's status page (HTML)", type: 'text/html' },
  { path: '/status.json', summary: "Drill's status", type: 'application/json' },
  { path: '/cluster.json', summary: 'the Drillbits as Drill sees them', type: 'application/json' },
  { path: '/storage.json', summary: "Drill's storage plugins (read only)", type: 'application/json' },
  { path: '/options.json', summary: "Drill's options (read only)", type: 'application/json' },
  { path: '/profiles.json', summary: 'running and recent queries', type: 'application/json' },
] as const;

// Drill's query ids are lowercase UUIDs (QueryIdHelper.getQueryId).
const PROFILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

// First path segments (lowercase, without .json) of Drill's REST and web endpoints.
const DRILL_NAMES = new Set([
  'gracefulshutdown', 'shutdown', 'quiescent', 'storage', 'option', 'options', 'credentials', 'profiles', 'logs', 'log',
  'status', 'cluster', 'queriescount', 'portnum', 'state', 'statenames', 'metrics',
]);

const passThroughErrors = errors(502, 503);

// Paths of Drill's web UI and login beside its REST endpoints (first segment, lower case).
const DRILL_WEB = new Set(['', 'query.json', 'login', 'logout', 'j_security_check', 'mainlogin', 'spnegologin']);

/** Whether a request path is one of Drill's (served or refused): its errors then carry Drill's errorMessage. */
export function isDrillPath(path: string): boolean {
  const first = canonicalPath(path).split('/')[1] ?? '';
  return DRILL_WEB.has(first) || DRILL_NAMES.has(first.replace(/\.json$/, ''));
}

/** What the gateway knows of its Drill for /query.json: impersonation, and Drill's options once known. */
export interface DrillFacts {
  impersonation: boolean;
  options: DrillOptions;
  /** Drill's /storage.json as the gateway configures it (answered while no Drillbit runs). */
  storage?: Array<{ name: string; config: object }>;
  /** The cluster's shared profile store (<folder>/profiles/<id>.sys.drill), when the gateway can read it. */
  profileStore?: string | null;
}

/**
 * Drill's option catalog: from the installation (written at install), else learnt once
 * from one of the gateway's Drillbits when a request first sets options.
 */
export class DrillOptions {
  private learning: Promise<DrillOptionCatalog | null> | undefined;

  constructor(private catalog: DrillOptionCatalog | null) {}

  async get(pool: PoolManager, signal: AbortSignal): Promise<DrillOptionCatalog | null> {
    if (this.catalog) return this.catalog;
    this.learning ??= this.learn(pool, signal).finally(() => (this.learning = undefined));
    return this.learning;
  }

  private async learn(pool: PoolManager, signal: AbortSignal): Promise<DrillOptionCatalog | null> {
    const lease = await pool.acquire(1, { signal });
    try {
      this.catalog = await DrillOptionCatalog.fromDrillbit(DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort));
    } catch {
      // Without the catalog, Drill itself judges the options (its 500 comes through).
    } finally {
      lease.release();
    }
    return this.catalog;
  }
}

export function drillCompatRoutes(api: ApiRoutes, deps: QueryDeps, drill: DrillFacts = { impersonation: false, options: new DrillOptions(null) }): void {
  api.add(
    {
      method: 'post',
      path: '/query.json',
      tag: 'drill',
      summary: "Drill's query endpoint, sized and scaled like POST /query",
      description:
        "Drill's request and response shapes, read as Drill 1.22 reads them (null fields are none, numbers and booleans count as text, unknown fields are a 400), so pydrill, sqlalchemy-drill and curl scripts work unchanged. Errors also carry Drill's `errorMessage`.",
      request: { body: { content: { 'application/json': drillQueryBody } } },
      responses: {
        200: { description: "Drill's answer, streamed (Drill's own query errors too: queryState FAILED)", headers: decisionHeaders, content: { 'application/json': drillResult } },
        ...errors(400, 403, 413, 415, 502, 503, 504),
      },
    },
    async (c) => {
      // Drill's options are checked against its catalog; learning that may need a Drillbit.
      const settings = { impersonation: drill.impersonation, options: () => drill.options.get(deps.pool, c.req.raw.signal) };
      return runQuery(c, deps, await readDrillInput(c, deps.qsf.bounds, settings), 'drill');
    },
  );
  for (const read of READS) {
    const spec = { method: 'get', path: read.path, tag: 'drill', summary: read.summary, responses: { 200: { description: "Drill's answer", content: { [read.type]: z.unknown() } }, ...passThroughErrors } } as const;
    api.add(spec, (c) => passThrough(deps, drill, read.path));
  }
  api.add(
    {
      method: 'get',
      path: '/profiles/{profile}',
      tag: 'drill',
      summary: "one query's profile: /profiles/<queryId>.json",
      request: { params: z.object({ profile: z.string().regex(PROFILE).describe("Drill's query id followed by .json") }) },
      responses: {
        200: { description: "Drill's answer", content: { 'application/json': z.unknown() } },
        ...passThroughErrors,
        ...errors(404),
        403: { ...errors(403)[403]!, description: "not a query id: Drill's other /profiles endpoints (cancel) are not reachable" },
      },
    },
    // The pattern admitted only a query id and .json: the forwarded path is that, no more.
    (c) => profile(deps, drill, c.req.param('profile')!.replace(/\.json$/, '')),
  );
}

/** For a request no route took: 403 when it names a Drill endpoint (however spelled), else null. */
export function drillEndpointRefusal(c: Context): DromedarError | null {
  const path = canonicalPath(c.req.path);
  const first = path.split('/')[1]?.replace(/\.json$/, '') ?? '';
  if (!DRILL_NAMES.has(first)) return null;
  const served = ['POST /query.json', ...READS.map((r) => `GET ${r.path}`), 'GET /profiles/<queryId>.json'].join(', ');
  return new DromedarError('forbidden', `Drill's endpoint ${c.req.method} ${path.slice(0, 200)} is not reachable through Dromedar; of Drill's REST API it serves ${served}`, 403);
}

/**
 * The path as a lenient server might read it: percent-decoded until stable, `\` as `/`,
 * empty, `.` and `..` segments resolved, `;params` dropped, lower case. Only used to
 * recognise Drill's endpoints in disguise, never to route.
 */
export function canonicalPath(path: string): string {
  let decoded = path;
  for (let i = 0; i < 5; i++) {
    const next = safeDecode(decoded);
    if (next === decoded) break;
    decoded = next;
  }
  const segments: string[] = [];
  for (const raw of decoded.toLowerCase().split(/[/\\]+/)) {
    const segment = raw.split(';')[0]!.trim();
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// Reads create no demand: they go to an ONLINE Drillbit without a lease (a poller
// neither starts a Drillbit nor keeps one from its idle timeout), and with none ONLINE
// the gateway answers what it knows itself, or 503 where only Drill can answer.
async function passThrough(deps: QueryDeps, drill: DrillFacts, path: string): Promise<Response> {
  for (const bit of online(deps.pool)) {
    const res = await forward(bit, path);
    if (res) return res;
  }
  return withoutDrill(drill, path);
}

// A profile is asked of the Drillbit that ran the query (the registry's map), then of
// any other (they share the profile store), then read from the store itself.
async function profile(deps: QueryDeps, drill: DrillFacts, id: string): Promise<Response> {
  const ran = queryEngine(deps).registry.drillbitOf(id);
  const bits = online(deps.pool).sort((a, b) => Number(b.id === ran?.id) - Number(a.id === ran?.id));
  let failed: Response | null = null;
  for (const bit of bits) {
    const res = await forward(bit, `/profiles/${id}.json`, true);
    if (res && res.status < 500) return res;
    failed ??= res;
  }
  if (drill.profileStore) {
    try {
      const text = await readFile(join(drill.profileStore, 'profiles', `${id}.sys.drill`));
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch {
      // Not (yet) in the store.
    }
  }
  if (failed) return failed;
  if (bits.length === 0 && !drill.profileStore) throw notRunning(`/profiles/${id}.json`);
  throw new DromedarError('unknown_profile', `no profile of query ${id} (Drill has none, nor the gateway's profile store)`, 404);
}

function online(pool: PoolManager): Drillbit[] {
  return pool.snapshot().drillbits.filter((b) => b.state === 'ONLINE');
}

/** Drill's answer from `bit`; null when it cannot be reached (it may be on its way out). */
async function forward(bit: Drillbit, path: string, quiet5xx = false): Promise<Response | null> {
  let res;
  try {
    res = await DrillClient.at(bit.host, bit.httpPort).stream('GET', path);
  } catch {
    return null;
  }
  const body = Buffer.from(await res.body.arrayBuffer());
  // Drill's 500s are not JSON (e.g. an unknown profile: "{ 'message' : ... }"): ours are.
  if (res.status >= 500) {
    const said = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
    const error = new DromedarError('drill_error', `Drill answered ${res.status} to GET ${path}: ${said}`, 502);
    if (quiet5xx) return new Response(JSON.stringify({ error: error.code, message: error.message, errorMessage: error.message }), { status: 502, headers: { 'content-type': 'application/json' } });
    throw error;
  }
  return new Response(body, { status: res.status, headers: { 'content-type': res.headers['content-type'] ?? 'application/json' } });
}

// What the gateway answers with no Drillbit ONLINE, in Drill's shapes.
function withoutDrill(drill: DrillFacts, path: string): Response {
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  switch (path) {
    case '/status':
      return new Response('<html><body><p>Running! (Dromedar: no Drillbit is running; the first query starts one)</p></body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
    case '/status.json':
      return json({ status: 'Running!' });
    case '/cluster.json':
      return json({ drillbits: [], currentVersion: DRILL_VERSION, mismatchedVersions: [], userEncryptionEnabled: false, bitEncryptionEnabled: false, shouldShowAdminInfo: false, authEnabled: false });
    case '/storage.json':
      if (drill.storage) return json(drill.storage);
      break;
  }
  throw notRunning(path);
}

function notRunning(path: string): DromedarError {
  return new DromedarError('drill_not_running', `no Drillbit is running, and only Drill answers GET ${path}; a query starts one (reads never do)`, 503, { 'retry-after': '10' });
}

const DRILL_VERSION = '1.22.0';
