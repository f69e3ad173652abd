// HTTP/1.1 over a bare socket: requests exactly as written (CR/LF in headers, odd
// methods, unnormalised paths, invalid bytes), which HTTP clients refuse to send.
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A body, or chunks written one by one (chunked transfer encoding unless content-length is given). */
  body?: string | Buffer | Iterable<Buffer>;
}

/** Sends one request on its own connection (Connection: close) and reads the whole answer. */
export function send(base: string, request: RawRequest | string | Buffer, timeoutMs = 30_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close while we still send (e.g. after a 413): the answer counts.
      if (chunks.length > 0 && (err.code === 'EPIPE' || err.code === 'ECONNRESET')) return;
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('connect', async () => {
      for (const piece of serialize(request)) {
        if (closed || socket.destroyed) return;
        if (!socket.write(piece)) await new Promise<void>((r) => (socket.writableNeedDrain ? socket.once('drain', r).once('close', r) : r()));
      }
    });
  });
}

function* serialize(request: RawRequest | string | Buffer): Iterable<Buffer> {
  if (typeof request === 'string' || Buffer.isBuffer(request)) {
    yield Buffer.from(request);
    return;
  }
  const headers: Record<string, string> = { host: 'gateway', connection: 'close', ...request.headers };
  const { body } = request;
  const single = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : undefined;
  const chunked = body !== undefined && single === undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
  if (single) headers['content-length'] ??= String(single.length);
  if (chunked) headers['transfer-encoding'] = 'chunked';
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  yield Buffer.from(`${request.method ?? 'GET'} ${request.path} HTTP/1.1\r\n${head}\r\n`, 'latin1');
  if (single) yield single;
  else if (body !== undefined) {
    for (const chunk of body as Iterable<Buffer>) yield chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    if (chunked) yield Buffer.from('0\r\n\r\n');
  }
}

function parse(raw: Buffer): RawAnswer {
  // Interim answers (100 Continue) come first; the final one follows.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 16).toString('latin1'))) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no HTTP answer (got ${raw.length} bytes: ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))})`);
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.includes('chunked')) body = unchunk(body);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status, headers, body, json };
}

function unchunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
