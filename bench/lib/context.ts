// What every benchmark gets: the mode (smoke or full), a work folder for homes and
// data, the Drill runtime, a configuration maker, and the clusters shared across
// benchmarks (in smoke mode one gateway serves them all, so CI starts few JVMs).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { deepMerge, loadConfig, type Config } from '../../src/config/load.js';
import type { DrillRuntime } from '../../src/drill/install.js';
import type { Comparison, Summary } from './stats.js';
import { DirectCluster } from './direct.js';
import { GatewayProcess } from './gateway.js';
import type { LoadReport } from './machine.js';

export const DRILL_DIR = process.env.DROMEDAR_DRILL_DIR ?? join(homedir(), '.dromedar', 'drill-1.22.0');

export interface Target {
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
}

export interface BenchOutput {
  parameters: Record<string, unknown>;
  /** Every measured series, summarized (p50/p90/p99, min/max). */
  series: Record<string, Summary>;
  /** Ratios against the baseline measured in the same run. */
  comparisons: Comparison[];
  /** Targets of the issue, each with the measured value. */
  targets: Target[];
  /** Where the time goes (benchmark specific). */
  breakdown?: Record<string, unknown>;
  details?: Record<string, unknown>;
  notes: string[];
  /** A markdown section for summary.md. */
  markdown: string;
}

export interface BenchResult extends BenchOutput {
  name: string;
  title: string;
  smoke: boolean;
  startedAt: string;
  durationMs: number;
  load: LoadReport;
  error?: string;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutput>;
}

export class BenchContext {
  private direct: DirectCluster | null = null;
  private shared: GatewayProcess | null = null;
  private readonly gateways = new Set<GatewayProcess>();
  private serial = 0;

  constructor(
    readonly smoke: boolean,
    readonly outDir: string,
    readonly workDir: string,
    readonly runtime: DrillRuntime,
    readonly log: (line: string) => void,
  ) {
    mkdirSync(join(workDir, 'logs'), { recursive: true });
  }

  /** Where every dataset lives; the `data` workspace of every cluster points here. */
  get dataDir(): string {
    return join(this.workDir, 'data');
  }

  /** Drillbit memory: the shipped defaults, smaller in smoke mode. */
  get drillMemory(): { heap: string; directMemory: string } {
    return this.smoke ? { heap: '768M', directMemory: '1G' } : { heap: '1G', directMemory: '1536M' };
  }

  /** A fresh home (state folder) under the work folder. */
  newHome(label: string): string {
    const home = join(this.workDir, `${label}-${++this.serial}`);
    mkdirSync(home, { recursive: true });
    return home;
  }

  logFile(label: string): string {
    return join(this.workDir, 'logs', `${label}-${++this.serial}.log`);
  }

  /** Configuration overrides for a gateway or cluster of this run. */
  overrides(home: string, extra: Record<string, unknown> = {}): Record<string, unknown> & { home: string } {
    const base = {
      home,
      dataDir: this.dataDir,
      drill: { installDir: DRILL_DIR },
      server: { port: 0 },
      scheduler: { local: { clusterId: `bench-${process.pid}-${this.serial}`, ...this.drillMemory } },
    };
    return deepMerge(base, extra) as Record<string, unknown> & { home: string };
  }

  config(home: string, extra: Record<string, unknown> = {}): Config {
    return loadConfig({ env: {}, overrides: this.overrides(home, extra) });
  }

  /** Drillbits started directly (one ZooKeeper for the whole run). */
  async directCluster(): Promise<DirectCluster> {
    if (!this.direct) {
      const home = this.newHome('direct');
      const cluster = new DirectCluster(home, this.runtime, this.config(home), `bench-direct-${process.pid}`);
      await cluster.start();
      this.direct = cluster;
    }
    return this.direct;
  }

  async startGateway(label: string, extra: Record<string, unknown>, options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<GatewayProcess> {
    const home = this.newHome(label);
    const gateway = await GatewayProcess.start(this.overrides(home, extra), { logFile: this.logFile(label), ...options });
    this.gateways.add(gateway);
    return gateway;
  }

  async stopGateway(gateway: GatewayProcess): Promise<void> {
    await gateway.stop();
    this.gateways.delete(gateway);
    if (gateway === this.shared) this.shared = null;
  }

  /**
   * Smoke mode: the one gateway all benchmarks share (pool from zero, at most 2
   * Drillbits, short idle timeout for the shrink benchmark). Its first query
   * starts its first Drillbit, so the cold-start benchmark runs first.
   */
  async sharedGateway(): Promise<GatewayProcess> {
    if (!this.shared) {
      this.shared = await this.startGateway('shared', {
        sizing: { qsf: 1 },
        pool: { minDrillbits: 0, maxDrillbits: 2, idleTimeoutMs: SMOKE_IDLE_TIMEOUT_MS, queueTimeoutMs: 240_000 },
      });
    }
    return this.shared;
  }

  hasSharedGateway(): boolean {
    return this.shared !== null;
  }

  /** Pids of every JVM and gateway process this run started. */
  pids(): number[] {
    return [...(this.direct?.pids() ?? []), ...[...this.gateways].map((g) => g.pid)];
  }

  async close(): Promise<string[]> {
    const problems: string[] = [];
    for (const gateway of [...this.gateways]) {
      try {
        await this.stopGateway(gateway);
      } catch (err) {
        problems.push(`stopping gateway ${gateway.pid}: ${String(err)}`);
      }
    }
    try {
      await this.direct?.stop();
    } catch (err) {
      problems.push(`stopping direct Drillbits: ${String(err)}`);
    }
    this.direct = null;
    const left = jvmsMentioning(this.workDir);
    for (const pid of left) {
      problems.push(`JVM ${pid} outlived its benchmark; killed`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    return problems;
  }
}

export const SMOKE_IDLE_TIMEOUT_MS = 8_000;

/** Pids whose command line mentions `marker` (our work folder is in every JVM's -D flags). */
export function jvmsMentioning(marker: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}
