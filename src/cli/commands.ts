// The commands of the CLI: their options and what they run.
import { loadConfig, type Config } from '../config/load.js';
import { installDrill } from '../drill/install.js';
import { ensureBubblewrap } from '../schedulers/local/sandbox-install.js';
import { DromedarError } from '../util/errors.js';
import { runDemo } from './demo.js';
import { planLocally, printStatus, queryGateway } from './client.js';
import { serveForeground } from './up.js';

type OptionSpec = { type: 'string' | 'boolean'; description: string };
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const configOptions: Record<string, OptionSpec> = {
  config: { type: 'string', description: 'config file (JSON; default: $DROMEDAR_CONFIG)' },
  home: { type: 'string', description: 'state folder (default: ~/.dromedar)' },
};

const serverOptions: Record<string, OptionSpec> = {
  ...configOptions,
  'data-dir': { type: 'string', description: 'folder the dfs workspaces point into (default: <home>/data)' },
  host: { type: 'string', description: 'address to listen on (default: 127.0.0.1)' },
  port: { type: 'string', description: 'port to listen on (default: 9876)' },
  qsf: { type: 'string', description: 'default query-scale-factor: MiB read per Drillbit (default: 100)' },
  'min-drillbits': { type: 'string', description: 'never fewer Drillbits than this (default: 0)' },
  'max-drillbits': { type: 'string', description: 'never more Drillbits than this (default: what fits in memory)' },
  'idle-timeout': { type: 'string', description: 'ms without demand before the pool shrinks (default: 300000)' },
};

const clientOptions: Record<string, OptionSpec> = {
  url: { type: 'string', description: 'gateway URL (default: http://127.0.0.1:9876 or $DROMEDAR_URL)' },
  qsf: { type: 'string', description: 'query-scale-factor for this query' },
  'default-schema': { type: 'string', description: 'schema for unqualified tables, e.g. dfs.data' },
};

export const commands: Command[] = [
  {
    name: 'drill install',
    summary: 'install Apache Drill 1.22.0 from Maven Central (does nothing if it is there)',
    usage: '[options]',
    options: configOptions,
    run: async (v) => {
      await installDrill(configFrom(v), (line) => console.log(line));
      return 0;
    },
  },
  {
    name: 'sandbox install',
    summary: 'install bubblewrap for the Drillbit sandbox (as root with apt-get; does nothing if bwrap works)',
    usage: '[options]',
    options: configOptions,
    run: async (v) => {
      if (!configFrom(v).scheduler.local.sandbox) console.log('sandbox: scheduler.local.sandbox is false; nothing to install');
      else await ensureBubblewrap((line) => console.log(line));
      return 0;
    },
  },
  {
    name: 'up',
    summary: 'run the gateway with its ZooKeeper and Drillbits in the foreground (Ctrl-C stops all)',
    usage: '[options]',
    options: serverOptions,
    run: (v) => serveForeground(configFrom(v)),
  },
  {
    name: 'status',
    summary: "show a running gateway's Drillbits and recent scaling events",
    usage: '[--url URL]',
    options: { url: clientOptions.url! },
    run: (v) => printStatus(gatewayUrl(v)),
  },
  {
    name: 'query',
    summary: 'run SQL through the gateway and print the rows',
    usage: '"SQL" [options]',
    options: { ...clientOptions, format: { type: 'string', description: 'table | json | csv (default: table on a terminal, json otherwise)' } },
    run: (v, args) => queryGateway(gatewayUrl(v), sqlFrom(args), { qsf: number(v.qsf, 'qsf'), defaultSchema: str(v['default-schema']), format: str(v.format) }),
  },
  {
    name: 'plan',
    summary: 'size SQL without running it: targets, bytes and the Drillbits it would get',
    usage: '"SQL" [options]',
    options: { ...configOptions, qsf: clientOptions.qsf!, 'default-schema': clientOptions['default-schema']!, json: { type: 'boolean', description: 'print JSON' } },
    run: (v, args) => planLocally(configFrom(v), sqlFrom(args), { qsf: number(v.qsf, 'qsf'), defaultSchema: str(v['default-schema']), json: v.json === true }),
  },
  {
    name: 'demo',
    summary: 'end to end: install Drill, start the stack, make sample data, run sized queries, stop',
    usage: '[options]',
    options: { ...configOptions, 'size-mb': { type: 'string', description: 'size of the sample dataset in MiB (default: 250)' } },
    run: (v) => runDemo(configFrom(v), { sizeMiB: number(v['size-mb'], 'size-mb') ?? 250 }),
  },
];

function configFrom(v: Record<string, string | boolean | undefined>): Config {
  const overrides: Record<string, unknown> = {};
  const server: Record<string, unknown> = {};
  const pool: Record<string, unknown> = {};
  if (v.home) overrides.home = v.home;
  if (v['data-dir']) overrides.dataDir = v['data-dir'];
  if (v.host) server.host = v.host;
  if (v.port !== undefined) server.port = number(v.port, 'port');
  if (v['min-drillbits'] !== undefined) pool.minDrillbits = number(v['min-drillbits'], 'min-drillbits');
  if (v['max-drillbits'] !== undefined) pool.maxDrillbits = number(v['max-drillbits'], 'max-drillbits');
  if (v['idle-timeout'] !== undefined) pool.idleTimeoutMs = number(v['idle-timeout'], 'idle-timeout');
  if (v.qsf !== undefined) overrides.sizing = { qsf: number(v.qsf, 'qsf') };
  if (Object.keys(server).length) overrides.server = server;
  if (Object.keys(pool).length) overrides.pool = pool;
  return loadConfig({ file: str(v.config), overrides });
}

function gatewayUrl(v: Record<string, string | boolean | undefined>): string {
  return (str(v.url) ?? process.env.DROMEDAR_URL ?? 'http://127.0.0.1:9876').replace(/\/$/, '');
}

function sqlFrom(args: string[]): string {
  const sql = args.join(' ').trim();
  if (!sql) throw new DromedarError('usage', 'give the SQL as an argument, e.g. dromedar query "SELECT 1"');
  return sql;
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function number(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n)) {
    throw new DromedarError('usage', `--${name} must be a number (got '${value}')`);
  }
  return n;
}
