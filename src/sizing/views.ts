// Drill views in dfs workspaces: `<name>.view.drill`, JSON written by CREATE VIEW
// (drill-1.22.0 dotdrill/View.java): the view's SQL as Calcite unparsed it, its
// fields (the output column names), and workspaceSchemaPath, the default schema the
// SQL was written in. Drill looks a name up as a view before it looks for files
// (WorkspaceSchemaFactory.getTable: `<workspace>/<name>.view.drill`). A view file is
// read once per version (cached by its stat signature); one that cannot be read or
// understood says why, for sizing to count it as unknown.
import { stat, type Stats } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isInside } from './resolve.js';

export const VIEW_SUFFIX = '.view.drill';
/** A view file larger than this is not read. */
export const MAX_VIEW_FILE_BYTES = 1024 * 1024;
const MAX_CACHED = 1_000;

export interface ViewDefinition {
  sql: string;
  /** Output column names in order (null: not given, or `*` in them). */
  fields: string[] | null;
  /** The schema the view's SQL resolves unqualified names in ([]: none). */
  schema: string[];
}

export type ViewFile = { ok: true; file: string; view: ViewDefinition } | { ok: false; file: string; reason: string };

export class Views {
  private readonly cache = new Map<string, { signature: string; found: ViewFile }>();

  constructor(private readonly roots: () => Promise<string[]>) {}

  /** The view a table path names, or null when there is no view file for it. */
  async find(tablePath: string): Promise<ViewFile | null> {
    const file = tablePath.replace(/\/+$/, '') + VIEW_SUFFIX;
    const st = await statOrNull(file);
    if (!st) return null;
    if (!st.isFile()) return { ok: false, file, reason: `${file} is not a regular file` };
    const signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const cached = this.cache.get(file);
    if (cached?.signature === signature) return cached.found;
    const found = await this.read(file, st.size);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(file, { signature, found });
    return found;
  }

  private async read(file: string, size: number): Promise<ViewFile> {
    if (size > MAX_VIEW_FILE_BYTES) return { ok: false, file, reason: `the view file is ${size} bytes, over the limit of ${MAX_VIEW_FILE_BYTES}` };
    const real = await realpath(file).catch(() => null);
    if (real === null) return { ok: false, file, reason: 'the view file vanished while being read' };
    if (!(await this.roots()).some((root) => isInside(real, root))) return { ok: false, file, reason: 'the view file leads (through a symbolic link) outside every dfs workspace' };
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      return { ok: false, file, reason: `the view file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
    return parseView(file, text);
  }
}

export function parseView(file: string, text: string): ViewFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, file, reason: `the view file is not JSON: ${(err as Error).message}` };
  }
  const view = json as { sql?: unknown; fields?: unknown; workspaceSchemaPath?: unknown };
  if (typeof view !== 'object' || view === null || typeof view.sql !== 'string' || view.sql.trim() === '') {
    return { ok: false, file, reason: 'the view file has no "sql"' };
  }
  const schema = Array.isArray(view.workspaceSchemaPath) && view.workspaceSchemaPath.every((s) => typeof s === 'string') ? (view.workspaceSchemaPath as string[]) : [];
  let fields: string[] | null = null;
  if (Array.isArray(view.fields)) {
    const names = view.fields.map((f) => (typeof f === 'object' && f !== null && typeof (f as { name?: unknown }).name === 'string' ? (f as { name: string }).name : null));
    // `**` is Drill's dynamic star: the view passes every column through, unnamed.
    if (names.every((n): n is string => n !== null && n !== '**' && n !== '*')) fields = names.map((n) => n.toLowerCase());
  }
  return { ok: true, file, view: { sql: view.sql, fields, schema } };
}

// One stat(2) per plan of a dfs target: the callback form, the cheapest there is.
function statOrNull(path: string): Promise<Stats | null> {
  return new Promise((resolve) => {
    try {
      stat(path, (err, st) => resolve(err ? null : st));
    } catch {
      resolve(null); // a NUL byte in the path
    }
  });
}
