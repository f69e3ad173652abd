// Wires the parts into a running gateway: sizing (policy input), the pool (policy),
// the scheduler (mechanism) and the HTTP app; and takes them down in order.
import type { ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { configWarnings, type Config } from '../config/load.js';
import { GatewayMetrics } from '../metrics/metrics.js';
import { PoolManager } from '../pool/pool.js';
import { QueryRegistry } from '../query/registry.js';
import { dfsPlugin } from '../storage/dfs.js';
import { profileStoreDir } from '../drill/launch.js';
import { createScheduler, type Scheduler } from '../schedulers/index.js';
import { Sizer } from '../sizing/index.js';
import { createWritableWorkspaceRoots } from '../storage/dfs.js';
import { DromedarError } from '../util/errors.js';
import { createLogger, type Logger } from '../util/log.js';
import { installDir } from '../drill/install.js';
import { DrillOptionCatalog } from '../drill/options.js';
import { createApp } from './app.js';
import { trinoSchemas } from '../trino/names.js';
import { DrillOptions } from './drill-compat.js';
import { exposureWarning } from './auth.js';
import { createHttpServer } from './http-server.js';
import { QsfSetting } from './qsf.js';

export interface GatewayOptions {
  log?: Logger;
  /** A scheduler built by the caller (tests share one across gateways); default: from the config. */
  scheduler?: Scheduler;
}

export class Gateway {
  private constructor(
    readonly config: Config,
    readonly scheduler: Scheduler,
    readonly pool: PoolManager,
    readonly qsf: QsfSetting,
    readonly sizer: Sizer,
    /** The gateway's queries: running, queued, the last finished. */
    readonly registry: QueryRegistry,
    readonly metrics: GatewayMetrics,
    private readonly server: ServerType,
    private readonly log: Logger,
  ) {}

  static async start(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
    const log = options.log ?? createLogger();
    const say = (line: string, fields: Record<string, unknown> = {}) => log.info(fields, line);
    for (const root of await createWritableWorkspaceRoots(config)) say(`created the writable workspace folder ${root}`);
    // The metrics see the scheduler's calls (errors) through this wrapper, the pool by sampling it.
    const metrics = new GatewayMetrics();
    const scheduler = metrics.instrument(options.scheduler ?? (await createScheduler(config, { log: say, warn: (line) => log.warn(line) })));
    for (const warning of configWarnings(config)) log.warn(warning);
    const maxDrillbits = config.pool.maxDrillbits ?? scheduler.capacity ?? 8;
    const pool = new PoolManager(scheduler, {
      minDrillbits: Math.min(config.pool.minDrillbits, maxDrillbits),
      maxDrillbits,
      idleTimeoutMs: config.pool.idleTimeoutMs,
      queueTimeoutMs: config.pool.queueTimeoutMs,
      drillbitStartTimeoutMs: config.pool.drillbitStartTimeoutMs,
      recoverTimeoutMs: config.pool.recoverTimeoutMs,
      drainTimeoutMs: config.pool.drainTimeoutMs,
      warnings: configWarnings(config),
      queueLimit: config.pool.queueLimit,
      queriesPerDrillbit: config.pool.queriesPerDrillbit,
      log: say,
    });
    // After the pool: a maxDrillbits the scheduler cannot host is an error before anything starts.
    await scheduler.start();
    const qsf = new QsfSetting(config.sizing.qsf, { min: config.sizing.qsfMin, max: config.sizing.qsfMax });
    const sizer = new Sizer(config, { minDrillbits: 1, maxDrillbits });
    metrics.watch({ pool, sizing: () => sizer.cacheStats }).start();
    // A cold parser worker costs the first query ~200 ms: load it now, beside the rest.
    const warm = sizer.warm().catch(() => {});
    const drill = {
      impersonation: config.drill.impersonation,
      options: new DrillOptions(DrillOptionCatalog.fromInstall(config.drill.home ?? installDir(config))),
      storage: [{ name: 'dfs', config: dfsPlugin(config) }],
      // The local Drillbits share one profile store the gateway can read itself.
      profileStore: scheduler.kind === 'local' ? profileStoreDir(config.home) : null,
    };
    const registry = new QueryRegistry({ finishedLimit: config.queries.history });
    const trino = { schemas: () => trinoSchemas(config), clientTimeoutMs: config.trino.clientTimeoutMs, pageBytes: config.trino.pageBytes };
    const app = createApp({ sizer, pool, qsf, retries: config.retries, bodyLimitBytes: config.server.bodyLimitBytes, log, auth: config.server.auth, drill, registry, metrics, trino });
    await warm;
    const server = await listen(app.fetch, config.server.host, config.server.port);
    pool.start();
    const gateway = new Gateway(config, scheduler, pool, qsf, sizer, registry, metrics, server, log);
    say(`Dromedar listening on ${gateway.url} (scheduler ${scheduler.kind}, max ${maxDrillbits} Drillbits)`);
    const exposed = exposureWarning(config.server.host, config.server.auth.tokens);
    if (exposed) log.warn(exposed);
    return gateway;
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  /**
   * Stop accepting, let running responses finish (bounded), then stop the pool and
   * everything the scheduler started.
   */
  async stop(options: { drainMs?: number; stopDrillbits?: boolean } = {}): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const drainMs = options.drainMs ?? 30_000;
    // Past the drain, queries still held are cancelled (in Drill too), never left running or re-run.
    const timer = setTimeout(() => {
      for (const query of [...this.registry.running(), ...this.registry.queued()]) void query.cancel('the gateway is shutting down');
      (this.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, drainMs);
    (this.server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    await closed;
    clearTimeout(timer);
    await this.pool.stop();
    this.metrics.stop();
    if (options.stopDrillbits ?? true) await this.scheduler.stop();
    this.log.info('Dromedar stopped');
  }
}

function listen(fetch: (request: Request) => Response | Promise<Response>, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = createHttpServer(fetch, host).listen(port, host, () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) => {
      const message = err.code === 'EADDRINUSE' ? `port ${port} on ${host} is already taken: set server.port, DROMEDAR_PORT or --port` : `cannot listen on ${host}:${port}: ${err.message}`;
      reject(new DromedarError('listen_failed', message));
    });
  });
}
