// Shared test set-up: a fresh Dromedar home per test file, the one Drill install of
// this machine (made by `dromedar drill install`), and leak checks for JVMs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, deepMerge, type Config } from '../../src/config/load.js';
import { DrillObserver } from '../../src/drill/observer.js';
import type { Drillbit, Scheduler } from '../../src/schedulers/scheduler.js';
import { sleep } from '../../src/util/process.js';

export const DRILL_DIR = process.env.DROMEDAR_DRILL_DIR ?? join(homedir(), '.dromedar', 'drill-1.22.0');

/**
 * Drill 1.22's option catalog as `dromedar drill install` writes it (sys.options and
 * sys.internal_options of a Drillbit), kept under test/fixtures so that the unit tier needs
 * no Drill; test/install.test.ts checks it against the installed one.
 */
export const OPTION_CATALOG_FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'drill-1.22.0');

/** A config whose state lives in a new temp folder; `cleanup` removes it. */
export function testConfig(overrides: Record<string, unknown> = {}): Config & { cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), 'dromedar-test-'));
  const base = {
    home,
    dataDir: join(home, 'data'),
    drill: { installDir: DRILL_DIR },
    server: { port: 0 },
    scheduler: { local: { clusterId: `test-${process.pid}` } },
  };
  const config = loadConfig({ env: {}, overrides: deepMerge(base, overrides) });
  return { ...config, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** Pids of Drillbit and ZooKeeper JVMs whose command line mentions `marker` (e.g. a test's home). */
export function jvmsMentioning(marker: string): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== process.pid && !isSandboxMonitor(pid));
}

// bwrap waits for its sandboxed JVM and ends with it; its command line names the same
// folders. The JVM is what counts (a leaked bwrap is always beside a leaked JVM).
function isSandboxMonitor(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'bwrap';
  } catch {
    return false; // gone meanwhile
  }
}

export const silentLog = () => {};

/** Waits until `n` Drillbits are ONLINE; a FAILED one fails at once with its log. */
export async function waitOnline(scheduler: Pick<Scheduler, 'list'>, n: number, timeoutMs = 240_000): Promise<Drillbit[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bits = await scheduler.list();
    const failed = bits.find((b) => b.state === 'FAILED');
    if (failed) throw new Error(`Drillbit failed: ${failed.failure}`);
    const online = bits.filter((b) => b.state === 'ONLINE');
    if (online.length >= n) return online;
    if (Date.now() > deadline) throw new Error(`only ${online.length}/${n} ONLINE: ${JSON.stringify(bits)}`);
    await sleep(500);
  }
}

/**
 * Retires one Drillbit as the pool controller does: Drill's graceful shutdown, wait until
 * it has left Drill (or its process ended), then the scheduler stops it.
 */
export async function drain(scheduler: Pick<Scheduler, 'list' | 'stop'>, id: string, timeoutMs = 120_000): Promise<void> {
  const bit = (await scheduler.list()).find((b) => b.id === id);
  if (bit && (await new DrillObserver().retire(bit))) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = (await scheduler.list()).find((b) => b.id === id);
      if (!now || (now.state !== 'ONLINE' && now.state !== 'DRAINING') || Date.now() > deadline) break;
      await sleep(300);
    }
  }
  await scheduler.stop(id);
}
