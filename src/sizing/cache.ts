// Listings cached per path (bounded LRU with a TTL) and trusted only while every
// directory they came from is unchanged: a directory's mtime moves when an entry
// is added, removed or renamed in it, so re-checking the signatures (one stat per
// directory, not per file) finds new and deleted files. A file rewritten in place
// keeps its directory's mtime: such a change shows when the TTL ends.
import { LRUCache } from 'lru-cache';
import { scan, type Confine, type Listing, type Probe } from './scan.js';

// A change within the same tick of a coarse file system clock (1-4 ms locally,
// up to 1 s on some NFS servers) leaves the mtime as it was. A listing of a
// directory modified this recently is used once and not cached ("racily clean").
const RACY_WINDOW_MS = 2_000;

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

  constructor(
    private readonly probe: Probe,
    options: CacheOptions,
    private readonly confine?: Confine,
  ) {
    this.cache = options.ttlMs > 0 ? new LRUCache<string, Entry>({ max: options.maxEntries, ttl: options.ttlMs }) : null;
  }

  /** The listing of an absolute path or glob. */
  async get(path: string): Promise<Listing> {
    const cached = this.cache?.get(path);
    if (cached && (await this.unchanged(cached))) return cached.listing;
    let pending = this.inflight.get(path);
    if (!pending) {
      pending = this.load(path).finally(() => this.inflight.delete(path));
      this.inflight.set(path, pending);
    }
    return pending;
  }

  private async load(path: string): Promise<Listing> {
    const startedAt = Date.now();
    const { listing, deps, newestMtimeMs } = await scan(path, this.probe, this.confine);
    if (newestMtimeMs < startedAt - RACY_WINDOW_MS) this.cache?.set(path, { listing, deps });
    else this.cache?.delete(path);
    return listing;
  }

  private async unchanged(entry: Entry): Promise<boolean> {
    const current = await Promise.all([...entry.deps.keys()].map((path) => this.probe.signature(path)));
    return [...entry.deps.values()].every((signature, i) => current[i] === signature);
  }
}
