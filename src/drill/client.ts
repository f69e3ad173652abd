// Drill's REST API, as far as Dromedar uses it. One keep-alive connection pool is
// shared by all calls, so the query path pays no TCP set-up per request.
import { Agent, request, type Dispatcher } from 'undici';
import { DromedarError, describe } from '../util/errors.js';

// Drill's Jetty closes a connection after 30 s without traffic (its default idle timeout)
// and sends no Keep-Alive hint; a request written to such a socket just as Jetty closes
// it fails with "other side closed". So idle sockets are dropped well before that.
const agent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 10_000, connections: 64, headersTimeout: 0, bodyTimeout: 0 });

/** One Drillbit as /cluster.json reports it (Drill sends ports as strings). */
export interface ClusterDrillbit {
  address: string;
  httpPort: string;
  userPort: string;
  controlPort: string;
  dataPort: string;
  version: string;
  current: boolean;
  state: 'STARTUP' | 'ONLINE' | 'QUIESCENT' | 'OFFLINE' | string;
}

export interface ClusterInfo {
  drillbits: ClusterDrillbit[];
  currentVersion: string;
}

export interface QueryRequest {
  queryType: 'SQL';
  query: string;
  autoLimit?: number;
  defaultSchema?: string;
  options?: Record<string, string | number | boolean>;
  /** Run as this user (Drill impersonation must be enabled). */
  userName?: string;
}

export interface StreamedResponse {
  status: number;
  headers: Record<string, string>;
  /** undici's body: a Node Readable that can also be read whole (text(), arrayBuffer()). */
  body: Dispatcher.ResponseData['body'];
}

export class DrillClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5_000,
    private readonly dispatcher: Dispatcher = agent,
  ) {}

  static at(host: string, httpPort: number): DrillClient {
    return new DrillClient(`http://${host}:${httpPort}`);
  }

  cluster(): Promise<ClusterInfo> {
    return this.json<ClusterInfo>('GET', '/cluster.json');
  }

  /** Queries this Drillbit is foreman of, and fragments it runs. */
  queriesCount(): Promise<{ queriesCount: number; fragmentsCount: number }> {
    return this.json('GET', '/queriesCount');
  }

  /** Drill's graceful shutdown: QUIESCENT (no new work), finish running work, then exit. */
  async gracefulShutdown(): Promise<void> {
    await this.json('POST', '/gracefulShutdown');
  }

  /** Runs a query and hands back Drill's response as a stream, unread. */
  async query(body: QueryRequest, signal?: AbortSignal): Promise<StreamedResponse> {
    return this.stream('POST', '/query.json', JSON.stringify(body), { 'content-type': 'application/json' }, signal);
  }

  /** A raw request (for the Drill REST pass-through), streamed. */
  async stream(method: string, path: string, body?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<StreamedResponse> {
    try {
      const res = await request(this.baseUrl + path, { method: method as Dispatcher.HttpMethod, body, headers, signal, dispatcher: this.dispatcher });
      return { status: res.statusCode, headers: flatten(res.headers), body: res.body };
    } catch (err) {
      if (signal?.aborted) throw err;
      throw unreachable(this.baseUrl, err);
    }
  }

  async json<T>(method: string, path: string): Promise<T> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.baseUrl + path, {
        method: method as Dispatcher.HttpMethod,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        // Drill's admin POSTs want a body type even when empty.
        ...(method === 'POST' ? { body: '', headers: { 'content-type': 'application/json' } } : {}),
      });
    } catch (err) {
      throw unreachable(this.baseUrl, err);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      throw new DromedarError('drill_error', `Drill at ${this.baseUrl}${path} answered ${res.statusCode}: ${text.slice(0, 300)}`, 502);
    }
    return JSON.parse(text) as T;
  }
}

function unreachable(baseUrl: string, err: unknown): DromedarError {
  return new DromedarError('drill_unreachable', `cannot reach Drill at ${baseUrl}: ${describe(err)}`, 502);
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
