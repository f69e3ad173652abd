// The statement check before Drill sees a text: the allow-list (src/sql/statements.ts)
// and the confinement of what an allowed statement names. Queries are confined by
// sizing (every table it reads resolves inside a workspace); this confines the rest.
// It is the early, clear error; the boundary that holds when it is wrong is the
// sandbox around each Drillbit.
import { realpath } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { classifyStatement, type Statement } from '../sql/statements.js';
import type { LexOptions } from '../sql/lexer.js';
import { defaultSchemaPath, isInside, resolveTarget, schemaKnown, tablePathProblem } from '../sizing/resolve.js';
import type { Workspace } from '../storage/dfs.js';
import { DromedarError } from '../util/errors.js';
import { refusedOption } from './input.js';

export interface StatementContext extends LexOptions {
  workspaces: ReadonlyMap<string, Workspace>;
  defaultSchema?: string | undefined;
}

/** Refuses (403, or 400 for text Drill cannot read) what may not pass; returns the statement. */
export async function checkStatement(sql: string, ctx: StatementContext): Promise<Statement> {
  const statement = classifyStatement(sql, ctx);
  if (!statement.allowed) {
    const why = statement.problem ?? (statement.rule?.note ? `${statement.rule.note}; ` : '');
    throw new DromedarError(
      'statement_not_allowed',
      `${statement.kind} is not a statement Dromedar passes (${statement.problem ? why : `${why}allowed: queries, EXPLAIN PLAN FOR, SHOW, DESCRIBE, CREATE TABLE AS and views in writable workspaces, DROP TABLE|VIEW there, REFRESH TABLE METADATA, ANALYZE TABLE, ALTER SESSION|SET|RESET, USE`})`,
      403,
    );
  }
  if (statement.invalid) throw new DromedarError('invalid_sql', 'Drill cannot read this SQL: it has a character or an unterminated quote or comment that Drill\'s parser refuses', 400);
  await confine(statement, ctx);
  return statement;
}

async function confine(statement: Statement, ctx: StatementContext): Promise<void> {
  const workspaces = ctx.workspaces as Map<string, Workspace>;
  const defaultSchema = defaultSchemaPath(ctx.defaultSchema, workspaces);
  const target = statement.target;
  switch (statement.rule!.confine) {
    case 'option': {
      const name = target?.join('.') ?? '';
      const why = name === 'ALL' ? null : refusedOption(name);
      if (why !== null) throw new DromedarError('forbidden_option', `Drill option ${name} cannot be set through Dromedar: ${why}`, 403);
      return;
    }
    case 'schema':
      if (target && !schemaKnown(target, defaultSchema, workspaces)) {
        throw new DromedarError('unknown_schema', `${statement.kind}: ${target.join('.')} is not a known schema`, 400);
      }
      return;
    case 'listing':
      return confineListing(statement, target ?? [], defaultSchema, workspaces);
    case 'workspace':
    case 'writable': {
      if (!target) return;
      if (statement.kind === 'DESCRIBE SCHEMA' && schemaKnown(target, defaultSchema, workspaces)) return;
      const resolved = resolveTarget({ schema: target.slice(0, -1), table: target[target.length - 1]!, dirs: [] }, defaultSchema, workspaces);
      if (statement.rule!.confine === 'writable' && (resolved.kind !== 'files' || !workspaces.get(resolved.workspace)?.writable)) {
        throw new DromedarError('statement_not_allowed', `${statement.kind} is not a statement Dromedar passes (in ${resolved.name}): only in a writable workspace`, 403);
      }
      if (resolved.kind === 'files') await insideRealRoots(resolved.path, `${statement.kind} ${resolved.name}`, workspaces);
      return;
    }
    default:
      return;
  }
}

// SHOW FILES [FROM|IN] schema[.`folder`]: Drill resolves a leading '/' from the file
// system root, not the workspace, so here the folder must be plainly relative.
async function confineListing(statement: Statement, target: string[], defaultSchema: string[], workspaces: Map<string, Workspace>): Promise<void> {
  if (target.length === 0) {
    if (defaultSchema.length === 0) return; // Drill lists nothing without a schema
    target = defaultSchema;
  }
  // One identifier may name a whole schema: SHOW FILES FROM `dfs.data` (what sqlalchemy-drill
  // sends) lists dfs.data in Drill, which splits such a name at its dots.
  const split = target.flatMap((part) => part.split('.'));
  if (split.length > target.length && (schemaKnown(split, [], workspaces) || schemaKnown(split, defaultSchema, workspaces))) target = split;
  if (schemaKnown(target, [], workspaces) || schemaKnown(target, defaultSchema, workspaces)) {
    const ws = workspaceOf(target, defaultSchema, workspaces);
    if (ws) await insideRealRoots(ws.root, 'SHOW FILES', workspaces);
    return;
  }
  const folder = target[target.length - 1]!;
  const problem = tablePathProblem(folder) ?? (folder.startsWith('/') || folder.startsWith('\\') ? 'a leading / (Drill lists from the file system root)' : null);
  if (problem || folder.split(/[\\/]/).includes('..')) {
    throw new DromedarError('path_outside_workspace', `SHOW FILES takes a folder inside a workspace: ${JSON.stringify(folder)} has ${problem ?? '..'}`, 403);
  }
  const resolved = resolveTarget({ schema: target.slice(0, -1), table: folder, dirs: [] }, defaultSchema, workspaces);
  if (resolved.kind !== 'files') throw new DromedarError('path_outside_workspace', `SHOW FILES takes a folder inside a workspace, not ${resolved.name}`, 403);
  await insideRealRoots(resolved.path, `SHOW FILES ${resolved.name}`, workspaces);
}

function workspaceOf(schema: string[], defaultSchema: string[], workspaces: Map<string, Workspace>): Workspace | null {
  for (const path of [schema, [...defaultSchema, ...schema]]) {
    if (path[0]?.toLowerCase() !== 'dfs' || path.length > 2) continue;
    const name = (path[1] ?? 'default').toLowerCase();
    const ws = [...workspaces.values()].find((w) => w.name.toLowerCase() === name);
    if (ws) return ws;
  }
  return null;
}

// A symbolic link inside a workspace may lead anywhere, and Drill follows it.
async function insideRealRoots(path: string, what: string, workspaces: Map<string, Workspace>): Promise<void> {
  const real = await realpath(path).catch(() => null);
  if (real === null) return; // nothing there yet: Drill finds nothing (or creates it inside)
  const roots = await Promise.all([...workspaces.values()].map((w) => realpath(w.root).catch(() => resolvePath(w.root))));
  if (!roots.some((root) => isInside(real, root))) {
    throw new DromedarError('path_outside_workspace', `${what} leads outside every workspace (through a symbolic link)`, 403);
  }
}
