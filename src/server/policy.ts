// Statements the gateway refuses before Drill sees them. Sizing confines table paths;
// these two reach outside it: SHOW FILES resolves its path from the file system root
// (not the workspace), and ALTER SYSTEM changes options for every user of the cluster.
import { DromedarError } from '../util/errors.js';

const ALTER_SYSTEM = /^\s*(ALTER|RESET)\s+SYSTEM\b/i;
const SHOW_FILES = /^\s*SHOW\s+FILES\s+(?:IN|FROM)\s+([\s\S]*)$/i;

export function checkStatement(sql: string): void {
  const text = sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
  if (ALTER_SYSTEM.test(text)) {
    throw new DromedarError('forbidden', 'ALTER SYSTEM and RESET SYSTEM change options for every user of the cluster: not through the gateway (ALTER SESSION is fine)', 403);
  }
  const target = SHOW_FILES.exec(text)?.[1];
  if (target && /(^|[`.\s/])(\/|\\|\.\.)/.test(target.replace(/^\s*\w+\s*\.\s*(\w+\s*\.\s*)?/, ' '))) {
    throw new DromedarError('path_outside_workspace', 'SHOW FILES takes a path inside a workspace: no leading /, no .., no escapes', 403);
  }
}
