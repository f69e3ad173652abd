// Drill's directory pruning (PruneScanRule over FileSystemPartitionDescriptor):
// dirN of a file is the Nth directory below the selection root (null when the
// file is not that deep), and a file is read only if every dirN condition holds.
import type { DirCondition } from '../sql/types.js';
import type { Listing } from './scan.js';

const INTEGER = /^[+-]?\d+$/;

/** Indices (into listing.paths) of the files read, in listing order; null when that is all of them. */
export function prune(listing: Listing, conditions: DirCondition[]): number[] | null {
  const { paths, root } = listing;
  if (conditions.length === 0 || paths.length === 0) return null;
  const usable = conditions.filter((c) => decidable(c, paths, root));
  if (usable.length === 0) return null;
  const kept: number[] = [];
  for (let i = 0; i < paths.length; i++) {
    const dirs = dirValues(paths[i]!, root);
    if (dirs === null || usable.every((c) => holds(c, dirs[c.level]))) kept.push(i);
  }
  // When every file is pruned Drill still scans the first one (by path), for the schema.
  return kept.length > 0 ? kept : [first(paths)];
}

function first(paths: string[]): number {
  let min = 0;
  for (let i = 1; i < paths.length; i++) if (paths[i]! < paths[min]!) min = i;
  return min;
}

/** The dirN values of a file, or null when it is not below the root (Drill cannot tell either). */
function dirValues(path: string, root: string): string[] | null {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  if (!path.startsWith(prefix)) return null;
  return path.slice(prefix.length).split('/').slice(0, -1);
}

function holds(condition: DirCondition, dir: string | undefined): boolean {
  if (dir === undefined) return false; // dirN is null: no equality holds
  return condition.values.some((v) => (typeof v === 'string' ? dir === v : Number(dir) === v));
}

// dirN is VARCHAR. Against strings Drill compares text. Against numbers it casts
// the directory names, and one name that is no integer makes the cast fail and
// Drill give up pruning altogether: then this condition must not prune either.
function decidable(condition: DirCondition, paths: string[], root: string): boolean {
  if (condition.values.every((v) => typeof v === 'string')) return true;
  if (!condition.values.every((v) => typeof v === 'number' && Number.isInteger(v))) return false;
  return paths.every((path) => {
    const dir = dirValues(path, root)?.[condition.level];
    return dir === undefined || INTEGER.test(dir);
  });
}
