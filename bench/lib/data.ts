// Datasets of known size for the benchmarks (CSV with a header, Drill's csvh), in the
// run's data folder, which is the `data` workspace of every cluster of the run.
import { mkdir, truncate, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTrips, type Dataset } from '../../src/sample/trips.js';
import type { BenchContext } from './context.js';

export const MiB = 2 ** 20;

/** `dfs.data.<name>` with `bytes` of trips (about 36 bytes a row). */
export async function trips(ctx: BenchContext, name: string, bytes: number): Promise<Dataset & { table: string }> {
  const dataset = await ensureTrips(join(ctx.dataDir, name), bytes);
  return { ...dataset, table: `dfs.data.\`${name}\`` };
}

/** A QSF that makes sizing ask for exactly `n` Drillbits for `bytes`. */
export function qsfFor(bytes: number, n: number): number {
  return bytes / MiB / (n - 0.5);
}

/** A tiny JSON table (a few rows) for per-query overhead measurements. */
export async function tinyTable(ctx: BenchContext, name = 'tiny'): Promise<string> {
  const dir = join(ctx.dataDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'rows.json'), Array.from({ length: 10 }, (_, id) => JSON.stringify({ id, name: `n${id}` })).join('\n') + '\n');
  return `dfs.data.\`${name}\``;
}

/**
 * A directory of `count` files with sizes but no data (sparse files), for sizing: only
 * metadata is read, so sparse files are as good as real ones and cost no disk.
 */
export async function manyFiles(dir: string, count: number, perDir = count): Promise<number> {
  let total = 0;
  for (let i = 0; i < count; i += perDir) {
    const sub = perDir === count ? dir : join(dir, `d${String(i / perDir).padStart(4, '0')}`);
    await mkdir(sub, { recursive: true });
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(count, i + perDir); j++) {
      const size = 1024 + (j % 97) * 4096;
      total += size;
      batch.push(
        (async () => {
          const file = join(sub, `part-${String(j).padStart(6, '0')}.parquet`);
          const handle = await open(file, 'w');
          await handle.close();
          await truncate(file, size);
        })(),
      );
      if (batch.length >= 256) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
  }
  return total;
}
