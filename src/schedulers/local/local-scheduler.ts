// The local scheduler: Drillbits as child processes of the gateway, on this machine,
// registered in an embedded ZooKeeper. Each Drillbit has its own folder under
// <home>/local/bits/<id> with its ports, pid, logs, tmp and spill space; the pid
// file lets a restarted gateway adopt (or reap) what an earlier one left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import type { DrillRuntime } from '../../drill/install.js';
import { DrillObserver, type Member } from '../../drill/observer.js';
import { drillbitArgs, drillOverrideConf, localDrillbitEnv, logbackXml, DRILLBIT_MAIN, profileStoreDir, type DrillbitLaunch } from '../../drill/launch.js';
import { storageOverrideConf, workspaces } from '../../storage/dfs.js';
import { DromedarError } from '../../util/errors.js';
import { readJsonFile, tail, writeAtomic } from '../../util/files.js';
import { freePort } from '../../util/net.js';
import { commandLine, isAlive, signal, terminate, waitForExit } from '../../util/process.js';
import type { Drillbit, Scheduler } from '../scheduler.js';
import { drillbitsThatFit } from './memory.js';
import { bwrapArgs, drillbitMounts, jdkOf, probeSandbox, sandboxedPid, SANDBOX_OFF_WARNING, sharedStateDirs, writeSandboxEtc } from './sandbox.js';
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
  /** How the process ended, when it was our child (adopted ones: unknown). */
  exit?: string;
  failure?: string;
  /** bwrap's own process, which waits for the sandboxed JVM (`pid`); none without the sandbox. */
  monitor?: number;
}

export interface LocalSchedulerOptions {
  log?: (line: string) => void;
  /** Warnings (the sandbox turned off); default: `log`. */
  warn?: (line: string) => void;
  /** What to do with Drillbits an earlier gateway left running: take them over, or stop them. */
  leftovers?: 'adopt' | 'reap';
}

type LocalConfig = Pick<Config, 'home' | 'dataDir' | 'storage' | 'scheduler' | 'pool'> & { drill?: Pick<Config['drill'], 'impersonation'> };

export class LocalScheduler implements Scheduler {
  readonly kind = 'local';
  readonly capacity: number;
  private readonly bits = new Map<string, LocalBit>();
  private readonly dir: string;
  private readonly zookeeper: EmbeddedZooKeeper;
  private readonly settings: LocalConfig['scheduler']['local'];
  private readonly drill = new DrillObserver();
  private nextId = 1;
  private started = false;
  /** bwrap's path once the sandbox is known to work; null with scheduler.local.sandbox false. */
  private bwrap: string | null = null;

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
    // Before anything starts: without a working sandbox no Drillbit starts (one line says why).
    if (this.settings.sandbox) this.bwrap = await probeSandbox();
    else (this.options.warn ?? this.options.log)?.(SANDBOX_OFF_WARNING);
    await mkdir(join(this.dir, 'bits'), { recursive: true });
    for (const dir of sharedStateDirs(this.dir)) await mkdir(dir, { recursive: true });
    await mkdir(this.config.dataDir, { recursive: true });
    const zkConnect = await this.zookeeper.start();
    await this.writeClusterConf(zkConnect);
    await this.takeOverLeftovers();
    this.started = true;
  }

  async list(): Promise<Drillbit[]> {
    const members: Member[] = [];
    for (const bit of [...this.bits.values()]) {
      const ended = bit.exited || !isAlive(bit.pid) || (bit.child === null && !(await this.isOurs(bit)));
      // Read once: the log tail of a process that has ended does not change.
      if (ended) bit.failure ??= `${bit.id} exited${bit.exit ? ` (${bit.exit})` : ''} without being stopped by the gateway; last log lines:\n${await this.logTail(bit)}`;
      members.push({
        id: bit.id,
        host: bit.host,
        userPort: bit.ports.user,
        controlPort: bit.ports.control,
        dataPort: bit.ports.data,
        httpPort: bit.ports.http,
        startedAt: bit.startedAt,
        status: ended ? 'ended' : 'running',
        ...(ended ? { failure: bit.failure } : {}),
      });
    }
    return this.drill.observe(members);
  }

  async launch(count: number): Promise<void> {
    this.assertStarted();
    for (let i = 0; i < count; i++) await this.spawn();
  }

  /** With an id: SIGTERM (Drill's shutdown hook), SIGKILL after 10 s, then its folder goes. Without: everything. */
  async stop(id?: string): Promise<void> {
    if (id !== undefined) {
      const bit = this.bits.get(id);
      if (!bit) return;
      // Forgotten first: a list() during the wait does not show it again.
      this.bits.delete(id);
      if (!bit.exited) await terminate(bit.pid, 10_000);
      await this.forget(bit);
      return;
    }
    await Promise.all([...this.bits.keys()].map((bitId) => this.stop(bitId)));
    await this.zookeeper.stop();
    this.started = false;
  }

  async repair(): Promise<string | null> {
    if (!this.started) return null;
    return (await this.zookeeper.ensure()) ? `restarted the embedded ZooKeeper on ${this.zookeeper.connectString}` : null;
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
      drillOverrideConf({ clusterId: this.settings.clusterId, zkConnect, stateDir: sharedStateDirs(this.dir)[0]!, profileStore: profileStoreDir(this.config.home), queriesPerDrillbit: this.config.pool.queriesPerDrillbit, impersonation: this.config.drill?.impersonation }),
    );
    await writeFile(join(confDir, 'logback.xml'), logbackXml());
    await writeFile(join(confDir, 'storage-plugins-override.conf'), storageOverrideConf(this.config));
  }

  private async spawn(): Promise<LocalBit> {
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
    const jdk = await jdkOf(this.runtime.java);
    const env = localDrillbitEnv(launch, jdk.home);
    const { child, pid } = await this.spawnDrillbit(jdk.java, drillbitArgs(launch), env, launch);
    const bit: LocalBit = { id, pid, host: launch.host, ports, startedAt: Date.now(), dir, child, exited: false, ...(child.pid !== pid ? { monitor: child.pid } : {}) };
    child.once('exit', (code, sig) => {
      bit.exited = true;
      bit.exit = describeExit(code, sig, bit.monitor !== undefined);
    });
    child.unref();
    this.bits.set(id, bit);
    const record: BitRecord = { id, pid: bit.pid, host: bit.host, ports, startedAt: bit.startedAt };
    await writeAtomic(join(dir, 'drillbit.json'), JSON.stringify(record, null, 2));
    this.options.log?.(`starting ${id} (pid ${bit.pid}, http ${ports.http}, user ${ports.user}${this.bwrap ? ', sandboxed' : ', NOT sandboxed'})`);
    return bit;
  }

  // The JVM, in its sandbox unless that is turned off; resolves to the JVM's own pid (the
  // one signalled, adopted and checked), which bwrap reports on its info fd.
  private async spawnDrillbit(java: string, args: string[], env: Record<string, string>, launch: DrillbitLaunch): Promise<{ child: ChildProcess; pid: number }> {
    const dir = launch.bitDir;
    const out = openSync(join(dir, 'log', 'stdout.log'), 'a');
    let child: ChildProcess;
    try {
      if (this.bwrap === null) {
        // Own process group: Ctrl-C reaches the gateway, which then drains the Drillbits in order.
        child = spawn(java, args, { cwd: dir, env, stdio: ['ignore', out, out], detached: true });
      } else {
        await writeSandboxEtc(dir);
        const mounts = await drillbitMounts({
          java,
          drillHome: this.runtime.home,
          confDir: launch.confDir,
          bitDir: dir,
          stateDirs: sharedStateDirs(this.dir),
          workspaces: [...workspaces(this.config).values()],
        });
        child = spawn(this.bwrap, bwrapArgs(mounts, { env, cwd: dir, infoFd: 3 }, java, args), { cwd: dir, env: {}, stdio: ['ignore', out, out, 'pipe'], detached: true });
      }
    } finally {
      closeSync(out);
    }
    if (child.pid === undefined) throw new DromedarError('drillbit_failed', `could not start ${this.bwrap ?? java}`);
    if (this.bwrap === null) return { child, pid: child.pid };
    try {
      return { child, pid: await sandboxedPid(child) };
    } catch (err) {
      const why = (await tail(join(dir, 'log', 'stdout.log'), 1)) || (err as Error).message;
      throw new DromedarError('drillbit_failed', `the Drillbit sandbox did not start: ${why.trim()}`);
    }
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

  private async logTail(bit: LocalBit): Promise<string> {
    const log = await tail(join(bit.dir, 'log', 'drillbit.log'), 15);
    const stdout = await tail(join(bit.dir, 'log', 'stdout.log'), 10);
    return [log, stdout].filter(Boolean).join('\n') || '(no log output)';
  }

  private async forget(bit: LocalBit): Promise<void> {
    // bwrap exits right after its JVM; wait for it so that no process of this Drillbit is left.
    if (bit.monitor !== undefined) await waitForExit(bit.monitor, 5_000);
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
        this.bits.set(id, { ...record, dir, child: null, exited: false });
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


// bwrap ends with 128 + the signal number when its JVM was killed by a signal (bubblewrap's
// propagate_exit_status): say so as for an unsandboxed JVM, the signal by its name.
function describeExit(code: number | null, sig: NodeJS.Signals | null, sandboxed: boolean): string {
  if (sig) return `signal ${sig}`;
  if (sandboxed && code !== null && code > 128) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return `signal ${name}`;
  }
  return `exit code ${code}`;
}
