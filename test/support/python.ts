// Python clients for the tests (sqlalchemy-drill, trino, marathon-python, tpchgen-cli ...):
// each set of requirements gets its own virtual environment, made with the machine's
// python3 and filled from PyPI, and kept between runs under ~/.cache/dromedar/venvs
// (DROMEDAR_VENV_DIR) keyed by the requirements and the Python version. An interrupted
// build is never taken for a finished one, and two test processes wanting the same venv
// at once build it once.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface PythonEnv {
  /** The venv's python executable. */
  python: string;
  /** The venv's folder (its bin/ holds the installed console scripts). */
  dir: string;
  bin(name: string): string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const MARKER = '.dromedar-venv.json';

export function venvRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.DROMEDAR_VENV_DIR ?? join(homedir(), '.cache', 'dromedar', 'venvs');
}

/** A venv holding exactly `requirements` (pip specifiers, pinned), made once and reused. */
export async function pythonEnv(name: string, requirements: string[]): Promise<PythonEnv> {
  const version = await run('python3', ['-c', 'import sys; print(sys.version)']);
  if (version.code !== 0) throw new Error(`python3 is needed for the ${name} client tests: ${version.stderr.trim() || 'not found'}`);
  const key = createHash('sha256').update(`${version.stdout.trim()}\n${[...requirements].sort().join('\n')}`).digest('hex').slice(0, 12);
  const dir = join(venvRoot(), `${name}-${key}`);
  const made: PythonEnv = { python: join(dir, 'bin', 'python'), dir, bin: (bin) => join(dir, 'bin', bin) };
  await mkdir(venvRoot(), { recursive: true });
  // A venv is not relocatable (its scripts name its path), so it is built in place, under
  // a lock folder holding the builder's pid; the marker, written last, says it is complete.
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(join(dir, MARKER))) return made;
    try {
      await mkdir(lock);
      break;
    } catch {
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (holder > 0 && !isAlive(holder)) await rm(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
  try {
    await writeFile(join(lock, 'pid'), String(process.pid));
    await rm(dir, { recursive: true, force: true });
    await must(run('python3', ['-m', 'venv', dir]), `python3 -m venv ${dir}`);
    const pip = join(dir, 'bin', 'pip');
    await must(run(pip, ['install', '--disable-pip-version-check', '--no-input', '-q', ...requirements], { timeoutMs: 900_000 }), `pip install ${requirements.join(' ')}`);
    await writeFile(join(dir, MARKER), JSON.stringify({ requirements, python: version.stdout.trim(), builtAt: new Date().toISOString() }, null, 2));
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
  return made;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function must(result: Promise<RunResult>, what: string): Promise<RunResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`);
  return r;
}

/** Runs a program to its end, collecting its output; never rejects (a missing program gives code null). */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : null;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a Python script (its text) in the venv with `args`; stdout is usually JSON the test reads. */
export function runPython(env: PythonEnv, script: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(env.python, ['-c', script, ...args], { env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env }, timeoutMs: options.timeoutMs ?? 300_000 });
}
