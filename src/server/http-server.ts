// The Node HTTP server under the app. Everything it answers by itself is JSON
// {error, message} too: requests @hono/node-server cannot turn into a Request (bad
// Host, a target that is no path, a backslash), requests Node's parser refuses (bad
// methods, CR/LF/NUL in headers, smuggling, oversized headers, timeouts), CONNECT
// (otherwise no answer at all) and unknown Expect values.
import { getRequestListener, RequestError } from '@hono/node-server';
import { createServer, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export function createHttpServer(fetch: (request: Request) => Response | Promise<Response>, hostname: string): Server {
  const listener = getRequestListener(fetch, { hostname, errorHandler: requestError });
  // Without Host (HTTP/1.0 clients) the listen address stands in; nothing here routes by host.
  const server = createServer({ requireHostHeader: false }, listener);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    socket.end(rawAnswer(...parserError(err.code)));
  });
  server.on('connect', (_req, socket: Duplex) => {
    socket.end(rawAnswer(405, 'method_not_allowed', 'CONNECT is not supported: Dromedar is no proxy'));
  });
  server.on('checkExpectation', (req, res: ServerResponse) => {
    answer(res, 417, 'expectation_failed', `Expect: ${String(req.headers.expect).slice(0, 50)} is not supported (only 100-continue)`);
  });
  return server;
}

function requestError(err: unknown): Response {
  const [status, code, message] =
    err instanceof RequestError ? [400, 'bad_request', `malformed request: ${err.message}`] : [500, 'internal', 'internal error in the gateway; see its log'];
  return Response.json({ error: code, message }, { status });
}

function parserError(code: string | undefined): [number, string, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'headers_too_large', 'the request headers are over the size limit'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'request_timeout', 'the request did not arrive in time'];
  return [400, 'bad_request', `malformed HTTP request${code ? ` (${code})` : ''}`];
}

function answer(res: ServerResponse, status: number, error: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error, message }));
}

// For a socket the parser gave up on: no ServerResponse exists, so the bytes are written as they are.
function rawAnswer(status: number, error: string, message: string): string {
  const body = JSON.stringify({ error, message });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}
