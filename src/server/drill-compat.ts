// Drill's REST API, served by the gateway so that Drill REST clients and BI tools
// work pointed at it unchanged. A strict allow-list: POST /query.json (sized like
// POST /query) and a few reads, each forwarded to a fixed path on a Drillbit — a
// client's path is never forwarded. Every other Drill endpoint (graceful shutdown,
// storage and option changes, query cancel, logs) is refused however it is spelled.
import type { Context } from 'hono';
import { z } from 'zod';
import { DrillClient } from '../drill/client.js';
import { DrillOptionCatalog } from '../drill/options.js';
import type { PoolManager } from '../pool/pool.js';
import { DromedarError } from '../util/errors.js';
import { readDrillInput } from './input.js';
import { errors, type ApiRoutes } from './openapi.js';
import { runQuery, type QueryDeps } from './query.js';
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

const passThroughErrors = errors(502, 503, 504);

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
      return runQuery(c, deps, await readDrillInput(c, deps.qsf.bounds, settings));
    },
  );
  for (const read of READS) {
    const spec = { method: 'get', path: read.path, tag: 'drill', summary: read.summary, responses: { 200: { description: "Drill's answer", content: { [read.type]: z.unknown() } }, ...passThroughErrors } } as const;
    api.add(spec, (c) => passThrough(deps, read.path, c.req.raw.signal));
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
        403: { ...errors(403)[403]!, description: "not a query id: Drill's other /profiles endpoints (cancel) are not reachable" },
      },
    },
    // The pattern admitted only a query id and .json: the forwarded path is that, no more.
    (c) => passThrough(deps, `/profiles/${c.req.param('profile')}`, c.req.raw.signal),
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

async function passThrough(deps: QueryDeps, path: string, signal: AbortSignal): Promise<Response> {
  const lease = await deps.pool.acquire(1, { signal });
  try {
    const res = await DrillClient.at(lease.drillbit.host, lease.drillbit.httpPort).stream('GET', path);
    const body = Buffer.from(await res.body.arrayBuffer());
    // Drill's 500s are not JSON (e.g. an unknown profile: "{ 'message' : ... }"): ours are.
    if (res.status >= 500) {
      const said = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
      throw new DromedarError('drill_error', `Drill answered ${res.status} to GET ${path}: ${said}`, 502);
    }
    return new Response(body, { status: res.status, headers: { 'content-type': res.headers['content-type'] ?? 'application/json' } });
  } finally {
    lease.release();
  }
}
