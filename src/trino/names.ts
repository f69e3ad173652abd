// The Drill schemas the gateway knows from its own config: dfs.<workspace> for each
// workspace, and cp.default (Drill's classpath plugin, which every Drillbit has).
import type { Config } from '../config/load.js';
import { workspaces } from '../storage/dfs.js';

export function trinoSchemas(config: Pick<Config, 'dataDir' | 'storage'>): string[] {
  return [...[...workspaces(config).keys()].map((ws) => `dfs.${ws}`), 'cp.default'];
}
