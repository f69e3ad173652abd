// Where Marathon answers: several Marathon URLs (an HA cluster, or a load balancer in
// front of one), the leader found with GET /v2/leader, redirects followed, and
// exponential backoff while no instance answers as leader. A non-leader Marathon proxies
// to the leader, but answers 502 (Jetty's HTML page) when it cannot reach it and 503
// "Could not determine the current leader" during an election: both mean "ask again,
// elsewhere, later", never "the request was wrong". Writes are retried too: a 502/503
// from the leader proxy or a refused connection means the leader never saw the request.
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { DromedarError, describe } from '../../util/errors.js';
import { sleep } from '../../util/process.js';

export interface Reply {
  status: number;
  body: any;
}

export interface EndpointOptions {
  /** The Marathon URLs, in order of preference, credentials removed. */
  urls: string[];
  /** PEM file of the CA that signed Marathon's certificate (https). */
  caFile?: string | undefined;
  /** How long one call may keep retrying while no Marathon leads, before it fails. */
  retryMs: number;
  requestTimeoutMs?: number;
  log: (line: string) => void;
  /** The Authorization header, if any (a refreshable token is read anew for each attempt). */
  authorization: () => Promise<string | undefined>;
  dispatcher?: Dispatcher;
}

const MAX_REDIRECTS = 3;
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15_000;
// Across an outage, one log line per this interval at most.
const LOG_EVERY_MS = 30_000;

/** A failure worth trying elsewhere or later: no answer, or a non-leader's 502/503. */
class Unavailable extends Error {}

export class MarathonEndpoints {
  readonly urls: string[];
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  /** Index into `order` of the URL that answered last. */
  private preferred = 0;
  private order: string[];
  private outageSince: number | null = null;
  private loggedAt = 0;

  constructor(private readonly options: EndpointOptions) {
    if (options.urls.length === 0) throw new DromedarError('invalid_config', 'scheduler.marathon.url: no Marathon URL configured');
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.order = [...this.urls];
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.dispatcher = options.dispatcher ?? agentFor(options.caFile);
  }

  /** The URL that answered last (for messages). */
  get where(): string {
    return this.order[this.preferred] ?? this.urls[0]!;
  }

  /**
   * One call, retried across the URLs with backoff while none answers as leader. Throws
   * one readable DromedarError when `retryMs` is over; any other answer (4xx included) is
   * returned for the caller to judge.
   */
  async call(method: Dispatcher.HttpMethod, path: string, body?: unknown, retryMs = this.options.retryMs): Promise<Reply> {
    const deadline = Date.now() + retryMs;
    let backoff = BACKOFF_START_MS;
    let last = '';
    for (let round = 0; ; round++) {
      for (let i = 0; i < this.order.length; i++) {
        const index = (this.preferred + i) % this.order.length;
        try {
          const reply = await this.once(this.order[index]!, method, path, body);
          this.preferred = index;
          this.recovered();
          return reply;
        } catch (err) {
          if (!(err instanceof Unavailable)) throw err;
          last = err.message;
        }
      }
      const wait = Math.min(backoff, BACKOFF_MAX_MS) * (0.75 + Math.random() / 2);
      if (Date.now() + wait > deadline) throw this.unavailable(method, path, last, round + 1);
      this.outage(`${last}; retrying in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
      backoff *= 2;
      await this.discoverLeader();
    }
  }

  /** A streaming GET (the event stream) at the preferred URL, redirects followed; the caller reads and closes the body. */
  async stream(path: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    let url = this.where + path;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      const auth = await this.options.authorization();
      if (auth && this.trusted(url)) headers.authorization = auth;
      const res = await request(url, { method: 'GET', headers, dispatcher: this.dispatcher, headersTimeout: this.timeoutMs, bodyTimeout: 0, signal });
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string' && hop < MAX_REDIRECTS) {
        await res.body.dump();
        url = new URL(location, url).href;
        continue;
      }
      return res;
    }
  }

  /** Asks any Marathon who leads and puts the leader's URL first (kept when it is one of ours). */
  async discoverLeader(): Promise<string | null> {
    for (const base of this.order) {
      try {
        const reply = await this.once(base, 'GET', '/v2/leader');
        const leader = reply.status === 200 ? String(reply.body?.leader ?? '') : '';
        if (!leader) continue;
        const scheme = new URL(base).protocol;
        const url = `${scheme}//${leader}`;
        // Behind a load balancer the leader's own address may be unreachable: keep ours too.
        const known = this.order.findIndex((u) => new URL(u).host === leader);
        if (known >= 0) this.preferred = known;
        else if (!this.order.includes(url)) {
          this.order = [url, ...this.urls];
          this.preferred = 0;
        }
        return url;
      } catch {
        /* try the next */
      }
    }
    return null;
  }

  private async once(base: string, method: Dispatcher.HttpMethod, path: string, body?: unknown): Promise<Reply> {
    let url = base + path;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      const auth = await this.options.authorization();
      if (auth && this.trusted(url)) headers.authorization = auth;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          dispatcher: this.dispatcher,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        });
      } catch (err) {
        const timedOut = /timeout/i.test(describe(err));
        throw new Unavailable(timedOut ? `Marathon at ${origin(url)} did not answer ${method} ${strip(path)} within ${this.timeoutMs / 1000} s` : `cannot reach Marathon at ${origin(url)} (${method} ${strip(path)}): ${describe(err)}`);
      }
      const text = await res.body.text();
      const location = res.headers.location;
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
        if (hop >= MAX_REDIRECTS) throw new Unavailable(`Marathon at ${origin(url)} redirected ${method} ${strip(path)} more than ${MAX_REDIRECTS} times`);
        url = new URL(location, url).href;
        continue;
      }
      const parsed = parse(text);
      if (res.statusCode === 502 || res.statusCode === 503 || res.statusCode === 504) {
        throw new Unavailable(`Marathon at ${origin(url)} answered ${res.statusCode} to ${method} ${strip(path)}: ${summary(parsed)}`);
      }
      return { status: res.statusCode, body: parsed };
    }
  }

  // Credentials go only to the configured Marathons and the hosts they name as leader.
  private trusted(url: string): boolean {
    const host = new URL(url).hostname;
    return this.order.some((u) => new URL(u).hostname === host);
  }

  private outage(line: string): void {
    const now = Date.now();
    this.outageSince ??= now;
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    this.loggedAt = now;
    this.options.log(line);
  }

  private recovered(): void {
    if (this.outageSince === null) return;
    this.options.log(`Marathon answers again at ${this.where} (after ${Math.round((Date.now() - this.outageSince) / 1000)} s)`);
    this.outageSince = null;
    this.loggedAt = 0;
  }

  private unavailable(method: string, path: string, last: string, rounds: number): DromedarError {
    const all = this.urls.length > 1 ? `none of ${this.urls.join(', ')} answered as leader` : 'no answer as leader';
    const unreachable = /cannot reach|did not answer/.test(last);
    return new DromedarError(
      unreachable ? 'marathon_unreachable' : 'marathon_no_leader',
      `${last} (${all} to ${method} ${strip(path)} after ${rounds} rounds over ${Math.round(this.options.retryMs / 1000)} s); ` +
        'check that Marathon is up and has elected a leader (GET /v2/leader), or list every Marathon in scheduler.marathon.urls',
      503,
      { 'retry-after': '30' },
    );
  }
}

function agentFor(caFile: string | undefined): Dispatcher {
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new DromedarError('invalid_config', `scheduler.marathon.caFile: cannot read ${caFile}: ${describe(err)}`);
    }
  }
  return new Agent({ keepAliveTimeout: 10_000, connections: 16, ...(ca ? { connect: { ca } } : {}) });
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** One line out of Marathon's JSON message or an HTML error page (its <title>). */
export function summary(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  const text = String(body ?? '');
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
  if (title) return `an HTML page "${title.trim()}" (a proxy's or a non-leader's error page)`;
  return text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200) || '(empty answer)';
}

function strip(path: string): string {
  return path.split('?')[0]!;
}

function origin(url: string): string {
  return new URL(url).origin;
}
