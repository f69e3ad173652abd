// The embedded ZooKeeper of the local mode: one standalone server per Dromedar
// home, run from the ZooKeeper jar that ships with Drill, on a loopback port.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir as mkdirAsync, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { classpath, logbackXml } from '../../drill/launch.js';
import type { DrillRuntime } from '../../drill/install.js';
import { DromedarError } from '../../util/errors.js';
import { readJsonFile, tail, writeAtomic } from '../../util/files.js';
import { freePort } from '../../util/net.js';
import { commandLine, isAlive, sleep, terminate } from '../../util/process.js';

const MAIN = 'org.apache.zookeeper.server.ZooKeeperServerMain';

interface State {
  pid: number;
  port: number;
}

export class EmbeddedZooKeeper {
  private state: State | null = null;

  constructor(
    private readonly dir: string,
    private readonly runtime: Pick<DrillRuntime, 'home' | 'java'>,
    private readonly options: { port?: number; log?: (line: string) => void; startTimeoutMs?: number } = {},
  ) {}

  get connectString(): string {
    if (!this.state) throw new Error('ZooKeeper is not running');
    return `127.0.0.1:${this.state.port}`;
  }

  get pid(): number | null {
    return this.state?.pid ?? null;
  }

  /** Starts ZooKeeper, or reuses the one this home already runs. Returns the connect string. */
  async start(): Promise<string> {
    const previous = await readJsonFile<State>(this.stateFile);
    if (previous && (await this.isOurs(previous.pid)) && (await ruok(previous.port))) {
      this.state = previous;
      this.options.log?.(`reusing ZooKeeper at 127.0.0.1:${previous.port} (pid ${previous.pid})`);
      return this.connectString;
    }
    if (previous && (await this.isOurs(previous.pid))) await terminate(previous.pid, 5_000);
    return this.launch(this.options.port || (await freePort()));
  }

  /** Restarts ZooKeeper on its port if it died (the Drillbits know it by that port). */
  async ensure(): Promise<boolean> {
    if (!this.state || isAlive(this.state.pid)) return false;
    this.options.log?.(`ZooKeeper (pid ${this.state.pid}) is gone; restarting it on port ${this.state.port}`);
    await this.launch(this.state.port);
    return true;
  }

  async stop(): Promise<void> {
    const state = this.state ?? (await readJsonFile<State>(this.stateFile));
    this.state = null;
    if (state && (await this.isOurs(state.pid))) await terminate(state.pid, 10_000);
    await rm(this.stateFile, { force: true });
  }

  private get stateFile(): string {
    return join(this.dir, 'zookeeper.json');
  }

  private async launch(port: number): Promise<string> {
    const dataDir = join(this.dir, 'data');
    await mkdirAsync(dataDir, { recursive: true });
    const confDir = join(this.dir, 'conf');
    await mkdirAsync(confDir, { recursive: true });
    await writeFile(join(confDir, 'logback.xml'), logbackXml());
    await writeFile(
      join(this.dir, 'zoo.cfg'),
      [
        'tickTime=1000',
        // Drill asks for Curator's 60 s session; a crashed Drillbit stays registered (and
        // gets fragments planned onto it) until its session expires, so keep that short.
        'minSessionTimeout=2000',
        'maxSessionTimeout=10000',
        `dataDir=${dataDir}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr',
        'maxClientCnxns=0',
        'autopurge.purgeInterval=1',
      ].join('\n') + '\n',
    );
    const logFile = join(this.dir, 'zookeeper.log');
    const out = openSync(join(this.dir, 'zookeeper.out'), 'a');
    const child = spawn(
      this.runtime.java,
      ['-Xmx256m', `-Dlog.path=${logFile}`, `-Ddromedar.home=${this.dir}`, '-cp', classpath(this.runtime.home, confDir), MAIN, join(this.dir, 'zoo.cfg')],
      { stdio: ['ignore', out, out], detached: true },
    );
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new DromedarError('zookeeper_failed', `could not start ZooKeeper with ${this.runtime.java}`);
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    while (Date.now() < deadline && !exited) {
      if (await ruok(port)) {
        this.state = { pid, port };
        await writeAtomic(this.stateFile, JSON.stringify(this.state));
        this.options.log?.(`ZooKeeper up at 127.0.0.1:${port} (pid ${pid})`);
        return this.connectString;
      }
      await sleep(200);
    }
    await terminate(pid, 2_000);
    const why = exited ? 'exited during start-up' : 'did not answer in time';
    throw new DromedarError('zookeeper_failed', `ZooKeeper ${why} on port ${port}; last log lines:\n${await tail(logFile, 20)}`);
  }

  // A pid from the state file is ours only if that process is still our ZooKeeper
  // (pids get reused after a reboot or a long time).
  private async isOurs(pid: number): Promise<boolean> {
    if (!isAlive(pid)) return false;
    const cmd = await commandLine(pid);
    return cmd !== null && cmd.includes(MAIN) && cmd.includes(`-Ddromedar.home=${this.dir}`);
  }
}

/** ZooKeeper's four-letter health check. */
export function ruok(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => done(answer === 'imok'));
    socket.on('error', () => done(false));
  });
}

