// Drillbits started directly, without the gateway or the pool: the baseline of the
// cold-start and start-up benchmarks. Same launch.ts arguments the local scheduler
// uses, its own ZooKeeper and configuration folder, and a fast readiness probe
// (/cluster.json every few ms), so "ONLINE" is seen as early as it can be.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import type { Config } from '../../src/config/load.js';
import type { DrillRuntime } from '../../src/drill/install.js';
import { drillbitArgs, drillOverrideConf, localDrillbitEnv, logbackXml, type DrillbitLaunch } from '../../src/drill/launch.js';
import { bwrapArgs, drillbitMounts, jdkOf, probeSandbox, sandboxedPid, writeSandboxEtc } from '../../src/schedulers/local/sandbox.js';
import { workspaces } from '../../src/storage/dfs.js';
import { EmbeddedZooKeeper } from '../../src/schedulers/local/zookeeper.js';
import { storageOverrideConf } from '../../src/storage/dfs.js';
import { freePort } from '../../src/util/net.js';
import { isAlive, sleep, terminate } from '../../src/util/process.js';

export interface DirectLaunchOptions {
  /** Extra JVM options, appended as the local scheduler appends `jvmOptions`. */
  jvmOptions?: string[];
  /** Rewrites the final argv (e.g. to swap the GC flag, which cannot be given twice). */
  transformArgs?: (args: string[]) => string[];
  /** Extra HOCON appended to this Drillbit's drill-override.conf (its own conf folder then). */
  extraConf?: string;
  heap?: string;
  directMemory?: string;
  /** Use the installation's class-data archive (launch.ts default: yes, when there is one). */
  cds?: boolean;
  /** In the local scheduler's bubblewrap sandbox (src/schedulers/local/sandbox.ts); default: no. */
  sandbox?: boolean;
  /** Readiness probe period. */
  pollMs?: number;
  timeoutMs?: number;
}

export interface StartTiming {
  /** spawn -> the JVM's first log line (JVM start, class loading up to logback). */
  firstLogMs: number | null;
  /** Drill's own "Startup completed (N ms)". */
  drillStartupMs: number | null;
  /** spawn -> the "Startup completed" line. */
  startupCompletedAtMs: number | null;
  /** spawn -> ONLINE in /cluster.json as seen by the probe. */
  onlineMs: number;
  /** spawn -> HTTP answering at all. */
  httpUpMs: number | null;
}

export interface DirectBit {
  pid: number;
  dir: string;
  httpPort: number;
  userPort: number;
  spawnedAt: number;
  args: string[];
  timing?: StartTiming;
  stop(): Promise<void>;
}

/** A ZooKeeper and a configuration folder; Drillbits are launched into it one by one. */
export class DirectCluster {
  private readonly zookeeper: EmbeddedZooKeeper;
  private zkConnect = '';
  private nextId = 1;
  readonly bits = new Set<DirectBit>();

  constructor(
    readonly home: string,
    readonly runtime: DrillRuntime,
    readonly config: Pick<Config, 'dataDir' | 'storage' | 'scheduler' | 'pool'>,
    readonly clusterId = `bench-direct-${process.pid}`,
  ) {
    this.zookeeper = new EmbeddedZooKeeper(join(home, 'zookeeper'), runtime, {});
  }

  get zookeeperPid(): number | null {
    return this.zookeeper.pid;
  }

  async start(): Promise<void> {
    await mkdir(this.home, { recursive: true });
    await mkdir(this.config.dataDir, { recursive: true });
    this.zkConnect = await this.zookeeper.start();
    await this.writeConf(join(this.home, 'conf'), '');
  }

  private async writeConf(dir: string, extra: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const conf = drillOverrideConf({ clusterId: this.clusterId, zkConnect: this.zkConnect, stateDir: join(this.home, 'cluster'), queriesPerDrillbit: this.config.pool.queriesPerDrillbit });
    await writeFile(join(dir, 'drill-override.conf'), conf + (extra ? `\n${extra}\n` : ''));
    await writeFile(join(dir, 'logback.xml'), logbackXml());
    await writeFile(join(dir, 'storage-plugins-override.conf'), storageOverrideConf(this.config));
  }

  /** The argv launch.ts gives a Drillbit of this cluster (for reports). */
  async launch(options: DirectLaunchOptions = {}): Promise<DirectBit> {
    const id = `direct-${this.nextId++}`;
    const dir = join(this.home, 'bits', id);
    for (const sub of ['log', 'tmp', 'spill']) await mkdir(join(dir, sub), { recursive: true });
    let confDir = join(this.home, 'conf');
    if (options.extraConf) {
      confDir = join(dir, 'conf');
      await this.writeConf(confDir, options.extraConf);
    }
    const ports = { user: await freePort(), control: await freePort(), data: await freePort(), http: await freePort() };
    const local = this.config.scheduler.local;
    const launch: DrillbitLaunch = {
      runtime: this.runtime,
      confDir,
      bitDir: dir,
      host: '127.0.0.1',
      ports,
      heap: options.heap ?? local.heap,
      directMemory: options.directMemory ?? local.directMemory,
      jvmOptions: [...local.jvmOptions, ...(options.jvmOptions ?? [])],
      ...(options.cds === undefined ? {} : { cds: options.cds }),
    };
    let args = drillbitArgs(launch);
    if (options.transformArgs) args = options.transformArgs(args);
    const jdk = await jdkOf(this.runtime.java);
    const env = localDrillbitEnv(launch, jdk.home);
    const out = openSync(join(dir, 'log', 'stdout.log'), 'a');
    let spawnedAt: number;
    let pid: number;
    if (options.sandbox) {
      // As the local scheduler does it; the clock starts before the sandbox is made.
      const bwrap = await probeSandbox();
      spawnedAt = Date.now();
      await writeSandboxEtc(dir);
      const mounts = await drillbitMounts({ java: jdk.java, drillHome: this.runtime.home, confDir, bitDir: dir, stateDirs: [join(this.home, 'cluster')], workspaces: [...workspaces(this.config).values()] });
      const child = spawn(bwrap, bwrapArgs(mounts, { env, cwd: dir, infoFd: 3 }, jdk.java, args), { cwd: dir, env: {}, stdio: ['ignore', out, out, 'pipe'], detached: true });
      closeSync(out);
      child.unref();
      pid = await sandboxedPid(child);
    } else {
      spawnedAt = Date.now();
      const child = spawn(jdk.java, args, { cwd: dir, env, stdio: ['ignore', out, out], detached: true });
      closeSync(out);
      child.unref();
      pid = child.pid!;
    }
    const bit: DirectBit = {
      pid,
      dir,
      httpPort: ports.http,
      userPort: ports.user,
      spawnedAt,
      args,
      stop: async () => {
        await terminate(pid, 15_000);
        this.bits.delete(bit);
      },
    };
    this.bits.add(bit);
    return bit;
  }

  /** Launch and wait until the Drillbit is ONLINE in its own /cluster.json. */
  async startBit(options: DirectLaunchOptions = {}): Promise<DirectBit> {
    const bit = await this.launch(options);
    bit.timing = await waitOnline(bit, options.pollMs ?? 10, options.timeoutMs ?? 180_000);
    return bit;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.bits].map((bit) => bit.stop()));
    await this.zookeeper.stop();
  }

  pids(): number[] {
    return [...[...this.bits].map((b) => b.pid), ...(this.zookeeper.pid ? [this.zookeeper.pid] : [])];
  }
}

export async function waitOnline(bit: DirectBit, pollMs: number, timeoutMs: number): Promise<StartTiming> {
  const deadline = bit.spawnedAt + timeoutMs;
  let httpUp: number | null = null;
  for (;;) {
    try {
      const res = await request(`http://127.0.0.1:${bit.httpPort}/cluster.json`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
      const now = Date.now();
      httpUp ??= now;
      if (res.statusCode === 200) {
        const body = (await res.body.json()) as { drillbits: { userPort: string; state: string }[] };
        const me = body.drillbits.find((d) => Number(d.userPort) === bit.userPort);
        if (me?.state === 'ONLINE') {
          const log = await parseDrillbitLog(join(bit.dir, 'log', 'drillbit.log'));
          return {
            onlineMs: now - bit.spawnedAt,
            httpUpMs: httpUp - bit.spawnedAt,
            firstLogMs: log.firstAt === null ? null : log.firstAt - bit.spawnedAt,
            drillStartupMs: log.startupMs,
            startupCompletedAtMs: log.completedAt === null ? null : log.completedAt - bit.spawnedAt,
          };
        }
      } else {
        await res.body.dump();
      }
    } catch {
      /* not listening yet */
    }
    if (!isAlive(bit.pid)) {
      const tail = await readFile(join(bit.dir, 'log', 'stdout.log'), 'utf8').catch(() => '');
      throw new Error(`Drillbit ${bit.pid} exited during start-up: ${tail.slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`Drillbit ${bit.pid} not ONLINE within ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

export interface DrillbitLogFacts {
  /** Wall-clock ms of the first line. */
  firstAt: number | null;
  /** Wall-clock ms of "Startup completed". */
  completedAt: number | null;
  /** Drill's own start-up duration from that line. */
  startupMs: number | null;
  lines: { at: number; text: string }[];
}

// logback's ISO8601: 2025-11-26 12:00:00,123 (local time).
const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) (.*)$/;

export async function parseDrillbitLog(file: string): Promise<DrillbitLogFacts> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines: { at: number; text: string }[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    const at = new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime();
    lines.push({ at, text: m[8]! });
  }
  const done = lines.find((l) => /Startup completed in (\d+) ms/.test(l.text));
  return {
    firstAt: lines[0]?.at ?? null,
    completedAt: done?.at ?? null,
    startupMs: done ? Number(/Startup completed in (\d+) ms/.exec(done.text)![1]) : null,
    lines,
  };
}

// Markers in drillbit.log; each phase ends at its marker (a missing one merges into the next).
const PHASES: { name: string; re: RegExp }[] = [
  { name: 'drill-config', re: /Configuration and plugin file\(s\) identified/ },
  { name: 'drill-construct', re: /Construction completed/ },
  { name: 'function-registry', re: /Function registry loaded/ },
  { name: 'storage-plugins', re: /RemoteFunctionRegistry - Preparing|WebServer - Will write|Setting up HTTP connector/ },
  { name: 'remote-udf', re: /WebServer - Will write|Setting up HTTP connector/ },
  { name: 'web-server', re: /Startup completed in/ },
];

/**
 * Where a Drillbit's start-up went, in ms: JVM start to the first log line, then the
 * phases Drill logs, then until it is seen ONLINE (`onlineAt`, wall clock).
 */
export function startupPhases(log: DrillbitLogFacts, spawnedAt: number, onlineAt: number | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (log.firstAt === null) return out;
  out['jvm-start'] = log.firstAt - spawnedAt;
  let last = log.firstAt;
  for (const phase of PHASES) {
    const line = log.lines.find((l) => l.at >= last && phase.re.test(l.text));
    if (!line) continue;
    out[phase.name] = line.at - last;
    last = line.at;
  }
  if (onlineAt !== null) out['registration'] = Math.max(0, onlineAt - last);
  return out;
}
