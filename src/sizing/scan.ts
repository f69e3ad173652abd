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
//
// A scan runs in a worker thread (scan-worker.ts, workers.ts) with synchronous
// calls: a stat(2) answered from the kernel's inode cache takes microseconds, and
// the same call through libuv's thread pool costs several times that in hand-offs
// and callbacks (3-4x at 10,000 files). Where the calls are slow (a network file
// system, a cold disk), waiting for them one at a time would be slower instead: a
// scan that sees that switches to concurrent asynchronous calls for the rest.
import { lstat, lstatSync, readdirSync, realpathSync, stat, statSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expandBraces, hasGlob, segmentMatcher, unescapeSegment, type SegmentMatcher } from './glob.js';
import { Limiter } from './limit.js';
import { isInside } from './resolve.js';

export interface Listing {
  exists: boolean;
  /** Drill's selection root (the path up to the segment before the first `*`): dirN count from here. */
  root: string;
  /**
   * Absolute paths of the files, as listed (through symbolic links, not resolving
   * them), in the order listed: most plans need no order, and sorting 100,000 paths
   * costs more than listing them does here.
   */
  paths: string[];
  /** sizes[i] is the size of paths[i]. */
  sizes: Float64Array;
  /**
   * stamps[3i..3i+2]: mtime and ctime (ms) and inode of paths[i], as listed: what a
   * footer read of the file must match to be used with this listing.
   */
  stamps: Float64Array;
  /** The sum of sizes. */
  bytes: number;
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

export interface ScanOptions {
  /**
   * Real paths (symbolic links resolved) that every path read must lie in; a
   * symbolic link leading elsewhere ends the scan with an OutsideError. null: no check.
   */
  roots: string[] | null;
  /** Average stat(2) time (µs, over a window of calls) from which calls are made concurrently. */
  slowStatUs?: number;
  /** Concurrent calls once slow. */
  concurrency?: number;
}

/** A path that leads (through a symbolic link) outside every root. */
export class OutsideError extends Error {
  constructor(readonly path: string) {
    super(`${path} leads outside every root`);
  }
}

// ctime too: it moves on every change, even one that puts mtime back (rsync -t, touch -d).
export function signatureOf(st: Stats | null): string | null {
  return st ? `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}` : null;
}

/** Signatures of paths, now (null: missing or unreadable). Synchronous. */
export function signaturesOf(paths: string[]): Array<string | null> {
  return paths.map((path) => signatureOf(statOrNull(path)));
}

/** Drill's FileSelection.handleWildCard: the selection root of a path. */
export function selectionRoot(path: string): string {
  const star = path.indexOf('*');
  return star < 0 ? path : path.slice(0, path.lastIndexOf('/', star)) || '/';
}

export function isHidden(name: string): boolean {
  const c = name.charCodeAt(0);
  return c === 46 /* . */ || c === 95 /* _ */;
}

// Up to this many matches each get their real path checked; past it, their folders do.
const CONFINE_EACH = 1_000;
// One call in SAMPLE_EVERY is timed; WINDOW_SAMPLES timings make a judgement.
const SAMPLE_EVERY = 16;
const WINDOW_SAMPLES = 16;
// A stat(2) from the inode cache takes 2-10 µs; a network round trip or a disk read more.
export const SLOW_STAT_US = 50;
export const SLOW_CONCURRENCY = 64;

/** The scan of a path or glob (absolute, normal), with synchronous calls until they prove slow. */
export function scan(pattern: string, options: ScanOptions): Promise<Scan> {
  return new ScanRun(options).run(pattern);
}

// A failed call (missing, a loop, no permission, a NUL byte in a path from the SQL) is absence.
function statOrNull(path: string): Stats | null {
  return callOrNull(statSync, path);
}

function callOrNull(call: typeof statSync, path: string): Stats | null {
  try {
    return call(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

// readdir names hold no slash and dir is already normal: no path.join needed (it shows at 100,000 files).
function childPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

class ScanRun {
  private readonly deps = new Map<string, string | null>();
  private readonly paths: string[] = [];
  private readonly sizes: number[] = [];
  private readonly stamps: number[] = [];
  private readonly seen = new Set<string>();
  private newestMtimeMs = 0;
  private readonly slowStatUs: number;
  // Set once calls prove slow: from then on they are made concurrently, through this.
  private limiter: Limiter | null = null;
  private calls = 0;
  private samples = 0;
  private slowSamples = 0;

  constructor(private readonly options: ScanOptions) {
    this.slowStatUs = options.slowStatUs ?? SLOW_STAT_US;
  }

  async run(pattern: string): Promise<Scan> {
    const matched = this.matches(pattern);
    // Drill follows symbolic links: what a path really is must stay inside a workspace.
    const matchedPaths = [...matched.keys()];
    const toCheck = matchedPaths.length <= CONFINE_EACH ? matchedPaths : [...new Set(matchedPaths.map((p) => dirname(p)))];
    for (const path of toCheck) this.confine(path);
    const hasDirectories = [...matched.values()].some((st) => st.isDirectory());
    const walks: Array<Promise<void>> = [];
    for (const [path, st] of matched) {
      if (st.isDirectory()) walks.push(this.walk(path, st));
      else if (!hasDirectories || !isHidden(basename(path))) this.addFile(path, st);
    }
    await Promise.all(walks);
    return { listing: this.listing(matched.size > 0, selectionRoot(pattern)), deps: this.deps, newestMtimeMs: this.newestMtimeMs };
  }

  private listing(exists: boolean, root: string): Listing {
    const { paths, sizes } = this;
    const out = new Float64Array(sizes.length);
    let bytes = 0;
    for (let i = 0; i < sizes.length; i++) bytes += out[i] = sizes[i]!;
    return { exists, root, paths, sizes: out, stamps: Float64Array.from(this.stamps), bytes };
  }

  private addFile(path: string, st: Stats): void {
    this.paths.push(path);
    this.sizes.push(st.size);
    this.stamps.push(st.mtimeMs, st.ctimeMs, st.ino);
  }

  private matches(pattern: string): Map<string, Stats> {
    const out = new Map<string, Stats>();
    const patterns = hasGlob(pattern) ? expandBraces(pattern) : [pattern];
    for (const p of patterns) {
      for (const [path, st] of this.glob(p)) out.set(path, st);
    }
    return out;
  }

  // Hadoop's Globber: literal segments are appended, wildcard segments list the directory.
  private glob(pattern: string): Map<string, Stats> {
    let candidates = ['/'];
    let lastIsLiteral = true;
    for (const segment of pattern.split('/').filter((s) => s !== '')) {
      const matcher = segmentMatcher(segment);
      lastIsLiteral = matcher === null;
      candidates = matcher ? candidates.flatMap((dir) => this.matchIn(dir, matcher)) : candidates.map((dir) => join(dir, unescapeSegment(segment)));
    }
    const found = new Map<string, Stats>();
    for (const path of candidates) {
      const st = this.lookUp(path);
      // A path named in full is looked up by name: its own signature is a dependency.
      if (lastIsLiteral) this.depend(path, st);
      if (st) found.set(path, st);
    }
    return found;
  }

  private matchIn(dir: string, matcher: SegmentMatcher): string[] {
    const st = this.lookUp(dir);
    this.depend(dir, st);
    const names = st?.isDirectory() ? readdirOrNull(dir) : null;
    return (names ?? []).filter((name) => matcher.test(name)).map((name) => childPath(dir, name));
  }

  // Recursive listing, as Drill's FileSystemUtil.listRecursive with the hidden filter.
  // lstat(2) of every entry gives what stat(2) would for all but symbolic links (and
  // says which they are, without a Dirent per entry); those get a stat(2) as well.
  private async walk(dir: string, st: Stats): Promise<void> {
    const inode = `${st.dev}:${st.ino}`;
    if (this.seen.has(inode)) return;
    this.seen.add(inode);
    // Signature taken before listing: a change during the listing shows as stale later.
    this.depend(dir, st);
    const names = readdirOrNull(dir) ?? [];
    const subdirectories: Array<[string, Stats]> = [];
    const each = (path: string, entry: Stats | null) => {
      if (entry === null) return;
      if (entry.isDirectory()) subdirectories.push([path, entry]);
      else this.addFile(path, entry);
    };
    let i = 0;
    if (!this.limiter) {
      for (; i < names.length; i++) {
        const name = names[i]!;
        if (isHidden(name)) continue;
        const path = childPath(dir, name);
        let entry = this.timed(lstatSync, path);
        if (entry?.isSymbolicLink()) {
          this.confine(path);
          entry = statOrNull(path);
        }
        each(path, entry);
        if (this.limiter) {
          i++;
          break;
        }
      }
    }
    if (i < names.length) {
      const rest: string[] = [];
      for (; i < names.length; i++) if (!isHidden(names[i]!)) rest.push(childPath(dir, names[i]!));
      await this.statConcurrently(rest, each);
    }
    if (this.limiter) {
      await Promise.all(subdirectories.map(([path, sub]) => this.walk(path, sub)));
    } else {
      for (const [path, sub] of subdirectories) await this.walk(path, sub);
    }
  }

  // A synchronous call, every SAMPLE_EVERY-th one timed: once most of a window's
  // timed calls were slow, calls are made concurrently from then on. Single calls
  // (not a window's total) so that being preempted or a garbage collection does
  // not count as slow.
  private timed(call: typeof statSync, path: string): Stats | null {
    if (++this.calls % SAMPLE_EVERY !== 0) return callOrNull(call, path);
    const started = performance.now();
    const st = callOrNull(call, path);
    if ((performance.now() - started) * 1000 > this.slowStatUs) this.slowSamples++;
    if (++this.samples === WINDOW_SAMPLES) {
      if (this.slowSamples * 2 > WINDOW_SAMPLES) this.limiter = new Limiter(this.options.concurrency ?? SLOW_CONCURRENCY);
      this.samples = 0;
      this.slowSamples = 0;
    }
    return st;
  }

  // lstat(2), and stat(2) for symbolic links, through the limiter.
  private statConcurrently(paths: string[], each: (path: string, st: Stats | null) => void): Promise<void> {
    const limiter = this.limiter!;
    return new Promise((resolve, reject) => {
      let left = paths.length;
      if (left === 0) resolve();
      for (const path of paths) {
        limiter.schedule((done) => {
          const then = (st: Stats | null) => {
            done();
            each(path, st);
            if (--left === 0) resolve();
          };
          try {
            lstat(path, (err, st) => {
              if (err || !st.isSymbolicLink()) return then(err ? null : st);
              try {
                this.confine(path);
              } catch (outside) {
                done();
                return reject(outside);
              }
              stat(path, (err2, target) => then(err2 ? null : target));
            });
          } catch {
            then(null);
          }
        });
      }
    });
  }

  private lookUp(path: string): Stats | null {
    return this.timed(statSync, path);
  }

  // A symbolic link inside a workspace may lead anywhere; Drill would follow it.
  private confine(path: string): void {
    const roots = this.options.roots;
    if (roots === null) return;
    let real: string;
    try {
      real = realpathSync.native(path);
    } catch {
      return; // missing or a dangling link: nothing is read
    }
    if (!roots.some((root) => isInside(real, root))) throw new OutsideError(path);
  }

  private depend(path: string, st: Stats | null): void {
    this.deps.set(path, signatureOf(st));
    if (st && st.mtimeMs > this.newestMtimeMs) this.newestMtimeMs = st.mtimeMs;
  }
}

function readdirOrNull(path: string): string[] | null {
  try {
    return readdirSync(path);
  } catch {
    return null;
  }
}
