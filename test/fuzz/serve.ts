// The fuzz target: an offline gateway (test/support/offline-gateway.ts: everything real
// but running Drill, so routes that need a Drillbit answer 504 fast) on a free loopback
// port, with one bearer token and a little data. Prints {"url", "token"} as one JSON line
// and serves until SIGTERM/SIGINT. Used by run-schemathesis.sh.
import { randomBytes } from 'node:crypto';
import { startOfflineGateway } from '../support/offline-gateway.js';

const token = randomBytes(24).toString('base64url');
const gateway = await startOfflineGateway({
  tokens: [token],
  queueTimeoutMs: Number(process.env.FUZZ_START_TIMEOUT_MS ?? 100),
  files: { 'sales/a.json': '{"id": 1}\n', 'sales/2024/b.json': '{"id": 2}\n', 'people/p.csv': 'id,name\n1,a\n' },
});
process.stdout.write(`${JSON.stringify({ url: gateway.url, token })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void gateway.close().then(() => process.exit(0));
  });
}
