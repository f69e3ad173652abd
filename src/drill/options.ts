// Which session options this Drill has: name, kind and the scopes it may be set in, as
// Drill's sys.options and sys.internal_options list them. Drill defines its options in
// code (SystemOptionManager and the validators), so a running Drillbit is the one source:
// the installer asks the Drillbit it starts anyway (the class-data archive's training
// run) and writes the answer beside the jars; a gateway on an installation without that
// file asks one of its own Drillbits once. Request validation (src/server/input.ts)
// reads it, so an unknown or system-only option is a 400 naming it, not Drill's bare
// "500 Query submission failed".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../util/files.js';
import type { DrillClient } from './client.js';

export const OPTION_CATALOG = 'dromedar-drill-options.json';

/** Drill's OptionValue.Kind. */
export type OptionKind = 'BOOLEAN' | 'LONG' | 'DOUBLE' | 'STRING';

/** Drill's OptionValue.AccessibleScopes. */
export type OptionScopes = 'BOOT' | 'SYSTEM' | 'SESSION' | 'QUERY' | 'SYSTEM_AND_SESSION' | 'SESSION_AND_QUERY' | 'ALL';

export interface DrillOption {
  name: string;
  kind: OptionKind;
  scopes: OptionScopes;
}

// sys.options names the kinds by their SQL types.
const KINDS: Record<string, OptionKind> = { BIT: 'BOOLEAN', BIGINT: 'LONG', FLOAT: 'DOUBLE', VARCHAR: 'STRING' };

// AccessibleScopes.inScopeOf(SESSION): REST options are set on the request's session.
const SETTABLE_IN_SESSION: ReadonlySet<OptionScopes> = new Set(['SESSION', 'SYSTEM_AND_SESSION', 'SESSION_AND_QUERY', 'ALL']);

export class DrillOptionCatalog {
  private readonly byName: Map<string, DrillOption>;

  constructor(options: readonly DrillOption[]) {
    // Drill's option names are case-insensitive (SystemOptionManager's CaseInsensitiveMap).
    this.byName = new Map(options.map((o) => [o.name.toLowerCase(), { ...o, kind: KINDS[o.kind] ?? o.kind }]));
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): DrillOption | undefined {
    return this.byName.get(name.toLowerCase());
  }

  static settableInSession(option: DrillOption): boolean {
    return SETTABLE_IN_SESSION.has(option.scopes);
  }

  /** The catalog the installer wrote beside Drill's jars; null when there is none (or it is unreadable). */
  static fromInstall(home: string): DrillOptionCatalog | null {
    try {
      const saved = JSON.parse(readFileSync(join(home, OPTION_CATALOG), 'utf8')) as { options?: DrillOption[] };
      return Array.isArray(saved.options) && saved.options.length > 0 ? new DrillOptionCatalog(saved.options) : null;
    } catch {
      return null;
    }
  }

  /** Asks a running Drillbit. */
  static async fromDrillbit(drill: DrillClient): Promise<DrillOptionCatalog> {
    return new DrillOptionCatalog(await readOptions(drill));
  }
}

async function readOptions(drill: DrillClient): Promise<DrillOption[]> {
  const columns = 'name, kind, accessibleScopes';
  const res = await drill.query({ queryType: 'SQL', query: `SELECT ${columns} FROM sys.options UNION ALL SELECT ${columns} FROM sys.internal_options` });
  const answer = JSON.parse(await res.body.text()) as { queryState?: string; errorMessage?: string; rows?: { name: string; kind: string; accessibleScopes: string }[] };
  if (answer.queryState !== 'COMPLETED' || !answer.rows?.length) throw new Error(`Drill did not list its options: ${answer.errorMessage ?? answer.queryState}`);
  return answer.rows.map((r) => ({ name: r.name, kind: r.kind as OptionKind, scopes: r.accessibleScopes as OptionScopes }));
}

/** Writes the catalog of a running Drillbit beside the jars of `home`. */
export async function writeOptionCatalog(drill: DrillClient, home: string): Promise<number> {
  const options = await readOptions(drill);
  await writeAtomic(join(home, OPTION_CATALOG), JSON.stringify({ source: 'sys.options and sys.internal_options of a Drillbit of this installation', options }, null, 1) + '\n');
  return options.length;
}
