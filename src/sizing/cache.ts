// Listings cached per path (bounded LRU with a TTL) and trusted only while every
// directory they came from is unchanged: a directory's mtime moves when an entry
// is added, removed or renamed in it, so re-checking the signatures (one stat per
// directory, not per file) finds new and deleted files. A file rewritten in place
// keeps its directory's mtime: such a change shows when the TTL ends.
import { stat, type Stats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { DromedarError } from '../util/errors.js';
import type { Limiter } from './limit.js';
import { OutsideError, signatureOf, type Listing } from './scan.js';
import { scanWorkers } from './workers.js';

// A change within the same tick of a coarse file system clock (1-4 ms locally,
// up to 1 s on some NFS servers) leaves the mtime as it was. A listing of a
// directory modified this recently is used once and not cached ("racily clean").
const RACY_WINDOW_MS = 2_000;
// Up to this many signatures are checked here, each a stat(2) through libuv's
// pool (tens of µs); more go to a scan worker, which makes them one after another
// synchronously (a few µs each) at the price of one round trip.
const CHECK_HERE = 16;

interface Entry {
  listing: Listing;
  deps: Map<string, string | null>;
}

export interface CacheOptions {
  /** 0 turns caching off. */
  ttlMs: number;
  maxEntries: number;
}

export class Listings {
  private readonly cache: LRUCache<string, Entry> | null;
  // Concurrent sizings of one path share a single scan.
  private readonly inflight = new Map<string, Promise<Listing>>();
  /** Look-ups answered from the cache (unchanged) and those that listed (for /metrics). */
  readonly stats = { hits: 0, misses: 0 };

  /**
   * `roots`: the real paths every path read must lie in (null: no check); `limiter`
   * bounds the file system calls made on this thread.
   */
  constructor(
    private readonly limiter: Limiter,
    options: CacheOptions,
    private readonly roots: () => Promise<string[] | null> = async () => null,
  ) {
    this.cache = options.ttlMs > 0 ? new LRUCache<string, Entry>({ max: options.maxEntries, ttl: options.ttlMs }) : null;
  }

  /** The listing of an absolute path or glob. */
  async get(path: string): Promise<Listing> {
    const cached = this.cache?.get(path);
    if (cached && (await this.unchanged(cached))) {
      this.stats.hits++;
      return cached.listing;
    }
    this.stats.misses++;
    let pending = this.inflight.get(path);
    if (!pending) {
      pending = this.load(path).finally(() => this.inflight.delete(path));
      this.inflight.set(path, pending);
    }
    return pending;
  }

  private async load(path: string): Promise<Listing> {
    const startedAt = Date.now();
    const roots = await this.roots();
    const { listing, deps, newestMtimeMs } = await scanWorkers.scan(path, roots).catch((err: unknown) => {
      if (!(err instanceof OutsideError)) throw err;
      throw new DromedarError('path_outside_workspace', `${err.path} leads (through a symbolic link) outside every dfs workspace`, 403);
    });
    if (newestMtimeMs < startedAt - RACY_WINDOW_MS) this.cache?.set(path, { listing, deps });
    else this.cache?.delete(path);
    return listing;
  }

  private async unchanged(entry: Entry): Promise<boolean> {
    const paths = [...entry.deps.keys()];
    const current = paths.length <= CHECK_HERE ? await Promise.all(paths.map((path) => this.signature(path))) : await scanWorkers.signatures(paths);
    let i = 0;
    for (const signature of entry.deps.values()) if (current[i++] !== signature) return false;
    return true;
  }

  // stat(2) following symbolic links; a failure (missing, a loop, a NUL byte) is absence.
  private signature(path: string): Promise<string | null> {
    return new Promise((resolve) =>
      this.limiter.schedule((done) => {
        const then = (st: Stats | null) => {
          done();
          resolve(signatureOf(st));
        };
        try {
          stat(path, (err, st) => then(err ? null : st));
        } catch {
          then(null);
        }
      }),
    );
  }
}
