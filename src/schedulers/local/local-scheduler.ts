// The local scheduler: Drillbits as child processes of the gateway, on this machine,
// registered in an embedded ZooKeeper. Each Drillbit has its own folder under
// <home>/local/bits/<id> with its ports, pid, logs, tmp and spill space; the pid
// file lets a restarted gateway adopt (or reap) what an earlier one left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { DrillClient, type ClusterDrillbit } from '../../drill/client.js';
import type { DrillRuntime } from '../../drill/install.js';
import { drillbitArgs, drillbitEnv, drillOverrideConf, logbackXml, DRILLBIT_MAIN, profileStoreDir, type DrillbitLaunch } from '../../drill/launch.js';
import { storageOverrideConf } from '../../storage/dfs.js';
import { DromedarError } from '../../util/errors.js';
import { readJsonFile, tail, writeAtomic } from '../../util/files.js';
import { freePort } from '../../util/net.js';
import { commandLine, isAlive, signal, terminate, waitForExit } from '../../util/process.js';
import type { Drillbit, Scheduler } from '../scheduler.js';
import { drillbitsThatFit } from './memory.js';
import { EmbeddedZooKeeper } from './zookeeper.js';

interface BitRecord {
  id: string;
  pid: number;
  host: string;
  ports: { user: number; control: number; data: number; http: number };
  startedAt: number;
}

interface LocalBit extends BitRecord {
  dir: string;
  child: ChildProcess | null;
  exited: boolean;
  draining: boolean;
  failure?: string;
}

export interface LocalSchedulerOptions {
  log?: (line: string) => void;
  /** What to do with Drillbits an earlier gateway left running: take them over, or stop them. */
  leftovers?: 'adopt' | 'reap';
  /** How long a Drillbit may take to come ONLINE before it counts as failed. */
  startTimeoutMs?: number;
  /** How long a drain may take before the Drillbit is terminated (a stuck query). */
  drainTimeoutMs?: number;
}

type LocalConfig = Pick<Config, 'home' | 'dataDir' | 'storage' | 'scheduler' | 'pool'> & { drill?: Pick<Config['drill'], 'impersonation'> };

export class LocalScheduler implements Scheduler {
  readonly kind = 'local';
  readonly capacity: number;
  private readonly bits = new Map<string, LocalBit>();
  private readonly dir: string;
  private readonly zookeeper: EmbeddedZooKeeper;
  private readonly settings: LocalConfig['scheduler']['local'];
  private nextId = 1;
  private started = false;

  constructor(
    private readonly config: LocalConfig,
    private readonly runtime: DrillRuntime,
    private readonly options: LocalSchedulerOptions = {},
  ) {
    this.settings = config.scheduler.local;
    this.dir = join(config.home, 'local');
    this.capacity = drillbitsThatFit(this.settings.heap, this.settings.directMemory);
    this.zookeeper = new EmbeddedZooKeeper(join(this.dir, 'zookeeper'), runtime, {
      port: this.settings.zookeeperPort,
      log: options.log,
    });
  }

  get zkConnect(): string {
    return this.zookeeper.connectString;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await mkdir(join(this.dir, 'bits'), { recursive: true });
    await mkdir(this.config.dataDir, { recursive: true });
    const zkConnect = await this.zookeeper.start();
    await this.writeClusterConf(zkConnect);
    await this.takeOverLeftovers();
    this.started = true;
  }

  async list(): Promise<Drillbit[]> {
    if (this.started) await this.zookeeper.ensure();
    const view = await this.clusterView();
    const out: Drillbit[] = [];
    for (const bit of [...this.bits.values()]) {
      const state = await this.observe(bit, view);
      if (state === 'GONE') continue;
      out.push({
        id: bit.id,
        host: bit.host,
        userPort: bit.ports.user,
        controlPort: bit.ports.control,
        dataPort: bit.ports.data,
        httpPort: bit.ports.http,
        state,
        startedAt: bit.startedAt,
        ...(bit.failure ? { failure: bit.failure } : {}),
      });
    }
    return out;
  }

  async scaleTo(n: number): Promise<void> {
    this.assertStarted();
    const active = [...this.bits.values()].filter((bit) => !bit.exited && !bit.draining && !bit.failure).length;
    const wanted = Math.min(n, this.capacity);
    for (let i = active; i < wanted; i++) await this.launch();
  }

  async drain(id: string): Promise<void> {
    const bit = this.bits.get(id);
    if (!bit || bit.exited) return;
    if (!bit.draining) {
      bit.draining = true;
      this.options.log?.(`draining ${id}`);
      try {
        await DrillClient.at(bit.host, bit.ports.http).gracefulShutdown();
      } catch {
        // Not reachable over HTTP (still starting, or wedged): SIGTERM runs the same shutdown hook.
        signal(bit.pid, 'SIGTERM');
      }
    }
    const drainTimeout = this.options.drainTimeoutMs ?? 15 * 60_000;
    if (!(await waitForExit(bit.pid, drainTimeout))) {
      this.options.log?.(`${id} did not finish draining in ${drainTimeout} ms; terminating it`);
      await terminate(bit.pid, 10_000);
    }
    await this.forget(bit);
  }

  async remove(id: string): Promise<void> {
    const bit = this.bits.get(id);
    if (!bit) return;
    await terminate(bit.pid, 10_000);
    await this.forget(bit);
  }

  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const bits = [...this.bits.values()];
    await Promise.all(bits.map((bit) => (options.graceful ? this.drain(bit.id) : this.remove(bit.id))));
    await this.zookeeper.stop();
    this.started = false;
  }

  /** Last resort on process exit: no JVM may outlive the gateway. Synchronous on purpose. */
  killAllNow(): void {
    for (const bit of this.bits.values()) signal(bit.pid, 'SIGKILL');
    const zk = this.zookeeper.pid;
    if (zk) signal(zk, 'SIGKILL');
  }

  /** Pids of every JVM this scheduler runs (for tests and status). */
  pids(): number[] {
    const zk = this.zookeeper.pid;
    return [...[...this.bits.values()].map((bit) => bit.pid), ...(zk ? [zk] : [])];
  }

  private assertStarted(): void {
    if (!this.started) throw new Error('LocalScheduler.start() has not run');
  }

  private async writeClusterConf(zkConnect: string): Promise<void> {
    const confDir = join(this.dir, 'conf');
    await mkdir(confDir, { recursive: true });
    await writeFile(
      join(confDir, 'drill-override.conf'),
      drillOverrideConf({ clusterId: this.settings.clusterId, zkConnect, stateDir: join(this.dir, 'cluster'), profileStore: profileStoreDir(this.config.home), queriesPerDrillbit: this.config.pool.queriesPerDrillbit, impersonation: this.config.drill?.impersonation }),
    );
    await writeFile(join(confDir, 'logback.xml'), logbackXml());
    await writeFile(join(confDir, 'storage-plugins-override.conf'), storageOverrideConf(this.config));
  }

  private async launch(): Promise<LocalBit> {
    const id = `bit-${this.nextId++}`;
    const dir = join(this.dir, 'bits', id);
    for (const sub of ['log', 'tmp', 'spill']) await mkdir(join(dir, sub), { recursive: true });
    const ports = await this.freePorts();
    const launch: DrillbitLaunch = {
      runtime: this.runtime,
      confDir: join(this.dir, 'conf'),
      bitDir: dir,
      host: this.settings.host,
      ports,
      heap: this.settings.heap,
      directMemory: this.settings.directMemory,
      jvmOptions: this.settings.jvmOptions,
    };
    const out = openSync(join(dir, 'log', 'stdout.log'), 'a');
    // Own process group: Ctrl-C reaches the gateway, which then drains the Drillbits in order.
    const child = spawn(this.runtime.java, drillbitArgs(launch), { cwd: dir, env: drillbitEnv(launch), stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    if (child.pid === undefined) throw new DromedarError('drillbit_failed', `could not start ${this.runtime.java}`);
    const bit: LocalBit = { id, pid: child.pid, host: launch.host, ports, startedAt: Date.now(), dir, child, exited: false, draining: false };
    child.once('exit', () => (bit.exited = true));
    child.unref();
    this.bits.set(id, bit);
    const record: BitRecord = { id, pid: bit.pid, host: bit.host, ports, startedAt: bit.startedAt };
    await writeAtomic(join(dir, 'drillbit.json'), JSON.stringify(record, null, 2));
    this.options.log?.(`starting ${id} (pid ${bit.pid}, http ${ports.http}, user ${ports.user})`);
    return bit;
  }

  private async freePorts(): Promise<BitRecord['ports']> {
    const taken = new Set(Array.from(this.bits.values(), (bit) => Object.values(bit.ports)).flat());
    const pick = async (): Promise<number> => {
      for (;;) {
        const port = await freePort(this.settings.host);
        if (!taken.has(port)) {
          taken.add(port);
          return port;
        }
      }
    };
    return { user: await pick(), control: await pick(), data: await pick(), http: await pick() };
  }

  // One /cluster.json read serves every Drillbit: they all see the same ZooKeeper.
  private async clusterView(): Promise<ClusterDrillbit[] | null> {
    const candidates = [...this.bits.values()].filter((bit) => !bit.exited).sort((a, b) => a.startedAt - b.startedAt);
    for (const bit of candidates) {
      try {
        return (await new DrillClient(`http://${bit.host}:${bit.ports.http}`, 2_000).cluster()).drillbits;
      } catch {
        /* not serving HTTP yet; ask the next one */
      }
    }
    return null;
  }

  private async observe(bit: LocalBit, view: ClusterDrillbit[] | null): Promise<Drillbit['state'] | 'GONE'> {
    const alive = !bit.exited && isAlive(bit.pid) && !(bit.child === null && !(await this.isOurs(bit)));
    if (!alive) {
      bit.exited = true;
      if (bit.draining) {
        await this.forget(bit);
        return 'GONE';
      }
      bit.failure ??= `${bit.id} exited unexpectedly; last log lines:\n${await this.logTail(bit)}`;
      return 'FAILED';
    }
    if (bit.failure) return 'FAILED';
    if (bit.draining) return 'DRAINING';
    const entry = view?.find((d) => d.address === bit.host && Number(d.userPort) === bit.ports.user);
    if (entry?.state === 'ONLINE') return 'ONLINE';
    if (entry && entry.state !== 'STARTUP') return 'DRAINING';
    const startTimeout = this.options.startTimeoutMs ?? this.config.pool.startTimeoutMs;
    if (Date.now() - bit.startedAt > startTimeout) {
      bit.failure = `${bit.id} did not come ONLINE within ${startTimeout} ms; last log lines:\n${await this.logTail(bit)}`;
      await terminate(bit.pid, 5_000);
      return 'FAILED';
    }
    return 'STARTING';
  }

  private async logTail(bit: LocalBit): Promise<string> {
    const log = await tail(join(bit.dir, 'log', 'drillbit.log'), 15);
    const stdout = await tail(join(bit.dir, 'log', 'stdout.log'), 10);
    return [log, stdout].filter(Boolean).join('\n') || '(no log output)';
  }

  private async forget(bit: LocalBit): Promise<void> {
    this.bits.delete(bit.id);
    await rm(bit.dir, { recursive: true, force: true });
  }

  private async isOurs(bit: Pick<LocalBit, 'pid' | 'dir'>): Promise<boolean> {
    if (!isAlive(bit.pid)) return false;
    const cmd = await commandLine(bit.pid);
    return cmd !== null && cmd.includes(DRILLBIT_MAIN) && cmd.includes(join(bit.dir, 'log'));
  }

  // Drillbits whose pid files outlived a gateway: adopt the live ones (or stop them,
  // by policy) and clear the folders of dead ones.
  private async takeOverLeftovers(): Promise<void> {
    const root = join(this.dir, 'bits');
    const ids = existsSync(root) ? await readdir(root) : [];
    for (const id of ids) {
      const dir = join(root, id);
      const number = Number(/^bit-(\d+)$/.exec(id)?.[1] ?? 0);
      this.nextId = Math.max(this.nextId, number + 1);
      const record = await readJsonFile<BitRecord>(join(dir, 'drillbit.json'));
      const live = record !== null && (await this.isOurs({ pid: record.pid, dir }));
      if (live && (this.options.leftovers ?? this.settings.leftovers) === 'adopt') {
        this.bits.set(id, { ...record, dir, child: null, exited: false, draining: false });
        this.options.log?.(`adopted ${id} (pid ${record.pid}) from an earlier gateway`);
        continue;
      }
      if (live) {
        this.options.log?.(`stopping ${id} (pid ${record.pid}) left by an earlier gateway`);
        await terminate(record.pid, 10_000);
      }
      await rm(dir, { recursive: true, force: true });
    }
  }
}
