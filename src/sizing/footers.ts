// Parquet footers of listed files, cached by path (an LRU bounded in bytes) and
// trusted only for the file as the listing saw it: same size, mtime, ctime and
// inode. A listing is trusted while its directories are unchanged (cache.ts), so a
// footer is re-read exactly when its file's listing entry changes. Footers not in
// the cache are read in the scan workers (footer.ts), in batches, so that one large
// directory neither blocks the event loop nor holds a worker for long.
// The cache is the process's, like the scan workers: a footer is a fact about a
// file, the same for every Sizer, and a directory listed again (one file added to
// 10,000) must not cost 10,000 footer reads.
import { LRUCache } from 'lru-cache';
import type { FooterResult } from './footer.js';
import type { Listing } from './scan.js';
import { scanWorkers } from './workers.js';

/** Files per worker job: both workers share a big directory, other jobs interleave. */
const BATCH = 256;

export interface FooterOptions {
  /** Bytes of footer summaries kept (estimated); 0 turns caching off. */
  maxBytes: number;
}

/** A footer that is not for the listed file (it changed or vanished in between). */
export interface Changed {
  ok: false;
  kind: 'changed';
  message: string;
}

export class Footers {
  private readonly cache: LRUCache<string, FooterResult> | null;
  private reads = 0;

  constructor(options: FooterOptions) {
    this.cache =
      options.maxBytes > 0
        ? new LRUCache<string, FooterResult>({ maxSize: options.maxBytes, maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 4)), sizeCalculation: footprint })
        : null;
  }

  /** Footers read from files so far (cache misses), for tests and the benchmark. */
  get filesRead(): number {
    return this.reads;
  }

  /** The footers of `indices` into `listing`, in that order. */
  async get(listing: Listing, indices: number[]): Promise<Array<FooterResult | Changed>> {
    const out: Array<FooterResult | Changed | undefined> = indices.map((i) => {
      const hit = this.cache?.get(listing.paths[i]!);
      return hit && matches(hit, listing, i) ? hit : undefined;
    });
    const missing = indices.flatMap((i, k) => (out[k] === undefined ? [k] : []));
    const batches: number[][] = [];
    for (let k = 0; k < missing.length; k += BATCH) batches.push(missing.slice(k, k + BATCH));
    await Promise.all(
      batches.map(async (batch) => {
        const read = await scanWorkers.footers(batch.map((k) => listing.paths[indices[k]!]!));
        this.reads += batch.length;
        read.forEach((footer, j) => {
          const k = batch[j]!;
          const i = indices[k]!;
          if (footer.stamp) this.cache?.set(listing.paths[i]!, footer);
          out[k] = footer.stamp === null || matches(footer, listing, i) ? footer : { ok: false, kind: 'changed', message: 'the file changed between listing and reading its footer' };
        });
      }),
    );
    return out as Array<FooterResult | Changed>;
  }
}

function matches(footer: FooterResult, listing: Listing, i: number): boolean {
  const s = footer.stamp;
  return s !== null && s[0] === listing.sizes[i] && s[1] === listing.stamps[3 * i] && s[2] === listing.stamps[3 * i + 1] && s[3] === listing.stamps[3 * i + 2];
}

// Roughly what a summary takes in memory.
function footprint(footer: FooterResult): number {
  if (!footer.ok) return 200 + 2 * footer.message.length;
  const leaves = footer.leaves.length;
  return 200 + leaves * 80 + footer.rowGroups.length * (80 + leaves * 72);
}

let shared: Footers | null = null;

/** The process's footer cache (its size: the first Sizer's sizing.footerCacheBytes). */
export function sharedFooters(maxBytes: number): Footers {
  shared ??= new Footers({ maxBytes });
  return shared;
}
