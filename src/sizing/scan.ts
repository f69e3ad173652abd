// The files Drill would read for one table path, from file system metadata only,
// mirroring Drill 1.22's FileSelection:
// - the path, relative to the workspace root, is expanded with Hadoop's globStatus
//   (no hidden-name rule there);
// - if nothing matched, the table is missing;
// - if no match is a directory, the matches are the files, as they are;
// - otherwise every match is listed recursively (FileSelection.minusDirectories),
//   skipping names starting with `.` or `_` (DrillFileSystemUtil's filter), which
//   also drops a matched file with such a name.
// Symbolic links are followed like Hadoop's local file system does; a directory
// already seen (same device and inode) is not listed again, so loops end.
import { readdir, stat, type Dirent, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expandBraces, hasGlob, segmentMatcher, unescapeSegment, type SegmentMatcher } from './glob.js';
import type { Limiter } from './limit.js';

export interface FileEntry {
  /** Absolute path, as listed (through symbolic links, not resolving them). */
  path: string;
  size: number;
}

export interface Listing {
  exists: boolean;
  /** Drill's selection root (the path up to the segment before the first `*`): dirN count from here. */
  root: string;
  /** Sorted by path. */
  files: FileEntry[];
}

export interface Scan {
  listing: Listing;
  /**
   * What the listing depends on, by path: the directories listed and the paths
   * looked up by name, with their signatures (null: did not exist). A file found by
   * listing its directory is covered by the directory's signature.
   */
  deps: Map<string, string | null>;
  /** The newest modification time among the dependencies (ms since epoch). */
  newestMtimeMs: number;
}

/** File system calls through the shared concurrency bound; errors read as absence. */
export class Probe {
  constructor(private readonly limiter: Limiter) {}

  /**
   * stat(2) of each path, following symbolic links, handing each result (null where
   * it fails: missing, loop, no permission) to `each` as it comes: a Stats object
   * kept for all 100,000 files of a directory would outlive the young generation
   * and make the garbage collector the slowest part of a listing.
   */
  statEach(paths: string[], each: (path: string, st: Stats | null) => void): Promise<void> {
    return new Promise((resolve) => {
      let left = paths.length;
      if (left === 0) resolve();
      for (const path of paths) {
        this.limiter.schedule((done) =>
          call<Stats>(stat, path, (st) => {
            done();
            each(path, st);
            if (--left === 0) resolve();
          }),
        );
      }
    });
  }

  async stat(path: string): Promise<Stats | null> {
    let result: Stats | null = null;
    await this.statEach([path], (_, st) => (result = st));
    return result;
  }

  /** Entry names; null when the directory cannot be read. */
  readdir(path: string): Promise<string[] | null> {
    return new Promise((resolve) =>
      this.limiter.schedule((done) =>
        call<string[]>(readdir, path, (names) => {
          done();
          resolve(names);
        }),
      ),
    );
  }

  /** Entries with their types (symbolic links show as such); null when unreadable. */
  readdirTyped(path: string): Promise<Dirent[] | null> {
    return new Promise((resolve) =>
      this.limiter.schedule((done) =>
        call<Dirent[]>((p, cb) => readdir(p, { withFileTypes: true }, cb), path, (entries) => {
          done();
          resolve(entries);
        }),
      ),
    );
  }

  async signature(path: string): Promise<string | null> {
    return signatureOf(await this.stat(path));
  }
}

// A callback-style fs call whose failure, thrown (a NUL byte in a path from the SQL)
// or reported, is a null result: a slot of the limiter is never lost to it.
function call<T>(fn: (path: string, cb: (err: Error | null, value: T) => void) => void, path: string, then: (value: T | null) => void): void {
  try {
    fn(path, (err, value) => then(err ? null : value));
  } catch {
    then(null);
  }
}

// ctime too: it moves on every change, even one that puts mtime back (rsync -t, touch -d).
export function signatureOf(st: Stats | null): string | null {
  return st ? `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}` : null;
}

/** Throws when a path (reached through a symbolic link) lies outside every workspace. */
export type Confine = (path: string) => Promise<void>;

// Up to this many matches each get their real path checked; past it, their folders do.
const CONFINE_EACH = 1_000;

export function scan(pattern: string, probe: Probe, confine: Confine = async () => {}): Promise<Scan> {
  return new ScanRun(probe, confine).run(pattern);
}

/** Drill's FileSelection.handleWildCard: the selection root of a path. */
export function selectionRoot(path: string): string {
  const star = path.indexOf('*');
  return star < 0 ? path : path.slice(0, path.lastIndexOf('/', star)) || '/';
}

// readdir names hold no slash and dir is already normal: no path.join needed (it shows at 100,000 files).
function childPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function isHidden(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_');
}

class ScanRun {
  private readonly deps = new Map<string, string | null>();
  private readonly files: FileEntry[] = [];
  private readonly seen = new Set<string>();
  private newestMtimeMs = 0;

  constructor(
    private readonly probe: Probe,
    private readonly confine: Confine,
  ) {}

  async run(pattern: string): Promise<Scan> {
    const matched = await this.matches(pattern);
    // Drill follows symbolic links: what a path really is must stay inside a workspace.
    const matchedPaths = [...matched.keys()];
    const toCheck = matchedPaths.length <= CONFINE_EACH ? matchedPaths : [...new Set(matchedPaths.map((p) => dirname(p)))];
    await Promise.all(toCheck.map((path) => this.confine(path)));
    const hasDirectories = [...matched.values()].some((st) => st.isDirectory());
    await Promise.all(
      [...matched].map(([path, st]) => {
        if (st.isDirectory()) return this.walk(path, st);
        if (!hasDirectories || !isHidden(basename(path))) this.files.push({ path, size: st.size });
        return undefined;
      }),
    );
    this.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const listing = { exists: matched.size > 0, root: selectionRoot(pattern), files: this.files };
    return { listing, deps: this.deps, newestMtimeMs: this.newestMtimeMs };
  }

  private async matches(pattern: string): Promise<Map<string, Stats>> {
    const out = new Map<string, Stats>();
    const patterns = hasGlob(pattern) ? expandBraces(pattern) : [pattern];
    for (const found of await Promise.all(patterns.map((p) => this.glob(p)))) {
      for (const [path, st] of found) out.set(path, st);
    }
    return out;
  }

  // Hadoop's Globber: literal segments are appended, wildcard segments list the directory.
  private async glob(pattern: string): Promise<Map<string, Stats>> {
    let candidates = ['/'];
    let lastIsLiteral = true;
    for (const segment of pattern.split('/').filter((s) => s !== '')) {
      const matcher = segmentMatcher(segment);
      lastIsLiteral = matcher === null;
      candidates = matcher
        ? (await Promise.all(candidates.map((dir) => this.matchIn(dir, matcher)))).flat()
        : candidates.map((dir) => join(dir, unescapeSegment(segment)));
    }
    const found = new Map<string, Stats>();
    await this.probe.statEach(candidates, (path, st) => {
      // A path named in full is looked up by name: its own signature is a dependency.
      if (lastIsLiteral) this.depend(path, st);
      if (st) found.set(path, st);
    });
    return found;
  }

  private async matchIn(dir: string, matcher: SegmentMatcher): Promise<string[]> {
    const st = await this.lookUp(dir);
    const entries = st?.isDirectory() ? await this.probe.readdir(dir) : null;
    return (entries ?? []).filter((name) => matcher.test(name)).map((name) => childPath(dir, name));
  }

  // Recursive listing, as Drill's FileSystemUtil.listRecursive with the hidden filter.
  private async walk(dir: string, st: Stats): Promise<void> {
    const inode = `${st.dev}:${st.ino}`;
    if (this.seen.has(inode)) return;
    this.seen.add(inode);
    // Signature taken before listing: a change during the listing shows as stale later.
    this.depend(dir, st);
    const entries = (await this.probe.readdirTyped(dir)) ?? [];
    const visible = entries.filter((entry) => !isHidden(entry.name));
    await Promise.all(visible.filter((entry) => entry.isSymbolicLink()).map((entry) => this.confine(childPath(dir, entry.name))));
    const names = visible.map((entry) => entry.name);
    const subdirectories: Array<Promise<void>> = [];
    await this.probe.statEach(
      names.map((name) => childPath(dir, name)),
      (path, entry) => {
        if (entry?.isDirectory()) subdirectories.push(this.walk(path, entry));
        else if (entry) this.files.push({ path, size: entry.size });
      },
    );
    await Promise.all(subdirectories);
  }

  private async lookUp(path: string): Promise<Stats | null> {
    const st = await this.probe.stat(path);
    this.depend(path, st);
    return st;
  }

  private depend(path: string, st: Stats | null): void {
    this.deps.set(path, signatureOf(st));
    if (st) this.newestMtimeMs = Math.max(this.newestMtimeMs, st.mtimeMs);
  }
}
