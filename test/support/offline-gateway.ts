// A gateway with everything real but running Drill: the app from createApp, a Sizer
// over a temp data folder, a PoolManager over the in-memory scheduler whose Drillbits never
// come ONLINE (no JDK, no Drill process: the unit tier runs it), real HTTP. Routes
// that need a Drillbit answer 504 after pool.queueTimeoutMs; everything else answers
// as in production (the same HTTP server as Gateway: createHttpServer). Used by the security and hostile-input tests and the fuzz target.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';
import type { Config } from '../../src/config/load.js';
import { PoolManager } from '../../src/pool/pool.js';
import { MemoryScheduler } from '../../src/schedulers/memory/memory-scheduler.js';
import { DrillOptionCatalog } from '../../src/drill/options.js';
import { createApp } from '../../src/server/app.js';
import { DrillOptions } from '../../src/server/drill-compat.js';
import { createHttpServer } from '../../src/server/http-server.js';
import { QsfSetting } from '../../src/server/qsf.js';
import { Sizer } from '../../src/sizing/index.js';
import { trinoSchemas } from '../../src/trino/names.js';
import { createLogger, type Logger } from '../../src/util/log.js';
import { OPTION_CATALOG_FIXTURE_DIR, testConfig } from './env.js';

export interface OfflineGateway {
  url: string;
  app: Hono;
  pool: PoolManager;
  scheduler: MemoryScheduler;
  config: Config;
  close(): Promise<void>;
}

export interface OfflineOptions {
  tokens?: string[];
  queueTimeoutMs?: number;
  log?: Logger;
  /** Files to create under the data folder: relative path -> contents. */
  files?: Record<string, string | Buffer>;
  config?: Record<string, unknown>;
}

export async function startOfflineGateway(options: OfflineOptions = {}): Promise<OfflineGateway> {
  const config = testConfig({
    storage: { workspaces: { default: { location: '.' }, data: { location: '.' }, tmp: { location: '../tmp', writable: true } } },
    pool: { queueTimeoutMs: options.queueTimeoutMs ?? 200, queueLimit: 1_000, maxDrillbits: 2 },
    server: { auth: { tokens: options.tokens ?? [] } },
    ...options.config,
  });
  for (const [path, contents] of Object.entries(options.files ?? {})) {
    mkdirSync(dirname(join(config.dataDir, path)), { recursive: true });
    writeFileSync(join(config.dataDir, path), contents);
  }
  const log = options.log ?? createLogger('silent');
  const scheduler = new MemoryScheduler({ startupMs: Infinity });
  const pool = new PoolManager(scheduler, {
    drill: scheduler.drill,
    minDrillbits: 0,
    maxDrillbits: config.pool.maxDrillbits!,
    idleTimeoutMs: config.pool.idleTimeoutMs,
    queueTimeoutMs: config.pool.queueTimeoutMs,
    drillbitStartTimeoutMs: config.pool.drillbitStartTimeoutMs,
    queueLimit: config.pool.queueLimit,
  });
  const qsf = new QsfSetting(config.sizing.qsf, { min: config.sizing.qsfMin, max: config.sizing.qsfMax });
  const sizer = new Sizer(config, { minDrillbits: 1, maxDrillbits: config.pool.maxDrillbits! });
  // Drill's option catalog as the installation has it (written by `dromedar drill install`).
  const drill = { impersonation: config.drill.impersonation, options: new DrillOptions(DrillOptionCatalog.fromInstall(OPTION_CATALOG_FIXTURE_DIR)) };
  const trino = { schemas: () => trinoSchemas(config), clientTimeoutMs: config.trino.clientTimeoutMs, pageBytes: config.trino.pageBytes };
  const app = createApp({ sizer, pool, qsf, retries: 0, bodyLimitBytes: config.server.bodyLimitBytes, log, auth: config.server.auth, drill, trino });
  pool.start();
  const server = createHttpServer(app.fetch, '127.0.0.1');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    pool,
    scheduler,
    config,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.stop();
      await sizer.close();
      config.cleanup();
    },
  };
}
