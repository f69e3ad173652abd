// Configuration comes from three layers, later ones winning: the JSON file,
// DROMEDAR_* environment variables, and the CLI flags the caller passes in.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DromedarError } from '../util/errors.js';
import { configSchema, type Config } from './schema.js';

export type { Config, WorkspaceConfig } from './schema.js';

type Json = { [key: string]: unknown };

/** The configuration shipped with Dromedar, used when no other file is named. */
export const DEFAULT_FILE = fileURLToPath(new URL('../../../config/dromedar.json', import.meta.url));

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Json;
}

/** Reads, merges and validates the configuration; throws a DromedarError naming the bad field. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = withSecretFiles(options.env ?? process.env);
  // DROMEDAR_CONFIG_JSON: the whole file inline (e.g. in a Marathon app's env), on top of DROMEDAR_CONFIG if both are set.
  const inline = env.DROMEDAR_CONFIG_JSON;
  const file = options.file ?? env.DROMEDAR_CONFIG ?? (inline ? undefined : DEFAULT_FILE);
  const fromFile = deepMerge(file ? readJson(file) : {}, inline ? parseInline(inline) : {});
  const merged = deepMerge(deepMerge(fromFile, fromEnv(env)), options.overrides ?? {});
  const home = (merged.home as string | undefined) ?? join(homedir(), '.dromedar');
  merged.home = resolve(home);
  merged.dataDir = resolve((merged.dataDir as string | undefined) ?? join(home, 'data'));
  const warnings = migrate(merged);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new DromedarError('invalid_config', formatIssues(parsed.error, file));
  if (warnings.length > 0) deprecations.set(parsed.data, warnings);
  return parsed.data;
}

const deprecations = new WeakMap<Config, string[]>();

/** What loading this config had to say (deprecated settings it read), for the log and /v1/cluster. */
export function configWarnings(config: Config): string[] {
  return deprecations.get(config) ?? [];
}

// Settings that were renamed or split: the old key is still read, with a warning, and
// never wins over a new key that is set.
const RENAMED: { from: string[]; to: string[][]; why: string }[] = [
  {
    from: ['pool', 'startTimeoutMs'],
    to: [['pool', 'queueTimeoutMs'], ['pool', 'drillbitStartTimeoutMs']],
    why: 'it meant two things; set pool.queueTimeoutMs (how long a query waits) and pool.drillbitStartTimeoutMs (how long a Drillbit may take to come ONLINE)',
  },
  {
    from: ['scheduler', 'marathon', 'drainTimeoutMs'],
    to: [['pool', 'drainTimeoutMs']],
    why: 'draining is the pool controller\'s for every scheduler; set pool.drainTimeoutMs',
  },
];

function migrate(merged: Json): string[] {
  const warnings: string[] = [];
  for (const { from, to, why } of RENAMED) {
    const parent = lookup(merged, from.slice(0, -1));
    const key = from[from.length - 1]!;
    if (!parent || !(key in parent)) continue;
    const value = parent[key];
    delete parent[key];
    for (const path of to) {
      let node = merged;
      for (const step of path.slice(0, -1)) node = (isObject(node[step]) ? node[step] : (node[step] = {})) as Json;
      node[path[path.length - 1]!] ??= value;
    }
    warnings.push(`${from.join('.')} is deprecated: ${why} (read as ${to.map((p) => p.join('.')).join(' and ')} = ${JSON.stringify(value)})`);
  }
  return warnings;
}

function lookup(root: Json, path: string[]): Json | null {
  let node: unknown = root;
  for (const step of path) node = isObject(node) ? node[step] : undefined;
  return isObject(node) ? node : null;
}

function parseInline(text: string): Json {
  try {
    const value: unknown = JSON.parse(text);
    if (!isObject(value)) throw new Error('the top level must be a JSON object');
    return resolvePaths(value, process.cwd());
  } catch (err) {
    throw new DromedarError('invalid_config', `DROMEDAR_CONFIG_JSON is not valid JSON: ${(err as Error).message}`);
  }
}

// NAME_FILE for a secret NAME: its value is read from that file (a Marathon secret
// volume, a fetched file), so the secret never sits in a process's or an app's env.
const SECRET_ENVS = ['DROMEDAR_TOKENS', 'MARATHON_PASSWORD', 'MARATHON_TOKEN'];

function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_ENVS) {
    const file = env[`${name}_FILE`];
    if (!file || env[name]) continue;
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new DromedarError('invalid_config', `${name}_FILE=${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
  }
  return out;
}

function readJson(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DromedarError('invalid_config', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!isObject(value)) throw new Error('the top level must be a JSON object');
    return resolvePaths(value, dirname(resolve(file)));
  } catch (err) {
    throw new DromedarError('invalid_config', `config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

// Paths in a config file are relative to the file, as a reader of the file would expect.
function resolvePaths(value: Json, base: string): Json {
  const out = { ...value };
  for (const key of ['home', 'dataDir'] as const) {
    if (typeof out[key] === 'string') out[key] = resolve(base, out[key] as string);
  }
  if (isObject(out.drill)) {
    const drill = { ...out.drill };
    for (const key of ['home', 'installDir'] as const) {
      if (typeof drill[key] === 'string') drill[key] = resolve(base, drill[key] as string);
    }
    out.drill = drill;
  }
  return out;
}

function fromEnv(env: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  const set = (path: string[], value: unknown) => {
    let node = out;
    for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Json;
    node[path[path.length - 1]!] = value;
  };
  const number = (name: string, path: string[]) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new DromedarError('invalid_config', `${name}=${raw} is not a number`);
    set(path, value);
  };
  if (env.DROMEDAR_HOME) set(['home'], env.DROMEDAR_HOME);
  if (env.DROMEDAR_DATA_DIR) set(['dataDir'], env.DROMEDAR_DATA_DIR);
  if (env.DROMEDAR_HOST) set(['server', 'host'], env.DROMEDAR_HOST);
  // Only a non-empty list replaces the file's tokens: a stray "," must not switch auth off.
  const tokens = (env.DROMEDAR_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (tokens.length > 0) set(['server', 'auth', 'tokens'], tokens);
  number('DROMEDAR_PORT', ['server', 'port']);
  number('DROMEDAR_QSF', ['sizing', 'qsf']);
  number('DROMEDAR_MIN_DRILLBITS', ['pool', 'minDrillbits']);
  number('DROMEDAR_MAX_DRILLBITS', ['pool', 'maxDrillbits']);
  number('DROMEDAR_IDLE_TIMEOUT_MS', ['pool', 'idleTimeoutMs']);
  if (env.DROMEDAR_SCHEDULER) set(['scheduler', 'kind'], env.DROMEDAR_SCHEDULER);
  if (env.DRILL_HOME) set(['drill', 'home'], env.DRILL_HOME);
  if (env.DROMEDAR_DRILL_DIR) set(['drill', 'installDir'], env.DROMEDAR_DRILL_DIR);
  // Marathon's own variables, as DC/OS tooling names them. Not MARATHON_APP_*: Marathon sets
  // those in every task, so a gateway running on Marathon would read its own app id.
  const marathon: [string, string][] = [
    ['MARATHON_URL', 'url'],
    ['MARATHON_USER', 'user'],
    ['MARATHON_PASSWORD', 'password'],
    ['MARATHON_TOKEN', 'token'],
    ['MARATHON_DRILLBITS_APP', 'appId'],
    ['MARATHON_ZK_CONNECT', 'zkConnect'],
    ['MARATHON_DRILL_HOME', 'drillHome'],
  ];
  for (const [name, key] of marathon) if (env[name]) set(['scheduler', 'marathon', key], env[name]);
  // MARATHON_URL may list every Marathon of an HA cluster, comma-separated.
  const urls = (env.MARATHON_URL ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length > 1) {
    set(['scheduler', 'marathon', 'url'], urls[0]);
    set(['scheduler', 'marathon', 'urls'], urls.slice(1));
  }
  if (env.MARATHON_CA_FILE) set(['scheduler', 'marathon', 'caFile'], env.MARATHON_CA_FILE);
  return out;
}

function formatIssues(error: z.ZodError, file: string | undefined): string {
  const where = file ? ` in ${file}` : '';
  return error.issues
    .map((issue) => `invalid config${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key] as Json, value) : value;
  }
  return out;
}
