// A sample dataset of known size: taxi-like trips as CSV with a header line,
// partitioned by year folder (Drill's dir0). Deterministic, so counts are checkable.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';

export const YEARS = [2022, 2023, 2024, 2025];
const CITIES = ['Amsterdam', 'Berlin', 'Cairo', 'Dakar', 'Lima', 'Oslo', 'Perth', 'Quito'];
const HEADER = 'id,city,fare,distance,minutes\n';
const FILE_BYTES = 32 * 2 ** 20;

export interface Dataset {
  dir: string;
  bytes: number;
  rows: number;
  rowsPerYear: Record<number, number>;
}

/**
 * Writes about `bytes` of trips under `dir` (dir/<year>/part-N.csvh). Does nothing if
 * the same dataset is already there; the manifest is written last, so a partial one is redone.
 */
export async function ensureTrips(dir: string, bytes: number): Promise<Dataset> {
  const manifest = join(dir, '.dataset.json');
  if (existsSync(manifest)) {
    const existing = JSON.parse(await readFile(manifest, 'utf8')) as Dataset & { requested: number };
    if (existing.requested === bytes) return existing;
  }
  await rm(dir, { recursive: true, force: true });
  const perYear = Math.ceil(bytes / YEARS.length);
  const rowsPerYear: Record<number, number> = {};
  let total = 0;
  let rows = 0;
  let id = 0;
  for (const year of YEARS) {
    await mkdir(join(dir, String(year)), { recursive: true });
    let written = 0;
    let part = 0;
    rowsPerYear[year] = 0;
    while (written < perYear) {
      const target = Math.min(FILE_BYTES, perYear - written);
      const file = createWriteStream(join(dir, String(year), `part-${part++}.csvh`));
      let size = 0;
      let chunk = HEADER;
      while (size + chunk.length < target) {
        const line = tripLine(id++);
        chunk += line;
        rowsPerYear[year]++;
        if (chunk.length > 1 << 20) {
          size += chunk.length;
          if (!file.write(chunk)) await once(file, 'drain');
          chunk = '';
        }
      }
      size += chunk.length;
      file.end(chunk);
      await once(file, 'finish');
      written += size;
    }
    total += written;
    rows += rowsPerYear[year];
  }
  const dataset = { dir, bytes: total, rows, rowsPerYear };
  await writeFile(manifest, JSON.stringify({ ...dataset, requested: bytes }));
  return dataset;
}

function tripLine(id: number): string {
  const city = CITIES[id % CITIES.length];
  const fare = ((id * 7919) % 9000) / 100 + 3;
  const distance = ((id * 104729) % 3000) / 100;
  const minutes = (id * 31) % 90;
  return `${id},${city},${fare.toFixed(2)},${distance.toFixed(2)},${minutes}\n`;
}
