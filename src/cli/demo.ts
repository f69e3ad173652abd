// `dromedar demo`: the main job end to end on one machine. It installs Drill, makes a
// sample dataset, starts the gateway with its ZooKeeper and Drillbits, runs sized
// queries through the gateway's HTTP API, prints results and decisions, and stops.
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { installDrill } from '../drill/install.js';
import { ensureTrips } from '../sample/trips.js';
import { Gateway } from '../server/gateway.js';
import { createLogger } from '../util/log.js';
import { mib, printStatus, queryGateway } from './client.js';
import { installExitGuard } from './up.js';

export async function runDemo(config: Config, options: { sizeMiB: number }): Promise<number> {
  const say = (line: string) => process.stderr.write(`\n== ${line}\n`);
  say('1/5 Drill runtime');
  await installDrill(config, (line) => console.error(line));

  say(`2/5 sample dataset (${options.sizeMiB} MiB of trips, CSV, one folder per year)`);
  const dataset = await ensureTrips(join(config.dataDir, 'demo', 'trips'), options.sizeMiB * 2 ** 20);
  console.error(`${dataset.dir}: ${mib(dataset.bytes)}, ${dataset.rows} rows`);

  say('3/5 gateway, embedded ZooKeeper, local scheduler (no Drillbit runs yet: scale to zero)');
  const gateway = await Gateway.start({ ...config, server: { ...config.server, port: 0 } }, { log: createLogger('warn') });
  installExitGuard(gateway);
  try {
    const sql = 'SELECT dir0 AS yr, COUNT(*) AS trips, ROUND(AVG(CAST(fare AS DOUBLE)), 2) AS avg_fare FROM dfs.data.`demo/trips` GROUP BY dir0 ORDER BY dir0';
    say(`4/5 a query over all ${mib(dataset.bytes)}: the gateway sizes it and starts the Drillbits it needs\n${sql}`);
    await queryGateway(gateway.url, sql, { format: 'table' });

    const pruned = "SELECT city, COUNT(*) AS trips FROM dfs.data.`demo/trips` WHERE dir0 = '2024' GROUP BY city ORDER BY city";
    say(`5/5 the same data pruned to one year reads a quarter of it\n${pruned}`);
    await queryGateway(gateway.url, pruned, { format: 'table' });
    await printStatus(gateway.url);
  } finally {
    say('stopping: Drillbits drain, then ZooKeeper stops');
    await gateway.stop();
  }
  return 0;
}
