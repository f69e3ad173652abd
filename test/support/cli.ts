// Running the dromedar command as a user would, for tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../src/util/process.js';
import { DRILL_DIR } from './env.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The environment for a CLI run against `home` (the caller's DROMEDAR_CONFIG left out). */
export function cliEnv(home: string): NodeJS.ProcessEnv {
  const { DROMEDAR_CONFIG: _ignored, ...inherited } = process.env;
  return { ...inherited, DROMEDAR_HOME: home, DROMEDAR_DRILL_DIR: DRILL_DIR };
}

export function dromedar(env: NodeJS.ProcessEnv, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface Up {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** `dromedar up` in the background; resolves once it says where it listens. */
export async function startUp(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Up> {
  const child = spawn(process.execPath, [CLI, 'up', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /listening on (http:\/\/[\d.:]+)/.exec(log)?.[1];
    if (url) return { child, url, output: () => log };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dromedar up did not start:\n${log}`);
    await sleep(100);
  }
}
