// The gateway under test, as a child process (bench/gateway-process.ts): its RSS
// and CPU are its own, and stopping it stops the Drillbits and ZooKeeper it runs.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { commandLine, isAlive, sleep, terminate } from '../../src/util/process.js';
import { getJson } from './http.js';

const ENTRY = fileURLToPath(new URL('../gateway-process.js', import.meta.url));

export interface ClusterView {
  desired: number;
  drillbits: { id: string; address: string; httpPort: number; userPort: number; state: string }[];
  events: { at: string; from: number; to: number; reason: string }[];
}

export interface GatewayProcessOptions {
  /** Where the child's stdout/stderr (its JSON log lines) go. */
  logFile: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export class GatewayProcess {
  private exited = false;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly home: string,
    readonly logFile: string,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(overrides: Record<string, unknown> & { home: string }, options: GatewayProcessOptions): Promise<GatewayProcess> {
    const out = openSync(options.logFile, 'a');
    const child = fork(ENTRY, [JSON.stringify(overrides)], {
      stdio: ['ignore', out, out, 'ipc'],
      execArgv: options.execArgv ?? [],
      env: { ...process.env, ...options.env },
    });
    closeSync(out);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway process did not start within ${options.startTimeoutMs ?? 120_000} ms (log: ${options.logFile})`)), options.startTimeoutMs ?? 120_000);
      child.on('message', (m: { type?: string; url?: string }) => {
        if (m?.type === 'ready' && m.url) {
          clearTimeout(timer);
          resolve(m.url);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`gateway process exited with ${code} during start-up (log: ${options.logFile})`));
      });
    });
    return new GatewayProcess(child, url, overrides.home, options.logFile);
  }

  /** Sends an IPC message and waits for the reply of type `reply`. */
  ask(message: Record<string, unknown>, reply: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', onMessage);
        reject(new Error(`gateway process: no ${reply} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (m: { type?: string }) => {
        if (m?.type !== reply) return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        resolve(m as Record<string, unknown>);
      };
      this.child.on('message', onMessage);
      this.child.send(message);
    });
  }

  cluster(): Promise<ClusterView> {
    return getJson<ClusterView>(`${this.url}/v1/cluster`);
  }

  /** Waits until `n` Drillbits are ONLINE (e.g. a pool with minDrillbits). */
  async waitOnline(n: number, timeoutMs = 300_000): Promise<ClusterView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.cluster();
      if (view.drillbits.filter((b) => b.state === 'ONLINE').length >= n) return view;
      if (Date.now() > deadline) throw new Error(`gateway: only ${JSON.stringify(view.drillbits)} after ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  /** The pid files of the Drillbits this gateway's local scheduler runs, by id. */
  async drillbitRecords(): Promise<Map<string, { id: string; pid: number; startedAt: number; dir: string }>> {
    const root = join(this.home, 'local', 'bits');
    const out = new Map<string, { id: string; pid: number; startedAt: number; dir: string }>();
    for (const id of await readdir(root).catch(() => [] as string[])) {
      try {
        const record = JSON.parse(await readFile(join(root, id, 'drillbit.json'), 'utf8')) as { pid: number; startedAt: number };
        out.set(id, { id, pid: record.pid, startedAt: record.startedAt, dir: join(root, id) });
      } catch {
        /* being written or removed */
      }
    }
    return out;
  }

  /** Stops the gateway (and, through it, its Drillbits and ZooKeeper); kills it if it hangs. */
  async stop(timeoutMs = 120_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => (this.exited ? resolve() : this.child.once('exit', () => resolve())));
    try {
      this.child.send({ type: 'stop' });
    } catch {
      this.child.kill('SIGTERM');
    }
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    if ((await Promise.race([gone.then(() => 'done' as const), timer])) === 'timeout') {
      this.child.kill('SIGKILL');
      await gone;
    }
    // The exit guard kills the JVMs on exit; make sure of it.
    for (const record of (await this.drillbitRecords()).values()) if (isAlive(record.pid)) await terminate(record.pid, 5_000);
    try {
      const zk = JSON.parse(await readFile(join(this.home, 'local', 'zookeeper', 'zookeeper.json'), 'utf8')) as { pid: number };
      if (isAlive(zk.pid) && ((await commandLine(zk.pid)) ?? '').includes(this.home)) await terminate(zk.pid, 5_000);
    } catch {
      /* no ZooKeeper state left: it stopped */
    }
  }
}

const PROXY_ENTRY = fileURLToPath(new URL('../passthrough-proxy.js', import.meta.url));

/** A minimal Node pass-through to `target` (bench/passthrough-proxy.ts) in its own process. */
export async function startProxy(target: string, logFile: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const out = openSync(logFile, 'a');
  const child = fork(PROXY_ENTRY, [target], { stdio: ['ignore', out, out, 'ipc'] });
  closeSync(out);
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: { type?: string; url?: string }) => m?.type === 'ready' && m.url && resolve(m.url));
    child.once('exit', (code) => reject(new Error(`pass-through proxy exited with ${code} (log: ${logFile})`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
