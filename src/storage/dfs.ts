// Drill's `dfs` storage plugin, defined once: the gateway writes it into every
// Drillbit's configuration and sizing resolves table paths against the same
// workspace roots, so both always agree on what `dfs.ws.`path`` means.
import { mkdir } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../config/load.js';

export interface Workspace {
  name: string;
  /** Absolute directory on the file system. */
  root: string;
  writable: boolean;
  defaultInputFormat: string | null;
}

export function workspaces(config: Pick<Config, 'dataDir' | 'storage'>): Map<string, Workspace> {
  const out = new Map<string, Workspace>();
  for (const [name, ws] of Object.entries(config.storage.workspaces)) {
    const root = isAbsolute(ws.location) ? ws.location : resolve(config.dataDir, ws.location);
    out.set(name, { name, root, writable: ws.writable, defaultInputFormat: ws.defaultInputFormat });
  }
  return out;
}

/**
 * Creates the root folder of every writable workspace that is missing (dfs.tmp first of
 * all): Drill refuses a workspace whose folder does not exist ("Schema [dfs.tmp] is not
 * valid"), so CTAS and views would fail until someone made it. Returns the roots created.
 */
export async function createWritableWorkspaceRoots(config: Pick<Config, 'dataDir' | 'storage'>): Promise<string[]> {
  const created: string[] = [];
  for (const ws of workspaces(config).values()) {
    if (ws.writable && (await mkdir(ws.root, { recursive: true })) !== undefined) created.push(ws.root);
  }
  return created;
}

// The formats Drill's own bootstrap configuration gives `dfs`.
const FORMATS = {
  psv: { type: 'text', extensions: ['tbl'], fieldDelimiter: '|' },
  csv: { type: 'text', extensions: ['csv'], fieldDelimiter: ',' },
  tsv: { type: 'text', extensions: ['tsv'], fieldDelimiter: '\t' },
  csvh: { type: 'text', extensions: ['csvh'], fieldDelimiter: ',', extractHeader: true },
  parquet: { type: 'parquet' },
  json: { type: 'json', extensions: ['json'] },
  avro: { type: 'avro', extensions: ['avro'] },
  sequencefile: { type: 'sequencefile', extensions: ['seq'] },
};

/** The `dfs` plugin configuration in Drill's JSON shape. */
export function dfsPlugin(config: Pick<Config, 'dataDir' | 'storage'>): object {
  const ws: Record<string, object> = {};
  for (const w of workspaces(config).values()) {
    ws[w.name] = {
      location: w.root,
      writable: w.writable,
      defaultInputFormat: w.defaultInputFormat,
      allowAccessOutsideWorkspace: false,
    };
  }
  return { type: 'file', connection: 'file:///', workspaces: ws, formats: FORMATS, enabled: true };
}

/**
 * Drill's storage-plugins-override.conf (HOCON, of which JSON is a subset): applied by
 * every Drillbit at start-up, so the plugin is right even in a fresh ZooKeeper.
 */
export function storageOverrideConf(config: Pick<Config, 'dataDir' | 'storage'>): string {
  return JSON.stringify({ storage: { dfs: dfsPlugin(config) } }, null, 2) + '\n';
}
