// The machine a benchmark ran on, and how busy it was meanwhile: other engineers
// run Drillbits on the same 2 cores, so every result carries the load it saw.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  freeG: string;
  node: string;
  java: string;
  kernel: string;
}

export function machineInfo(java = 'java'): MachineInfo {
  const cpuinfo = safe(() => readFileSync('/proc/cpuinfo', 'utf8'), '');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const javaVersion = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim() || 'unknown';
  return {
    nproc: Number(safe(() => execFileSync('nproc', { encoding: 'utf8' }).trim(), String(cpus().length))),
    cpuModel: model.trim(),
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeG: safe(() => execFileSync('free', ['-g'], { encoding: 'utf8' }).trim(), ''),
    node: process.version,
    java: javaVersion.split('\n').filter(Boolean).join(' | '),
    kernel: safe(() => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), ''),
  };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

interface CpuTimes {
  busy: number;
  total: number;
}

function cpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

export interface LoadReport {
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** Share of all CPUs busy over the benchmark (everything on the machine, ours included). */
  cpuBusy: number | null;
  /** Java processes on the machine at the start that are not ours (other engineers' Drillbits). */
  foreignJvmsAtStart: number;
}

export class LoadWatch {
  private readonly before = loadavg();
  private readonly t0 = cpuTimes();
  private readonly foreign: number;

  constructor(ours: () => number[] = () => []) {
    this.foreign = javaPids().filter((pid) => !ours().includes(pid)).length;
  }

  finish(): LoadReport {
    const t1 = cpuTimes();
    const cpuBusy = this.t0 && t1 && t1.total > this.t0.total ? (t1.busy - this.t0.busy) / (t1.total - this.t0.total) : null;
    return { loadavgBefore: this.before.map(r2), loadavgAfter: loadavg().map(r2), cpuBusy: cpuBusy === null ? null : r2(cpuBusy), foreignJvmsAtStart: this.foreign };
  }
}

export function javaPids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'java'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds (user + system) a process has used so far; null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM of a process in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Samples a process's memory every `periodMs` until stopped; returns the peak and the samples. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  readonly samples: { t: number; rss: number }[] = [];
  peak = 0;

  constructor(
    private readonly pid: number,
    private readonly periodMs = 20,
  ) {}

  start(): this {
    const tick = () => {
      const m = memoryOf(this.pid);
      if (m) {
        this.samples.push({ t: Date.now(), rss: m.rss });
        this.peak = Math.max(this.peak, m.rss);
      }
    };
    tick();
    this.timer = setInterval(tick, this.periodMs);
    return this;
  }

  stop(): { peak: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const m = memoryOf(this.pid);
    if (m) this.peak = Math.max(this.peak, m.rss);
    return { peak: this.peak, samples: this.samples.length };
  }
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** CPU seconds per thread kind of a JVM (JIT compilers, GC, the rest), from /proc/<pid>/task. */
export function jvmThreadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const kind = /^C2 Compiler/.test(comm)
        ? 'jit-c2'
        : /^C1 Compiler/.test(comm)
          ? 'jit-c1'
          : /^(G1|GC|VM Thread|Parallel GC|Serial)/.test(comm)
            ? 'gc-vm'
            : comm === 'java' || comm === 'main'
              ? 'main'
              : 'other';
      out[kind] = Math.round(((out[kind] ?? 0) + seconds) * 100) / 100;
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** Whether CPU affinity can be set here (taskset, and more than one CPU). */
export function canPin(): boolean {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** CPU affinity of every thread of `pid` (taskset -a). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Runs `fn` with the Drill JVMs on CPU 0 and the hops (gateway, proxy) and this process
 * on CPU 1: a deployment where the gateway runs beside the Drill hosts, not on them.
 * Every affinity is given back afterwards.
 */
export async function onSeparateCores<T>(drill: number[], hops: number[], fn: () => Promise<T>): Promise<T> {
  const all = `0-${availableParallelism() - 1}`;
  for (const pid of drill) pin(pid, '0');
  for (const pid of [...hops, process.pid]) pin(pid, '1');
  try {
    return await fn();
  } finally {
    for (const pid of [...drill, ...hops, process.pid]) {
      try {
        pin(pid, all);
      } catch {
        /* gone already */
      }
    }
  }
}
