// The README's configuration table lists every setting of the zod schema, and nothing else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

// Leaves of the schema: nested objects are walked; records, arrays and unions are one setting.
function settings(schema: z.ZodType, prefix = ''): string[] {
  let node = schema;
  for (;;) {
    const def = node._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType> };
    if (WRAPPERS.has(def.type)) node = def.innerType!;
    else if (def.type === 'pipe') node = def.in!;
    else if (def.type === 'object') return Object.entries(def.shape!).flatMap(([key, value]) => settings(value, prefix ? `${prefix}.${key}` : key));
    else return [prefix];
  }
}

// First column of the table under "## Configuration": `a.b.c`, `d` means a.b.c and a.b.d.
function documented(markdown: string): string[] {
  const section = markdown.slice(markdown.indexOf('\n## Configuration'));
  const rows = section.slice(0, section.indexOf('\n## ', 1)).split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => {
    const cell = row.split('|')[1]!;
    let parent = '';
    return [...cell.matchAll(/`([^`]+)`/g)].map(([, name]) => {
      if (name!.includes('.')) {
        parent = name!.slice(0, name!.lastIndexOf('.') + 1);
        return name!;
      }
      return parent + name;
    });
  });
}

test('the README config table lists every setting in src/config/schema.ts, and only those', () => {
  const inSchema = settings(configSchema as unknown as z.ZodType);
  const inReadme = documented(readFileSync(README, 'utf8'));
  assert.ok(inSchema.length > 50 && inSchema.includes('pool.queueTimeoutMs'), 'the schema walk found the settings');
  assert.deepEqual(inSchema.filter((key) => !inReadme.includes(key)), [], 'settings missing from the README table');
  assert.deepEqual(inReadme.filter((key) => !inSchema.includes(key)), [], 'README rows that are no setting');
  assert.equal(new Set(inReadme).size, inReadme.length, 'each setting once');
});
