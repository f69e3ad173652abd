// Table reference -> storage plugin, workspace and path, as Drill resolves it:
// - schema names are case-insensitive; `dfs.x` uses workspace `default`;
// - with a default schema, a name is tried under it first, then from the root
//   (Calcite's schema paths), so with `dfs.data` both `t` and dfs.tmp.`t` work;
// - the table path is relative to the workspace root even with a leading slash
//   (FileSelection.create strips it) and may not leave the root with `..`
//   (FileSelection.checkBackPaths; Dromedar never allows access outside);
// - cp, sys and information_schema hold no data files: 0 bytes.
import { resolve as resolvePath } from 'node:path';
import type { Workspace } from '../storage/dfs.js';
import type { DirCondition, TableRef } from '../sql/types.js';
import { DromedarError } from '../util/errors.js';
import { expandBraces } from './glob.js';

const METADATA_PLUGINS = new Set(['cp', 'sys', 'information_schema']);

export type Target =
  | { kind: 'metadata'; name: string; plugin: string }
  | { kind: 'files'; name: string; plugin: 'dfs'; workspace: string; path: string; dirs: DirCondition[] };

type Schema = { plugin: string; workspace: Workspace | null };

/** The default schema's path ('dfs.data', '`dfs`.`data`'); [] when none. Throws when unknown. */
export function defaultSchemaPath(text: string | undefined, workspaces: Map<string, Workspace>): string[] {
  const path = (text ?? '').replaceAll('`', '').split('.').map((s) => s.trim()).filter((s) => s !== '');
  if (path.length > 0 && !schemaAt(path, workspaces)) {
    throw new DromedarError('unknown_schema', `defaultSchema ${text} is not a known schema; ${known(workspaces)}`, 400);
  }
  return path;
}

export function resolveTarget(ref: TableRef, defaultSchema: string[], workspaces: Map<string, Workspace>): Target {
  const candidates = defaultSchema.length > 0 ? [[...defaultSchema, ...ref.schema], ref.schema] : [ref.schema];
  for (const path of candidates) {
    const schema = schemaAt(path, workspaces);
    if (schema) return target(schema, path, ref);
  }
  throw unknownSchema(ref, defaultSchema, workspaces);
}

function schemaAt(path: string[], workspaces: Map<string, Workspace>): Schema | null {
  const [first, ...rest] = path;
  const plugin = first?.toLowerCase();
  if (plugin && METADATA_PLUGINS.has(plugin)) return rest.length <= 1 ? { plugin, workspace: null } : null;
  if (plugin !== 'dfs' || rest.length > 1) return null;
  const workspace = findWorkspace(rest[0] ?? 'default', workspaces);
  return workspace ? { plugin, workspace } : null;
}

function findWorkspace(name: string, workspaces: Map<string, Workspace>): Workspace | null {
  const exact = workspaces.get(name);
  if (exact) return exact;
  const lower = name.toLowerCase();
  return [...workspaces.values()].find((w) => w.name.toLowerCase() === lower) ?? null;
}

/** Whether `path` names a schema, from the default schema or the root (USE, SHOW TABLES). */
export function schemaKnown(path: string[], defaultSchema: string[], workspaces: Map<string, Workspace>): boolean {
  const candidates = defaultSchema.length > 0 ? [[...defaultSchema, ...path], path] : [path];
  return candidates.some((p) => p.length > 0 && schemaAt(p, workspaces) !== null);
}

/**
 * What makes a table path name something other than a path under the workspace: a URI
 * scheme (Hadoop's Path reads `file:/x`, `hdfs://h/x`, `s3a://b/x`, even `x:y` as a URI,
 * so Drill reads it as that absolute location) in any of its brace alternatives, or a
 * backslash before a slash-free name (a Windows-style root). Null when it is a path.
 */
export function tablePathProblem(table: string): string | null {
  for (const alt of expandBraces(table)) {
    const colon = alt.indexOf(':');
    const slash = alt.indexOf('/');
    if (colon >= 0 && (slash < 0 || colon < slash)) return 'a URI scheme';
  }
  return null;
}

// cp reads the class path (`..` there reaches the file system); sys and
// information_schema hold tables by plain name only.
function metadataPathProblem(plugin: string, table: string): string | null {
  const problem = tablePathProblem(table);
  if (problem) return problem;
  const alternatives = expandBraces(table).map((alt) => alt.replace(/\\(.)/g, '$1'));
  if (plugin === 'cp') {
    if (alternatives.some((alt) => alt.startsWith('/') || alt.split('/').includes('..'))) return 'a leading / or ..';
    return null;
  }
  return /[/\\]|\.\./.test(table) ? 'a path (its tables have plain names)' : null;
}

function target(schema: Schema, path: string[], ref: TableRef): Target {
  if (!schema.workspace) {
    const problem = metadataPathProblem(schema.plugin, ref.table);
    if (problem) {
      throw new DromedarError('path_outside_workspace', `table ${ref.table} in ${schema.plugin} has ${problem}: Dromedar reads ${schema.plugin} by plain names`, 403);
    }
    return { kind: 'metadata', name: `${path.join('.')}.\`${ref.table}\``, plugin: schema.plugin };
  }
  const ws = schema.workspace;
  return {
    kind: 'files',
    name: `dfs.${ws.name}.\`${ref.table}\``,
    plugin: 'dfs',
    workspace: ws.name,
    path: pathInWorkspace(ws, ref.table),
    dirs: ref.dirs,
  };
}

/** The absolute path of a table path in a workspace; refuses paths that leave it. */
export function pathInWorkspace(ws: Workspace, table: string): string {
  const problem = tablePathProblem(table);
  if (problem) {
    throw new DromedarError('path_outside_workspace', `path ${table} in workspace dfs.${ws.name} has ${problem}: table paths are relative to the workspace root`, 403);
  }
  const path = resolvePath(ws.root, table.replace(/^\/+/, ''));
  // Hadoop unescapes `\.` and expands `{a,b}` before it resolves a path, so `\.\./` and
  // `{.,x}./` are `../` to Drill: check every literal form the pattern can take.
  const literals = expandBraces(table).map((alt) => resolvePath(ws.root, alt.replace(/\\(.)/g, '$1').replace(/^\/+/, '')));
  if (![path, ...literals].every((p) => isInside(p, ws.root))) {
    throw new DromedarError(
      'path_outside_workspace',
      `path ${table} in workspace dfs.${ws.name} leads outside the workspace root; paths with .. must stay under it`,
      403,
    );
  }
  return path;
}

export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

function unknownSchema(ref: TableRef, defaultSchema: string[], workspaces: Map<string, Workspace>): DromedarError {
  const table = `\`${ref.table}\``;
  const tried = defaultSchema.length > 0 ? ` (looked under ${defaultSchema.join('.')} and from the root)` : '';
  let message: string;
  if (ref.schema.length === 0 && defaultSchema.length === 0) {
    message = `table ${table} names no schema: write dfs.<workspace>.${table} or send a defaultSchema`;
  } else if (ref.schema[0]?.toLowerCase() === 'dfs' && ref.schema.length === 2) {
    message = `unknown workspace ${ref.schema[1]} in dfs for table ${table}${tried}; ${known(workspaces)}`;
  } else {
    message = `unknown schema ${ref.schema.join('.') || '(none)'} for table ${table}${tried}; ${known(workspaces)}`;
  }
  return new DromedarError('unknown_schema', message, 400);
}

function known(workspaces: Map<string, Workspace>): string {
  const names = [...workspaces.keys()].sort().map((w) => `dfs.${w}`);
  return `known schemas: dfs, ${names.join(', ')}, cp, sys, information_schema`;
}
