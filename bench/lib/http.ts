// Timed HTTP calls for the benchmarks: one keep-alive agent for every target, so
// the direct and the gateway arm pay the same (no) connection set-up.
import { Agent, request, type Dispatcher } from 'undici';

export const agent = new Agent({ keepAliveTimeout: 60_000, connections: 128, headersTimeout: 0, bodyTimeout: 0, pipelining: 1 });

export interface Timed {
  status: number;
  headers: Record<string, string>;
  /** Request sent -> response headers (the gateway sends them with Drill's first chunk). */
  ttfbMs: number;
  /** Request sent -> last byte. */
  totalMs: number;
  bytes: number;
  /** The body, when asked to keep it. */
  text?: string;
  /** The body's last bytes (Drill ends with queryState). */
  tail: string;
  startedAt: number;
}

export interface TimedOptions {
  keepBody?: boolean;
  /** Called with each chunk (e.g. to throttle reading: the returned promise is awaited). */
  onChunk?: (chunk: Buffer, soFar: number) => void | Promise<void>;
  signal?: AbortSignal;
}

export async function timedPost(url: string, body: unknown, options: TimedOptions = {}): Promise<Timed> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const res = await request(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' },
    dispatcher: agent,
    signal: options.signal,
  });
  const t1 = performance.now();
  return readTimed(res, t0, t1, startedAt, options);
}

async function readTimed(res: Dispatcher.ResponseData, t0: number, t1: number, startedAt: number, options: TimedOptions): Promise<Timed> {
  let bytes = 0;
  const parts: Buffer[] = [];
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (options.keepBody) parts.push(chunk);
    tail = chunk.length >= 256 ? chunk.subarray(chunk.length - 256) : Buffer.concat([tail, chunk]).subarray(-256);
    if (options.onChunk) await options.onChunk(chunk, bytes);
  }
  const t2 = performance.now();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return {
    status: res.statusCode,
    headers,
    ttfbMs: t1 - t0,
    totalMs: t2 - t0,
    bytes,
    ...(options.keepBody ? { text: Buffer.concat(parts).toString('utf8') } : {}),
    tail: tail.toString('utf8'),
    startedAt,
  };
}

export async function getJson<T>(url: string, timeoutMs = 10_000): Promise<T> {
  const res = await request(url, { dispatcher: agent, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new Error(`GET ${url}: ${res.statusCode} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Server-Timing "sizing;dur=1.2, scale;dur=0.1, drill;dur=20.3" -> {sizing: 1.2, ...}. */
export function serverTiming(header: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Whether a Drill /query.json body ended well. */
export function completed(t: Timed): boolean {
  return t.status === 200 && /"queryState"\s*:\s*"COMPLETED"/.test(t.tail);
}

export function drillQuery(sql: string): { queryType: 'SQL'; query: string } {
  return { queryType: 'SQL', query: sql };
}
