// A minimal HTTP pass-through in a process of its own: what any Node hop between a
// client and a Drillbit costs, as a yardstick for the gateway's streaming path.
//   node dist/bench/passthrough-proxy.js http://127.0.0.1:8047
// forwards every request (method, path, body, content-type) to the target with undici
// and pipes the answer back with stream.pipeline (Node streams, backpressure, no
// sizing, no pool, no logging). Prints PROXY_URL=<url>; sends {type: 'ready', url}
// when forked; stops on SIGTERM or when the parent goes away.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';

const target = process.argv[2];
if (!target) throw new Error('usage: passthrough-proxy.js <target base URL>');
const agent = new Agent({ keepAliveTimeout: 60_000, connections: 64, headersTimeout: 0, bodyTimeout: 0 });

const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const upstream = await request(target + req.url, {
      method: (req.method ?? 'GET') as 'GET',
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      headers: req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {},
      dispatcher: agent,
    });
    res.writeHead(upstream.statusCode, { 'content-type': String(upstream.headers['content-type'] ?? 'application/json') });
    await pipeline(upstream.body, res);
  } catch (err) {
    if (!res.headersSent) res.writeHead(502).end(String(err));
    else res.destroy(err as Error);
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.stdout.write(`PROXY_URL=${url}\n`);
  process.send?.({ type: 'ready', url, pid: process.pid });
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
